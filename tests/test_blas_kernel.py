"""The second pass of `make test` must really run under another BLAS kernel.

`make test` runs the numerical tests and every chapter twice, the second time with
``OPENBLAS_CORETYPE`` set to another kernel and more threads; it also sets
``DMFTLIB_EXPECT_CORETYPE`` so that this test fails if OpenBLAS ignored the request (then
the second pass would silently repeat the first).
"""
import os

import numpy as np
import pytest
import threadpoolctl


def _openblas():
    return [i for i in threadpoolctl.threadpool_info() if i.get("internal_api") == "openblas"]


def test_numpy_uses_openblas_with_a_known_kernel():
    libs = _openblas()
    assert libs, "NumPy is expected to use the OpenBLAS of its wheel"
    assert all(i.get("architecture") for i in libs)


@pytest.mark.skipif("DMFTLIB_EXPECT_CORETYPE" not in os.environ, reason="only in the second pass of make test")
def test_second_pass_runs_the_requested_kernel():
    want = os.environ["DMFTLIB_EXPECT_CORETYPE"].lower()
    got = {i["architecture"].lower() for i in _openblas()}
    assert got == {want}, f"OpenBLAS runs {got}, not the requested {want}"
    # and it computes: a product that goes through the kernel
    a = np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(a @ a.T, np.einsum("ij,kj->ik", a, a))
