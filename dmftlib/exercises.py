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
    # book/part3/wide_networks
    "ex-wn-graphon-kc": Answer(3.9374, 0.01, "three digits of a closed form",
                               "the critical coupling K_c for the graphon W = min(x, y), unit-variance Gaussian g"),
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
