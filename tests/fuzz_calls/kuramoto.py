"""Fuzz examples for dmftlib.kuramoto; see README.md.

Here ``K`` is the coupling strength and ``width`` the spread of the natural frequencies, both reals
(elsewhere in the library these names are integer sizes): the examples are floats so that the fuzz
treats them as reals (K = 0 and width = 1.5 are valid values here).
"""
import numpy as np

_M = "dmftlib.kuramoto."

CALLS = {
    _M + "frequency_density": dict(omega=np.linspace(-1.0, 1.0, 5), width=1.0),
    _M + "frequency_quantiles": dict(N=8, width=1.0),
    _M + "graphon": dict(x=np.array([0.25, 0.5]), y=np.array([0.5, 0.75])),
    _M + "locked_fraction_map": dict(a=np.array([0.5, 2.0]), width=1.0),
    _M + "critical_coupling": dict(width=1.0),
    _M + "stationary_order_parameter": dict(K=2.5, width=1.0),
    _M + "theory": dict(K=2.5, width=1.0, n_x=20),
    _M + "simulate": dict(N=20, K=2.5, width=1.0, seeds=(0, 1), t_max=2.0),
    _M + "plot_order_parameter": dict(width=1.0),
}
