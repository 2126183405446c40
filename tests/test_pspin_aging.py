"""Tests of dmftlib.pspin.aging: closed forms, the CK solvers (fixed and Kim-Latz grids), simulations."""
import os
import sys

import numpy as np
import pytest
import sympy as sp
from numpy.testing import assert_allclose

from dmftlib import pspin
from dmftlib.pspin import aging

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ------------------------------------------------------------------ kernels and closed forms
def test_kernels_are_the_sympy_derivatives():
    q = sp.symbols("q")
    grid = np.linspace(-1, 1, 11)
    for p in (2, 3, 4):
        x = q ** p / 2
        for fn, expr in ((pspin.xi, x), (pspin.xi_prime, sp.diff(x, q)), (pspin.xi_second, sp.diff(x, q, 2))):
            assert_allclose(fn(grid, p), sp.lambdify(q, expr, "numpy")(grid) * np.ones_like(grid), atol=1e-14)


def test_threshold_is_the_marginal_energy():
    # Hessian on the sphere: semicircle of radius 2 sqrt(xi''(1)) shifted by mu = -p e; marginal when mu = 2 sqrt(xi'')
    for p in (2, 3, 4, 5):
        assert_allclose(pspin.threshold_energy(p), -2 * np.sqrt(pspin.xi_second(1.0, p)) / p, rtol=1e-14)
    assert_allclose(pspin.threshold_energy(3), -np.sqrt(4 / 3), rtol=1e-14)


def test_dynamical_temperature_by_sympy():
    # T^2 = (p/2) q^{p-2} (1 - q): maximize over q symbolically
    q = sp.symbols("q", positive=True)
    for p in (3, 4, 5):
        f = sp.Rational(p, 2) * q ** (p - 2) * (1 - q)
        qd = [r for r in sp.solve(sp.diff(f, q), q) if 0 < r < 1][0]
        Td, qd_lib = pspin.dynamical_temperature(p)
        assert_allclose(Td, float(sp.sqrt(f.subs(q, qd))), rtol=1e-12)
        assert_allclose(qd_lib, float(qd), rtol=1e-12)
    assert_allclose(pspin.dynamical_temperature(3)[0], np.sqrt(3 / 8), rtol=1e-14)


def test_ground_state_below_threshold():
    # Crisanti & Sommers (1992): E_0 = -1.17167 for p = 3, strictly below e_th = -1.1547
    e0 = pspin.ground_state_energy(3)
    assert_allclose(e0, -1.17167, atol=2e-5)
    for p in (3, 4, 5):
        assert pspin.ground_state_energy(p) < pspin.threshold_energy(p)


def test_spherical_sk_closed_form_consistency():
    t = np.linspace(0, 5, 51)
    C, R, e, mu = pspin.spherical_sk_exact(t)
    assert_allclose(np.diag(C), 1.0, atol=1e-12)
    assert_allclose(np.diag(R), 1.0, atol=1e-12)
    # e(t) = -1/2 d/du log Z(u) at u = 2t, by finite differences of the closed form
    lz = aging._log_Z(2 * t)
    assert_allclose(e[1:-1], -0.5 * np.gradient(lz, 2 * t)[1:-1], atol=2e-3)
    assert e[-1] > -1.0  # the ground state of spherical SK is e = -1


# ------------------------------------------------------------------ the fixed-grid solver
@pytest.fixture(scope="module")
def p2_runs():
    return {dt: pspin.gradient_flow_dmft(2, t_max=10.0, dt=dt) for dt in (0.1, 0.05)}


def test_p2_against_semicircle_closed_form_second_order(p2_runs):
    errs = []
    for dt, r in p2_runs.items():
        C, R, e, mu = pspin.spherical_sk_exact(r.t)
        err = max(np.abs(r.C - C).max(), np.abs(r.R - R).max(), np.abs(r.energy - e).max())
        errs.append(err)
        assert err < 8.0 * dt ** 2  # second-order scheme: 1.4e-3 measured at dt = 0.1
    assert 3.0 < errs[0] / errs[1] < 5.0


def test_invariants():
    r = pspin.gradient_flow_dmft(3, t_max=5.0, dt=0.05, T=0.3)
    assert r.converged
    assert_allclose(r.C, r.C.T, atol=0)
    assert_allclose(np.diag(r.C), 1.0)
    assert_allclose(np.diag(r.R), 1.0)
    assert np.all(np.triu(r.R, 1) == 0) and np.all(np.triu(r.chi, 0) == 0)
    assert_allclose(r.mu, r.T - 3 * r.energy, atol=1e-12)  # Euler's theorem, exactly in the scheme
    assert np.all(np.diff(r.energy[1:]) < 0) or r.T > 0
    assert np.linalg.eigvalsh(r.C).min() > -1e-8


def test_gradient_flow_energy_decreases_and_chi_is_integral_of_R():
    r = pspin.gradient_flow_dmft(3, t_max=5.0, dt=0.025)
    assert np.all(np.diff(r.energy) < 0)
    i = r.t.size - 1
    # chi(t, t') = int_t'^t R(t, s) ds: trapezoid of the response row (R is fast near the diagonal)
    chi_trap = np.array([np.trapezoid(r.R[i, j:], r.t[j:]) for j in range(0, i, 20)])
    assert_allclose(r.chi[i, 0:i:20], chi_trap, atol=3e-3)


def test_high_temperature_equilibrium_and_fdt():
    # T > T_d: the energy reaches the paramagnet -1/(2T) and FDT holds, T chi(t, t_w) = 1 - C(t, t_w)
    T = 1.0
    r = pspin.gradient_flow_dmft(3, t_max=20.0, dt=0.05, T=T)
    assert_allclose(r.energy[-1], pspin.paramagnetic_energy(T), atol=2e-3)
    iw = int(10.0 / 0.05)
    assert_allclose(T * r.chi[iw:, iw], 1 - r.C[iw:, iw], atol=5e-3)


# ------------------------------------------------------------------ the Kim-Latz grid
def test_adaptive_agrees_with_fixed_grid_on_overlap():
    fixed = pspin.gradient_flow_dmft(3, t_max=20.0, dt=0.025)
    ad = pspin.gradient_flow_dmft_adaptive(3, t_max=20.0, n_window=64, dt0=0.025)
    assert ad.n_stored <= 65 and ad.n_halvings >= 1
    e_fixed = np.interp(ad.t_steps, fixed.t, fixed.energy)
    assert np.abs(ad.energy - e_fixed).max() < 2e-3  # 5e-4 measured; the coarse grid's error is O(dt^2)
    # two-time functions on the common points of the final coarse grid
    idx = np.rint(ad.t / fixed.dt).astype(int)
    assert np.abs(ad.C - fixed.C[np.ix_(idx, idx)]).max() < 5e-3
    # chi over the last coarse step holds the fast part of R integrated in one step (error 0.02 at
    # dt = 0.4, 0.006 two steps down); four steps or more below the diagonal it agrees with the fine grid
    far = np.tril(np.ones_like(ad.chi, dtype=bool), -4)
    assert np.abs(ad.chi - fixed.chi[np.ix_(idx, idx)])[far].max() < 5e-3


def test_adaptive_approaches_threshold_not_ground_state():
    ad = pspin.gradient_flow_dmft_adaptive(3, t_max=300.0, n_window=64, dt0=0.05)
    e_th, e0 = pspin.threshold_energy(3), pspin.ground_state_energy(3)
    late = ad.t_steps > 30
    gap = ad.energy[late] - e_th
    assert np.all(gap > 0) and gap[-1] < 0.015 and ad.energy[-1] - e0 > 0.02
    # the gap closes like a power law t^{-a}, a close to 2/3 (CK 1993)
    from dmftlib.core import fit_power_law
    fit = fit_power_law(ad.t_steps[late], gap)
    assert -0.85 < fit.slope < -0.5


# ------------------------------------------------------------------ simulations
def test_simulation_energy_matches_theory_with_finite_size_tolerance():
    th = pspin.gradient_flow_dmft(3, t_max=4.0, dt=0.05)
    for N, seeds in ((32, 12), (64, 8)):
        sim = pspin.simulate(N, 3, t_max=4.0, dt=0.05, seeds=seeds)
        dev = np.abs(sim.energy - th.energy)
        # the finite-size bias shrinks like N^-0.72(9) (book/data/pspin_make.py, N = 64..256): the tolerance
        # uses the slower 1/sqrt(N) on top of 3 sem
        assert np.all(dev <= 3 * sim.energy_sem + 0.5 / np.sqrt(N))
    assert_allclose(sim.mu, -3 * sim.energy, atol=1e-12)


def test_simulation_response_and_correlation():
    th = pspin.gradient_flow_dmft(3, t_max=3.0, dt=0.05)
    sim = pspin.simulate(64, 3, t_max=3.0, dt=0.05, seeds=8, t_w=[1.0], t_response=1.0)
    iw = 20
    assert_allclose(sim.C[0, :iw], 0.0)
    assert np.all(np.abs(sim.C[0, iw:] - th.C[iw:, iw]) <= 3 * sim.C_sem[0, iw:] + 3.0 / 64)
    assert np.all(np.abs(sim.chi[iw:] - th.chi[iw:, iw]) <= 3 * sim.chi_sem[iw:] + 3.0 / 64)


def test_noise_estimator_of_the_response_obeys_fdt():
    # T > T_d: chi from the noise (Novikov) estimator against the CK chi; the estimator is unbiased at any N
    T = 1.0
    th = pspin.gradient_flow_dmft(3, t_max=4.0, dt=0.1, T=T)
    sim = pspin.simulate(48, 3, t_max=4.0, dt=0.1, T=T, seeds=16, t_w=[1.0], t_response=1.0)
    iw = 10
    assert np.all(np.abs(sim.chi[iw:] - th.chi[iw:, iw]) <= 3 * sim.chi_sem[iw:] + 0.5 / np.sqrt(48))


def test_simulation_seeds_reproducible_and_batched():
    a = pspin.simulate(16, 3, t_max=0.5, dt=0.05, seeds=[3, 4, 5])
    b = pspin.simulate(16, 3, t_max=0.5, dt=0.05, seeds=[3, 4, 5], chunk_doubles=16 ** 3)
    assert_allclose(a.energies, b.energies, rtol=1e-12)
    c = pspin.simulate(16, 2, t_max=0.5, dt=0.05, seeds=2, T=0.5)
    assert np.all(np.isfinite(c.energy))


def test_data_script_small_instance():
    sys.path.insert(0, os.path.join(ROOT, "book", "data"))
    import pspin_make
    data = pspin_make.compute(small=True)
    fresh = pspin.simulate(N=32, p=3, t_max=2.0, dt=0.1, seeds=3, t_w=(1.0,), t_response=1.0)
    assert_allclose(data["sim_T0_N32__energy"], fresh.energy, rtol=1e-12)
    assert_allclose(data["sim_T0_N32__chi"], fresh.chi, rtol=1e-10)
    ad = pspin.gradient_flow_dmft_adaptive(p=3, t_max=10.0, n_window=32, dt0=0.05)
    assert_allclose(data["adaptive__energy"], ad.energy, rtol=1e-12)
    path = os.path.join(ROOT, "book", "data", "pspin_runs.npz")
    if os.path.exists(path):
        with np.load(path) as stored:
            assert set(f"{k}__energy" for k in pspin_make.runs()) <= set(stored.files)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("call", [
    lambda: pspin.gradient_flow_dmft(1, 1.0, 0.1),
    lambda: pspin.gradient_flow_dmft(3, float("nan"), 0.1),
    lambda: pspin.gradient_flow_dmft(3, 1.0, -0.1),
    lambda: pspin.gradient_flow_dmft(3, 1.0, 0.1, T=-1.0),
    lambda: pspin.gradient_flow_dmft(3, 1e9, 0.01),
    lambda: pspin.gradient_flow_dmft("3", 1.0, 0.1),
    lambda: pspin.gradient_flow_dmft_adaptive(3, 10.0, n_window=33),
    lambda: pspin.gradient_flow_dmft_adaptive(3, float("inf")),
    lambda: pspin.simulate(0, 3, 1.0, 0.1),
    lambda: pspin.simulate(16, 4, 1.0, 0.1),
    lambda: pspin.simulate(16, 3, 1.0, 0.1, seeds=-1),
    lambda: pspin.simulate(16, 3, 1.0, 0.1, t_w=[2.0]),
    lambda: pspin.simulate(10**4, 3, 1.0, 0.1),
    lambda: pspin.xi([np.nan], 3),
    lambda: pspin.xi(0.5, 0),
    lambda: pspin.dynamical_temperature(2),
    lambda: pspin.paramagnetic_energy(0.0),
    lambda: pspin.spherical_sk_exact([1.0, 0.5]),
])
def test_bad_input_raises_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_aging_state_limits():
    # at T -> T_d the aging solution meets the MCT plateau q_d = 1/2 with x -> 1 and the paramagnetic energy;
    # at T -> 0, q -> 1, x -> 0 and the energy -> the threshold energy
    Td, qd = pspin.dynamical_temperature(3)
    q, x, e = pspin.aging_state(3, Td * (1 - 1e-9))
    assert_allclose([q, x, e], [qd, 1.0, pspin.paramagnetic_energy(Td)], atol=1e-3)
    q, x, e = pspin.aging_state(3, 1e-4)
    assert_allclose([q, x, e], [1.0, 0.0, pspin.threshold_energy(3)], atol=1e-3)
