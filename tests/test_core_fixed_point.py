"""Damped fixed-point iteration: convergence, damping-scaled tolerance, failures."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from dmftlib.core import ConvergenceError, damped_fixed_point


def test_scalar_and_tuple_fixed_points():
    res = damped_fixed_point(np.cos, 1.0, damping=0.5, tol=1e-12)
    assert res.converged and abs(res.x - np.cos(res.x)) < 1e-12
    F = lambda xy: (0.5 * xy[1] + 1.0, 0.5 * xy[0])          # x = y/2 + 1, y = x/2
    res = damped_fixed_point(F, (np.zeros(3), np.zeros(3)), damping=0.2, tol=1e-12)
    assert_allclose(res.x[0], 4 / 3, rtol=1e-10)
    assert_allclose(res.x[1], 2 / 3, rtol=1e-10)
    assert res.residuals.shape == (res.n_iter,) and res.wall_time >= 0


def test_tolerance_is_scaled_to_damping():
    # heavy damping makes steps tiny; the returned point must still satisfy |F(x)-x| < tol
    for beta in (0.0, 0.9, 0.99):
        res = damped_fixed_point(lambda x: 0.5 * x + 1.0, 0.0, damping=beta, tol=1e-8, max_iter=20000)
        assert abs(0.5 * res.x + 1.0 - res.x) < 1e-8
        assert abs(res.x - 2.0) < 2e-8


def test_divergence_guard_raises_with_residuals():
    with pytest.raises(ConvergenceError) as info:
        damped_fixed_point(lambda x: 3.0 * x + 1.0, 1.0, damping=0.0, tol=1e-10, divergence=1e6)
    assert info.value.residuals.size > 1
    assert np.all(np.diff(info.value.residuals) > 0)


def test_max_iter_raises_or_reports():
    F = lambda x: -x + 1.0          # undamped: oscillates forever
    with pytest.raises(ConvergenceError, match="max_iter=50"):
        damped_fixed_point(F, 0.0, damping=0.0, max_iter=50)
    res = damped_fixed_point(F, 0.0, damping=0.0, max_iter=50, raise_on_failure=False)
    assert not res.converged and res.n_iter == 50
    assert damped_fixed_point(F, 0.0, damping=0.5, tol=1e-12).converged   # damping cures it


def test_nan_is_never_returned():
    with pytest.raises(ConvergenceError, match="diverged"), np.errstate(invalid="ignore"):
        damped_fixed_point(lambda x: np.sqrt(x - 10.0), 0.0)


@pytest.mark.parametrize("kw, name", [({"damping": 1.0}, "damping"), ({"damping": -0.1}, "damping"),
                                      ({"tol": 0.0}, "tol"), ({"max_iter": 0}, "max_iter")])
def test_invalid_arguments(kw, name):
    with pytest.raises(ValueError, match=name):
        damped_fixed_point(np.cos, 1.0, **kw)
