"""Fuzz examples for the functions added by the Part II revision (partial symmetry, FDT, Lyapunov
exponent) and for deep_linear's Saxe plot; see README.md."""
import numpy as np

EXAMPLES = {"kappa": 0.5}


def _noisy_theory():
    from dmftlib import cavity
    return cavity.stationary_linear_noise(np.linspace(0.0, 2.0, 5), 0.5, 0.5, n_omega=2**10)


CALLS = {
    "dmftlib.cavity.plot_fdt": dict(theories=Lazy(lambda: [_noisy_theory()])),
    "dmftlib.rnn.plot_lyapunov": dict(g_theory=(1.5, 2.0)),
    "dmftlib.deep_linear.plot_saxe_modes": dict(depth=2, a0=1e-3, s_values=(1.0, 2.0), t_max=2.0),
}

CALLS["dmftlib.cavity.simulate_linear_noise"] = dict(N=20, g=0.5, kappa=0.5, T=1.0, seeds=(0, 1), t_burn=1.0,
                                                     t_record=4.0, dt=0.05, tau_max=1.0, n_tau=5)
