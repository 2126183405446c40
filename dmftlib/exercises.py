r"""Self-checking exercises: compare your numerical answer with the book's, within a stated tolerance.

Some exercises of the book end in a number (a time, a rate, a threshold). Under such an exercise
the chapter has a cell

>>> from dmftlib.exercises import check
>>> answer = None               # replace None by your value
>>> check("ex-dl-logistic", answer)
ex-dl-logistic: no answer yet (replace None by your value and run the cell again)

and then, once you have a value,

>>> check("ex-dl-logistic", 1.72)
ex-dl-logistic: correct (1.72 is within 0.01 of the book's value)
>>> check("ex-dl-logistic", 3.4)
ex-dl-logistic: not yet: 3.4 is too large (tolerance 0.01); the half time of a = s/2 from a0 = 1e-4, with s = 3

A wrong answer raises nothing: it prints a one-line verdict (too large or too small, never the value).
The expected values are stored in ``ANSWERS``, each with its absolute tolerance and the reason for
it; ``tests/test_exercises.py`` recomputes every one of them with the library. :func:`is_correct` is
the silent version (a bool). The foldable solutions of the HTML book still give the full answer.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

from .core import check_choice, check_real

__all__ = ["ANSWERS", "check", "is_correct"]


@dataclass(frozen=True)
class Answer:
    """The stored answer of one exercise: value, absolute tolerance (and why), what is asked."""

    value: float
    atol: float
    why: str
    asked: str


ANSWERS = MappingProxyType({
    # book/appendix/gaussian_integrals
    "ex-gi-relu": Answer(1640.0, 200.0, "the error is 0.164/n (measured), so n = 1640 to two digits",
                         "nodes n for an error below 1e-4 in E[relu(u)], u ~ N(0, 1)"),
    # book/part2/pspin_aging (pure p = 4 model)
    "ex-ps-2:e_th": Answer(-1.2247, 1e-3, "three digits of a closed form",
                           "the threshold energy e_th of the pure p = 4 model"),
    "ex-ps-2:T_d": Answer(0.5443, 1e-3, "three digits of a closed form",
                          "the dynamical temperature T_d of the pure p = 4 model"),
    "ex-ps-2:q_d": Answer(2.0 / 3.0, 1e-3, "three digits of a closed form",
                          "the plateau q_d at T_d for the pure p = 4 model"),
    # book/part1 (learning_as_dynamics, signal_propagation, neural_odes_control, gd_stability)
    "ex-ld-stability": Answer(0.6863, 1e-3, "three digits of the closed form 2/lambda_+",
                              "the largest stable learning rate at alpha = 2 as N -> infinity"),
    "ex-sp-critical-exponent": Answer(1.7610, 2e-3, "three digits asked; the root of chi_1 = 1 is found to 1e-8",
                                      "the critical sigma_w^2 of a tanh network at sigma_b^2 = 0.05"),
    "ex-noc-delay": Answer(2.5, 0.01, "Euler with history has an O(1/n) error: 2e-3 at n = 1000 steps",
                           "the smallest k with h(1) = -x for the delay d = 0.6"),
    "gds-ex-optimal-step:eta": Answer(2.0 / 3.0, 1e-3, "three digits of a closed form",
                                      "the optimal constant GD step on the Wishart quadratic at alpha = 2"),
    "gds-ex-optimal-step:rate": Answer(0.9428, 1e-3, "three digits of a closed form",
                                       "its worst-case contraction factor per step, (k - 1)/(k + 1)"),
    "gds-ex-uv": Answer(9.2098, 1e-3, "three digits of a closed form",
                        "the sharpness of the gradient-flow minimum of (uv - 1)^2/2 from (3, 0.1)"),
    # book/part3/committee
    "ex-cm-2": Answer(1.0 / 15.0, 1e-5, "a bounded scalar minimisation converges to 1e-8",
                      "a^2 at the symmetric plateau for K = 3"),
    "ex-cm-4": Answer(38.93, 1.5, "escape times read on a grid of step 0.5, differenced",
                      "growth of the escape time per decade of a0 (K = M = 2, eta = 1)"),
    "ex-cm-5": Answer(0.19, 0.02, "the eta -> 0 limit, extrapolated from eta = 0.1, 0.2, 0.4",
                      "the limit of eps_g(inf)/(eta sigma^2) as eta -> 0 (K = M = 2)"),
    # book/part3/deep_linear
    "ex-dl-logistic": Answer(1.7181, 0.01, "two significant digits of the closed form are enough",
                             "the half time of a = s/2 from a0 = 1e-4, with s = 3"),
    # book/part3/diagonal_linear
    "ex-dgl-dt": Answer(0.33, 0.04, "at d = 200 the transition is smeared over a window of width O(d^-1/2)",
                        "the sampling ratio alpha at which recovery of a rho = 0.1 teacher fails"),
    "ex-dgl-dt-static": Answer(0.5111, 1e-3, "four decimals of a bisection of the static limit at a = 0",
                               "the l1 recovery threshold alpha_c(0.2) from dl.static_limit"),
    # book/part3/neural_ode_teacher_student
    "ex-nts-1:L8": Answer((8.0 / 7.0) ** 16, 0.01, "two decimals of a closed form",
                          "the learning rate 1/c^2 of the fastest asymptotic convergence, ResNet with L = 8"),
    "ex-nts-1:ode": Answer(math.e ** 2, 0.01, "two decimals of a closed form",
                           "the learning rate 1/c^2 of the fastest asymptotic convergence, neural ODE"),
    "ex-nts-4": Answer(2.0, 0.5, "one of the three candidates 1, 2, 4 (their errors at t = 4 differ by 2 % or more)",
                       "the learning rate (1, 2 or 4) with the lowest eps_g at t = 4, K = M = 2, L = 4, 6 nodes"),
    # book/part3/neural_ode_dmft
    "ex-nd-bessel": Answer(0.289508, 1e-4, "four digits of a closed form (the Euler grid's error is ~1e-4 at L = 100)",
                           "C^{s*}(1, 1) for linear phi, g_s = 0.7, g_* = 1.3, u = 0, continuous depth"),
    # book/part3/wide_networks
    "ex-wn-graphon-kc": Answer(3.9374, 0.01, "three digits of a closed form",
                               "the critical coupling K_c for the graphon W = min(x, y), unit-variance Gaussian g"),
    # book/part2/cavity
    "ex-cav-3": Answer(0.6, 0.01, "a closed form, 2(1 - g); a slope fitted on [10, 20] is within 1e-3 of it",
                       "the exponential decay rate of C(t, t) for i.i.d. couplings, linear phi, g = 0.7"),
    # book/part2/path_integral
    "ex-msr-4": Answer(6.62, 0.2, "the O(dt) grid error: 6.62 at the exercise's dt = 0.1, 6.85 at dt = 0.05",
                       "the maximum of R at g = 0.6 (discrete_linear_dmft, t_max = 40, n_t = 401)"),
    # book/part2/rnn_chaos
    "ex-rnn-1": Answer(7.0 / 6.0, 0.005, "the O(eps^3) remainder shifts (Delta0 - eps)/eps^2 by 0.75 eps",
                       "the coefficient of eps^2 in Delta0 = eps + c eps^2, g = 1 + eps"),
    "ex-rnn-2": Answer(1 / 3**0.5, 0.005, "a closed form; the ratio at g - 1 = 0.01 is within 0.011 of it",
                       "the limit of tau_c^-1 / (g - 1) as g -> 1+"),
    "ex-rnn-4": Answer(2.0641, 0.005, "a root-finding to 1e-8; three digits suffice to tell erf from tanh (1.925)",
                       "Delta0 at g = 2 for phi = erf(sqrt(pi) x / 2)"),
    "ex-rnn-5": Answer(0.1125, 0.002, "the O(h^2) error of the three-point Laplacian with h = 0.05",
                       "the maximal Lyapunov exponent lambda_L at g = 2"),
    # book/part2/linear_dynamics_rmt
    "ex-lti-fdt": Answer(1.0, 0.01, "a closed form (T); a one-sided finite difference with dt = 1e-3 is within 1e-3",
                         "-d C_st / d tau at tau = 0+ for the shifted Ginibre matrix, T = 1"),
    "ex-lti-toy:max": Answer(5.0314, 0.01, "the maximum read on a grid of step 0.01 in t is within 1e-4 of it",
                             "the maximum over t of ||exp(-A t)||_2 for K = 20"),
    "ex-lti-toy:omega": Answer(8.5125, 0.001, "three decimals of a closed form",
                               "the numerical abscissa omega (the initial growth rate of the norm) for K = 20"),
    # book/part3/linear_regression
    "ex-lr-ridge:bayes": Answer(0.5, 1e-3, "a closed form evaluated to 1e-9; a scan over 41 ridges is within 1e-4",
                                "E_g(inf) at the Bayes-optimal ridge, alpha = 1, sigma^2 = 0.5"),
    "ex-lr-ridge:stop": Answer(0.5094, 1e-3, "a bounded scalar minimisation in t, to 1e-6",
                               "the optimally early-stopped E_g(t*), alpha = 1, sigma^2 = 0.5, no ridge"),
    # book/part3/random_features
    "ex-rf-two-by-two": Answer(0.81, 1e-3, "an exact limit, 0.9^2",
                               "the t -> inf limit of |exp(-A t) v0|^2 for v0 = (1, 0)"),
    "ex-rf-ensemble-size": Answer(20.0, 1.0, "the ratio is 20.0000003 at t = 1000, so rounding up gives 21: both count",
                                  "the number of models (independent features) within 10% of the infinite ensemble"),
    # book/part3/sgd
    "ex-sgd-floor:test": Answer(0.1781, 1e-3, "a closed form; sgd.theory at t = 400 agrees to 1e-12",
                                "E_g(inf) at alpha = 3, sigma = 0.5, b = 0.2, eta = 0.3"),
    "ex-sgd-floor:train": Answer(0.2231, 1e-3, "a closed form; sgd.theory at t = 400 agrees to 1e-12",
                                 "E_t(inf) at alpha = 3, sigma = 0.5, b = 0.2, eta = 0.3"),
    # book/part3/spiked_matrix_tensor
    "ex-sp-logN": Answer(30.13, 0.2, "the crossing of m = 1/2 is interpolated between GD steps of 0.15",
                         "the GD time to m = 1/2 from m0 = 1e-4 (N = 1e8), 1/Delta2 = 3, Delta_p = 1, alpha = 0.15"),
    # book/part3/autoregressive_generative
    "ex-ag-stationary:Qw": Answer(0.7639, 1e-3, "three decimals of a closed form",
                                  "the stationary Q_w at b* = 0.7, eta = 0.5, sigma = 0.3"),
    "ex-ag-stationary:eps1": Answer(0.01719, 2e-4, "1% of a closed form; the ODE at t = 200 agrees to 1e-6",
                                    "the stationary one-step error eps_1 at b* = 0.7, eta = 0.5, sigma = 0.3"),
    # book/part3/erm_vs_online
    "ex-erm-4": Answer(1.0 / 6.0, 1e-3, "three decimals of a closed form; the ODE at t = 60 agrees to 1e-6",
                       "the online SGD floor of E_test at eta = 0.5, sigma = 0.5, c = c* = 1"),
    # book/part3/training_as_control
    "ex-tac-kink": Answer(-3**0.5, 0.01, "a closed form, -sqrt(3); the extremals are found to 1e-6",
                          "the jump of d V / d x at x0 = 0 (right limit minus left limit), T = 1"),
    "ex-tac-constant": Answer(0.01019, 2e-4, "the exact minimum over g; the large-T formula (0.0096) is 6% low",
                              "the best constant-schedule error E(T) at T = 50, sigma^2 = 0.25"),
    # book/appendix/random_matrices
    "rmt-ex-moments": Answer(14.0, 1e-3, "an integer (a Catalan number)",
                             "the moment m_8 of the semicircle law, in units of sigma^8"),
    # book/appendix/two_time_numerics
    "ex-ttn-damping": Answer(0.1304, 0.005, "a closed form, (mu - 3)/(mu - 1); the iteration converges at 0.1354, not at 0.1254",
                             "the smallest damping beta for which the damped iteration converges, mu = 3.3"),
})


def _verdict(label, answer):
    label = check_choice("label", label, tuple(ANSWERS))
    if answer is None:
        return None, f"{label}: no answer yet (replace None by your value and run the cell again)"
    x = check_real("answer", answer)
    ref = ANSWERS[label]
    err = x - ref.value
    shown = f"{x:.6g}"
    if abs(err) <= ref.atol:
        return True, f"{label}: correct ({shown} is within {ref.atol:g} of the book's value)"
    side = "too large" if err > 0 else "too small"
    return False, f"{label}: not yet: {shown} is {side} (tolerance {ref.atol:g}); {ref.asked}"


def check(label: str, answer) -> None:
    """Print a one-line verdict on ``answer`` (a finite real, or None for "not answered yet").

    Parameters
    ----------
    label : str
        The exercise label, one of the keys of ``ANSWERS`` (e.g. ``"ex-dl-logistic"``).
    answer : float or None

    Raises ``ValueError`` only for an unknown label or an answer that is not a finite real number;
    a wrong answer prints its verdict and raises nothing.
    """
    print(_verdict(label, answer)[1])


def is_correct(label: str, answer) -> bool:
    """True if ``answer`` is within the stored tolerance of the expected value (False for None).

    >>> is_correct("ex-cm-2", 1 / 15), is_correct("ex-cm-2", 0.1), is_correct("ex-cm-2", None)
    (True, False, False)
    """
    ok, _ = _verdict(label, answer)
    return bool(ok)


assert all(math.isfinite(a.value) and a.atol > 0 for a in ANSWERS.values())
