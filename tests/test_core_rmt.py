"""Random-matrix laws against sampled spectra and closed-form moments."""
import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.integrate import quad

from dmftlib.core import rmt


@pytest.mark.parametrize("alpha", [0.5, 2.0, 4.0])
def test_mp_density_normalization_and_moments(alpha):
    q = 1 / alpha
    lm, lp = rmt.mp_edges(alpha)
    f = lambda x, k: x**k * rmt.marchenko_pastur_density(x, alpha)
    mass = quad(f, lm, lp, args=(0,))[0] + rmt.marchenko_pastur_atom(alpha)
    m1 = quad(f, lm, lp, args=(1,))[0]
    m2 = quad(f, lm, lp, args=(2,))[0]
    assert_allclose([mass, m1, m2], [1.0, 1.0, 1.0 + q], rtol=1e-6)


def test_mp_sampled_moments_converge_like_one_over_N():
    # linear spectral statistics fluctuate O(1/N): the error at N=800 is well below that at N=100
    alpha = 2.0
    errs = []
    for N in (100, 800):
        lam = np.linalg.eigvalsh(rmt.sample_wishart(N, alpha, seed=1))
        errs.append(abs(np.mean(lam**2) - (1 + 1 / alpha)))
        assert errs[-1] < 6.0 / N
    assert lam.min() > rmt.mp_edges(alpha)[0] - 0.1 and lam.max() < rmt.mp_edges(alpha)[1] + 0.1


@pytest.mark.parametrize("alpha", [0.5, 3.0])
def test_mp_stieltjes_matches_sampled_resolvent(alpha):
    N = 1000
    lam = np.linalg.eigvalsh(rmt.sample_wishart(N, alpha, seed=2))
    z = np.array([-1.0, -0.2 + 0.5j, 1.0 + 0.3j, 7.0])  # away from the real support
    assert_allclose(rmt.marchenko_pastur_stieltjes(z, alpha), rmt.empirical_stieltjes(z, lam), atol=10 / N)


def test_mp_stieltjes_is_the_transform_of_the_density():
    alpha, z = 2.0, -0.7
    lm, lp = rmt.mp_edges(alpha)
    G = quad(lambda x: rmt.marchenko_pastur_density(x, alpha) / (z - x), lm, lp)[0]
    assert_allclose(rmt.marchenko_pastur_stieltjes(z, alpha).real, G, rtol=1e-7)
    # with an atom: alpha < 1 adds (1 - alpha)/z
    alpha = 0.5
    lm, lp = rmt.mp_edges(alpha)
    G = quad(lambda x: rmt.marchenko_pastur_density(x, alpha) / (z - x), lm, lp)[0] + (1 - alpha) / z
    assert_allclose(rmt.marchenko_pastur_stieltjes(z, alpha).real, G, rtol=1e-7)


def test_semicircle_moments_and_resolvent():
    f = lambda x, k: x**k * rmt.semicircle_density(x, sigma=1.5)
    assert_allclose([quad(f, -3, 3, args=(k,))[0] for k in (0, 2, 4)], [1.0, 1.5**2, 2 * 1.5**4], rtol=1e-7)
    N = 1000
    lam = np.linalg.eigvalsh(rmt.sample_goe(N, sigma=1.5, seed=3))
    z = np.array([4.0, 0.5 + 1.0j, -3.5])
    assert_allclose(rmt.semicircle_stieltjes(z, 1.5), rmt.empirical_stieltjes(z, lam), atol=10 / N)
    # G solves the self-consistent equation sigma^2 G^2 - z G + 1 = 0
    g = rmt.semicircle_stieltjes(z, 1.5)
    assert_allclose(1.5**2 * g**2 - z * g + 1, 0, atol=1e-12)


def test_ginibre_circular_law():
    N = 800
    ev = np.linalg.eigvals(rmt.sample_ginibre(N, sigma=2.0, seed=4))
    r = np.abs(ev)
    assert r.max() < 2.0 * (1 + 4 / np.sqrt(N))
    # uniform disk: P(|z| < r) = r^2 / sigma^2; check at r = sigma/2 within a few binomial std
    frac = np.mean(r < 1.0)
    assert abs(frac - 0.25) < 4 * np.sqrt(0.25 * 0.75 / N)
    assert rmt.circular_law_density(0.0, 0.0, 2.0) == pytest.approx(1 / (4 * np.pi))


@pytest.mark.parametrize("call, name", [
    (lambda: rmt.mp_edges(0.0), "alpha"),
    (lambda: rmt.sample_wishart(0, 1.0), "N"),
    (lambda: rmt.semicircle_density(0.0, sigma=-1), "sigma"),
    (lambda: rmt.sample_goe(16385), "N"),
    (lambda: rmt.sample_ginibre(0), "N"),
    (lambda: rmt.marchenko_pastur_expect(np.square, 0.5, sigma2=0.0), "sigma2"),
])
def test_invalid_arguments(call, name):
    with pytest.raises(ValueError, match=rf"^{name} "):     # the message starts with the argument's name
        call()


@pytest.mark.parametrize("alpha", [0.5, 2.0])
def test_mp_expect_scales_with_sigma2(alpha):
    """First two moments of Marchenko-Pastur with variance sigma2: E[lam] = sigma2, E[lam^2] = sigma2^2 (1 + 1/alpha)."""
    s2 = 2.5
    assert rmt.marchenko_pastur_expect(lambda x: x, alpha, sigma2=s2) == pytest.approx(s2, rel=1e-10)
    assert rmt.marchenko_pastur_expect(np.square, alpha, sigma2=s2) == pytest.approx(s2**2 * (1 + 1 / alpha), rel=1e-10)


def test_sample_defaults_have_unit_variance():
    """Default sigma = 1: entries of variance 1/N (N E[J_ij^2] = 1 within the sampling error, 4/N here)."""
    N = 300
    for J in (rmt.sample_ginibre(N, seed=0), rmt.sample_goe(N, seed=0)):
        off = J[~np.eye(N, dtype=bool)]
        assert abs(N * np.mean(off**2) - 1.0) < 4.0 / N * np.sqrt(2 * N)


@pytest.mark.parametrize("alpha", [0.5, 1.0, 3.0])
def test_mp_expect_against_quad_and_sampled(alpha):
    f = lambda lam: np.exp(-2 * lam) * lam
    lm, lp = rmt.mp_edges(alpha)
    ref = quad(lambda x: f(x) * rmt.marchenko_pastur_density(x, alpha), lm, lp, limit=200)[0]
    assert_allclose(rmt.marchenko_pastur_expect(f, alpha), ref, rtol=1e-6)
    t = np.array([0.0, 0.5, 2.0])
    vals = rmt.marchenko_pastur_expect(lambda lam: np.exp(-np.outer(t, lam)), alpha)
    assert vals.shape == (3,) and vals[0] == pytest.approx(1.0)
    lam = np.linalg.eigvalsh(rmt.sample_wishart(600, alpha, seed=5))
    assert_allclose(vals, np.exp(-np.outer(t, lam)).mean(axis=1), atol=10 / 600)
