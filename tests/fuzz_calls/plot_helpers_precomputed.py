"""Fuzz examples for the plot helpers that draw precomputed results (lti, rnn; read by tests/test_fuzz_api.py).

``Lazy`` is provided by the reader.
"""
import numpy as np

import dmftlib.lti

_T = np.linspace(0.0, 1.0, 6)


def _theory(normal=False):
    return dmftlib.lti.theory("ginibre", _T, a=1.5, normal=normal)


def _sim(normal=False):
    return dmftlib.lti.simulate(10, "ginibre", _T, a=1.5, normal=normal, seeds=2)


CALLS = {
    "dmftlib.lti.plot_theory_vs_simulations": {"th": Lazy(_theory), "sims": Lazy(lambda: [_sim()])},  # noqa: F821
    "dmftlib.lti.plot_normal_comparison": {"th": Lazy(_theory), "th_normal": Lazy(lambda: _theory(True)),  # noqa: F821
                                           "sim": Lazy(_sim), "sim_normal": Lazy(lambda: _sim(True))},  # noqa: F821
    "dmftlib.rnn.plot_delta0_spread": {"delta0": 1.9, "Ns": np.array([250, 500]),
                                       "samples": [np.array([1.8, 2.0, 2.1]), np.array([1.9, 1.95])]},
}
