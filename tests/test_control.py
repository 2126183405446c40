"""Tests of dmftlib.control: ResNet = Euler scheme, backprop = discrete costate, adjoint = ODE gradient.

Here "theory vs simulation" is (i) costate/adjoint gradients vs finite differences and (ii) the
ResNet with L layers vs the neural ODE (L -> infinity), whose error is O(1/L) with a predicted
leading coefficient; the tolerances follow the order of each discretisation error.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from dmftlib import ConvergenceError
from dmftlib.control import (adjoint_gradient, backprop_tanh_resnet, costate_gradient, delay_euler,
                             euler_error_coefficient, finite_difference_gradient, plot_depth_convergence,
                             plot_trajectories, random_tanh_controls, solve_forward, total_loss, train)
from dmftlib.core import fit_power_law
from dmftlib.symbolic.pontryagin import mlp_system, tanh_system


@pytest.fixture(scope="module")
def sys2():
    return tanh_system(2)


@pytest.fixture(scope="module")
def problem(sys2):
    ctl = random_tanh_controls(2, 4, g=1.5, seed=1)
    rng = np.random.default_rng(0)
    h0, y = rng.standard_normal((2, 2, 40))
    return ctl, sys2.pack(ctl), h0, y


def test_backprop_is_the_discrete_costate(sys2, problem):
    """Hand-written back-propagation = costate recursion from the SymPy Hamiltonian, to rounding."""
    ctl, theta, h0, y = problem
    r = costate_gradient(sys2, theta, h0, y)
    bp = backprop_tanh_resnet(ctl["A"], ctl["b"], h0, y)
    assert r.grad.shape == theta.shape == (4, 6)
    assert_allclose(sys2.pack({"A": bp.grad_A, "b": bp.grad_b}), r.grad, rtol=0, atol=1e-15)
    assert_allclose(bp.delta, -r.lam, rtol=0, atol=1e-14)  # back-propagated error = -costate
    assert bp.loss == pytest.approx(r.loss, abs=1e-15)


def test_costate_gradient_vs_finite_differences(sys2, problem):
    """Discrete costate = exact gradient of the ResNet loss. Central differences with eps = 1e-5 err
    by O(eps^2 J''') ~ 1e-10 plus rounding 1e-16 / eps ~ 1e-11: tolerance 1e-8."""
    _, theta, h0, y = problem
    r = costate_gradient(sys2, theta, h0, y, n_steps=8)
    fd = finite_difference_gradient(lambda t: total_loss(sys2, t, h0, y, 8), theta, eps=1e-5)
    assert_allclose(r.grad, fd, rtol=0, atol=1e-8)
    # time-independent parameters: the gradient is the sum over layers
    th1 = theta[0]
    r1 = costate_gradient(sys2, th1, h0, y, n_steps=5)
    fd1 = finite_difference_gradient(lambda t: total_loss(sys2, t, h0, y, 5), th1, eps=1e-5)
    assert_allclose(r1.grad, fd1, rtol=0, atol=1e-8)


def test_adjoint_vs_finite_differences_of_the_ode(sys2, problem):
    """Continuous adjoint (RK4) vs finite differences of the RK4 loss: both approximate the ODE
    gradient with O(L^-4) errors, so their difference must shrink ~16x when L doubles."""
    _, theta, h0, y = problem
    errs = []
    for L in (16, 32):
        a = adjoint_gradient(sys2, theta, h0, y, n_steps=L)
        fd = finite_difference_gradient(lambda t: total_loss(sys2, t, h0, y, L, "rk4"), theta, eps=1e-5)
        errs.append(np.abs(a.grad - fd).max())
        # measured err * L^4 = 0.021, 0.019 at L = 16, 32 (these controls); 1e-9 = finite-difference floor
        assert errs[-1] < 0.05 / L ** 4 + 1e-9
    assert errs[1] < errs[0] / 8
    # the costate of the adjoint starts from -dPhi/dh(1)
    assert_allclose(a.lam[-1], y - a.h[-1], atol=1e-14)


def test_resnet_converges_to_ode_at_rate_one_over_L(sys2, problem):
    """|h_L - h(1)| = |e(1)|/L + O(L^-2): the remainder must shrink 4x per doubling; fitted slope -1."""
    _, theta, h0, _ = problem
    ode = solve_forward(sys2, theta, h0, 512, "rk4")
    e1 = euler_error_coefficient(sys2, theta, h0, 512)
    Ls = np.array([16, 32, 64, 128])
    err, rem = [], []
    for L in Ls:
        d = solve_forward(sys2, theta, h0, int(L)).h[-1] - ode.h[-1]
        err.append(np.abs(d).mean())
        rem.append(np.abs(d - e1 / L).mean())
    fit = fit_power_law(Ls, err)
    assert abs(fit.slope + 1) < 0.05
    rem = np.array(rem)
    assert np.all(rem[1:] / rem[:-1] < 0.3)          # O(L^-2): ratio 1/4
    assert np.all(rem < 0.1 * np.array(err))        # first-order theory captures > 90 % of the error


def test_resnet_gradient_converges_to_adjoint(sys2, problem):
    _, theta, h0, y = problem
    ref = adjoint_gradient(sys2, theta, h0, y, n_steps=256).grad
    Ls = np.array([16, 32, 64, 128])
    err = [np.abs(costate_gradient(sys2, theta, h0, y, int(L)).grad - ref).max() for L in Ls]
    assert abs(fit_power_law(Ls, err).slope + 1) < 0.1


def test_closed_forms():
    """dh/dtau = -h + b: Euler gives (1 - 1/L)^L h0 + b(1 - (1-1/L)^L); costate lambda(tau) = lambda(1) e^{tau-1}."""
    sys = tanh_system(1)
    theta = sys.pack({"A": [[0.0]], "b": [0.3]})
    h0 = np.array([[1.0, -2.0]])
    for L in (1, 7):
        q = (1 - 1 / L) ** L
        assert_allclose(solve_forward(sys, theta, h0, L).h[-1], q * h0 + 0.3 * (1 - q), atol=1e-14)
    a = adjoint_gradient(sys, theta, h0, [[0.0, 0.0]], n_steps=64)
    lam1 = a.lam[-1]
    assert_allclose(a.lam, lam1[None] * np.exp(a.tau - 1)[:, None, None], rtol=1e-8)
    # dJ/db = -mean int lambda dtau = -mean lambda(1) (1 - e^{-1})
    assert a.grad[1] == pytest.approx(-lam1.mean() * (1 - np.exp(-1)), rel=1e-8)


def test_delay_equation_closed_form():
    """dh/dtau = -k h(tau - d), h = x for tau <= 0: h(1) = (1 - k) x for d >= 1 (Euler exact);
    for d = 1/2, h(1) = (1 - k + k^2/8) x and Euler errs by O(1/n)."""
    x = np.linspace(-1, 1, 5)
    tr = delay_euler(lambda h, hd: -2.0 * hd, x, d=1.0, n_steps=20)
    assert_allclose(tr.h[-1], -x, atol=1e-14)
    exact = (1 - 3.0 + 9.0 / 8) * x
    errs = [np.abs(delay_euler(lambda h, hd: -3.0 * hd, x, d=0.5, n_steps=n).h[-1] - exact).max() for n in (40, 80)]
    assert errs[0] < 3.0 / 40 and 1.8 < errs[0] / errs[1] < 2.2


def test_training_1d_cannot_reverse_but_augmented_can():
    """Order preservation: a 1-D flow is monotone, so J >= (1/2) mean x^2 (isotonic bound) for y = -x;
    one extra dimension (Dupont et al. 2019) removes the bound."""
    x = np.linspace(-1, 1, 16)
    bound = 0.5 * np.mean(x ** 2)
    rng = np.random.default_rng(0)
    out = {}
    for K in (1, 2):
        sys = mlp_system(K, 4)
        p = {n: (0.5 * rng.standard_normal(s) / np.sqrt(s[-1]) if n.startswith("W") else np.zeros(s)) for n, s in sys.blocks}
        h0 = np.zeros((K, x.size))
        h0[0] = x
        r = train(sys, sys.pack(p), h0, -x[None], n_steps=10, lr=1.0, n_iter=150)
        out[K] = r.loss[-1]
        if K == 1:
            assert np.all(r.loss >= bound - 1e-12)
            # the trained field is also order preserving as an ODE (RK4, fine grid)
            assert total_loss(sys, r.theta, h0, -x[None], 200, "rk4") >= bound - 1e-12
    assert out[1] < 1.1 * bound
    assert out[2] < 0.05 * bound


def test_training_divergence_raises_convergence_error(sys2, problem):
    _, theta, h0, y = problem
    with pytest.raises(ConvergenceError):
        train(sys2, theta, h0, 50 * y, lr=1e4, n_iter=20)


def test_bad_input_raises_value_error(sys2, problem):
    _, theta, h0, y = problem
    with pytest.raises(ValueError, match="n_steps"):
        solve_forward(sys2, theta, h0, n_steps=6)
    with pytest.raises(ValueError, match="n_steps"):
        solve_forward(sys2, theta[0], h0)
    with pytest.raises(ValueError, match="theta"):
        solve_forward(sys2, np.zeros(5), h0, 4)
    with pytest.raises(ValueError, match="method"):
        solve_forward(sys2, theta, h0, method="heun")
    with pytest.raises(ValueError, match="h0"):
        solve_forward(sys2, theta, h0[:1])
    with pytest.raises(ValueError, match="y"):
        costate_gradient(sys2, theta, h0, y[:, :3])
    with pytest.raises(ValueError, match="lr"):
        train(sys2, theta, h0, y, lr=-1.0)
    with pytest.raises(ValueError, match="d"):
        delay_euler(lambda h, hd: hd, [0.0], d=-1.0)
    with pytest.raises(ValueError, match="system"):
        solve_forward(object(), theta, h0)
    with pytest.raises(ValueError, match="eps"):
        finite_difference_gradient(lambda t: 0.0, theta, eps=0.0)
    with pytest.raises(ValueError, match="finite"):
        solve_forward(sys2, np.inf * theta, h0)


def test_plots_run():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ax = plot_depth_convergence(L=4, n=4)
    assert "L = 4" in ax.get_legend().get_texts()[1].get_text()
    sys = tanh_system(1)
    tr = solve_forward(sys, sys.pack({"A": [[1.0]], "b": [0.0]}), np.linspace(-1, 1, 5)[None], 5)
    plot_trajectories(tr)
    plt.close("all")
