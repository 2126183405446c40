"""Naive per-seed NumPy loops: the baselines of ``bench_simulations.py`` (and references in the tests).

Each function runs one seed at a time with plain 2-D ``@`` products (no batching over seeds),
with the same draws, in the same order, as the library function it mirrors, and returns the
per-seed curves ``(n_seeds, n_t)``. They are written for clarity, not speed: the library must
beat them (issue 17: at least 2x at the chapters' sizes).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.special import erf


def linear_gradient_flow(N, alpha, sigma2, t, seeds, ridge=0.0):
    """Per-seed ``(eg, et)`` of ``dmftlib.linear.simulate_gradient_flow`` (isotropic data)."""
    t = np.asarray(t, float)
    P = max(1, int(round(alpha * N)))
    eg, et = [], []
    for s in seeds:
        rng = np.random.default_rng(s)
        X = rng.standard_normal((P, N))
        wstar = rng.standard_normal(N)
        eps = rng.standard_normal(P)
        lam, U = np.linalg.eigh(X.T @ X / P)
        lam = np.clip(lam, 0.0, None)
        a = U.T @ wstar
        c = U.T @ (math.sqrt(N) / P * (X.T @ eps))
        rate = lam + ridge
        with np.errstate(divide="ignore", invalid="ignore"):
            phi = np.where(rate > 0, -np.expm1(-np.outer(t, rate)) / np.where(rate > 0, rate, 1.0), t[:, None])
        v = (-(1.0 - lam * phi) * a + math.sqrt(sigma2) * phi * c) @ U.T          # (T, N)
        eg.append(np.mean(v**2, axis=1))
        et.append(np.mean((math.sqrt(sigma2) * eps - v @ X.T / math.sqrt(N)) ** 2, axis=1))
    return np.array(eg), np.array(et)


def random_features_linear(N, alpha, nu, sigma2, t, seeds):
    """Per-seed curves of ``dmftlib.random_features.simulate``, linear features: a dict of
    ``(n_seeds, n_t)`` arrays ``eg, et, features, data, bias, herm`` (the fields it averages)."""
    from dmftlib.random_features import _PAIRS, _sizes, _time_functions
    t = np.asarray(t, float)
    P, M = _sizes(N, alpha, nu)
    sq = math.sqrt(N)
    out = {key: [] for key in ("eg", "et", "herm", *_PAIRS)}
    for s in seeds:
        rng = np.random.default_rng(s)
        X = rng.standard_normal((2, P, N))
        eps = rng.standard_normal((2, P))
        F = rng.standard_normal((2, M, N))
        w = rng.standard_normal(N)
        err, et, herm = {}, [], []
        for f in (0, 1):
            for d in (0, 1):
                Phi = X[d] @ F[f].T / sq
                lam, U = np.linalg.eigh(Phi.T @ Phi / P)
                lam = np.clip(lam, 0.0, None)
                Z = Phi @ U / math.sqrt(P)
                y = X[d] @ w / sq + math.sqrt(sigma2) * eps[d]
                c = Z.T @ y / math.sqrt(P)
                e, g = _time_functions(lam, t, nu)
                herm.append(1.0 - np.sum(1.0 - e**2, axis=-1) / N)
                with np.errstate(divide="ignore", invalid="ignore"):
                    wgt = np.where(lam > 0, (1 - e**2) / np.where(lam > 0, lam, 1.0), 0.0)
                et.append(y @ y / P - wgt @ c**2)
                err[f, d] = (g * c) @ (F[f].T @ U).T - w
        cross = {(i, j): np.sum(err[i] * err[j], axis=-1) / N for i in err for j in err}
        out["eg"].append(np.mean([cross[i, i] for i in err], axis=0))
        out["et"].append(np.mean(et, axis=0))
        out["herm"].append(np.mean(herm, axis=0))
        for key, pairs in _PAIRS.items():
            out[key].append(np.mean([cross[i, j] for i, j in pairs], axis=0))
    return {key: np.array(val) for key, val in out.items()}


def sgd_multipass(N, alpha, sigma2, eta, b, t_max, seeds):
    """Per-seed ``(eg, et)`` of ``dmftlib.sgd.simulate`` (one memory group)."""
    P = max(1, int(round(alpha * N)))
    n = int(round(t_max / eta))
    S = len(seeds)
    sel_rng = np.random.default_rng([*seeds, 0x5D])
    sel = np.stack([sel_rng.random((S, P)) < b for _ in range(n)], axis=1)        # (S, n, P)
    scale = eta * math.sqrt(N) / (b * P)
    eg, et = np.empty((S, n + 1)), np.empty((S, n + 1))
    for i, s in enumerate(seeds):
        rng = np.random.default_rng(s)
        X = rng.standard_normal((P, N))
        v = -rng.standard_normal(N)
        eps = rng.standard_normal(P)
        for k in range(n + 1):
            r = math.sqrt(sigma2) * eps - X @ v / math.sqrt(N)
            eg[i, k] = v @ v / N
            et[i, k] = r @ r / P
            if k < n:
                v = v + scale * (X.T @ (sel[i, k] * r))
    return eg, et


def sgd_online(N, B, sigma2, g, t_max, seeds):
    """Per-seed test error of online SGD as in ``dmftlib.sgd.simulate_online`` (per-seed streams:
    the same distribution, not the same draws, as the library's shared stream)."""
    eta = g * B / N
    n = int(round(t_max / eta))
    out = np.empty((len(seeds), n + 1))
    for i, s in enumerate(seeds):
        rng = np.random.default_rng(s)
        v = -rng.standard_normal(N)
        for k in range(n + 1):
            out[i, k] = v @ v / N
            x = rng.standard_normal((B, N))
            r = math.sqrt(sigma2) * rng.standard_normal(B) - x @ v / math.sqrt(N)
            if k < n:
                v = v + (eta * math.sqrt(N) / B) * (x.T @ r)
    return out


def committee(N, K, M, eta, t, seeds, sigma=0.0, init=None, init_seed=0, chunk=256):
    """Per-seed generalization error of ``dmftlib.committee.simulate`` (first layer trained)."""
    from dmftlib import committee as cm
    ov = cm._as_overlaps(init, K, M)
    W0, B = cm.realize(ov, N, seed=init_seed)
    steps = np.rint(np.asarray(t, float) * N).astype(np.int64)
    sqN = math.sqrt(N)
    out = np.empty((len(seeds), len(steps)))
    for i, s in enumerate(seeds):
        rng = np.random.default_rng(s)
        W, v = W0.copy(), np.array(ov.v, float)
        Qs, Rs = [], []
        mu, j = 0, 0
        if steps[0] == 0:
            Qs.append(W @ W.T / N)
            Rs.append(W @ B.T / N)
            j = 1
        while mu < steps[-1]:
            n = min(chunk, int(steps[-1]) - mu)
            Z = rng.standard_normal((n, N + 1))
            for b in range(n):
                x = Z[b, :N]
                lam = W @ x / sqN
                err = erf(B @ x / sqN / math.sqrt(2)) @ ov.v_star + sigma * Z[b, N] - v @ erf(lam / math.sqrt(2))
                W += (eta / sqN) * np.outer(v * math.sqrt(2 / math.pi) * np.exp(-0.5 * lam**2) * err, x)
                mu += 1
                if j < len(steps) and mu == steps[j]:
                    Qs.append(W @ W.T / N)
                    Rs.append(W @ B.T / N)
                    j += 1
        out[i] = cm.generalization_error(np.array(Qs), np.array(Rs), ov.T, np.broadcast_to(v, (len(Qs), K)),
                                         ov.v_star)
    return out
