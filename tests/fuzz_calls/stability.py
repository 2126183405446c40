"""Fuzz examples for the toy model and the finite-N threshold of dmftlib.stability; see README.md."""
import numpy as np

_X = np.random.default_rng(0).standard_normal((10, 20))     # P = 10 samples in N = 20 dimensions

CALLS = {
    "dmftlib.stability.uv_sharpness": dict(u=2.0, v=0.05),
    "dmftlib.stability.uv_theory": dict(u0=2.0, v0=0.05, etas=[0.05, 0.1]),
    "dmftlib.stability.uv_gd": dict(u0=2.0, v0=0.05, etas=[0.05, 0.1], n_steps=50),
    "dmftlib.stability.mean_square_threshold": dict(X=_X, B=1, eta_lo=0.05, eta_hi=0.2),
}
