"""Fuzz examples for dmftlib.multipass (ERM vs online SGD for the linear-field neural ODE)."""
import numpy as np

CALLS = {
    "dmftlib.multipass.plot_budget": {"alphas": np.array([0.5, 2.0]), "t_max": 2.0},
    "dmftlib.multipass.plot_learning_curves": {"t_max": 2.0},
    "dmftlib.multipass.asymptotic_errors": {"alpha": 2.0},
}
EXAMPLES = {"a0": 0.0, "a_star": 1.0, "r0": 0.0, "online_eta": 0.5, "eta_theta": 1.0}
