"""Fuzz examples for dmftlib.pspin (aging and spiked tensor PCA); see README.md."""
import os

import numpy as np

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _ck():
    from dmftlib.pspin import aging
    return aging.gradient_flow_dmft(3, t_max=1.0, dt=0.1)


def _spiked_th():
    from dmftlib.pspin import spiked
    return spiked.spiked_dmft(1 / 3, 1.0, "gd", alpha=0.1, t_max=2.0)


def _spiked_sim():
    from dmftlib.pspin import spiked
    return spiked.spiked_simulate(16, 1 / 3, 1.0, "gd", alpha=0.1, t_max=1.0, seeds=2, every=5)


# no EXAMPLES: the names p, q, delta2 mean other things in other modules
_q = np.array([0.0, 0.5, 1.0])

_ck_lazy = Lazy(_ck)  # noqa: F821 - provided by tests/test_fuzz_api.py
_th = Lazy(_spiked_th)  # noqa: F821
_sim = Lazy(_spiked_sim)  # noqa: F821

CALLS = {
    "dmftlib.pspin.aging.xi": dict(q=_q, p=3),
    "dmftlib.pspin.aging.xi_prime": dict(q=_q, p=3),
    "dmftlib.pspin.aging.xi_second": dict(q=_q, p=3),
    "dmftlib.pspin.aging.threshold_energy": dict(p=3),
    "dmftlib.pspin.aging.dynamical_temperature": dict(p=3),
    "dmftlib.pspin.aging.ground_state_energy": dict(p=3),
    "dmftlib.pspin.spiked.spiked_Q": dict(q=_q, delta2=1 / 3, deltap=1.0),
    "dmftlib.pspin.spiked.spiked_threshold": dict(deltap=1.0),
    "dmftlib.pspin.aging.aging_state": dict(p=3, T=0.5),
    "dmftlib.pspin.aging.gradient_flow_dmft": dict(p=3, t_max=1.0, dt=0.1, T=0.0),
    "dmftlib.pspin.aging.gradient_flow_dmft_adaptive": dict(p=3, t_max=2.0, T=0.0, n_window=16, dt0=0.1),
    "dmftlib.pspin.aging.simulate": dict(N=16, p=3, t_max=0.5, dt=0.1, T=0.0, seeds=2),
    "dmftlib.pspin.aging.aging_curves": dict(result=_ck_lazy, t_w=np.array([0.5])),
    "dmftlib.pspin.aging.plot_aging": dict(T=0.0, t_max=2.0, p=3, t_w=np.array([0.5, 1.0]), dt=0.1),
    "dmftlib.pspin.spiked.spiked_betas": dict(method="nesterov", n_steps=4),
    "dmftlib.pspin.spiked.spiked_dmft": dict(delta2=1 / 3, deltap=1.0, alpha=0.1, t_max=1.0),
    "dmftlib.pspin.spiked.spiked_simulate": dict(N=16, delta2=1 / 3, deltap=1.0, alpha=0.1, t_max=0.5, seeds=2),
    "dmftlib.pspin.spiked.spiked_simulate_methods": dict(N=16, delta2=1 / 3, deltap=1.0, alpha=0.1, t_max=0.5,
                                                         seeds=2),
    "dmftlib.pspin.spiked.spiked_escape_time": dict(result=_th),
    "dmftlib.pspin.spiked.spiked_load_runs": dict(path=os.path.join(_ROOT, "book", "data", "spiked_runs.npz")),
    "dmftlib.pspin.spiked.plot_spiked_vs_simulation": dict(theories=Lazy(lambda: {"gd": _th.get()}),  # noqa: F821
                                                           sims=Lazy(lambda: {"gd": _sim.get()})),  # noqa: F821
}
