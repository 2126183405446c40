"""dmftlib.core: what several models share.

Gaussian expectations, time grids and causal two-time integrals, damped fixed-point
iteration with ``ConvergenceError``, random-matrix laws, ODE integration, statistics over
seeds, argument checks, and the generic sampling DMFT solver. Model modules build on these; these import nothing from models.
"""
from .errors import ConvergenceError
from .validation import (ReadOnlyArrays, check_array, check_bool, check_budget, check_choice, check_int,
                         check_real, check_seed, check_seeds, check_time_grid, readonly,
                         check_callable, check_instance, check_finite, check_public)
from .gaussian import expect, expect2, expect_joint, gauss_hermite
from .timegrid import (TimeGrid, causal_integral, causal_part, causal_weights, is_causal, is_psd,
                       project_psd, symmetrize, uniform_grid)
from .fixed_point import FixedPointResult, damped_fixed_point, rms
from .stats import PowerLawFit, fit_power_law, mean_sem
from .ode import integrate
from . import rmt
from .sampling_dmft import SamplingDMFTResult, sample_gaussian_paths, solve_sampling_dmft
from .toeplitz import CausalToeplitz, stein_factored

__all__ = [
    "ConvergenceError", "check_array", "check_choice", "check_int", "check_real", "check_time_grid",
    "check_bool", "check_seed", "check_seeds", "check_budget", "readonly", "ReadOnlyArrays",
    "check_callable", "check_instance", "check_finite", "check_public",
    "expect", "expect2", "expect_joint", "gauss_hermite",
    "TimeGrid", "causal_integral", "causal_part", "causal_weights", "is_causal", "is_psd",
    "project_psd", "symmetrize", "uniform_grid",
    "FixedPointResult", "damped_fixed_point", "rms",
    "PowerLawFit", "fit_power_law", "mean_sem", "integrate", "rmt",
    "SamplingDMFTResult", "sample_gaussian_paths", "solve_sampling_dmft",
    "CausalToeplitz", "stein_factored",
]
