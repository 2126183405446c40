"""ODE integration, statistics over seeds, argument checks."""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from dmftlib.core import check_array, check_choice, check_int, check_real, fit_power_law, integrate, mean_sem


def test_rk4_is_fourth_order_and_euler_first_order():
    f = lambda t, y: np.stack([y[1], -y[0]])      # harmonic oscillator
    errs = {"rk4": [], "euler": []}
    for n in (21, 41, 81):
        t = np.linspace(0, 2, n)
        for m in errs:
            y = integrate(f, [1.0, 0.0], t, method=m)
            errs[m].append(abs(y[-1, 0] - np.cos(2.0)))
    assert fit_power_law([20, 40, 80], errs["rk4"]).slope == pytest.approx(-4, abs=0.2)
    assert fit_power_law([20, 40, 80], errs["euler"]).slope == pytest.approx(-1, abs=0.15)


def test_integrate_vectorized_state_and_blowup():
    t = np.linspace(0, 1, 11)
    y = integrate(lambda t, y: -np.arange(1, 4)[:, None] * y, np.ones((3, 2)), t, substeps=4)
    assert y.shape == (11, 3, 2)
    assert_allclose(y[-1, :, 0], np.exp(-np.arange(1, 4)), rtol=1e-5)
    with pytest.raises(ValueError, match="finite"), np.errstate(over="ignore", invalid="ignore"):
        integrate(lambda t, y: y**3, 1.0, np.linspace(0, 5, 6))


def test_mean_sem_and_power_law():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((400, 3)) + np.array([0.0, 1.0, 2.0])
    m, s = mean_sem(x)
    assert np.all(np.abs(m - [0, 1, 2]) < 4 * s)
    assert_allclose(s, 1 / np.sqrt(400), rtol=0.15)
    with pytest.raises(ValueError, match="at least 2 seeds"):
        mean_sem(np.ones((1, 3)))
    N = np.array([100, 200, 400, 800])
    fit = fit_power_law(N, 3.0 * N**-0.5 * np.exp(0.01 * rng.standard_normal(4)))
    assert abs(fit.slope + 0.5) < 4 * fit.slope_stderr + 1e-3
    assert_allclose(fit(100.0), 0.3, rtol=0.05)


def test_checks_name_the_argument_and_range():
    with pytest.raises(ValueError, match=r"g must be a finite real number in \(0, inf\)"):
        check_real("g", 0.0, low=0, low_open=True)
    with pytest.raises(ValueError, match="eta"):
        check_real("eta", np.nan)
    with pytest.raises(ValueError, match=r"K must be an integer in \[1, 10\]"):
        check_int("K", 11, low=1, high=10)
    with pytest.raises(ValueError, match="phi must be one of"):
        check_choice("phi", "sigmoid", ("tanh", "relu"))
    with pytest.raises(ValueError, match="t must be strictly increasing"):
        check_array("t", [0, 2, 1], increasing=True)
    assert check_int("N", np.int64(5), low=1) == 5


def test_integrate_substeps_advance_time():
    """A time-dependent right-hand side with substeps: y' = cos t gives sin t (catches a wrong substep clock)."""
    from dmftlib.core import integrate
    t = np.linspace(0.0, 3.0, 7)
    for method, tol in (("rk4", 1e-6), ("euler", 5e-2)):
        y = integrate(lambda s, y: np.cos(s) + 0 * y, 0.0, t, method=method, substeps=16)
        np.testing.assert_allclose(y, np.sin(t), atol=tol)


def test_fit_power_law_two_points_and_fixed_point_counts():
    from dmftlib.core import damped_fixed_point, fit_power_law
    fit = fit_power_law([1.0, 4.0], [2.0, 1.0])               # two points: an exact line
    assert abs(fit.slope + 0.5) < 1e-12 and abs(fit.prefactor - 2.0) < 1e-12
    res = damped_fixed_point(lambda x: 0.0 * x + 3.0, 0.0, damping=0.0, tol=1e-12)
    assert res.n_iter == 2 == res.residuals.size and res.converged   # F(0) = 3, then F(3) = 3
