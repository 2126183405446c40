"""Make ``random_features_curves.npz``: the N -> infinity curves of the random-features chapter.

``dmftlib.random_features.theory`` is exact for linear features (``exact_theory``: fast) and, for nonlinear
ones, a large-N evaluation at ``N_theory`` with the teacher, label noise and test point averaged analytically
(error O(1/N_theory)). The tanh sweeps need many such evaluations, so all curves are precomputed here.
Run from the repository root:  OMP_NUM_THREADS=1 .venv/bin/python book/data/random_features_make.py
(a few minutes on one core). ``tests/test_random_features.py`` re-creates a small instance.
"""
from __future__ import annotations

import pathlib

import numpy as np

from dmftlib import random_features as rf

OUT = pathlib.Path(__file__).with_name("random_features_curves.npz")
T_CURVE = np.geomspace(1e-2, 1e3, 46)
T_SWEEP = np.array([1.0, 10.0, np.inf])
FIELDS = ("test_error", "train_error", "ens_features", "ens_data", "bias", "hermitian_error")


def curves(alpha, nu, sigma2, phi="linear", N_theory=800, n_draws=2):
    th = rf.theory(alpha, nu, sigma2, T_CURVE, phi=phi, N_theory=N_theory, n_draws=n_draws)
    return np.stack([getattr(th, f) for f in FIELDS])


def sweep(alphas, nus, sigma2, phi="linear", N_theory=300, n_draws=2):
    out = []
    for a, n in zip(alphas, nus):
        th = rf.theory(a, n, sigma2, T_SWEEP, phi=phi, N_theory=N_theory, n_draws=n_draws)
        out.append(np.stack([getattr(th, f) for f in FIELDS]))
    return np.array(out)                                   # (n_points, n_fields, n_times)


TANH_RUNS = ((200, 64), (400, 32))                         # (N, seeds) of the tanh simulations
MP_RUNS = ((200, 32), (800, 16))                           # (N, seeds) at M = P


NU_REFINE = (-0.1, -0.05, -0.02, 0.0, 0.02, 0.05, 0.1)    # nu - 1/2 of the points added around M = P


def make(N_curve=800, N_sweep=300, n_sweep=24, tanh_runs=TANH_RUNS, mp_runs=MP_RUNS, nu_refine=NU_REFINE):
    data = {"t_curve": T_CURVE, "t_sweep": T_SWEEP, "fields": np.array(FIELDS),
            "N_curve": N_curve, "N_sweep": N_sweep}
    data["curve_nus"] = np.array([0.25, 0.5, 1.0, 2.0])
    data["curves_alpha05"] = np.array([curves(0.5, n, 0.0, N_theory=N_curve) for n in data["curve_nus"]])
    data["curve_tanh"] = curves(1.0, 0.5, 0.0, phi="tanh", N_theory=N_curve)
    # a uniform grid plus points that close in on M = P (nu = alpha = 0.5, included: the ridgeless error is
    # infinite there, the finite-t errors are not), so that the peak sits where it is
    nus = np.unique(np.round(np.concatenate([np.linspace(0.1, 2.0, n_sweep),
                                             0.5 + np.array(nu_refine, dtype=float)]), 6))
    data["sweep_nu"] = nus
    data["sweep_nu_linear"] = sweep(np.full(nus.size, 0.5), nus, 0.0, N_theory=N_sweep)
    data["sweep_nu_tanh"] = sweep(np.full(nus.size, 0.5), nus, 0.0, phi="tanh", N_theory=N_sweep)
    alphas = np.linspace(0.1, 2.0, n_sweep)
    alphas = alphas[np.abs(alphas - 1.0) > 0.04]          # skip the divergence at P = N itself
    data["sweep_alpha"] = alphas
    # wide features (nu = 2 > 1) with label noise: the peak moves to P = N = min(M, N)
    data["sweep_alpha_linear_nu2"] = sweep(alphas, np.full(alphas.size, 2.0), 0.25, N_theory=N_sweep)
    data.update(simulations(tanh_runs, mp_runs))
    return data


def simulations(tanh_runs=TANH_RUNS, mp_runs=MP_RUNS):
    """Simulations too long for the chapter: tanh features (fig-rf-tanh) and the M = P growth (fig-rf-sqrt-t)."""
    out = {"tanh_sim_t": T_CURVE[::5], "tanh_sim_N": np.array([N for N, _ in tanh_runs]),
           "tanh_sim_seeds": np.array([S for _, S in tanh_runs])}
    for N, S in tanh_runs:
        sim = rf.simulate(N, 1.0, 0.5, 0.0, T_CURVE[::5], seeds=range(S), phi="tanh")
        out[f"tanh_sim_{N}"] = np.stack([getattr(sim, f) for f in FIELDS[:5]])
        out[f"tanh_sim_{N}_sem"] = np.stack([getattr(sim, f + "_sem") for f in FIELDS[:5]])
    t_mp = np.geomspace(1.0, 1e5, 11)
    out.update({"mp_t": t_mp, "mp_N": np.array([N for N, _ in mp_runs]),
                "mp_seeds": np.array([S for _, S in mp_runs])})
    for N, S in mp_runs:                                   # alpha = nu = 1/2: M = P, no label noise
        sim = rf.simulate(N, 0.5, 0.5, 0.0, t_mp, seeds=range(S))
        out[f"mp_sim_{N}"] = np.stack([sim.test_error, sim.test_error_sem])
    return out


if __name__ == "__main__":
    np.savez_compressed(OUT, **make())
    print(f"wrote {OUT}")
