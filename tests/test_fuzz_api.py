"""Bad-input fuzz of the whole public API of ``dmftlib`` (issue 9, part 2).

Every public function and class of every module under ``dmftlib`` (its ``__all__``, or else the
public functions and classes defined in it; subpackages included, so a new module is covered the
moment it is imported by its package) is called once with a valid *baseline* call, then once per
(argument, bad value): one argument at a time is replaced by NaN, inf, a wrong type, a negative or
zero size, a huge size or duration, the string 'False' for a flag, an empty or unsorted grid, an
unknown choice, a bad seed. Each bad call must end, within a few seconds, in

* ``ValueError`` / ``TypeError`` whose message names the argument, or
* ``dmftlib.ConvergenceError``,

never in another exception, a hang (more than ``TIME_LIMIT`` CPU seconds), or a returned NaN/inf (unless the result carries a truthy
``diverged`` field). The baseline call must succeed, return only finite numbers, and every array in
a returned result dataclass must be read-only.

How a module author adds an example
-----------------------------------
The baseline call is built from the signature: a parameter takes its value from ``EXAMPLES`` (keyed
by parameter *name*, shared by all modules, small sizes so the calls are fast), else its default.
If a function needs something else (an object built by another function, a conflicting meaning of
a name), add an entry to ``CALLS`` keyed by ``"module.function"``: a dict of keyword arguments
(values may be ``Lazy(callable)``, built once). The kind of a parameter (size, duration, seed,
flag, choice, grid, array, object), which decides its bad values, is read from its name and its
example value; the sets below (``SIZES``, ``DURATIONS``, ``NONNEG``, ``GRIDS``, ...) refine it.
A parameter that cannot be fuzzed meaningfully (a plotting ``ax``, a label) is listed in
``NOT_FUZZED``. Run ``python tests/test_fuzz_api.py`` to print the outcome counts.
"""
from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import numbers
import os
import pkgutil
import resource
import signal
import sys
import warnings

import numpy as np
import pytest

import dmftlib
from dmftlib.core import ConvergenceError

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

#: CPU seconds one call may take (a hang fails).
TIME_LIMIT = float(os.environ.get("DMFTLIB_FUZZ_TIME_LIMIT", 4.0))


class Lazy:
    """A baseline value built on first use (an object made by another library function)."""

    def __init__(self, make):
        self.make = make
        self.value = None
        self.done = False

    def get(self):
        if not self.done:
            self.value, self.done = self.make(), True
        return self.value


def _lazy(value):
    return value.get() if isinstance(value, Lazy) else value


# ------------------------------------------------------------------ valid example values, by name
T_GRID = np.linspace(0.0, 1.0, 6)
EXAMPLES = {
    # sizes
    "N": 20, "K": 2, "M": 2, "L": 4, "P": 20, "n": 8, "n_t": 11, "n_tau": 11, "n_seeds": 2, "n_steps": 5,
    "n_quad": 40, "n_samples": 200, "n_paths": 50, "n_draws": 1, "n_talbot": 8, "N_theory": 30,
    "n_test": 50, "n_grid": 200, "n_nodes": 16, "n_response": 16, "n_pieces": 2, "n_units": 2,
    "n_stehfest": 7, "n_keep": 5, "iters": 3, "power_iters": 2, "width": 8, "batch": 4, "B": 4,
    "d": 5, "ref_substeps": 8, "substeps": 2, "refine": 1, "max_iter": 50, "chunk": 16,
    "seeds_per_batch": 2, "sharpness_every": 2, "teacher_width": 4, "max_doublings": 40,
    "burn_in": 2, "min_iter": 1, "n_iter": 3,
    # durations and grids
    "t_max": 2.0, "T": 1.0, "t_burn": 1.0, "t_record": 2.0, "tau_max": 2.0, "t": T_GRID,
    "tau": np.linspace(0.0, 1.0, 5), "steps": np.arange(4), "kick_times": (0.0,),
    "L_values": (2, 4), "etas": (0.2, 0.1), "Ns": (20, 30), "N_values": (20, 30), "depths": (2, 4),
    "ks": (1, 2), "ridges": (0.0, 0.1), "ratios": (0.5, 0.9), "gs": (0.5, 1.0),
    # seeds
    "seeds": (0, 1), "seed": 0, "init_seed": 0, "seed0": 0,
    # reals
    "alpha": 0.5, "nu": 0.5, "sigma2": 0.25, "sigma": 0.5, "eta": 0.2, "g": 0.5, "a": 1.5,
    "sigma_w2": 1.5, "sigma_b2": 0.05, "q0": 1.0, "c0": 0.5, "dt": 0.1, "b": 0.5,
}

# ------------------------------------------------------------------ kinds of parameters, by name
SEED_NAMES = {"seed", "init_seed", "seed0"}
SIZES = {"N", "K", "M", "L", "P", "n", "n_t", "n_tau", "n_seeds", "n_steps", "n_quad", "n_samples", "n_paths",
         "n_draws", "n_talbot", "N_theory", "n_test", "n_grid", "n_nodes", "n_response", "n_pieces", "n_units",
         "n_stehfest", "width", "batch", "B", "d", "ref_substeps", "substeps", "refine", "chunk", "iters",
         "power_iters", "teacher_width", "n_keep", "seeds_per_batch", "L_teacher", "n_iter"}
#: smallest valid value of an integer (1 unless listed)
INT_MIN = {"burn_in": 0, "lmin": 0, "component": 0, "axis": None, "time_index": None, "min_iter": 0,
           "order": 0, "d": 1, "n_keep": 0, "n_iter": 0}
DURATIONS = {"t_max", "T", "t_burn", "t_record", "tau_max"}
NONNEG = {"alpha", "nu", "sigma2", "sigma", "eta", "eta_v", "eta_theta", "dt", "tol", "t_max", "T", "t_burn",
          "t_record", "tau_max", "sigma_w2", "sigma_b2", "ridge", "delta", "damping", "lr", "q0", "C0", "var",
          "eps", "b_scale", "max_bytes", "divergence", "max_growth", "t_start", "radius", "beta", "omega"}
GRIDS = {"t", "tau", "steps", "kick_times", "L_values", "etas", "Ns", "N_values", "depths", "ks"}
#: grids whose order matters (a reversed one must be refused); the others are sets of values, and a
#: closed form may be evaluated at times in any order
SORTED_GRIDS = {"steps", "kick_times"}
#: free-text or plotting parameters whose values are not checked (labels, colours, axes)
NOT_FUZZED = {"ax", "axes", "label", "labels", "title", "xlabel", "color", "cmap", "prefix", "describe",
              "theory_label", "marker", "kw", "path", "name", "sim_label", "every", "logy", "log", "height",
              "ncols", "nrows", "first", "executor", "time_index", "floor", "t_refs", "measured", "factor"}
#: whole callables that are not fuzzed, with the reason
EXCLUDED = {
    "dmftlib.core.validation": "the argument checkers themselves (their doctests test them)",
    "dmftlib.core.errors.ConvergenceError": "an exception type",
    "dmftlib.plotting.use_house_style": "no arguments",
}


def _rng():
    return np.random.default_rng(0)


def _ts_data():
    from dmftlib import learning
    return learning.sample_teacher_student(20, alpha=1.0, sigma2=0.1, seeds=2)


def _cavity_pair():
    from dmftlib import cavity
    return cavity.theory(0.5, t_max=2.0, n_t=11)


def _mlp():
    from dmftlib import stability
    return stability.MLP((5, 4, 1))


def _setup():
    from dmftlib import neural_ode
    return neural_ode.setup(K=2, M=2, L=2)


def _tmp(name):
    import tempfile
    return os.path.join(tempfile.mkdtemp(prefix="dmftlib-fuzz-"), name)


def _saved(module, result):
    path = _tmp(f"{module}.npz")
    if module == "self_averaging":
        dmftlib.learning.save_self_averaging(result, path)
    elif module == "neural_ode":
        dmftlib.neural_ode.save_results(path, th=result)
    else:
        dmftlib.committee.save_simulations(path, sim=result)
    return path


def _ax():
    return plt.subplots()[1]


def _pontryagin_args():
    import sympy as sp
    from dmftlib.symbolic import pontryagin
    h = pontryagin.state_symbols(1)
    a = pontryagin.parameter_block("a", (1, 1))
    return dict(F=-a * h, h=h, params={"a": a}, loss=h[0] ** 2 / 2)


def _control_system():
    from dmftlib.symbolic import pontryagin
    return pontryagin.tanh_system(2)


#: per-function keyword arguments, when the name table is not enough ("module.function" -> kwargs)
CALLS: dict = {}


def _register_calls():
    from dmftlib import stability
    data = Lazy(_ts_data)
    th = Lazy(_cavity_pair)
    mlp = Lazy(_mlp)
    sp_ = Lazy(_setup)
    X_int = Lazy(lambda: stability.interpolation_data(20, 0.5, seed=0))
    from dmftlib import committee, lti, random_features, signal_propagation, sgd, linear
    from dmftlib.symbolic import msr, pontryagin
    th_sg = Lazy(lambda: signal_propagation.theory(4, 1.5, 0.05))
    system = Lazy(_control_system)
    theta = Lazy(lambda: _control_system().pack({"A": np.zeros((2, 2, 2)), "b": np.zeros((2, 2))}))
    h0 = Lazy(lambda: _rng().standard_normal((2, 3)))
    O3 = Lazy(lambda: np.eye(3) + 0.2)
    ov = Lazy(lambda: committee.initial_overlaps(2, 2, seed=0))
    ode = Lazy(lambda: committee.ode(2, 2, 0.5, np.linspace(0, 2, 5)))
    rf_th = Lazy(lambda: random_features.exact_theory(0.5, 0.5, 0.1, T_GRID))
    kern = Lazy(lambda: msr.kernel_functions(msr.derive(T=2, N=2)))
    gd = Lazy(lambda: dmftlib.learning.gd_vs_gf(N=20, etas=(0.2, 0.1), T=1.0, seeds=2))
    euler = Lazy(lambda: dmftlib.learning.resnet_vs_ode(N=20, L_values=(2, 4), seeds=2, ref_substeps=8))
    selfav = Lazy(lambda: dmftlib.learning.self_averaging(N_values=(20, 30), seeds=3))
    curve = Lazy(lambda: dmftlib.learning.theory(T_GRID, alpha=0.5))
    nth = Lazy(lambda: dmftlib.neural_ode.theory(_setup(), 0.5, np.linspace(0, 1, 3), n_nodes=8))
    fit = Lazy(lambda: dmftlib.core.fit_power_law([1.0, 2.0, 4.0], [1.0, 0.5, 0.25]))
    eos = Lazy(lambda: stability.train_gd(_mlp(), _rng().standard_normal((6, 5)), np.ones(6), 0.1, 4,
                                          sharpness_every=2, power_iters=2))
    scan = Lazy(lambda: dmftlib.cavity.finite_size_scan(0.5, Ns=(20, 30), seeds=2, t_max=1.0, n_t=6,
                                                                kick_times=(0.0,)))
    grid = np.linspace(0.0, 1.0, 6)
    CALLS.update({
        # core
        "dmftlib.core.fixed_point.damped_fixed_point": dict(F=np.cos, x0=1.0),
        "dmftlib.core.gaussian.expect": dict(f=np.tanh),
        "dmftlib.core.gaussian.expect2": dict(f=np.tanh, g=np.tanh, var_u=1.0, var_v=1.0, cov=0.5, n=8),
        "dmftlib.core.gaussian.expect_joint": dict(h=lambda u, v: u * v, var_u=1.0, var_v=1.0, cov=0.5, n=8),
        "dmftlib.core.ode.integrate": dict(f=lambda t, y: -y, y0=1.0, t=grid),
        "dmftlib.core.rmt.circular_law_density": dict(x=np.linspace(-1, 1, 5), y=np.zeros(5)),
        "dmftlib.core.rmt.empirical_stieltjes": dict(z=np.array([-1.0, 3.0]), eigenvalues=np.linspace(0, 1, 5)),
        "dmftlib.core.rmt.marchenko_pastur_density": dict(x=np.linspace(0.1, 3, 5)),
        "dmftlib.core.rmt.marchenko_pastur_expect": dict(f=np.square, n=16),
        "dmftlib.core.rmt.marchenko_pastur_stieltjes": dict(z=np.array([-1.0, 8.0])),
        "dmftlib.core.rmt.semicircle_density": dict(x=np.linspace(-1, 1, 5)),
        "dmftlib.core.rmt.semicircle_stieltjes": dict(z=np.array([-3.0, 3.0])),
        "dmftlib.core.sampling_dmft.sample_gaussian_paths": dict(cov=np.eye(3) + 0.1, n_samples=10, rng=Lazy(_rng)),
        "dmftlib.core.sampling_dmft.solve_sampling_dmft": dict(
            drift=lambda t, x, z: -x, kernel_map=lambda x, R: 0.25 * np.tanh(x).T @ np.tanh(x) / len(x), t_max=1.0, n_t=6, n_samples=100,
            max_iter=20),
        "dmftlib.core.stats.fit_power_law": dict(x=np.array([1.0, 2.0, 4.0]), y=np.array([1.0, 0.5, 0.3])),
        "dmftlib.core.stats.mean_sem": dict(samples=np.ones((3, 2))),
        "dmftlib.core.fixed_point.rms": dict(d=np.ones(3)),
        "dmftlib.core.timegrid.causal_integral": dict(A=np.tril(np.ones((4, 4))), B=np.tril(np.ones((4, 4))),
                                                      dt=0.1),
        "dmftlib.core.timegrid.causal_part": dict(R=np.ones((3, 3))),
        "dmftlib.core.timegrid.is_causal": dict(R=np.tril(np.ones((3, 3)))),
        "dmftlib.core.timegrid.is_psd": dict(C=np.eye(3)),
        "dmftlib.core.timegrid.project_psd": dict(C=np.eye(3) - 0.5),
        "dmftlib.core.timegrid.symmetrize": dict(C=np.arange(9.0).reshape(3, 3)),
        "dmftlib.core.timegrid.causal_weights": dict(n=4, dt=0.1),
        # committee
        "dmftlib.committee.I2": dict(O=O3), "dmftlib.committee.I3": dict(O=O3),
        "dmftlib.committee.I4": dict(O=Lazy(lambda: np.eye(4) + 0.2)), "dmftlib.committee.J2": dict(O=O3),
        "dmftlib.committee.g": dict(u=np.linspace(-1, 1, 5)), "dmftlib.committee.g_prime": dict(u=np.linspace(-1, 1, 5)),
        "dmftlib.committee.generalization_error": dict(Q=np.eye(2), R=0.5 * np.eye(2), T=np.eye(2)),
        "dmftlib.committee.initial_overlaps": dict(T=None),
        "dmftlib.committee.overlaps_of": dict(W=Lazy(lambda: _rng().standard_normal((2, 20))),
                                              B=Lazy(lambda: _rng().standard_normal((2, 20)))),
        "dmftlib.committee.realize": dict(init=ov, N=20),
        "dmftlib.committee.rhs": dict(Q=np.eye(2), R=0.5 * np.eye(2), T=np.eye(2), v=np.ones(2), v_star=np.ones(2)),
        "dmftlib.committee.ode": dict(t=np.linspace(0, 2, 5)),
        "dmftlib.committee.simulate": dict(t=np.linspace(0, 2, 5), chunk=16),
        "dmftlib.committee.plot_learning_curve": dict(theory=ode),
        "dmftlib.committee.plot_widget": dict(t_max=2.0),
        "dmftlib.committee.plateau": dict(K=2, eta=0.5),
        # control
        "dmftlib.control.solve_forward": dict(system=system, theta=theta, h0=h0, n_steps=4),
        "dmftlib.control.total_loss": dict(system=system, theta=theta, h0=h0, y=h0, n_steps=4),
        "dmftlib.control.costate_gradient": dict(system=system, theta=theta, h0=h0, y=h0, n_steps=4),
        "dmftlib.control.adjoint_gradient": dict(system=system, theta=theta, h0=h0, y=h0, n_steps=4),
        "dmftlib.control.euler_error_coefficient": dict(system=system, theta=theta, h0=h0, n_steps=4),
        "dmftlib.control.train": dict(system=system, theta0=theta, h0=h0, y=h0, n_steps=2, n_iter=2),
        "dmftlib.control.finite_difference_gradient": dict(fun=lambda th: float(np.sum(th ** 2)),
                                                           theta=np.ones(3)),
        "dmftlib.control.backprop_tanh_resnet": dict(A=np.zeros((2, 2, 2)), b=np.zeros((2, 2)), h0=h0, y=h0),
        "dmftlib.control.delay_euler": dict(F=lambda h, hd: -hd, x=np.array([1.0, -0.5]), d=0.5, n_steps=4),
        "dmftlib.control.plot_trajectories": dict(traj=Lazy(lambda: dmftlib.control.solve_forward(
            _control_system(), _control_system().pack({"A": np.zeros((2, 2)), "b": np.zeros(2)}),
            _rng().standard_normal((2, 3)), n_steps=4))),
        "dmftlib.control.plot_depth_convergence": dict(L=2, n=3),
        "dmftlib.control.random_tanh_controls": dict(K=2, n_pieces=2),
        # cavity
        "dmftlib.cavity.plot_finite_size": dict(scans=Lazy(lambda: {0.5: scan.get()})),
        "dmftlib.cavity.finite_size_scan": dict(g=0.5, Ns=(20, 30), seeds=2, t_max=1.0, n_t=6, kick_times=(0.0,)),
        "dmftlib.cavity.plot_cavity": dict(N=20, t_max=1.0),
        # learning
        "dmftlib.learning.load_self_averaging": dict(path=Lazy(lambda: _saved("self_averaging", selfav.get()))),
        "dmftlib.learning.save_self_averaging": dict(result=selfav, path=Lazy(lambda: _tmp("selfav.npz"))),
        "dmftlib.learning.self_averaging": dict(N_values=(20, 30), t=1.0, seeds=3),
        "dmftlib.learning.plot_euler_error": dict(result=euler),
        "dmftlib.learning.plot_gd_error": dict(result=gd),
        "dmftlib.learning.plot_self_averaging": dict(result=selfav),
        "dmftlib.learning.plot_test_error_histogram": dict(result=selfav),
        "dmftlib.learning.plot_test_error": dict(curves=Lazy(lambda: [curve.get()])),
        "dmftlib.learning.plot_resnet_trajectories": dict(L=2, N=20),
        "dmftlib.learning.plot_gd_vs_gf": dict(T=1.0),
        # linear
        "dmftlib.linear.finite_size_scan": dict(Ns=(20, 30), t=T_GRID, seeds=2, seeds_per_batch=2),
        "dmftlib.linear.optimal_stopping": dict(t_max=10.0),
        "dmftlib.linear.gradient_flow_theory_spectrum": dict(
            spectrum=Lazy(lambda: dmftlib.linear.power_law_spectrum(20, 0.5))),
        "dmftlib.linear.stein_doubling": dict(A=0.5 * np.eye(2), S=np.eye(2)),
        "dmftlib.core.toeplitz.CausalToeplitz": dict(c=np.array([0.5, 0.1, 0.05])),
        "dmftlib.core.toeplitz.stein_factored": dict(
            A=Lazy(lambda: dmftlib.core.toeplitz.CausalToeplitz(np.array([0.5, 0.1, 0.05]))), G=np.ones((3, 1))),
        "dmftlib.linear.power_law_spectrum": dict(N=20, b=0.5),
        "dmftlib.linear.plot_learning_curves": dict(t_max=5.0),
        "dmftlib.linear.plot_long_time_error": dict(alphas=np.array([0.5, 2.0])),
        # lti
        **{f"dmftlib.lti.{f}": dict(ensemble="ginibre") for f in (
            "numerical_abscissa", "sample_matrices", "simulate", "simulate_trajectories", "spectral_quadrature",
            "stability_margin", "theory", "plot_spectrum")},
        "dmftlib.lti.plot_response": dict(ensemble="ginibre", t_max=1.0, Ns=(20,), seeds=2),
        "dmftlib.lti.plot_correlation": dict(ensemble="ginibre", t_max=1.0, Ns=(20,), seeds=2),
        "dmftlib.lti.plot_transient_growth": dict(N=20, t_max=1.0, n_t=5),
        "dmftlib.lti.plot_lti": dict(t_max=1.0, N=20),
        "dmftlib.lti.response_hat": dict(s=np.array([1.0, 2.0]), ensemble="ginibre"),
        "dmftlib.lti.dmft_response_laplace": dict(s=np.array([1.0, 2.0])),
        "dmftlib.lti.response_from_contour": dict(G=lambda z: 1.0 / (z + 1.0), tau=np.linspace(0, 1, 4),
                                                  center=-1.0, radius=0.5, n_nodes=32),
        # neural_ode
        "dmftlib.neural_ode.forward_backward": dict(
            sp_=sp_, theta=Lazy(lambda: _setup().theta0),
            h0=Lazy(lambda: _rng().standard_normal((2, 2))), hs0=Lazy(lambda: _rng().standard_normal((2, 2)))),
        "dmftlib.neural_ode.linear_closed_form": dict(L=2, eta=0.5, t=T_GRID, q0=0.5, r0=0.2),
        "dmftlib.neural_ode.load_results": dict(path=Lazy(lambda: _saved("neural_ode", nth.get()))),
        "dmftlib.neural_ode.save_results": dict(path=Lazy(lambda: _tmp("nres.npz"))),
        "dmftlib.neural_ode.plot_controls": dict(th=nth),
        "dmftlib.neural_ode.plot_learning_curve": dict(theories=Lazy(lambda: [nth.get()])),
        "dmftlib.neural_ode.plot_widget": dict(t_max=1.0),
        "dmftlib.neural_ode.simulation_label_once": dict(sim=Lazy(lambda: dmftlib.neural_ode.simulate(
            20, _setup(), 0.5, np.linspace(0, 1, 3), seeds=(0, 1), n_nodes=8)), first=True),
        "dmftlib.committee.save_simulations": dict(path=Lazy(lambda: _tmp("csim.npz"))),
        "dmftlib.committee.load_simulations": dict(path=Lazy(lambda: _saved("committee", committee.simulate(
            20, 2, 2, 0.5, np.linspace(0, 1, 3), (0, 1), chunk=16)))),
        # plotting
        "dmftlib.plotting.plot_power_law_fit": dict(ax=Lazy(_ax), x=np.array([1.0, 2.0, 4.0]),
                                                    y=np.array([1.0, 0.5, 0.25]), sem=np.full(3, 0.01), fit=fit),
        "dmftlib.plotting.plot_simulation": dict(ax=Lazy(_ax), x=T_GRID, mean=T_GRID),
        "dmftlib.plotting.plot_theory": dict(ax=Lazy(_ax), x=T_GRID, y=T_GRID),
        "dmftlib.plotting.theory_vs_simulation": dict(ax=Lazy(_ax), theory_x=T_GRID, theory_y=T_GRID, sim_x=T_GRID,
                                                      sim_mean=T_GRID, sim_sem=0.1 * T_GRID, N=20, n_seeds=2),
        "dmftlib.plotting.simulation_label": dict(N=20, n_seeds=2),
        # random features
        "dmftlib.random_features.activation_coefficients": dict(phi="tanh"),
        "dmftlib.random_features.ensemble_error": dict(result=Lazy(lambda: random_features.simulate(
            20, 0.5, 0.5, 0.1, T_GRID, seeds=(0, 1), n_test=50)), k=2),
        "dmftlib.random_features.large_n_theory": dict(N_theory=60),
        "dmftlib.random_features.theory": dict(N_theory=60),
        "dmftlib.random_features.plot_explorer": dict(N_theory=60, t_max=10.0),
        "dmftlib.random_features.long_time_error_underparametrized": dict(alpha=2.0),
        "dmftlib.random_features.plot_bias_variance": dict(x=np.array([0.5]), results=Lazy(lambda: [rf_th.get()])),
        "dmftlib.random_features.plot_learning_curves": dict(theory_result=rf_th),
        "dmftlib.random_features.product_wishart_density": dict(x=np.linspace(0.1, 2, 5)),
        # rnn
        "dmftlib.rnn.potential": dict(delta=np.linspace(0, 1, 5), delta0=1.0, g=1.5),
        "dmftlib.rnn.stationary_part": dict(C=np.eye(6), t=T_GRID, t_start=0.4),
        "dmftlib.rnn.simulate": dict(N=20, g=1.5, t_burn=1.0, t_record=2.0, tau_max=1.0),
        "dmftlib.rnn.sampling_dmft": dict(g=1.5, t_max=2.0, n_t=11, n_samples=100, max_iter=5),
        "dmftlib.rnn.plot_stationary": dict(g=1.5, tau_max=2.0),
        # sgd
        "dmftlib.sgd.finite_size_scan": dict(Ns=(20, 30), seeds_per_N=(2, 2), alpha=2.0, sigma2=0.25, eta=0.2, b=0.5,
                                             t_max=1.0),
        "dmftlib.sgd.online_theory": dict(t=T_GRID),
        "dmftlib.sgd.plot_stability": dict(t_max=2.0),
        "dmftlib.sgd.plot_learning_curves": dict(t_max=2.0),
        "dmftlib.sgd.plot_online": dict(t_max=1.0),
        "dmftlib.sgd.dmft": dict(alpha=2.0, t_max=1.0, n_paths=50, max_iter=50),
        # signal propagation
        "dmftlib.signal_propagation.correlation_map": dict(c=np.array([0.2, 0.5]), sigma_w2=1.5, sigma_b2=0.05),
        "dmftlib.signal_propagation.length_map": dict(q=np.array([0.2, 0.5])),
        "dmftlib.signal_propagation.decay_length": dict(l=np.arange(6), y=np.exp(-np.arange(6.0)), y_star=0.0),
        "dmftlib.signal_propagation.phase_diagram": dict(sigma_w2=np.array([1.0, 2.0]), sigma_b2=np.array([0.05])),
        "dmftlib.signal_propagation.plot_layers": dict(th=th_sg),
        "dmftlib.signal_propagation.plot_trainability": dict(sigma_w2=np.array([1.0, 2.0]), depths=np.array([2, 4]),
                                                             accuracy=np.full((2, 2), 0.5)),
        "dmftlib.signal_propagation.trainability": dict(sigma_w2=np.array([1.5]), depths=(2,), n_steps=2, batch=4,
                                                        n_test=16, width=8),
        "dmftlib.signal_propagation.plot_phase_diagram": dict(n=5),
        "dmftlib.signal_propagation.plot_depth_scales": dict(n=5),
        # stability
        "dmftlib.stability.hessian_vector_product": dict(
            mlp=mlp, theta=Lazy(lambda: stability.mlp_init(_mlp(), 0)),
            v=Lazy(lambda: np.ones_like(stability.mlp_init(_mlp(), 0))),
            X=Lazy(lambda: _rng().standard_normal((6, 5))), y=np.ones(6)),
        "dmftlib.stability.sharpness": dict(mlp=mlp, theta=Lazy(lambda: stability.mlp_init(_mlp(), 0)),
                                            X=Lazy(lambda: _rng().standard_normal((6, 5))), y=np.ones(6)),
        "dmftlib.stability.train_gd": dict(mlp=mlp, X=Lazy(lambda: _rng().standard_normal((6, 5))), y=np.ones(6),
                                           eta=0.1, n_steps=4),
        "dmftlib.stability.plot_eos": dict(runs=Lazy(lambda: [eos.get()])),
        "dmftlib.stability.plot_quadratic_gd": dict(N=20, seeds=2, steps=10),
        "dmftlib.stability.quadratic_gd_theory": dict(alpha=2.0),
        "dmftlib.stability.quadratic_gd_simulate": dict(alpha=2.0),
        "dmftlib.stability.sgd_threshold_theory": dict(alpha=0.5, B=4, N=20),
        "dmftlib.stability.eos_dataset": dict(n=20),
        # sweeps
        "dmftlib.sweeps.param_grid": dict(axes={"a": [1, 2]}),
        "dmftlib.sweeps.sweep": dict(fn=lambda a, seed: a + seed, axes={"a": [1, 2]}),
        # symbolic
        "dmftlib.symbolic.gaussian.arccos_kernel": dict(var_u=1.0, var_v=1.0, cov=0.5),
        "dmftlib.symbolic.gaussian.arcsine_kernel": dict(var_u=1.0, var_v=1.0, cov=0.5),
        "dmftlib.plotting.new_figure": dict(width=6.0),
        "dmftlib.symbolic.gaussian.covariance_symbols": dict(k=2),
        "dmftlib.symbolic.gaussian.mgf": dict(C=Lazy(lambda: dmftlib.symbolic.gaussian.covariance_symbols(2))),
        "dmftlib.symbolic.gaussian.moment": dict(indices=(0, 1)),
        "dmftlib.symbolic.gaussian.moment_function": dict(indices=(0, 1)),
        "dmftlib.symbolic.gaussian.pairings": dict(items=(0, 1, 2, 3)),
        "dmftlib.symbolic.gaussian.price_derivative": dict(f=Lazy(lambda: __import__("sympy").Symbol("x") ** 3),
                                                           g=Lazy(lambda: __import__("sympy").Symbol("x") ** 2)),
        "dmftlib.symbolic.gaussian.wick_sum": dict(indices=(0, 1, 0, 1)),
        "dmftlib.symbolic.gaussian.wick_theorem_holds": dict(indices=(0, 1)),
        "dmftlib.symbolic.msr.discrete_linear_dmft": dict(sigma=Lazy(lambda: kern.get()[0]),
                                                          memory=Lazy(lambda: kern.get()[1]), g_value=0.5,
                                                          t_max=1.0, n_t=11),
        "dmftlib.symbolic.msr.kernel_functions": dict(d=Lazy(lambda: msr.derive(T=2, N=2))),
        "dmftlib.symbolic.msr.derive": dict(T=2, N=2),
        "dmftlib.symbolic.pontryagin.derive_pontryagin": dict(
            F=Lazy(lambda: _pontryagin_args()["F"]), h=Lazy(lambda: _pontryagin_args()["h"]),
            params=Lazy(lambda: _pontryagin_args()["params"]), loss=Lazy(lambda: _pontryagin_args()["loss"])),
        "dmftlib.symbolic.pontryagin.discrete_costate_equations": dict(system=system, L=2),
        "dmftlib.symbolic.pontryagin.mlp_system": dict(K=2, m=2),
        "dmftlib.symbolic.pontryagin.tanh_system": dict(K=2),
        "dmftlib.symbolic.pontryagin.parameter_block": dict(name="A", shape=(2, 2)),
        "dmftlib.symbolic.pontryagin.state_symbols": dict(K=2),
    })
    CALLS.update({
        "dmftlib.learning.resnet": dict(field=Lazy(lambda: dmftlib.learning.random_vector_field(20, 2)), L=4),
        "dmftlib.learning.neural_ode": dict(field=Lazy(lambda: dmftlib.learning.random_vector_field(20, 2)),
                                            substeps=4),
        "dmftlib.learning.gradient_flow": dict(data=data, t=T_GRID),
        "dmftlib.learning.gradient_descent": dict(data=data, eta=0.1, n_steps=5),
        "dmftlib.learning.test_error": dict(data=data, w=Lazy(lambda: np.zeros((2, 20)))),
        "dmftlib.learning.stability_limit": dict(data=data),
        "dmftlib.cavity.plot_correlation": dict(th=th),
        "dmftlib.cavity.plot_response": dict(th=th),
        "dmftlib.cavity.kick_indices": dict(t=np.linspace(0, 2, 11), kick_times=(0.0, 1.0)),
        "dmftlib.cavity.response_closed_form": dict(tau=np.linspace(0, 2, 5), g=0.5, symmetric=False),
        "dmftlib.stability.mlp_init": dict(mlp=mlp),
        "dmftlib.stability.mlp_loss_grad": dict(mlp=mlp, theta=Lazy(lambda: stability.mlp_init(_mlp(), 0)),
                                                X=Lazy(lambda: _rng().standard_normal((6, 5))), y=np.ones(6)),
        "dmftlib.stability.sgd_lyapunov": dict(X=X_int, eta=0.5, B=2, seeds=(0, 1), n_steps=20, burn_in=5),
        "dmftlib.stability.mean_square_operator": dict(X=X_int, eta=0.5, B=2),
        "dmftlib.stability.mean_square_rate": dict(X=X_int, eta=0.5, B=2),
        "dmftlib.stability.sgd_second_moment": dict(X=X_int, eta=0.5, B=2, n_steps=5, seeds=(0, 1)),
        "dmftlib.stability.lyapunov_crossing": dict(X=X_int, B=2, etas=(0.05, 0.5), seeds=(0, 1), n_steps=20,
                                                    burn_in=5),
        "dmftlib.neural_ode.theory": dict(sp_=sp_, eta=0.5, t=np.linspace(0, 1, 3), n_nodes=8),
        "dmftlib.neural_ode.simulate": dict(N=20, sp_=sp_, eta=0.5, t=np.linspace(0, 1, 3), n_nodes=8),
        "dmftlib.neural_ode.generalization_error": dict(
            sp_=sp_, Q=Lazy(lambda: _setup().Q0), R=Lazy(lambda: _setup().R0), A=Lazy(lambda: _setup().A0),
            b=Lazy(lambda: _setup().b0), n_nodes=8),
    })



def _register_extra_calls():
    """Examples kept beside this file, one file per area (``tests/fuzz_calls/<area>.py``), each defining
    ``CALLS`` (keyed ``"dmftlib.module.function"``) and optionally ``EXAMPLES`` (new parameter names only:
    a name already in ``EXAMPLES`` keeps its shared value; give a conflicting meaning through ``CALLS``)."""
    import importlib.util
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz_calls")
    if not os.path.isdir(folder):
        return
    for fname in sorted(os.listdir(folder)):
        if not fname.endswith(".py") or fname.startswith("_"):
            continue
        spec = importlib.util.spec_from_file_location(f"_fuzz_calls_{fname[:-3]}", os.path.join(folder, fname))
        mod = importlib.util.module_from_spec(spec)
        mod.Lazy = Lazy
        spec.loader.exec_module(mod)
        for name, value in getattr(mod, "EXAMPLES", {}).items():
            EXAMPLES.setdefault(name, value)
        for key, value in getattr(mod, "CALLS", {}).items():
            assert key not in CALLS, f"{fname}: {key} is already in CALLS"
            CALLS[key] = value


_register_calls()
_register_extra_calls()


# ------------------------------------------------------------------ enumeration of the public API
def public_callables():
    """(qualified name, object) of every public function/class of every ``dmftlib`` module."""
    out = {}
    for info in pkgutil.walk_packages(dmftlib.__path__, "dmftlib."):
        mod = importlib.import_module(info.name)
        names = getattr(mod, "__all__", None)
        if names is None:
            names = [k for k in vars(mod) if not k.startswith("_")]
        for k in names:
            obj = getattr(mod, k, None)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", None) != info.name:
                continue  # re-exported: tested where it is defined
            out[f"{info.name}.{k}"] = obj
    return out


def _excluded(qualname, obj):
    if any(qualname == e or qualname.startswith(e + ".") for e in EXCLUDED):
        return True
    if inspect.isclass(obj) and (issubclass(obj, BaseException) or dataclasses.is_dataclass(obj)):
        return True  # result/spec containers: their arrays are checked read-only through the baseline results
    return False


def baseline_kwargs(qualname, fn):
    """Keyword arguments of a valid call (EXAMPLES by name, CALLS by function, else defaults)."""
    sig = inspect.signature(fn)
    special = CALLS.get(qualname, {})
    kwargs, missing = {}, []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name in special:
            kwargs[p.name] = _lazy(special[p.name])
        elif p.name in EXAMPLES and p.name not in ("ax", "axes"):
            kwargs[p.name] = EXAMPLES[p.name]
        elif p.default is not p.empty:
            continue
        else:
            missing.append(p.name)
    return kwargs, missing


class Huge:
    """Marks a value that may be accepted if the call stays fast and finite (a long but finite grid)."""

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return f"Huge({self.value!r})"


def bad_values(name, example):
    """The bad values tried for one parameter, from its name and its valid example value.

    Every value must be refused (clear error), except ``Huge`` ones: a huge size or duration must be
    refused *or* finish within the time limit with a finite result.
    """
    if name in NOT_FUZZED:
        return []
    if name == "seeds":
        return [-1, 0, None, 1.5, [1, 1], [-1], "a"]
    if name in SEED_NAMES:
        return [-1, 1.5, "a"]
    if isinstance(example, (bool, np.bool_)):
        return ["False", 1.5]
    if isinstance(example, numbers.Integral):
        lo = INT_MIN.get(name, 1)
        out = [math.nan, 1.5, "a"]
        if lo is not None:
            out.append(lo - 1)
        if name in SIZES:
            out.append(Huge(10**12))
        return out
    if isinstance(example, numbers.Real):
        out = [math.nan, math.inf, "a"]
        if name in NONNEG:
            out.append(-1.0)
        if name in DURATIONS:
            out.append(Huge(1e12))
        return out
    if isinstance(example, str):
        return ["no-such-choice", 3]
    if name in GRIDS and isinstance(example, (np.ndarray, list, tuple)):
        a = np.asarray(example, dtype=float)
        out = [[], "a", np.full(a.shape, np.nan)]
        if a.size > 1 and name in SORTED_GRIDS:
            out.append(a[::-1].copy())
        return out
    if isinstance(example, np.ndarray) and example.dtype.kind in "fiu":
        return [np.full(example.shape, np.nan), "a"]
    if example is None:
        return []
    if callable(example) or dataclasses.is_dataclass(example):
        return ["a"]
    return []


# ------------------------------------------------------------------ one call, classified
class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


def _nonfinite(x, depth=0):
    """True if ``x`` holds a NaN/inf anywhere (arrays, floats, dataclasses, tuples, dicts)."""
    if depth > 4:
        return False
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "fc" and not np.all(np.isfinite(x))
    if isinstance(x, (float, complex, np.floating, np.complexfloating)):
        return not np.isfinite(x)
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        if np.any(getattr(x, "diverged", False)):        # a flag, or one per run (UVRun)
            return False
        # a scalar parameter field may be +inf on purpose (alpha = inf for online SGD); never NaN
        return any(_nonfinite(v, depth + 1) if not isinstance(v, (float, np.floating)) else bool(np.isnan(v))
                   for v in (getattr(x, f.name) for f in dataclasses.fields(x)))
    if isinstance(x, (tuple, list)):
        return any(_nonfinite(v, depth + 1) for v in x[:50])
    if isinstance(x, dict):
        return any(_nonfinite(v, depth + 1) for v in list(x.values())[:50])
    return False


def _writeable_arrays(x, depth=0):
    """Names of writeable arrays inside a result dataclass."""
    if depth > 3 or not (dataclasses.is_dataclass(x) and not isinstance(x, type)):
        return []
    out = []
    for f in dataclasses.fields(x):
        v = getattr(x, f.name)
        if isinstance(v, np.ndarray) and v.flags.writeable:
            out.append(f"{type(x).__name__}.{f.name}")
        elif isinstance(v, list):
            out.append(f"{type(x).__name__}.{f.name} (list)")
        else:
            out.extend(_writeable_arrays(v, depth + 1))
    return out


def call(fn, kwargs, time_limit=TIME_LIMIT):
    """Run ``fn(**kwargs)`` under an alarm; return ("ok", result) or (outcome, exception)."""
    # CPU time (ITIMER_PROF), not wall time: a loaded machine must not turn a slow call into a "hang"
    old = signal.signal(signal.SIGPROF, _alarm)
    signal.setitimer(signal.ITIMER_PROF, time_limit)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            return "ok", fn(**kwargs)
    except _Hang as e:
        return "hang", e
    except MemoryError as e:
        return "hang", e
    except ConvergenceError as e:
        return "convergence", e
    except (ValueError, TypeError) as e:
        return "error", e
    except Exception as e:  # noqa: BLE001 - classified, not swallowed: the test fails on it
        return "unclear", e
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, old)
        plt.close("all")


def classify(name, outcome, value, huge=False):
    """One of: clear, unclear, silent_nan, hang, accepted (``huge``: a finite result is fine)."""
    if outcome == "convergence":
        return "clear"
    if outcome == "error":
        msg = str(value)
        # a budget refusal states the size and the limit (core.check_budget)
        return "clear" if (name in msg or "more than the limit" in msg) else "unclear"
    if outcome in ("hang", "unclear"):
        return outcome
    if _nonfinite(value):
        return "silent_nan"
    return "clear" if huge else "accepted"


def fuzz_one(qualname, fn, time_limit=TIME_LIMIT):
    """Baseline problems and the list of (param, bad value, category, detail) for one callable."""
    try:
        kwargs, missing = baseline_kwargs(qualname, fn)
    except Exception as e:  # noqa: BLE001
        return [f"building the baseline arguments failed: {type(e).__name__}: {str(e)[:200]}"], []
    if missing:
        return [f"no example for required argument(s) {missing}: add them to EXAMPLES or CALLS"], []
    outcome, res = call(fn, kwargs, time_limit=8 * time_limit)
    if outcome != "ok":
        return [f"baseline call failed ({outcome}): {type(res).__name__}: {str(res)[:200]}"], []
    problems = []
    if _nonfinite(res):
        problems.append("baseline call returned NaN/inf")
    problems += [f"writeable array in result: {w}" for w in _writeable_arrays(res)]
    rows = []
    for name, example in kwargs.items():
        for bad in bad_values(name, example):
            huge = isinstance(bad, Huge)
            bad = bad.value if huge else bad
            kw = dict(kwargs)
            kw[name] = bad
            out, val = call(fn, kw, time_limit)
            cat = classify(name, out, val, huge)
            detail = f"{type(val).__name__}: {str(val)[:160]}" if out != "ok" else ""
            rows.append((name, bad, cat, detail))
    return problems, rows


def _limit_memory():
    """Cap the address space for the fuzz so an over-sized allocation fails with MemoryError."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as f:
        vm = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (vm + 3 * 2**30, hard))
    return soft, hard


API = public_callables()
TARGETS = sorted(q for q, o in API.items() if not _excluded(q, o))


@pytest.fixture(scope="module")
def memory_cap():
    soft, hard = _limit_memory()
    yield
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def value_label(v):
    """A short stable name for a bad value (the key of the known-failures list)."""
    if isinstance(v, np.ndarray):
        if v.size and np.all(np.isnan(v)):
            return "nan-array"
        return "reversed-array" if v.size else "empty-array"
    r = repr(v)
    return r if len(r) <= 24 else type(v).__name__


def failure_key(qualname, name, value):
    return f"{qualname}({name}={value_label(value)})"


KNOWN_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fuzz_known_failures.json")


def known_failures():
    """Calls that still fail, listed by the issue-9 pass (tests/fuzz_known_failures.json): the test fails on
    any failure *not* listed, so a regression or a new module is caught at once; remove entries as they are
    fixed (``python tests/test_fuzz_api.py --write-known`` rewrites the list from a full run)."""
    import json
    if not os.path.exists(KNOWN_PATH):
        return set()
    with open(KNOWN_PATH) as f:
        return set(json.load(f))


KNOWN = known_failures()


@pytest.mark.parametrize("qualname", TARGETS)
def test_bad_input(qualname, memory_cap):
    problems, rows = fuzz_one(qualname, API[qualname])
    problems = [p for p in problems if f"{qualname}(baseline)" not in KNOWN]
    bad = [f"{n}={v!r}: {c} {d}" for n, v, c, d in rows
           if c != "clear" and failure_key(qualname, n, v) not in KNOWN]
    assert not problems + bad, f"{qualname}:\n  " + "\n  ".join(problems + bad)


def test_enumeration_covers_every_module():
    mods = {q.rsplit(".", 1)[0] for q in API}
    for expected in ("dmftlib.cavity", "dmftlib.linear", "dmftlib.committee", "dmftlib.core.rmt"):
        assert expected in mods
    assert len(TARGETS) > 150


def main():
    """Print the outcome counts (for the closing note of issue 9)."""
    import collections
    import time
    _limit_memory()
    counts = collections.Counter()
    per = {}
    start = time.process_time()
    write = "--write-known" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    known = []
    for q in TARGETS:
        if only and not any(s in q for s in only):
            continue
        t0 = time.process_time()
        problems, rows = fuzz_one(q, API[q])
        for p in problems:
            counts["baseline problem"] += 1
            print(f"BASELINE {q}: {p}")
            known.append(f"{q}(baseline)")
        for n, v, c, d in rows:
            counts[c] += 1
            if c != "clear":
                print(f"{c:10s} {q}({n}={v!r}) {d}")
                known.append(failure_key(q, n, v))
        per[q] = time.process_time() - t0
        sys.stdout.flush()
    print("functions:", len(per), "calls:", sum(v for k, v in counts.items() if k != "baseline problem"))
    print(dict(counts))
    if write:
        import json
        with open(KNOWN_PATH, "w") as f:
            json.dump(sorted(set(known)), f, indent=0)
            f.write("\n")
    print(f"CPU {time.process_time() - start:.1f} s; slowest:",
          sorted(per.items(), key=lambda kv: -kv[1])[:8])


if __name__ == "__main__":
    main()
