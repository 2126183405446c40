"""Property tests (hypothesis) over valid parameter ranges: invariants that must hold everywhere.

C symmetric and PSD, R causal with the equal-time limit on the diagonal, learning curves finite and
non-negative, results continuous in the parameters. Few examples per property (the solvers are not
free) and a fixed database-less profile, so the run is reproducible and fast.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dmftlib import cavity, committee, learning, linear, sgd
from dmftlib.core import is_causal, is_psd, rmt

FAST = settings(max_examples=12, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

alphas = st.floats(0.05, 5.0)
sigma2s = st.floats(0.0, 2.0)
ridges = st.floats(0.0, 1.0)


@FAST
@given(g=st.floats(0.0, 0.9), symmetric=st.booleans())
def test_cavity_theory_C_symmetric_psd_R_causal(g, symmetric):
    th = cavity.theory(g, symmetric, t_max=3.0, n_t=31)
    assert np.allclose(th.C, th.C.T, atol=1e-12)
    assert is_psd(th.C, tol=1e-8)
    assert is_causal(th.R, strict=False)
    np.testing.assert_allclose(np.diagonal(th.R), 1.0, atol=1e-12)      # R[i, i] = R(t_i^+, t_i) = 1
    assert np.all(np.isfinite(th.C)) and np.all(np.isfinite(th.R))


@FAST
@given(alpha=alphas, sigma2=sigma2s, ridge=ridges)
def test_linear_learning_curves_finite_nonnegative_continuous(alpha, sigma2, ridge):
    t = np.array([0.0, 0.5, 2.0, 10.0])
    a = linear.gradient_flow_theory(alpha, sigma2, t, ridge=ridge, n_quad=400)
    for e in (a.test_error, a.train_error):
        assert np.all(np.isfinite(e)) and np.all(e >= 0.0)
    # continuity in alpha, sigma2 and ridge: a 1e-6 change moves the curves by O(1e-6)
    b = linear.gradient_flow_theory(alpha * (1 + 1e-6), sigma2 + 1e-6, t, ridge=ridge + 1e-6, n_quad=400)
    assert np.max(np.abs(b.test_error - a.test_error)) < 1e-3
    assert np.max(np.abs(b.train_error - a.train_error)) < 1e-3


@FAST
@given(alpha=st.floats(0.2, 4.0), sigma2=st.floats(0.0, 1.0))
def test_linear_dmft_C_psd_R_causal(alpha, sigma2):
    d = linear.gradient_flow_dmft(alpha, sigma2, np.linspace(0.0, 2.0, 41))
    assert np.allclose(d.C, d.C.T, atol=1e-10) and is_psd(d.C, tol=1e-8)
    assert is_causal(d.R, strict=False)
    assert np.all(d.test_error >= 0) and np.all(d.train_error >= 0)


@FAST
@given(alpha=alphas, sigma2=sigma2s)
def test_learning_theory_finite_nonnegative(alpha, sigma2):
    th = learning.theory(np.linspace(0.0, 5.0, 6), alpha=alpha, sigma2=sigma2)
    assert np.all(np.isfinite(th.eg)) and np.all(th.eg >= 0)


@FAST
@given(eta=st.floats(0.05, 2.0), sigma=st.floats(0.0, 0.5))
def test_committee_ode_generalization_error_finite_nonnegative(eta, sigma):
    th = committee.ode(2, 2, eta, np.linspace(0.0, 5.0, 6), sigma=sigma)
    assert np.all(np.isfinite(th.eg)) and np.all(th.eg >= 0)
    assert np.all(np.isfinite(th.Q)) and np.allclose(th.Q, np.swapaxes(th.Q, 1, 2))


@FAST
@given(alpha=st.floats(1.2, 4.0), sigma2=sigma2s, ratio=st.floats(0.05, 0.9))
def test_sgd_theory_below_threshold_finite_nonnegative(alpha, sigma2, ratio):
    b = 0.5
    eta = ratio * sgd.stability_threshold(alpha, b, n_quad=300)
    th = sgd.theory(alpha, sigma2, eta, b, t_max=3.0, n_quad=200)
    assert not th.diverged
    assert np.all(np.isfinite(th.test_error)) and np.all(th.test_error >= 0)
    assert np.all(np.isfinite(th.train_error)) and np.all(th.train_error >= 0)


@FAST
@given(alpha=st.floats(0.1, 5.0), x=st.floats(-10.0, -1e-3))
def test_marchenko_pastur_stieltjes_real_negative_left_of_spectrum(alpha, x):
    G = complex(rmt.marchenko_pastur_stieltjes(x, alpha))
    assert abs(G.imag) < 1e-12 and G.real < 0 and np.isfinite(G.real)


def test_marchenko_pastur_stieltjes_at_zero_is_the_finite_limit():
    g0 = complex(rmt.marchenko_pastur_stieltjes(0.0, alpha=2.0))
    g_eps = complex(rmt.marchenko_pastur_stieltjes(-1e-9, alpha=2.0))
    assert abs(g0 - g_eps) < 1e-6 and g0.real == pytest.approx(-2.0)
    with pytest.raises(ValueError, match="z"):
        rmt.marchenko_pastur_stieltjes(0.0, alpha=0.5)       # the atom at zero: a pole


def test_every_simulate_reads_seeds_int_as_range():
    """The seeds rule, library-wide: seeds=n is the same call as seeds=range(n)."""
    a = linear.simulate_gradient_flow(20, 1.5, 0.25, [0.0, 1.0], seeds=3)
    b = linear.simulate_gradient_flow(20, 1.5, 0.25, [0.0, 1.0], seeds=(0, 1, 2))
    np.testing.assert_array_equal(a.test_error, b.test_error)
    s1 = sgd.simulate(20, 2.0, 0.25, 0.2, 0.5, 1.0, seeds=2)
    s2 = sgd.simulate(20, 2.0, 0.25, 0.2, 0.5, 1.0, seeds=[0, 1])
    np.testing.assert_array_equal(s1.test_error, s2.test_error)


def test_cavity_simulate_steps_below_output_spacing():
    """Coarse output grids are integrated with substeps (issue 9: the step used to be the spacing)."""
    sim = cavity.simulate(50, 0.5, t_max=20.0, n_t=11)
    assert sim.C[-1, -1] < 1e-6                      # theory 8.9e-10; the old code gave 250
    sim0 = cavity.simulate(50, 0.0, t_max=12.0, n_t=5)
    assert sim0.C[-1, -1] < 1e-8                     # g = 0: pure decay e^{-2t}


def test_result_arrays_are_read_only():
    th = cavity.theory(0.5, t_max=1.0, n_t=11)
    with pytest.raises(ValueError):
        th.C[0, 0] = 99.0
