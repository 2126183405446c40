"""Fuzz examples for dmftlib.autoregressive and dmftlib.generative (issue 11)."""
import numpy as np

_OV = dict(Qw=1.0, Rw=0.2, Qu=1.0, Ru=0.2, S=0.0)
_Y = np.array([[[1.0, 0.2, 1.0, 0.2, 0.0], [0.9, 0.4, 0.8, 0.3, 0.1]],
               [[1.0, 0.2, 1.0, 0.2, 0.0], [0.95, 0.35, 0.85, 0.3, 0.12]]])


def _ar_theory():
    from dmftlib import autoregressive
    return autoregressive.theory(t=np.linspace(0.0, 1.0, 3), ks=(1, 2))


def _gen_theory():
    from dmftlib import generative
    return generative.theory(t=np.linspace(0.0, 1.0, 3))


CALLS = {
    "dmftlib.autoregressive.rollout_errors": dict(_OV, a=0.5, b_star=0.7),
    "dmftlib.autoregressive.rhs": dict(_OV),
    "dmftlib.autoregressive.overlaps": dict(w_star=np.ones(6), w=np.arange(6.0), u=-np.ones(6)),
    "dmftlib.autoregressive.summarize": dict(overlaps=_Y, t=np.array([0.0, 1.0]), N=20),
    "dmftlib.autoregressive.plot_learning_curves": dict(th=Lazy(_ar_theory)),  # noqa: F821 (provided)
    "dmftlib.autoregressive.plot_rollout": dict(ths=Lazy(_ar_theory)),  # noqa: F821
    "dmftlib.generative.distances": dict(_OV),
    "dmftlib.generative.summarize": dict(overlaps=_Y, t=np.array([0.0, 1.0]), N=20),
    "dmftlib.generative.plot_distance": dict(th=Lazy(_gen_theory)),  # noqa: F821
}
