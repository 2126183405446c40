"""Argument checks that raise ``ValueError`` naming the argument and its allowed range."""
from __future__ import annotations

import numbers

import numpy as np

__all__ = ["check_real", "check_int", "check_choice", "check_array", "check_time_grid", "check_bool",
           "check_seed", "check_seeds", "check_budget", "check_callable", "check_instance", "check_finite",
           "check_public", "readonly", "ReadOnlyArrays"]

#: The largest number of elementary steps (time steps x units x seeds, or grid cells) a call may
#: request before it is refused with a ValueError naming the size and this limit.
MAX_WORK = 2 * 10**9
#: The largest number of float64 values one call may allocate at once (2**28 doubles = 2 GiB).
MAX_DOUBLES = 2**28


def _fmt_interval(low, high, low_open, high_open) -> str:
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"


def check_real(name: str, value, low=None, high=None, *, low_open=False, high_open=False) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` if it is not a finite real in the interval.

    >>> check_real("g", 1.5, low=0, low_open=True)
    1.5
    >>> check_real("g", -1, low=0, low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: g must be a finite real number in (0, inf); got -1
    """
    interval = _fmt_interval(low, high, low_open, high_open)
    msg = f"{name} must be a finite real number in {interval}; got {value!r}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(msg)
    v = float(value)
    if not np.isfinite(v):
        raise ValueError(msg)
    if low is not None and (v < low or (low_open and v == low)):
        raise ValueError(msg)
    if high is not None and (v > high or (high_open and v == high)):
        raise ValueError(msg)
    return v


def check_int(name: str, value, low=None, high=None) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` if it is not an integer in ``[low, high]``.

    >>> check_int("N", 0, low=1)
    Traceback (most recent call last):
    ...
    ValueError: N must be an integer in [1, inf); got 0
    """
    lo = "-inf" if low is None else str(low)
    hi = "inf)" if high is None else f"{high}]"
    msg = f"{name} must be an integer in [{lo}, {hi}; got {value!r}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(msg)
    v = int(value)
    if (low is not None and v < low) or (high is not None and v > high):
        raise ValueError(msg)
    return v


def check_choice(name: str, value, choices) -> str:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``.

    >>> check_choice("phi", "relu", ("tanh", "relu"))
    'relu'
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_array(name: str, value, *, ndim=None, low=None, high=None, increasing=False, finite=True) -> np.ndarray:
    """Return ``value`` as a float64 array after checking its dimension, range and order."""
    if isinstance(value, (str, bytes)) or value is None:
        raise ValueError(f"{name} must be an array of real numbers; got {value!r}")
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of real numbers; got {value!r}") from None
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-dimensional array; got shape {a.shape}")
    if finite and not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must contain only finite values")
    if low is not None and np.any(a < low):
        raise ValueError(f"{name} must have every entry in [{low:g}, inf); its minimum is {a.min():g}")
    if high is not None and np.any(a > high):
        raise ValueError(f"{name} must have every entry in (-inf, {high:g}]; its maximum is {a.max():g}")
    if increasing and a.size > 1 and np.any(np.diff(a) <= 0):
        raise ValueError(f"{name} must be strictly increasing")
    return a


def check_time_grid(name: str, t) -> np.ndarray:
    """A 1-D, strictly increasing, non-negative array of times starting anywhere >= 0."""
    t = check_array(name, t, ndim=1, low=0.0, increasing=True)
    if t.size < 2:
        raise ValueError(f"{name} must hold at least 2 times; got {t.size}")
    return t


def check_bool(name: str, value) -> bool:
    """Return ``value`` as a bool; refuse anything that is not ``True``/``False`` (e.g. the string 'False').

    >>> check_bool("symmetric", np.bool_(True))
    True
    >>> check_bool("symmetric", "False")
    Traceback (most recent call last):
    ...
    ValueError: symmetric must be True or False; got 'False'
    """
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be True or False; got {value!r}")


def check_seed(name: str, value, allow_none: bool = True):
    """The one seed rule of the library: ``None`` (fresh entropy) or an integer in [0, 2**63 - 1].

    >>> check_seed("seed", 3)
    3
    >>> check_seed("seed", -1)
    Traceback (most recent call last):
    ...
    ValueError: seed must be None or an integer in [0, 2**63 - 1]; got -1
    """
    if value is None and allow_none:
        return None
    what = "None or an integer" if allow_none else "an integer"
    msg = f"{name} must be {what} in [0, 2**63 - 1]; got {value!r}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(msg)
    v = int(value)
    if v < 0 or v > 2**63 - 1:
        raise ValueError(msg)
    return v


def check_seeds(name: str, value, max_seeds: int = 100_000, min_seeds: int = 1) -> tuple:
    """The one ``seeds`` rule of the library: an int ``n`` means ``range(n)``; otherwise a non-empty
    sequence of distinct integers in [0, 2**63 - 1]. Returns a tuple of ints. ``min_seeds = 2`` for a
    function that reports a standard error over seeds.

    >>> check_seeds("seeds", 3)
    (0, 1, 2)
    >>> check_seeds("seeds", [5, 7])
    (5, 7)
    >>> check_seeds("seeds", None)
    Traceback (most recent call last):
    ...
    ValueError: seeds must be a positive integer n (meaning range(n)) or a non-empty sequence of distinct integers in [0, 2**63 - 1]; got None
    """
    msg = (f"{name} must be a positive integer n (meaning range(n)) or a non-empty sequence of "
           f"distinct integers in [0, 2**63 - 1]; got {value!r}")
    if isinstance(value, (bool, np.bool_)) or value is None or isinstance(value, (str, bytes)):
        raise ValueError(msg)
    if isinstance(value, numbers.Integral):
        n = int(value)
        if n < 1 or n > max_seeds:
            raise ValueError(f"{name} = {n}: the number of seeds must be in [1, {max_seeds}]")
        if n < min_seeds:
            raise ValueError(f"{name} must hold at least {min_seeds} seeds (a standard error needs two); got {n}")
        return tuple(range(n))
    try:
        items = list(value)
    except TypeError:
        raise ValueError(msg) from None
    if not items or len(items) > max_seeds:
        raise ValueError(msg if not items else f"{name}: at most {max_seeds} seeds; got {len(items)}")
    out = tuple(check_seed(f"{name}[{i}]", s, allow_none=False) for i, s in enumerate(items))
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat a seed; got {list(out)!r}")
    if len(out) < min_seeds:
        raise ValueError(f"{name} must hold at least {min_seeds} seeds (a standard error needs two); got {list(out)!r}")
    return out


def check_budget(what: str, work: float, limit: float = MAX_WORK) -> None:
    """Refuse a call whose size (steps, cells or doubles) exceeds ``limit``, saying both.

    >>> check_budget("time steps x units", 10**12)
    Traceback (most recent call last):
    ...
    ValueError: this call needs 1e+12 time steps x units, more than the limit 2e+09; reduce the size or the duration
    """
    if not np.isfinite(work) or work > limit:
        raise ValueError(f"this call needs {float(work):.3g} {what}, more than the limit {float(limit):.3g}; "
                         "reduce the size or the duration")


def check_callable(name: str, value):
    """Raise ``TypeError`` unless ``value`` is callable.

    >>> check_callable("f", "a")
    Traceback (most recent call last):
    ...
    TypeError: f must be a callable; got 'a'
    """
    if not callable(value):
        raise TypeError(f"{name} must be a callable; got {value!r}")
    return value


def check_instance(name: str, value, types):
    """Raise ``TypeError`` unless ``value`` is an instance of ``types`` (a class or a tuple of classes)."""
    if not isinstance(value, types):
        names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise TypeError(f"{name} must be a {names}; got {type(value).__name__}")
    return value


def check_finite(name: str, value, what: str = "the result"):
    """Raise ``ValueError`` if ``value`` (an array, or a tuple of arrays) holds a NaN or an infinity.

    For integrations: call it on the state as you go and stop as soon as it fails.
    """
    items = value if isinstance(value, (tuple, list)) else (value,)
    for v in items:
        a = np.asarray(v)
        if a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
            raise ValueError(f"{what} stopped being finite ({name}); reduce the step or check the parameters")
    return value


def readonly(a) -> np.ndarray:
    """A read-only copy of ``a`` (the caller's array is never frozen)."""
    arr = np.array(a, copy=True)
    arr.setflags(write=False)
    return arr


class ReadOnlyArrays:
    """Mixin for frozen dataclasses of results: after ``__init__``, every ndarray field becomes read-only,
    and list/tuple fields become tuples. Subclass it alongside ``@dataclass(frozen=True)``.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class R(ReadOnlyArrays):
    ...     C: np.ndarray
    >>> r = R(np.zeros(2)); r.C.flags.writeable
    False
    """

    def __post_init__(self):
        import dataclasses
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                if v.flags.writeable:  # copy: never freeze an array the caller still owns
                    v = v.copy()
                    v.setflags(write=False)
                object.__setattr__(self, f.name, v)
            elif isinstance(v, list):
                object.__setattr__(self, f.name, tuple(v))


# --------------------------------------------------------------------------------------------
# argument checks by convention, for every public function of a module
# --------------------------------------------------------------------------------------------
#: parameter names with a library-wide meaning (whatever their annotation)
SEED_NAMES = ("seed", "init_seed", "seed0")


def inspect_empty():
    import inspect
    return inspect.Parameter.empty


#: the largest value of any size-like integer argument (units, samples, seeds, steps, nodes)
MAX_SIZE = 10**7


def _is_size_name(name):
    return (name in ("N", "K", "M", "L", "P", "B", "d", "n", "width", "batch", "chunk", "iters", "substeps", "refine")
            or name.startswith(("n_", "N_")) or name.endswith(("_seeds", "_steps", "_iters", "_width", "_substeps")))


def _size_cap(name, inner):
    def check(v):
        if isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)) and v > MAX_SIZE:
            raise ValueError(f"{name} = {v} is beyond the library's size limit {MAX_SIZE:.0e}; "
                             f"{name} must be an integer in [1, {MAX_SIZE}]")
        return v if inner is None else inner(v)
    return check


def _annotation_checker(name, annotation, default, module_globals):
    """The check implied by a parameter's name and annotation, or None."""
    inner = _annotation_checker_inner(name, annotation, default, module_globals)
    return _size_cap(name, inner) if _is_size_name(name) else inner


def _check_times(name):
    def check(v):
        if isinstance(v, (list, tuple, np.ndarray)) and np.ndim(v) == 1:
            a = check_array(name, v, low=0.0, finite=False)      # t = inf is a long-time limit somewhere
            if np.any(np.isnan(a)):
                raise ValueError(f"{name} must not contain NaN")
            if a.size == 0:
                raise ValueError(f"{name} must hold at least one time; got an empty array")
        elif isinstance(v, (str, bytes)):
            raise ValueError(f"{name} must be a time or an array of times; got {v!r}")
        return v
    return check


def _annotation_checker_inner(name, annotation, default, module_globals):
    if name in ("t", "tau") and annotation in ("", None) or (name in ("t", "tau") and annotation is inspect_empty()):
        return _check_times(name)
    if name == "seeds":
        return lambda v: check_seeds(name, v)
    if name in SEED_NAMES:
        return lambda v: v if isinstance(v, np.random.Generator) else check_seed(name, v)
    ann = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", None)
    if ann is None and isinstance(default, (bool, np.bool_)):
        ann = "bool"
    if not isinstance(ann, str):
        return None
    parts = [p.strip() for p in ann.split("|")]
    optional = "None" in parts
    parts = [p for p in parts if p != "None"]
    if len(parts) != 1:
        return None
    kind = parts[0]

    def opt(check):
        return (lambda v: None if v is None else check(v)) if optional else check

    if kind == "float":
        def check_float(v):      # a float, or (vectorized functions) an array of them
            if isinstance(v, (np.ndarray, list, tuple)):
                check_array(name, v)
                return v
            return check_real(name, v)
        return opt(check_float)
    if kind == "int":
        return opt(lambda v: check_int(name, v))
    if kind == "bool":
        return opt(lambda v: check_bool(name, v))
    if kind == "str":
        def check_str(v):
            if not isinstance(v, str):
                raise TypeError(f"{name} must be a string; got {v!r}")
            return v
        return opt(check_str)
    if kind == "Callable":
        return opt(lambda v: check_callable(name, v))
    cls = module_globals.get(kind)
    if isinstance(cls, type) and not issubclass(cls, (numbers.Number, str, dict, list, tuple)):
        return opt(lambda v: check_instance(name, v, cls))
    return None


def _checked(fn, module_globals):
    """``fn`` with its arguments checked by convention (see :func:`check_public`)."""
    import functools
    import inspect
    import types
    sig = inspect.signature(fn)
    params = list(sig.parameters.values())
    checks = {}
    for i, p in enumerate(params):
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        c = _annotation_checker(p.name, p.annotation, p.default, module_globals)
        if c is not None:
            checks[p.name] = (i if p.kind != p.KEYWORD_ONLY else None, c)
    if not checks:
        return fn
    positions = {i: (n, c) for n, (i, c) in checks.items() if i is not None}
    n_pos = max(positions) + 1 if positions else 0
    _fn, _checks, _positions, _n_pos = fn, checks, positions, n_pos

    def wrapper(*args, **kwargs):
        if args:
            args = list(args)
            for i in range(min(len(args), _n_pos)):
                if i in _positions:
                    args[i] = _positions[i][1](args[i])
        for k in kwargs:
            if k in _checks:
                kwargs[k] = _checks[k][1](kwargs[k])
        return _fn(*args, **kwargs)

    # rebuilt with the module's globals, so doctest still finds the examples in the module
    w = types.FunctionType(wrapper.__code__, module_globals, fn.__name__, None, wrapper.__closure__)
    w = functools.wraps(fn)(w)
    w.__kwdefaults__ = None
    return w


def check_public(module_globals) -> None:
    """Check the arguments of every public function of a module by convention; call at its end.

    For each function in ``__all__`` (or public and defined in the module), arguments are checked
    before the body runs, from their name and annotation: ``seeds`` by :func:`check_seeds` (so an
    int n means ``range(n)`` everywhere), ``seed``/``init_seed``/``seed0`` by :func:`check_seed`
    (a ``numpy.random.Generator`` passes), ``float`` by :func:`check_real` (finite), ``int`` by
    :func:`check_int`, ``bool`` (or a bool default) by :func:`check_bool`, ``str`` must be a string,
    ``Callable`` callable, a class of the module an instance of it (``X | None`` allows None).
    Ranges (sizes >= 1, rates > 0, ...) stay in the function body, which sees the checked values.
    """
    import inspect
    name = module_globals["__name__"]
    names = module_globals.get("__all__")
    if names is None:
        names = [k for k in module_globals if not k.startswith("_")]
    for k in names:
        obj = module_globals.get(k)
        if inspect.isfunction(obj) and obj.__module__ == name:
            module_globals[k] = _checked(obj, module_globals)
