"""The argument checks of ``dmftlib.core.validation``, and ``check_public`` exercised at test time.

``check_public`` runs when a module is imported, so its wrappers are otherwise only tested through the
library's modules; here it wraps a local function, so a change in how it reads names and annotations, or
in how it checks positional and keyword arguments, fails a test directly (mutation testing found such
changes surviving, tools/mutation.md).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from dmftlib.core import (check_budget, check_finite, check_public, check_seed, check_seeds, readonly)
from dmftlib.core.validation import MAX_SIZE


class Thing:
    pass


def _wrapped():
    def f(N: int, x: float, name: str, flag: bool = False, fn: Callable | None = None, thing: Thing | None = None,
          seeds=2, seed=None, n_items: int = 1, t=None):
        return dict(N=N, x=x, name=name, flag=flag, fn=fn, thing=thing, seeds=seeds, seed=seed, n_items=n_items, t=t)

    f.__module__ = "fake_module"
    g = {"__name__": "fake_module", "__all__": ["f"], "f": f, "Thing": Thing}
    check_public(g)
    assert g["f"] is not f
    return g["f"]


def test_check_public_accepts_valid_arguments_positionally_and_by_keyword():
    f = _wrapped()
    out = f(3, 1.5, "a")
    assert (out["N"], out["x"], out["name"]) == (3, 1.5, "a")
    out = f(N=3, x=np.array([1.0, 2.0]), name="a", flag=True, fn=np.sin, thing=Thing(), seeds=3, seed=7,
            n_items=MAX_SIZE, t=[0.0, np.inf])
    assert out["seeds"] == (0, 1, 2) and out["seed"] == 7 and out["flag"] is True
    assert f(3, 1.0, "a", seed=np.random.default_rng(0))["seed"] is not None      # a Generator passes
    assert f(3, 1.0, "a", thing=None, fn=None)["thing"] is None                     # "X | None" allows None


@pytest.mark.parametrize("args, kwargs, exc, name", [
    (("3", 1.0, "a"), {}, ValueError, "N"),
    ((3.5, 1.0, "a"), {}, ValueError, "N"),
    ((3, float("nan"), "a"), {}, ValueError, "x"),
    ((3, np.array([1.0, np.inf]), "a"), {}, ValueError, "x"),
    ((3, 1.0, 3), {}, TypeError, "name"),
    ((), dict(N="3", x=1.0, name="a"), ValueError, "N"),
    ((3, 1.0, "a"), dict(flag="False"), ValueError, "flag"),
    ((3, 1.0, "a"), dict(fn="not callable"), TypeError, "fn"),
    ((3, 1.0, "a"), dict(thing=3), TypeError, "thing"),
    ((3, 1.0, "a"), dict(seeds=[1, 1]), ValueError, "seeds"),
    ((3, 1.0, "a"), dict(seeds=None), ValueError, "seeds"),
    ((3, 1.0, "a"), dict(seed=-1), ValueError, "seed"),
    ((3, 1.0, "a"), dict(seed=1.5), ValueError, "seed"),
    ((3, 1.0, "a"), dict(n_items=MAX_SIZE + 1), ValueError, "n_items"),
    ((3, 1.0, "a"), dict(t=[]), ValueError, "t"),
    ((3, 1.0, "a"), dict(t=[0.0, np.nan]), ValueError, "t"),
    ((3, 1.0, "a"), dict(t="a"), ValueError, "t"),
    ((3, 1.0, "a"), dict(t=[-1.0, 1.0]), ValueError, "t"),
])
def test_check_public_refuses_bad_arguments_naming_them(args, kwargs, exc, name):
    f = _wrapped()
    with pytest.raises(exc, match=rf"\b{name}\b"):
        f(*args, **kwargs)


def test_size_cap_applies_to_size_like_names_only():
    from dmftlib.core.validation import _is_size_name
    for n in ("N", "n", "n_steps", "N_theory", "n_seeds", "max_iters", "ref_substeps", "width", "batch"):
        assert _is_size_name(n), n
    for n in ("x", "eta", "seed", "name", "alpha"):
        assert not _is_size_name(n), n


def test_check_seed_bounds():
    assert check_seed("seed", 0) == 0
    assert check_seed("seed", 2**63 - 1) == 2**63 - 1
    assert check_seed("seed", None) is None
    for bad in (2**63, -1, 1.5, "a", True):
        with pytest.raises(ValueError, match="seed"):
            check_seed("seed", bad)
    with pytest.raises(ValueError, match="seed"):
        check_seed("seed", None, allow_none=False)
    assert check_seeds("seeds", [2**63 - 1]) == (2**63 - 1,)
    with pytest.raises(ValueError, match="seeds"):
        check_seeds("seeds", [2**63])
    with pytest.raises(ValueError, match="seeds"):
        check_seeds("seeds", 0)


def test_check_finite_on_arrays_and_tuples():
    a = np.ones(3)
    assert check_finite("a", a) is a
    assert check_finite("ab", (a, np.zeros(2))) == (a, pytest.approx(np.zeros(2)))
    check_finite("ints", np.arange(3))                       # integer arrays are always finite
    for bad in (np.array([1.0, np.nan]), (a, np.array([np.inf])), [np.array([1.0 + 1j * np.nan])]):
        with pytest.raises(ValueError, match=r"stopped being finite \(state\)"):
            check_finite("state", bad, what="the integration")


def test_check_budget_and_readonly():
    check_budget("steps", 10.0, limit=10.0)
    for work in (11.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="more than the limit"):
            check_budget("steps", work, limit=10.0)
    src = np.arange(3.0)
    r = readonly(src)
    assert not r.flags.writeable and src.flags.writeable
