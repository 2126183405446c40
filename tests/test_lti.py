"""Tests of dmftlib.lti: linear dynamics with random matrices, response = resolvent."""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import special

from dmftlib import lti
from dmftlib.core import ConvergenceError, is_psd, rmt


def _bessel_ratio(t, sigma):
    """I_1(2 sigma t) / (sigma t), equal to 1 at t = 0."""
    t = np.asarray(t, dtype=float)
    safe = np.where(t > 0, t, 1.0)
    return np.where(t > 0, special.iv(1, 2 * sigma * safe) / (sigma * safe), 1.0)


# ----------------------------------------------------------------- closed forms of the theory


def test_quadrature_masses_and_means():
    for ens, kw, mean in [("goe", {}, 3.0), ("ginibre", {}, 3.0), ("wishart", {"alpha": 2.0}, 4.0),
                          ("wishart", {"alpha": 0.5}, 4.0)]:
        lam, w = lti.spectral_quadrature(ens, 3.0, sigma=1.0, **kw)
        assert_allclose(w.sum(), 1.0, atol=1e-12)
        assert_allclose(w @ lam, mean, atol=1e-12)        # tr A / N = a (+ sigma^2 for Wishart)


def test_goe_response_is_bessel():
    t = np.linspace(0, 8, 41)
    a, sigma = 2.3, 1.1
    th = lti.theory("goe", t, a, sigma)
    assert_allclose(th.response, np.exp(-a * t) * _bessel_ratio(t, sigma), rtol=1e-10, atol=1e-14)


def test_ginibre_correlations_closed_forms():
    t = np.linspace(0, 6, 31)
    a, sigma, T = 1.4, 1.0, 0.7
    nonnormal = lti.theory("ginibre", t, a, sigma, c0=1.0)
    normal = lti.theory("ginibre", t, a, sigma, c0=1.0, normal=True)
    assert_allclose(nonnormal.response, np.exp(-a * t))
    assert_allclose(normal.response, np.exp(-a * t))       # same eigenvalues, same response
    assert_allclose(nonnormal.correlation, np.exp(-2 * a * t) * special.i0(2 * sigma * t), rtol=1e-12)
    assert_allclose(normal.correlation, np.exp(-2 * a * t) * _bessel_ratio(t, sigma), rtol=1e-9)
    # equal-time stationary variances: T / sqrt(a^2 - sigma^2) (non-normal) vs 2T (a - sqrt(a^2 - sigma^2)) / sigma^2
    st = lti.theory("ginibre", [0.0], a, sigma, T=T).stationary[0]
    st_n = lti.theory("ginibre", [0.0], a, sigma, T=T, normal=True).stationary[0]
    assert_allclose(st, T / np.sqrt(a**2 - sigma**2), rtol=1e-8)
    assert_allclose(st_n, 2 * T * (a - np.sqrt(a**2 - sigma**2)) / sigma**2, rtol=1e-9)
    # the noise-driven equal-time correlation relaxes to the stationary value
    late = lti.theory("ginibre", [60.0], a, sigma, T=T, c0=0.0)
    assert_allclose(late.correlation[0], st, rtol=1e-6)


def test_hermitian_stationary_is_resolvent_at_zero():
    # C_st(0) = T int rho / lambda = T R_hat(0) = -T G_A(0)
    for ens, a, kw in [("goe", 2.5, {}), ("wishart", 0.3, {"alpha": 0.5}), ("wishart", 0.1, {"alpha": 3.0})]:
        th = lti.theory(ens, [0.0], a, T=2.0, **kw)
        assert_allclose(th.stationary[0], 2.0 * lti.response_hat(0.0, ens, a, **kw).real, rtol=1e-6)


def test_invariants_at_time_zero():
    for ens in lti.ENSEMBLES:
        a = {"goe": 2.5, "wishart": 0.5, "ginibre": 1.5}[ens]
        th = lti.theory(ens, [0.0, 1.0], a, T=0.3, c0=1.7)
        assert_allclose(th.response[0], 1.0, atol=1e-12)
        assert_allclose(th.correlation[0], 1.7, atol=1e-12)


# ----------------------------------------------------------------- resolvent identities


def test_dmft_laplace_equation_is_semicircle_resolvent():
    a, sigma = 2.4, 1.1
    s = np.linspace(-0.15, 5.0, 30)                         # s + a > 2 sigma
    res = lti.dmft_response_laplace(s, a, sigma)
    assert res.converged
    assert_allclose(res.response_hat, rmt.semicircle_stieltjes(s + a, sigma).real, atol=1e-11)
    assert_allclose(res.response_hat, lti.response_hat(s, "goe", a, sigma).real, atol=1e-11)   # = -G_A(-s)


def test_mp_resolvent_vs_sampled_spectra():
    # Linear spectral statistic at z away from the spectrum: seed fluctuations and bias are O(1/N).
    alpha, N = 2.0, 400
    z = np.array([-1.0, -0.5 + 0.5j, 4.0 + 1.0j])
    lam = np.linalg.eigvalsh(lti.sample_matrices("wishart", N, range(3, 7), 0.0, alpha=alpha))
    G = np.array([rmt.empirical_stieltjes(z, l) for l in lam])
    err = np.abs(G.mean(0) - rmt.marchenko_pastur_stieltjes(z, alpha))
    sem = np.abs(G.std(0, ddof=1)) / 2
    assert np.all(err < 4 * sem + 2.0 / N)


def test_contour_integral_of_resolvents():
    tau = np.linspace(0, 4, 9)
    a, sigma = 2.6, 1.0
    # GOE: the limiting resolvent integrated on a circle around [a - 2, a + 2]
    R = lti.response_from_contour(lambda z: rmt.semicircle_stieltjes(z - a, sigma), tau, a, 2.5 * sigma)
    assert_allclose(R, np.exp(-a * tau) * _bessel_ratio(tau, sigma), atol=1e-12)
    # Ginibre: outside the disk G(z) = 1/(z - a) exactly, hence R = exp(-a tau)
    R = lti.response_from_contour(lambda z: 1.0 / (z - 1.5), tau, 1.5, 1.2)
    assert_allclose(R, np.exp(-1.5 * tau), atol=1e-12)
    # finite N: the empirical resolvent of a sampled non-Hermitian matrix gives (1/N) tr exp(-A tau) exactly
    lam = np.linalg.eigvals(lti.sample_matrices("ginibre", 100, 2, 1.5)[0])
    R = lti.response_from_contour(lambda z: rmt.empirical_stieltjes(z, lam), tau, 1.5, 1.6, n_nodes=512)
    assert_allclose(R, np.exp(-np.outer(tau, lam)).mean(-1).real, atol=1e-9)


# ----------------------------------------------------------------- DMFT solvers in time


def test_dmft_response_time_domain_second_order():
    a, sigma = 2.5, 1.0
    errs = []
    for n in (101, 201):
        res = lti.dmft_response(6.0, n, a, sigma)
        assert res.converged
        errs.append(np.max(np.abs(res.response - np.exp(-a * res.t) * _bessel_ratio(res.t, sigma))))
    assert errs[1] < 1e-4
    assert 3.0 < errs[0] / errs[1] < 5.0                   # trapezoid rule: error O(dt^2)
    iid = lti.dmft_response(6.0, 51, a, sigma, coupling="iid")
    assert_allclose(iid.response, np.exp(-a * iid.t), atol=1e-14)


def test_dmft_correlation_iid_matches_bessel_theory():
    a, sigma, T = 1.5, 1.0, 0.5
    errs = []
    for n in (61, 121):
        res = lti.dmft_correlation_iid(6.0, n, a, sigma, T=T)
        assert res.converged and is_psd(res.correlation)
        th = lti.theory("ginibre", res.t, a, sigma, T=T)
        errs.append(np.max(np.abs(np.diag(res.correlation) - th.correlation)))
    assert errs[1] < 5e-4
    assert 3.0 < errs[0] / errs[1] < 5.0                   # O(dt^2)


# ----------------------------------------------------------------- theory vs simulation


CASES = [("goe", 2.5, {}), ("wishart", 0.2, {"alpha": 2.0}), ("ginibre", 1.5, {}),
         ("ginibre", 1.5, {"normal": True})]


@pytest.mark.parametrize("ens,a,kw", CASES)
def test_theory_vs_simulation_two_N(ens, a, kw):
    # R, C(t,t) and C_st are smooth linear statistics of the spectrum (for Ginibre, of the pair
    # (A, A^T)): their seed-to-seed fluctuations are O(1/N) (no 1/sqrt(N): eigenvalues repel) and
    # their finite-size bias is O(1/N) (e.g. (1/N) E tr J^2 = sigma^2 (1 + 1/N) for GOE, sigma^2 / N
    # for real Ginibre), with a prefactor <= 1 for these bounded functions of time.
    # Hence |sim - theory| <= 4 sem + 1/N pointwise.
    t = np.linspace(0, 6, 31)
    th = lti.theory(ens, t, a, T=0.5, **kw)
    Ns = (100, 400) if ens == "ginibre" and not kw else (250, 1000)
    errs = []
    for k, N in enumerate(Ns):
        sim = lti.simulate(N, ens, t, a, T=0.5, seeds=range(10 + 4 * k, 14 + 4 * k), **kw)
        for q in ("response", "correlation", "stationary"):
            err = np.abs(getattr(sim, q) - getattr(th, q))
            assert np.all(err <= 4 * getattr(sim, q + "_sem") + 1.0 / N), (q, N, err.max())
        errs.append(max(np.abs(sim.response - th.response).max(), np.abs(sim.correlation - th.correlation).max()))
    assert errs[1] < errs[0]                                # agreement improves with N


# ----------------------------------------------------------------- transient growth


def test_transient_growth_non_normal_only():
    t = np.linspace(0, 4, 9)
    g = lti.transient_growth(120, t, a=1.1, sigma=1.0, seeds=range(2, 5))
    assert g.norm.max() > 1.3                               # non-normal: ||exp(-A t)|| grows
    assert g.trajectory.max() > 1.3                         # so does |x(t)| from the worst x(0)
    assert np.all(g.norm_normal <= 1.0 + 1e-12) and np.all(np.diff(g.norm_normal) < 0)
    h = lti.transient_growth(120, t, a=2.3, ensemble="goe", seeds=range(2, 5))
    assert np.all(h.norm <= 1.0 + 1e-10) and np.all(np.diff(h.norm) < 0)
    assert_allclose(h.norm, h.norm_normal, rtol=1e-8)        # Hermitian = normal
    assert lti.numerical_abscissa("ginibre", 1.1) > 0 > lti.numerical_abscissa("ginibre", 1.5)


# ----------------------------------------------------------------- bad input and non-convergence


def test_value_errors():
    t = [0.0, 1.0]
    with pytest.raises(ValueError, match="a must be"):
        lti.theory("goe", t, a=2.0)                          # a <= 2 sigma: unstable
    with pytest.raises(ValueError, match="a must be"):
        lti.simulate(50, "ginibre", t, a=0.9)                # a <= sigma
    with pytest.raises(ValueError, match="a must be"):
        lti.theory("wishart", t, a=0.0, alpha=0.5)           # zero modes when P < N
    with pytest.raises(ValueError, match="ensemble"):
        lti.theory("gue", t, a=3.0)
    with pytest.raises(ValueError, match="T must be"):
        lti.theory("goe", t, a=3.0, T=-1.0)
    with pytest.raises(ValueError, match="t must"):
        lti.theory("goe", [-1.0, 1.0], a=3.0)
    with pytest.raises(ValueError, match="seeds"):
        lti.simulate(50, "goe", t, a=3.0, seeds=1)
    with pytest.raises(ValueError, match="N must"):
        lti.simulate(1, "goe", t, a=3.0)
    with pytest.raises(ValueError, match="coupling"):
        lti.dmft_response(1.0, 11, a=3.0, coupling="antisymmetric")


def test_convergence_errors():
    with pytest.raises(ConvergenceError):
        lti.dmft_response_laplace([0.0], a=1.5, sigma=1.0)   # s + a < 2 sigma: no real solution
    with pytest.raises(ConvergenceError):
        lti.dmft_response(6.0, 101, a=2.5, max_iter=2)
    with pytest.raises(ConvergenceError):
        lti.dmft_correlation_iid(6.0, 61, a=1.5, max_iter=2)


# ----------------------------------------------------------------- plots (pure functions, smoke tests)


def test_plot_functions_return_axes():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ax = lti.plot_spectrum("ginibre", 60, a=1.5)
    assert ax.get_xlabel()
    ax = lti.plot_response("goe", a=2.5, t_max=2.0, Ns=(40, 80), seeds=2)
    assert len(ax.get_legend().get_texts()) == 3          # theory + two sizes
    ax = lti.plot_correlation("ginibre", a=1.5, T=0.5, t_max=2.0, Ns=(40,), seeds=2, quantity="stationary")
    assert "N = 40, 2 seeds" in [t.get_text() for t in ax.get_legend().get_texts()][-1]
    axes = lti.plot_lti("wishart", margin=0.3, N=None)
    assert len(axes) == 2
    ax = lti.plot_transient_growth(N=40, t_max=2.0, n_t=5, seeds=2)
    with pytest.raises(ValueError, match="margin"):
        lti.plot_lti("goe", margin=0.0)
    plt.close("all")


def test_noisy_trajectories_two_N():
    # One noise realization per matrix: C(t,t) = |x|^2/N and the kick estimator v.dx/N fluctuate as
    # O(1/sqrt(N)) (a sample of N units), their bias is O(1/N) (matrix) + O(dt^2) (midpoint noise rule,
    # ~ 1e-3 C here), so |mean - theory| <= 4 sem + 1/N at a few times (t-distribution with 7 dof).
    idx = [10, 25, 50, 100]                                # t = 0.2, 0.5, 1, 2 with dt = 0.02
    sems = []
    for N in (100, 400):
        sim = lti.simulate_trajectories(N, "ginibre", 2.0, a=1.5, T=0.5, seeds=range(N, N + 8))
        th = lti.theory("ginibre", sim.t[idx], a=1.5, T=0.5)
        for q in ("response", "correlation"):
            err = np.abs(getattr(sim, q)[idx] - getattr(th, q))
            assert np.all(err <= 4 * getattr(sim, q + "_sem")[idx] + 1.0 / N), (q, N, err)
        sems.append(sim.correlation_sem[idx].mean())
    assert sems[1] < 0.75 * sems[0]                        # ~ 1/2 expected for 4x more units


def test_plot_helpers_for_precomputed_results():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = np.linspace(0.0, 3.0, 31)
    th, thn = lti.theory("ginibre", t, a=1.5), lti.theory("ginibre", t, a=1.5, normal=True)
    s = lti.simulate(60, "ginibre", t, a=1.5, seeds=2)
    sn = lti.simulate(60, "ginibre", t, a=1.5, normal=True, seeds=2)
    ax = lti.plot_theory_vs_simulations(th, [s], "correlation", what="one run")
    assert ax.get_legend_handles_labels()[1] == ["theory (N → ∞)", "one run, N = 60, 2 seeds"]
    ax = lti.plot_normal_comparison(th, thn, s, sn, "stationary", log=False)
    assert len(ax.get_legend_handles_labels()[1]) == 4 and ax.get_yscale() == "linear"
    with pytest.raises(ValueError, match="sims"):
        lti.plot_theory_vs_simulations(th, [th])
    with pytest.raises(ValueError, match="quantity"):
        lti.plot_normal_comparison(th, thn, s, sn, "response")
    plt.close("all")
