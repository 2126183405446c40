r"""Pontryagin's principle for a neural ODE, derived with SymPy and lambdified for NumPy.

A neural ODE (the continuum limit of a ResNet) is the controlled system

.. math::

    \frac{dh}{d\tau} = F\big(h(\tau), \theta(\tau)\big), \qquad h \in \mathbb R^K,\ \tau\in[0,1],

trained by minimising a terminal loss $J = \Phi(h(1), y)$ over the controls
$\theta(\tau)$ (the weights of the layers). This module takes a vector field ``F`` and a
loss ``Phi`` written as SymPy expressions and derives, by genuine symbolic computation,

* the **Hamiltonian** $H(h, \lambda, \theta) = \lambda\cdot F(h, \theta)$;
* from the **Lagrangian**

  .. math::

      \mathcal L = \Phi(h(1), y) + \int_0^1 \lambda(\tau)\cdot\Big(\frac{dh}{d\tau}
      - F(h(\tau),\theta(\tau))\Big)\,d\tau ,

  its Euler-Lagrange equations: the **state
  equation** $\dot h = \partial H/\partial\lambda = F$, the **costate equation**
  $\dot\lambda = -\partial H/\partial h = -(\partial F/\partial h)^\top\lambda$, and the
  boundary term of the integration by parts, the **terminal condition**
  $\lambda(1) = -\partial\Phi/\partial h(1)$;
* the **stationarity condition** $\partial H/\partial\theta = 0$; away from an optimum
  the functional gradient of the loss is

  .. math::

      \frac{\delta J}{\delta\theta(\tau)} = -\frac{\partial H}{\partial\theta}
      = -\Big(\frac{\partial F}{\partial\theta}\Big)^{\!\top}\lambda(\tau).

**Sign convention.** With this Lagrangian $\lambda$ is Pontryagin's costate
$p$ of :cite:t:`li2018maximum` ($\lambda(1) = -\nabla\Phi$; an optimal control
*maximises* $H$ at every $\tau$). The adjoint $a(\tau) = \partial J/\partial
h(\tau)$ of :cite:t:`chen2018neural` (back-propagated errors) is $a = -\lambda$.

The results are lambdified into NumPy functions, vectorised over samples: a state array
``h`` has shape ``(K, *batch)`` (one column per sample), the costate the same, the flat
parameter vector ``theta`` shape ``(P,)``. The numerical solvers of :mod:`dmftlib.control`
(Euler ResNet, discrete costate recursion, continuous adjoint) run on these functions.

Parameters are declared in named blocks (a matrix ``A`` of shape ``(K, K)``, a vector ``b``
of shape ``(K,)``, ...) made with :func:`parameter_block`; they are flattened in declaration
order (row-major inside a block) into ``theta``, see :meth:`PontryaginSystem.pack` and
:meth:`PontryaginSystem.unpack`. Time-dependent controls $\theta(\tau)$ are handled by
the numerical code (one row of parameters per piece of a piecewise-constant control).

Cost: the derivation works term by term on the expanded Hamiltonian, so it grows like the
number of terms (``K^2`` for ``tanh_system(K)``: about 0.3 s of CPU for ``K = 2`` and 3 s for
``K = 20``); do it once per model and reuse the system. Symbols carry no assumptions (plain
``sympy.Symbol``), so user expressions must be built from the symbols this module returns.

Typical use (time-dependent controls $A(\tau)$, $b(\tau)$ on ``L`` pieces; ``h0``
and ``y`` of shape ``(K, n)``)::

    from dmftlib.symbolic.pontryagin import tanh_system
    from dmftlib import control
    sys = tanh_system(K)                               # F = -h + A tanh(h) + b, Phi = |h - y|^2 / 2
    theta = sys.pack({"A": A_path, "b": b_path})       # (L, K, K), (L, K) -> (L, K*K + K)
    r = control.costate_gradient(sys, theta, h0, y)    # ResNet with L blocks: loss, grad (L, P), h, lam
    g = sys.unpack(r.grad)                             # {"A": (L, K, K), "b": (L, K)}
    a = control.adjoint_gradient(sys, theta, h0, y, n_steps=8 * L)   # the ODE (RK4) gradient

For another field, build it from :func:`state_symbols` and :func:`parameter_block` and call
:func:`derive_pontryagin` (``F``, states, ``{name: block}``, loss, targets).

Examples
--------
The model of the chapter, $F = -h + A\tanh(h) + b$ with $K = 2$:

>>> import numpy as np
>>> sys = tanh_system(2)
>>> sys.K, sys.P, [name for name, _ in sys.blocks]
(2, 6, ['A', 'b'])
>>> print(sys.hamiltonian_matrix_form)
lambda . (-h + A tanh(h) + b)
>>> theta = sys.pack({"A": np.eye(2), "b": np.zeros(2)})
>>> h = np.array([[0.5, 1.0], [0.0, -1.0]])           # K = 2 components, 2 samples
>>> np.round(sys.f(h, theta), 4).tolist()
[[-0.0379, -0.2384], [0.0, 0.2384]]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import sympy as sp
from ..core import ReadOnlyArrays, check_public

__all__ = ["parameter_block", "state_symbols", "PontryaginSystem", "derive_pontryagin",
           "tanh_system", "mlp_system", "discrete_costate_equations"]


def state_symbols(K: int, name: str = "h") -> sp.Matrix:
    """A column of ``K`` real symbols ``h_0, ..., h_{K-1}``.

    >>> state_symbols(2).T
    Matrix([[h_0, h_1]])
    """
    K = _check_pos_int("K", K)
    return sp.Matrix([sp.Symbol(f"{name}_{i}") for i in range(K)])


def parameter_block(name: str, shape) -> sp.Matrix:
    """A block of real parameter symbols: shape ``(n,)`` gives a column, ``(m, n)`` a matrix.

    Entries are named ``{name}_{i}`` or ``{name}_{i}{j}`` (``{name}_{i}_{j}`` beyond 10).

    >>> parameter_block("A", (2, 2))
    Matrix([
    [A_00, A_01],
    [A_10, A_11]])
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Python identifier; got {name!r}")
    shape = tuple(shape) if not isinstance(shape, int) else (shape,)
    if len(shape) not in (1, 2):
        raise ValueError(f"shape must have 1 or 2 entries; got {shape!r}")
    for s in shape:
        _check_pos_int("shape", s)
    if len(shape) == 1:
        return sp.Matrix([sp.Symbol(f"{name}_{i}") for i in range(shape[0])])
    m, n = shape
    sep = "" if max(m, n) <= 10 else "_"
    return sp.Matrix(m, n, lambda i, j: sp.Symbol(f"{name}_{i}{sep}{j}"))


def _check_pos_int(name, v):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name} must be an integer in [1, inf); got {v!r}")
    return int(v)


def _flat(m) -> list:
    if isinstance(m, sp.MatrixBase):
        return list(m)  # row-major
    if isinstance(m, (list, tuple)):
        out = []
        for x in m:
            out.extend(_flat(x))
        return out
    return [sp.sympify(m)]


def _solve_linear(expr, x):
    """Solve ``expr = 0`` for ``x``, which ``expr`` contains linearly (no expansion of the rest)."""
    d = sp.Dummy("x")
    e = expr.xreplace({x: d})
    c = sp.diff(e, d)
    if c == 0 or c.has(d):
        raise RuntimeError(f"the equation is not linear in {x}")
    rest = e.xreplace({d: sp.Integer(0)})
    return -rest / c


def _same(a, b) -> bool:
    """Symbolic equality: structural first, then by expansion."""
    return a == b or sp.expand(a - b) == 0


class _TermIndex:
    """An expression split into the terms of its (shallow) expansion, indexed by symbol.

    ``diff(s)`` differentiates only the terms that contain ``s``: for a Hamiltonian with
    ``K^2`` couplings this is ``O(1)`` work per parameter instead of ``O(K^2)``.
    """

    def __init__(self, expr):
        terms = sp.Add.make_args(sp.expand(expr, deep=False))
        self.index = {}
        self._memo = {}
        for t in terms:
            for s in t.free_symbols:
                self.index.setdefault(s, []).append(t)

    def diff(self, s):
        return sp.Add(*[self._diff_term(t, s) for t in self.index.get(s, ())])

    def _diff_term(self, t, s):
        if t == s:
            return sp.Integer(1)
        if t.is_Mul:  # fast path: a single factor depends on s (product rule is then trivial)
            args = t.args
            k = [i for i, a in enumerate(args) if a.has(s)]
            if len(k) == 1:
                f = args[k[0]]
                rest = sp.Mul(*(args[:k[0]] + args[k[0] + 1:]))
                if f == s:
                    return rest
                if (f, s) not in self._memo:
                    self._memo[(f, s)] = f.diff(s)
                return rest * self._memo[(f, s)]
        return sp.diff(t, s)


class _Lambdified:
    """A list of SymPy expressions compiled by ``lambdify`` and returned as one stacked array.

    Called as ``fn(*arrays)`` where each array has the symbols of one argument group along its
    first axis; constant entries are broadcast to the batch shape of the first argument.
    """

    def __init__(self, args: Sequence[Sequence[sp.Symbol]], exprs: Sequence[sp.Expr], out_shape):
        self.out_shape = tuple(out_shape)
        self.exprs = tuple(exprs)
        self._fn = sp.lambdify([list(a) for a in args], list(exprs), modules="numpy", cse=True)

    def __call__(self, *arrays):
        arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
        batch = arrays[0].shape[1:]
        out = self._fn(*arrays)
        res = np.empty((len(out),) + batch)
        for i, o in enumerate(out):
            res[i] = o
        return res.reshape(self.out_shape + batch)


@dataclass(frozen=True)
class PontryaginSystem(ReadOnlyArrays):
    r"""A neural ODE with terminal loss: symbolic optimality conditions and their NumPy versions.

    Made by :func:`derive_pontryagin`. Symbolic fields (SymPy objects, plain symbols):

    ``h``, ``lam``, ``theta``, ``y``
        tuples of the state, costate, flat parameter and target symbols (lengths ``K, K, P,
        n_y``).
    ``blocks``
        ``((name, shape), ...)``: how ``theta`` is cut into named parameter blocks.
    ``F``, ``loss``, ``hamiltonian``
        the vector field (``K x 1`` matrix), $\Phi(h, y)$ and $H = \lambda\cdot F$.
    ``lagrangian_density``
        $\lambda(\tau)\cdot(\dot h(\tau) - F)$ in functions of ``tau`` (``tau_symbol``).
    ``state_rhs``, ``costate_rhs``, ``terminal_costate``
        $\dot h = F$, $\dot\lambda = -\partial H/\partial h$ and
        $\lambda(1) = -\partial\Phi/\partial h$, as solved from the Euler-Lagrange
        equations and the boundary term (tuples of expressions in plain symbols).
    ``dH_dtheta``
        $\partial H/\partial\theta$ (length ``P``); stationarity is ``dH_dtheta = 0`` and
        the gradient of $J$ with respect to $\theta(\tau)$ is ``-dH_dtheta``.
    ``euler_lagrange``
        the raw ``sympy.Eq`` list returned by ``euler_equations`` (state, costate, parameters).

    NumPy functions (vectorised: ``h`` and ``lam`` of shape ``(K, *batch)``, ``theta`` of shape
    ``(P,)``, ``y`` of shape ``(n_y, *batch)``):

    ``f(h, theta) -> (K, *batch)``
        the vector field $F$.
    ``jacobian(h, theta) -> (K, K, *batch)``
        $\partial F_i/\partial h_j$.
    ``costate_f(h, lam, theta) -> (K, *batch)``
        $-\partial H/\partial h = -(\partial F/\partial h)^\top\lambda$.
    ``grad_h(h, lam, theta) -> (P, *batch)``
        $\partial H/\partial\theta = (\partial F/\partial\theta)^\top\lambda$.
    ``loss_fn(h, y) -> batch``, ``terminal_fn(h, y) -> (K, *batch)``
        $\Phi$ and $-\partial\Phi/\partial h$.
    """

    h: tuple
    lam: tuple
    theta: tuple
    y: tuple
    blocks: tuple
    F: sp.Matrix
    loss: sp.Expr
    hamiltonian: sp.Expr
    tau_symbol: sp.Symbol
    lagrangian_density: sp.Expr
    euler_lagrange: tuple
    state_rhs: tuple
    costate_rhs: tuple
    terminal_costate: tuple
    dH_dtheta: tuple
    hamiltonian_matrix_form: str
    f: Callable = field(repr=False)
    jacobian: Callable = field(repr=False)
    costate_f: Callable = field(repr=False)
    grad_h: Callable = field(repr=False)
    loss_fn: Callable = field(repr=False)
    terminal_fn: Callable = field(repr=False)

    @property
    def K(self) -> int:
        """Dimension of the state."""
        return len(self.h)

    @property
    def P(self) -> int:
        """Number of scalar parameters in ``theta``."""
        return len(self.theta)

    def pack(self, params: Mapping[str, np.ndarray]) -> np.ndarray:
        """Flatten ``{name: array}`` (one entry per block) into ``theta``.

        An array with one more leading axis than the block (``(n_pieces, *shape)``) gives a
        time-dependent control of shape ``(n_pieces, P)``.
        """
        names = [n for n, _ in self.blocks]
        if set(params) != set(names):
            raise ValueError(f"params must have exactly the keys {names}; got {sorted(params)}")
        parts, lead = [], None
        for name, shape in self.blocks:
            a = np.asarray(params[name], dtype=np.float64)
            if a.shape == shape:
                this = ()
            elif a.shape[1:] == shape:
                this = a.shape[:1]
            else:
                raise ValueError(f"params[{name!r}] must have shape {shape} or (n_pieces, *{shape}); got {a.shape}")
            if lead is None:
                lead = this
            elif lead != this:
                raise ValueError("params must all be time-independent or all have the same n_pieces")
            parts.append(a.reshape(this + (-1,)))
        return np.concatenate(parts, axis=-1)

    def unpack(self, theta) -> dict:
        """Cut ``theta`` of shape ``(P,)`` or ``(n_pieces, P)`` into ``{name: array}``."""
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape[-1:] != (self.P,) or theta.ndim > 2:
            raise ValueError(f"theta must have shape ({self.P},) or (n_pieces, {self.P}); got {theta.shape}")
        out, i = {}, 0
        for name, shape in self.blocks:
            n = int(np.prod(shape))
            out[name] = theta[..., i:i + n].reshape(theta.shape[:-1] + shape)
            i += n
        return out


def derive_pontryagin(F, h, params: Mapping[str, sp.Matrix], loss, y=(), *, describe: str = "") -> PontryaginSystem:
    r"""Derive the Hamiltonian, state/costate equations and stationarity for ``dh/dtau = F(h, theta)``.

    Parameters
    ----------
    F : SymPy ``Matrix`` (``K x 1``) or sequence of ``K`` expressions in the symbols of ``h``
        and of ``params``.
    h : ``Matrix`` or sequence of the ``K`` state symbols (see :func:`state_symbols`).
    params : ``{name: Matrix}`` of parameter blocks (see :func:`parameter_block`), in the
        order in which they are flattened into ``theta``. A one-column matrix is a vector
        block of shape ``(m,)``; to force another shape (e.g. a ``1 x 1`` matrix ``A``) pass
        ``{name: (Matrix, shape)}``.
    loss : SymPy expression $\Phi(h, y)$ of the terminal state and the targets.
    y : sequence of target symbols appearing in ``loss`` (may be empty).
    describe : optional one-line description of $H$ in matrix form, kept as
        ``hamiltonian_matrix_form`` (for display).

    Returns
    -------
    PontryaginSystem

    Notes
    -----
    The derivation is done on the Lagrangian density
    $\ell = \lambda(\tau)\cdot(\dot h(\tau) - F(h(\tau),\theta(\tau)))$ with ``h``,
    ``lambda`` and every parameter promoted to functions of ``tau``; its Euler-Lagrange
    equations are solved for $\dot h$ and $\dot\lambda$; the terminal condition
    comes from the boundary term $[\partial\Phi/\partial h + \partial\ell/\partial\dot h]
    _{\tau=1} = 0$ of the integration by parts. The results are checked against the direct
    derivatives of $H = \lambda\cdot F$ (an internal consistency check that raises
    ``RuntimeError`` if they differ).
    """
    hs = _flat(h)
    K = len(hs)
    Fm = sp.Matrix(_flat(F))
    if Fm.shape != (K, 1):
        raise ValueError(f"F must have K = {K} components (one per state symbol); got {Fm.shape[0]}")
    if not params:
        raise ValueError("params must declare at least one parameter block")
    blocks, th = [], []
    for name, M in params.items():
        shape = None
        if isinstance(M, tuple) and len(M) == 2 and isinstance(M[0], sp.MatrixBase):
            M, shape = M
        M = sp.Matrix(M) if not isinstance(M, sp.MatrixBase) else M
        if shape is None:
            shape = (M.shape[0],) if M.shape[1] == 1 else tuple(M.shape)
        shape = tuple(int(k) for k in shape)
        if int(np.prod(shape)) != len(M):
            raise ValueError(f"params[{name!r}] has {len(M)} symbols but shape {shape}")
        blocks.append((name, shape))
        th.extend(list(M))
    ys = _flat(y) if len(y) else []
    loss = sp.sympify(loss)
    free = Fm.free_symbols | loss.free_symbols
    unknown = free - set(hs) - set(th) - set(ys)
    if unknown:
        raise ValueError(f"F and loss contain symbols that are neither states, parameters nor targets: {sorted(map(str, unknown))}")
    lam = [sp.Symbol(f"lambda_{i}") for i in range(K)]

    # --- Hamiltonian
    H = sum((lam[i] * Fm[i] for i in range(K)), sp.Integer(0))

    # --- Lagrangian density in functions of tau, and its Euler-Lagrange equations
    tau = sp.Symbol("tau")
    hf = [sp.Function(f"h_{i}")(tau) for i in range(K)]
    lf = [sp.Function(f"lambda_{i}")(tau) for i in range(K)]
    tf = [sp.Function(str(s))(tau) for s in th]
    to_fun = dict(zip(hs + th, hf + tf))
    to_sym = dict(zip(hf + lf + tf, hs + lam + th))
    Ft = Fm.xreplace(to_fun)
    dens = sum((lf[i] * (sp.diff(hf[i], tau) - Ft[i]) for i in range(K)), sp.Integer(0))
    # Euler-Lagrange expressions dl/dq - d/dtau dl/dqdot for q = h, lambda, theta, computed on
    # the density with velocity symbols v (dl/dq is an ordinary partial derivative there)
    v = [sp.Symbol(f"v_{i}") for i in range(K)]
    ell = sum((lam[i] * (v[i] - Fm[i]) for i in range(K)), sp.Integer(0))
    vel = dict(zip(hs + lam, v + [None] * K))
    ldot = [sp.Symbol(f"lambdadot_{i}") for i in range(K)]
    fun_dot = {sp.Derivative(q, tau): s for q, s in zip(hf + lf, v + ldot)}
    fun_dot.update(to_sym)

    def d_dtau(expr):  # total tau-derivative of an expression of (h, lambda, theta)
        return sp.diff(expr.xreplace({**dict(zip(hs + th, hf + tf)), **dict(zip(lam, lf))}), tau).xreplace(fun_dot)

    d_ell = _TermIndex(ell)  # partial derivatives term by term (fast for many parameters)
    el = []
    for q in hs + lam + th:
        e = d_ell.diff(q)
        if vel.get(q) is not None:
            e = e - d_dtau(d_ell.diff(vel[q]))
        el.append(e)
    # solve the (linear) equations for the velocities
    costate_rhs = tuple(_solve_linear(el[i], ldot[i]) for i in range(K))
    state_rhs = tuple(_solve_linear(el[K + i], v[i]) for i in range(K))
    # parameters enter without derivatives: their Euler-Lagrange expression is dl/dtheta,
    # and -dl/dtheta = dH/dtheta
    dH_dtheta = tuple(-e for e in el[2 * K:])
    # boundary term at tau = 1: dPhi/dh + dl/dv = 0, solved for lambda(1)
    lam_end = [sp.Symbol(f"_lend{i}") for i in range(K)]
    terminal = tuple(_solve_linear(sp.diff(loss, hs[i]) + d_ell.diff(v[i]).xreplace(dict(zip(lam, lam_end))),
                                   lam_end[i]) for i in range(K))

    # --- internal consistency with the Hamiltonian form
    d_H = _TermIndex(H)
    for i in range(K):
        if not (_same(state_rhs[i], d_H.diff(lam[i])) and _same(costate_rhs[i], -d_H.diff(hs[i]))):
            raise RuntimeError("Euler-Lagrange equations disagree with the Hamiltonian form")
    for j, s in enumerate(th):
        if not _same(dH_dtheta[j], d_H.diff(s)):
            raise RuntimeError("stationarity condition disagrees with dH/dtheta")

    jac = Fm.jacobian(hs)
    return PontryaginSystem(
        h=tuple(hs), lam=tuple(lam), theta=tuple(th), y=tuple(ys), blocks=tuple(blocks), F=Fm,
        loss=loss, hamiltonian=H, tau_symbol=tau, lagrangian_density=dens,
        euler_lagrange=tuple(sp.Eq(e, 0) for e in el),
        state_rhs=state_rhs, costate_rhs=costate_rhs, terminal_costate=terminal, dH_dtheta=dH_dtheta,
        hamiltonian_matrix_form=describe or "lambda . F",
        f=_Lambdified([hs, th], state_rhs, (K,)),
        jacobian=_Lambdified([hs, th], list(jac), (K, K)),
        costate_f=_Lambdified([hs, lam, th], costate_rhs, (K,)),
        grad_h=_Lambdified([hs, lam, th], dH_dtheta, (len(th),)),
        loss_fn=_Lambdified([hs, ys], [loss], ()),
        terminal_fn=_Lambdified([hs, ys], terminal, (K,)),
    )


def _square_loss(hs, readout):
    """1/2 sum_r (h_r - y_r)^2 over the read-out components, with target symbols y_r."""
    ys = [sp.Symbol(f"y_{r}") for r in range(len(readout))]
    loss = sp.Rational(1, 2) * sum(((hs[i] - ys[r]) ** 2 for r, i in enumerate(readout)), sp.Integer(0))
    return loss, ys


def tanh_system(K: int, readout: Sequence[int] | None = None) -> PontryaginSystem:
    r"""The system $F = -h + A\tanh(h) + b$ with square loss $\tfrac12\sum_r (h_r(1)-y_r)^2$.

    Parameters ``A`` (``K x K``) and ``b`` (``K``); ``readout`` lists the state components
    compared with the targets (all ``K`` by default). This is the controlled neural ODE of the
    chapter and of the teacher-student chapter (``A(tau)``, ``b(tau)`` as time-dependent
    controls).

    >>> sys = tanh_system(1)
    >>> sys.hamiltonian
    lambda_0*(A_00*tanh(h_0) + b_0 - h_0)
    >>> sys.costate_rhs
    (-A_00*lambda_0*(1 - tanh(h_0)**2) + lambda_0,)
    """
    K = _check_pos_int("K", K)
    readout = list(range(K)) if readout is None else list(readout)
    if not readout or any((not isinstance(r, (int, np.integer))) or r < 0 or r >= K for r in readout):
        raise ValueError(f"readout must list state components in [0, {K - 1}]; got {readout!r}")
    h = state_symbols(K)
    A = parameter_block("A", (K, K))
    b = parameter_block("b", (K,))
    F = -h + A * h.applyfunc(sp.tanh) + b
    loss, ys = _square_loss(list(h), readout)
    return derive_pontryagin(F, h, {"A": (A, (K, K)), "b": b}, loss, ys, describe="lambda . (-h + A tanh(h) + b)")


def mlp_system(K: int, m: int, readout: Sequence[int] = (0,)) -> PontryaginSystem:
    r"""A one-hidden-layer vector field $F = W_2\tanh(W_1 h + b_1) + b_2$ with ``m`` hidden units.

    Blocks ``W1`` (``m x K``), ``b1`` (``m``), ``W2`` (``K x m``), ``b2`` (``K``); square loss on
    the ``readout`` components (the first one by default, as for an augmented neural ODE whose
    extra dimensions are not read out, :cite:t:`dupont2019augmented`).
    """
    K = _check_pos_int("K", K)
    m = _check_pos_int("m", m)
    readout = list(readout)
    if not readout or any((not isinstance(r, (int, np.integer))) or r < 0 or r >= K for r in readout):
        raise ValueError(f"readout must list state components in [0, {K - 1}]; got {readout!r}")
    h = state_symbols(K)
    W1, b1 = parameter_block("W1", (m, K)), parameter_block("b1", (m,))
    W2, b2 = parameter_block("W2", (K, m)), parameter_block("b2", (K,))
    F = W2 * (W1 * h + b1).applyfunc(sp.tanh) + b2
    loss, ys = _square_loss(list(h), readout)
    return derive_pontryagin(F, h, {"W1": (W1, (m, K)), "b1": b1, "W2": (W2, (K, m)), "b2": b2}, loss, ys,
                             describe="lambda . (W2 tanh(W1 h + b1) + b2)")


def discrete_costate_equations(system: PontryaginSystem, L: int):
    r"""Stationarity of the discrete Lagrangian of the Euler ResNet, derived symbolically.

    For $h_{\ell+1} = h_\ell + \Delta\tau\,F(h_\ell,\theta_\ell)$ ($\Delta\tau = 1/L$)
    the discrete Lagrangian is

    .. math::

        \mathcal L_L = \Phi(h_L) + \sum_{\ell=0}^{L-1}\lambda_{\ell+1}\cdot
        \big(h_{\ell+1} - h_\ell - \Delta\tau\,F(h_\ell,\theta_\ell)\big).

    Returns ``(lagrangian, eqs)`` where ``eqs`` maps each symbol ``h_{i,l}`` (``l = 1..L``)
    and ``theta_{j,l}`` (``l = 0..L-1``) to $\partial\mathcal L_L/\partial(\cdot)$:
    setting the ``h`` ones to zero gives the costate recursion
    $\lambda_\ell = \lambda_{\ell+1} + \Delta\tau\,\partial H/\partial h(h_\ell,\lambda_{\ell+1},\theta_\ell)$
    and $\lambda_L = -\nabla\Phi(h_L)$; the ``theta`` ones are the gradient
    $\partial J/\partial\theta_\ell = -\Delta\tau\,\partial H/\partial\theta$. Meant for a small
    ``L`` (display and tests).
    """
    L = _check_pos_int("L", L)
    K, P = system.K, system.P
    dt = sp.Rational(1, L)
    H_l = [[sp.Symbol(f"h_{i},{l}") for i in range(K)] for l in range(L + 1)]
    Lam = [[sp.Symbol(f"lambda_{i},{l}") for i in range(K)] for l in range(L + 1)]
    Th = [[sp.Symbol(f"theta_{j},{l}") for j in range(P)] for l in range(L)]
    lag = system.loss.subs(dict(zip(system.h, H_l[L])), simultaneous=True)
    for l in range(L):
        Fl = system.F.subs({**dict(zip(system.h, H_l[l])), **dict(zip(system.theta, Th[l]))}, simultaneous=True)
        lag += sum((Lam[l + 1][i] * (H_l[l + 1][i] - H_l[l][i] - dt * Fl[i]) for i in range(K)), sp.Integer(0))
    eqs = {}
    for l in range(1, L + 1):
        for i in range(K):
            eqs[H_l[l][i]] = sp.expand(sp.diff(lag, H_l[l][i]))
    for l in range(L):
        for j in range(P):
            eqs[Th[l][j]] = sp.diff(lag, Th[l][j])
    return lag, eqs


check_public(globals())
