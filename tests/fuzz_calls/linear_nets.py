"""Fuzz examples for dmftlib.diagonal_linear and dmftlib.deep_linear; see README.md."""
import numpy as np


def _dl_data():
    from dmftlib import diagonal_linear
    return diagonal_linear.make_data(20, 0.5, 0.2, 0.0, seed=1)


def _deep_theory():
    from dmftlib import deep_linear
    return deep_linear.theory(2.0, 0.0, 2.0, [0.0, 1.0], dt=0.05, error_estimate=False)


_data = Lazy(_dl_data)  # noqa: F821 - provided by tests/test_fuzz_api.py
_D = "dmftlib.diagonal_linear."
_P = "dmftlib.deep_linear."
_t = np.array([0.0, 0.5, 1.0])

CALLS = {
    _D + "donoho_tanner": dict(rho=np.array([0.05, 0.1])),
    _D + "hyperbolic_entropy": dict(beta=np.array([1.0, -2.0]), init_scale=10.0),
    _D + "teacher": dict(d=10, rho=0.3, rng=Lazy(lambda: np.random.default_rng(0))),  # noqa: F821
    _D + "make_data": dict(d=20, alpha=0.5, rho=0.2, sigma2=0.0, seed=1),
    _D + "implicit_bias": dict(X=Lazy(lambda: _data.get()[0]), y=Lazy(lambda: _data.get()[1]),  # noqa: F821
                               init_scale=1e-2),
    _D + "prox_entropy": dict(x=np.array([-3.0, 0.5, 3.0]), lam=1.0, init_scale=0.1),
    _D + "static_limit": dict(alpha=0.5, rho=0.1, sigma2=0.0, init_scale=0.1),
    _D + "phase_diagram": dict(alphas=np.array([0.3, 0.6]), rhos=np.array([0.1]), sigma2=0.0, init_scale=0.01),
    _D + "time_grid": dict(t_max=10.0, n=4, tau=10.0 / 7.0),
    _D + "theory": dict(alpha=0.5, rho=0.1, sigma2=0.0, init_scale=1.0, t=_t, tau=0.5, n_grid=20, n_samples=200,
                        n_response=10, max_iter=60),
    _D + "simulate": dict(d=20, alpha=0.5, rho=0.1, sigma2=0.0, init_scale=1.0, t=_t, seeds=(0, 1)),
    _P + "saxe_mode": dict(s=2.0, a0=0.01, t=_t),
    _P + "saxe_time": dict(s=1.0, a0=1e-3),
    _P + "population_curve": dict(gamma0=1.0, t=_t),
    _P + "theory": dict(alpha=2.0, sigma2=0.0, gamma0=1.0, t=_t, dt=0.05, n_quad=40, error_estimate=False),
    _P + "simulate": dict(N=40, D=8, alpha=2.0, sigma2=0.0, gamma0=1.0, t=_t, seeds=(0, 1)),
    _P + "response_kernel": dict(alpha=2.0, sigma2=0.0, gamma0=0.0, t_max=1.0, n=11, n_quad=40),
    _P + "finite_width_spike": dict(result=Lazy(_deep_theory), N=400, D=20),  # noqa: F821
}
