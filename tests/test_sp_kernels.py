"""NNGP and NTK recursions (signal_propagation.kernels_theory) against closed forms and random networks."""
import numpy as np
import pytest

from dmftlib import signal_propagation as sp


def test_relu_critical_closed_form():
    # ReLU, sigma_w^2 = 2, sigma_b^2 = 0: q^l = q0, E[phi'^2] = 1/2, so Theta^l(x, x) = l q0
    k = sp.kernels_theory(10, 2.0, 0.0, "relu", q0=1.3)
    np.testing.assert_allclose(k.K_aa, 1.3, rtol=1e-12)
    np.testing.assert_allclose(k.Theta_aa, 1.3 * np.arange(11), rtol=1e-12)


@pytest.mark.parametrize("sw, phi", [(1.2, "tanh"), (2.5, "tanh"), (2.0, "erf")])
def test_ntk_diagonal_is_a_geometric_sum_at_the_fixed_point(sw, phi):
    sb = 0.05
    qs, x1 = sp.q_star(sw, sb, phi), sp.chi1(sw, sb, phi)
    k = sp.kernels_theory(12, sw, sb, phi, q0=qs)
    l = np.arange(13)
    np.testing.assert_allclose(k.Theta_aa, qs * (1 - x1**l) / (1 - x1), rtol=1e-6)   # quadrature accuracy


def test_tanh_critical_power_law():
    q = sp.iterate_length_map(1.0, 4000, 1.0, 0.0, "tanh")
    l = np.array([100, 1000, 4000])
    r = 2 * l * q[l]
    assert np.all(np.abs(r - 1) < 3 * np.log(l) / l)     # q^l = 1/(2l) (1 + O(ln l / l))
    assert abs(r[2] - 1) < abs(r[1] - 1) < abs(r[0] - 1)


@pytest.mark.parametrize("phi, sw", [("tanh", 1.5), ("relu", 2.0)])
def test_empirical_kernels_agree_and_fluctuate_like_inverse_sqrt_width(phi, sw):
    th = sp.kernels_theory(3, sw, 0.05, phi)
    sems = []
    for N in (100, 400):
        em = sp.empirical_kernels(N, 3, sw, 0.05, phi, seeds=24)
        for f in ("K_aa", "K_ab", "Theta_aa", "Theta_ab"):
            dev = np.abs(getattr(em, f) - getattr(th, f))[1:]
            # mean over networks: statistical error (sem) plus an O(1/N) bias
            assert np.all(dev < 4 * getattr(em, f + "_sem")[1:] + 2.0 / N), (f, N, dev)
        sems.append(em.Theta_ab_sem[-1])
    assert 1.4 < sems[0] / sems[1] < 2.9        # N^{-1/2}: factor 2 from N = 100 to 400


def test_empirical_ntk_by_finite_differences():
    """The back-propagated NTK equals grad f . grad f, with the gradient by central differences over every
    weight and bias of two tiny networks rebuilt from the same random streams."""
    N, L, sw, sb, seeds = 3, 2, 1.3, 0.2, [5, 6]
    k = sp.empirical_kernels(N, L, sw, sb, "tanh", seeds=seeds)
    h0 = sp._inputs_from(np.random.default_rng([*seeds, 0xC0]).standard_normal((2, N, 2)), N, 1.0, 0.5)
    rng_b = np.random.default_rng([*seeds, 0xB1])
    b = [rng_b.standard_normal((2, N, 1)) for _ in range(L)]
    r = np.random.default_rng([*seeds, 0x0F]).standard_normal((2, N, 1))
    W = [np.stack([np.random.default_rng([s, l]).standard_normal((N, N)) for s in seeds]) for l in range(1, L + 1)]
    thetas = []
    for s in range(2):
        params = np.concatenate([w[s].ravel() for w in W] + [bb[s].ravel() for bb in b])

        def f(p):
            Ws = [p[i * N * N:(i + 1) * N * N].reshape(N, N) for i in range(L)]
            bs = [p[L * N * N + i * N:L * N * N + (i + 1) * N].reshape(N, 1) for i in range(L)]
            h = h0[s]
            for l in range(L):
                h = np.sqrt(sw / N) * Ws[l] @ np.tanh(h) + np.sqrt(sb) * bs[l]
            return (r[s].T @ h)[0] / np.sqrt(N)               # the readout for both inputs

        grads = np.array([(f(params + 1e-6 * e) - f(params - 1e-6 * e)) / 2e-6 for e in np.eye(params.size)])
        thetas.append(grads.T @ grads)                          # (2, 2) NTK of this network
    T = np.mean(thetas, axis=0)
    np.testing.assert_allclose(k.Theta_aa[L], 0.5 * (T[0, 0] + T[1, 1]), rtol=1e-7)
    np.testing.assert_allclose(k.Theta_ab[L], T[0, 1], rtol=1e-7)


@pytest.mark.parametrize("kw, name", [(dict(N=1), "N"), (dict(seeds=None), "seeds"), (dict(phi="gelu"), "phi"),
                                      (dict(sigma_w2=-1.0), "sigma_w2")])
def test_bad_input(kw, name):
    args = dict(N=20, L=2, sigma_w2=1.5, sigma_b2=0.05, phi="tanh", seeds=2)
    args.update(kw)
    with pytest.raises(ValueError, match=name):
        sp.empirical_kernels(**args)
