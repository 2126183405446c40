"""Tests of the generic sampling DMFT solver against closed forms (Ornstein-Uhlenbeck, linear GOE dynamics).

References are the *discrete-time* (Euler) closed forms, so the only error is Monte Carlo;
the continuous-time forms are checked with an O(dt) tolerance.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.special import i1

from dmftlib.core import (ConvergenceError, is_causal, is_psd, sample_gaussian_paths, solve_sampling_dmft)

N_T, DT = 81, 0.05
T_MAX = DT * (N_T - 1)
ZERO = lambda x, R: np.zeros((x.shape[1], x.shape[1]))  # noqa: E731  (no self-consistency)


def _ou(n_samples=4000, seed=0, T=0.5, var0=1.0):
    return solve_sampling_dmft(
        drift=lambda t, x, z: -x, drift_dx=lambda t, x, z: -np.ones_like(x), kernel_map=ZERO,
        t_max=T_MAX, n_t=N_T, x0=lambda rng, S: np.sqrt(var0) * rng.standard_normal(S),
        noise_cov=2 * T / DT * np.eye(N_T), n_samples=n_samples, seed=seed)


def _ou_discrete_exact(T=0.5, var0=1.0):
    """x_{k+1} = (1-dt) x_k + dt eta_k, Var eta_k = 2T/dt: C = A var0 A^T + dt^2 G (2T/dt) G^T, R = G."""
    k = np.arange(N_T)
    lag = k[:, None] - k[None, :]
    G = np.where(lag >= 1, (1 - DT) ** np.clip(lag - 1, 0, None), 0.0)   # kick entering x_{s+1}
    a = (1 - DT) ** k
    C = var0 * np.outer(a, a) + DT**2 * (2 * T / DT) * G @ G.T
    R = np.where(lag >= 0, (1 - DT) ** np.clip(lag, 0, None), 0.0)    # R[k, s] = (1-dt)^(k-s), R[s, s] = 1
    return C, R


def test_ou_matches_discrete_closed_form_within_monte_carlo_error():
    res = _ou()
    C_ex, R_ex = _ou_discrete_exact()
    # C: each entry is a sample mean of S products; 5 standard errors (max over correlated entries)
    z = np.abs(res.C - C_ex) / res.C_sem
    assert z.max() < 5.0
    # tolerance ~ c / sqrt(n_samples): c = sqrt(C_kk C_ll + C_kl^2) <= sqrt(2) max C
    assert np.abs(res.C - C_ex).max() < 5 * np.sqrt(2) * C_ex.max() / np.sqrt(res.n_samples)
    # R of a linear drift is deterministic: exact to round-off
    assert_allclose(res.R, R_ex, atol=1e-12)


def test_ou_matches_continuous_closed_form_to_order_dt():
    res = _ou(T=0.5, var0=1.0)
    t = res.t
    C_ct = 0.5 * (np.exp(-np.abs(t[:, None] - t[None, :])) - np.exp(-(t[:, None] + t[None, :]))) \
        + np.exp(-(t[:, None] + t[None, :]))
    R_ct = np.where(t[:, None] >= t[None, :], np.exp(-(t[:, None] - t[None, :])), 0.0)
    # Euler: O(dt) bias (dt = 0.05) plus Monte Carlo error 5 sqrt(2)/sqrt(S) ~ 0.11 max C
    assert np.abs(res.C - C_ct).max() < DT + 5 * np.sqrt(2) / np.sqrt(res.n_samples)
    assert np.abs(res.R - R_ct).max() < DT


def test_invariants_symmetric_psd_causal_unit_equal_time_response():
    res = _ou(n_samples=1000)
    assert_allclose(res.C, res.C.T, atol=0)
    assert is_psd(res.C)
    assert is_causal(res.R, strict=False)
    assert_allclose(np.diagonal(res.R), 1.0, atol=1e-12)   # R[i, i] = R(t_i^+, t_i) = 1 (book-wide convention)
    assert res.converged and res.n_iter == len(res.residuals) >= 1
    assert res.wall_time >= 0 and res.n_samples == 1000


def _semicircle_moment(m, g, a, n=200):
    """int rho_sc(lam) (1 + dt (lam - a))^m dlam for the semicircle of radius 2g (Gauss-Chebyshev 2nd kind)."""
    k = np.arange(1, n + 1)
    th = k * np.pi / (n + 1)
    lam = 2 * g * np.cos(th)
    w = 2 / (n + 1) * np.sin(th) ** 2
    return ((1 + DT * (lam[None, :] - a)) ** np.asarray(m)[..., None] * w).sum(-1)


def test_linear_goe_self_consistent_with_memory():
    """dx_i/dt = -a x_i + sum_j J_ij x_j, J GOE (var g^2/N): DMFT K = g^2 C, memory M = g^2 R.

    Discrete exact: R[k, s] = E_sc[(1 + dt(lam - a))^(k-s)], C[k, l] = var0 E_sc[(1 + dt(lam - a))^(k+l)].
    """
    a, g = 1.0, 0.5
    res = solve_sampling_dmft(
        drift=lambda t, x, z: -a * x, drift_dx=lambda t, x, z: -a * np.ones_like(x),
        kernel_map=lambda x, R: (g**2 * x.T @ x / x.shape[0], g**2 * R), uses_response=True,
        t_max=T_MAX, n_t=N_T, x0=lambda rng, S: rng.standard_normal(S), n_samples=4000, n_response=16, seed=3)
    k = np.arange(N_T)
    lag = k[:, None] - k[None, :]
    R_ex = np.where(lag >= 0, _semicircle_moment(np.clip(lag, 0, None), g, a), 0.0)
    C_ex = _semicircle_moment(k[:, None] + k[None, :], g, a)
    # R depends on the samples only through M = g^2 R (deterministic for linear drift): tight
    assert np.abs(res.R - R_ex).max() < 1e-3
    # C: Monte Carlo, elementwise within 5 standard errors of the final pass (the noise of the converged
    # K adds less: C is dominated by the random initial condition); measured max z ~ 0.6-1.6 over seeds
    assert (np.abs(res.C - C_ex) / res.C_sem).max() < 5.0
    # and the continuum closed forms (O(dt)): R = e^{-a tau} I1(2 g tau)/(g tau)
    t = res.t
    tau = t[:, None] - t[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        R_ct = np.where(tau > 0, np.exp(-a * tau) * i1(2 * g * tau) / (g * np.where(tau > 0, tau, 1)), 0.0)
    R_ct[np.diag_indices_from(R_ct)] = 1.0
    assert np.abs(res.R - R_ct).max() < DT


def test_sample_gaussian_paths_clips_negative_eigenvalues():
    rng = np.random.default_rng(0)
    cov = np.array([[1.0, 1.0], [1.0, 1.0 - 1e-12]])     # tiny negative eigenvalue from round-off
    eta = sample_gaussian_paths(cov, 10, rng)
    assert eta.shape == (10, 2) and np.all(np.isfinite(eta))


def test_divergent_self_consistency_raises_convergence_error():
    # linear network with g = 4 >> 1: the field covariance grows like exp(2 (g - 1) t) at every iteration
    g = 4.0
    with pytest.raises(ConvergenceError) as err:
        solve_sampling_dmft(drift=lambda t, x, z: -x, kernel_map=lambda x, R: g**2 * x.T @ x / x.shape[0],
                            t_max=20.0, n_t=101, x0=1.0, K0=np.ones((101, 101)), n_samples=200, divergence=1e6)
    assert err.value.residuals.size >= 1


def test_max_iter_reached_raises_convergence_error():
    with pytest.raises(ConvergenceError):
        solve_sampling_dmft(drift=lambda t, x, z: -x, kernel_map=lambda x, R: 4 * np.tanh(x).T @ np.tanh(x) / x.shape[0],
                            t_max=4.0, n_t=41, x0=1.0, n_samples=100, tol=1e-12, max_iter=3)


@pytest.mark.parametrize("kwargs", [dict(t_max=-1.0), dict(n_t=1), dict(damping=1.0), dict(n_samples=2),
                                    dict(tol=0.0), dict(noise_cov=np.eye(3)), dict(K0=np.eye(3))])
def test_bad_input_raises_value_error(kwargs):
    base = dict(drift=lambda t, x, z: -x, kernel_map=ZERO, t_max=1.0, n_t=11)
    with pytest.raises(ValueError):
        solve_sampling_dmft(**{**base, **kwargs})


# --- the fast path (issue 17): time-major layout, one kernel map, control variate, moment matching, stopping rule


def _ou_fast(**kw):
    return solve_sampling_dmft(
        drift=lambda t, x, z: -x, drift_dx=lambda t, x, z: -np.ones_like(x), kernel_map=ZERO,
        t_max=T_MAX, n_t=N_T, x0=0.0, noise_cov=2 * 0.5 / DT * np.eye(N_T), seed=2, time_major=True, **kw)


def test_time_major_path_matches_ou_closed_form_within_monte_carlo_error():
    res = _ou_fast(n_samples=4000)
    C_ex, R_ex = _ou_discrete_exact(var0=0.0)
    assert (np.abs(res.C - C_ex)[1:, 1:] / res.C_sem[1:, 1:]).max() < 5.0    # 5 sem, as the default path
    assert_allclose(res.R, R_ex, atol=1e-12)
    assert is_psd(res.C) and res.converged and res.error_estimate is None


def test_control_variate_and_moment_matching_are_exact_for_a_linear_drift():
    """x0 = 0 and drift -x: x is the filtered field y itself, so the control variate (c = 1) removes all the
    sampling noise of C; moment matching alone makes the field's sample covariance exact, hence C exact too."""
    C_ex, _ = _ou_discrete_exact(var0=0.0)
    assert np.abs(_ou_fast(n_samples=500, control_decay=1.0).C - C_ex).max() < 1e-10
    assert np.abs(_ou_fast(n_samples=500, moment_matching=True).C - C_ex).max() < 1e-10
    # an imperfect control (c = 0.5) is still unbiased: within 5 of its standard errors
    res = _ou_fast(n_samples=2000, control_decay=0.5)     # (x_1 = y_1 for any c: exact, zero sem; skip it)
    assert (np.abs(res.C - C_ex)[2:, 2:] / res.C_sem[2:, 2:]).max() < 5.0


def test_time_major_path_with_memory_matches_linear_goe():
    a, g = 1.0, 0.5
    res = solve_sampling_dmft(
        drift=lambda t, x, z: -a * x, drift_dx=lambda t, x, z: -a * np.ones_like(x),
        kernel_map=lambda x, R: (g**2 * x.T @ x / x.shape[0], g**2 * R), uses_response=True,
        t_max=T_MAX, n_t=N_T, x0=lambda rng, S: rng.standard_normal(S), n_samples=4000, n_response=16, seed=3,
        time_major=True, kernel_is_mean=True)
    k = np.arange(N_T)
    lag = k[:, None] - k[None, :]
    assert np.abs(res.R - np.where(lag >= 0, _semicircle_moment(np.clip(lag, 0, None), g, a), 0.0)).max() < 1e-3
    assert (np.abs(res.C - _semicircle_moment(k[:, None] + k[None, :], g, a)) / res.C_sem).max() < 5.0


def test_fast_options_need_time_major_and_validate():
    with pytest.raises(ValueError, match="time_major"):
        solve_sampling_dmft(
            drift=lambda t, x, z: -x, kernel_map=ZERO, t_max=1.0, n_t=11, target_error=0.01)
    for kw in (dict(target_error=0.0), dict(target_error=2.0), dict(n_chains=1), dict(control_decay=np.nan),
               dict(time_major="yes")):
        with pytest.raises(ValueError):
            solve_sampling_dmft(drift=lambda t, x, z: -x, kernel_map=ZERO, t_max=1.0, n_t=11,
                                **({"time_major": True} | kw))
