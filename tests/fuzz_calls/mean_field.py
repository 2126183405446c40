"""Fuzz examples for dmftlib.mean_field (lazy/NTK and mean-field two-layer networks); see README.md."""
import numpy as np


def _data():
    from dmftlib import mean_field
    return mean_field.sphere_data(6, 3, seed=0)


def _lazy_scan():
    from dmftlib import mean_field
    return mean_field.lazy_width_scan(widths=(8, 16), n=5, d=3, t_max=0.4, n_times=3, seeds=2)


_X = Lazy(lambda: _data()[0])  # noqa: F821 - provided by tests/test_fuzz_api.py
_y = Lazy(lambda: _data()[1])  # noqa: F821
_M = "dmftlib.mean_field."
_t = np.array([0.0, 0.2, 0.4])

CALLS = {
    _M + "ntk_gram": dict(X=_X),
    _M + "empirical_ntk": dict(X=_X, W=Lazy(lambda: np.random.default_rng(0).standard_normal((50, 3)))),  # noqa: F821
    _M + "lazy_theory": dict(X=_X, y=_y, t=_t),
    _M + "lazy_simulate": dict(m=16, X=_X, y=_y, t=_t, seeds=(0, 1)),
    _M + "lazy_width_scan": dict(widths=(8, 16), n=5, d=3, t_max=0.4, n_times=3, seeds=2),
    _M + "mean_field_simulate": dict(m=8, t=np.array([0.0, 0.1, 0.2]), seeds=(0, 1)),
    _M + "mean_field_width_scan": dict(widths=(8, 16), seeds_per_width=(2, 2), t_max=0.2, n_times=3),
    _M + "plot_lazy_vs_width": dict(data=Lazy(_lazy_scan)),  # noqa: F821
    _M + "plot_mean_field": dict(t_max=1.0, m=8, seeds=(0, 1)),
}
