"""Fuzz examples for dmftlib.optimal_control; see README.md."""
import numpy as np


def _schedule():
    from dmftlib import optimal_control
    return optimal_control.optimal_schedule(np.linspace(0.0, 2.0, 5), 0.25)


def _h0y():
    return np.random.default_rng(0).standard_normal((2, 2, 6))


_sched = Lazy(_schedule)  # noqa: F821 - provided by tests/test_fuzz_api.py
_lqr = dict(A=np.array([[0.0, 1.0], [0.0, 0.0]]), B=np.array([[0.0], [1.0]]), Q=np.eye(2), R=np.eye(1),
            F=np.eye(2))
_box = dict(A0=np.zeros((3, 2, 2)), b0=np.zeros((3, 2)), h0=_h0y()[0], y=_h0y()[1], n_iter=2)

CALLS = {
    "dmftlib.optimal_control.double_well": dict(x=np.linspace(-1.0, 1.0, 5)),
    "dmftlib.optimal_control.dp_solve_1d": dict(f=lambda x, u: u, cost=lambda x, u: 0.5 * u**2,
                                                phi=lambda x: 0.5 * x**2, x=np.linspace(-2.0, 2.0, 21),
                                                u=np.linspace(-2.0, 2.0, 11), T=1.0, n_t=6),
    "dmftlib.optimal_control.hopf_lax_value": dict(phi=lambda y: 0.5 * y**2, x=np.array([0.0, 1.0]), tau=1.0),
    "dmftlib.optimal_control.lqr": dict(**_lqr, x0=np.array([1.0, 0.0]), T=1.0, n_t=11),
    "dmftlib.optimal_control.riccati": dict(**_lqr, T=1.0, n_t=11),
    "dmftlib.optimal_control.riccati_rhs": dict(P=np.eye(2), **{k: v for k, v in _lqr.items() if k != "F"}),
    "dmftlib.optimal_control.msa_train": dict(_box),
    "dmftlib.optimal_control.projected_gd_train": dict(_box),
    "dmftlib.optimal_control.pmp_extremals": dict(x0=0.2, T=1.0),
    "dmftlib.optimal_control.schedule_finite_n": dict(result=_sched, N=20),
    "dmftlib.optimal_control.simulate_schedule": dict(N=20, result=_sched, seeds=(0, 1)),
    "dmftlib.optimal_control.plot_schedules": dict(T=2.0, N=20, n_seeds=2),
}
