"""Plateau height and escape time of a committee-machine learning curve (NumPy only: also used by the peer script).

Both sides of the comparison (``bench_committee.py`` and ``peers/pyscm.py``) record the generalization
error on the same output grid and reduce it with :func:`plateau_and_escape`.
"""
import numpy as np


def plateau_and_escape(t, eg, t_min=10.0, floor=0.2):
    """Return ``(plateau, t_escape)`` of a learning curve ``eg(t)`` with one plateau.

    ``plateau`` is ``eg`` where ``|d eg / dt|`` (centred differences on the grid) is smallest, among the
    times ``t >= t_min`` with ``eg`` above ``floor`` times its largest value there (this excludes the
    final decay); ``t_escape`` is the first time after it at which ``eg`` falls below half the plateau,
    linearly interpolated in ``log eg`` (``None`` if it does not happen on the grid).
    """
    t, eg = np.asarray(t, float), np.asarray(eg, float)
    slope = np.abs(np.gradient(eg, t))
    ok = (t >= t_min) & (eg > floor * eg[t >= t_min].max())
    ok[0] = ok[-1] = False
    i = int(np.argmin(np.where(ok, slope, np.inf)))
    plateau = float(eg[i])
    below = np.nonzero(eg[i:] < 0.5 * plateau)[0]
    if below.size == 0:
        return plateau, None
    j = i + int(below[0])
    y0, y1 = np.log(eg[j - 1]), np.log(eg[j])
    frac = (np.log(0.5 * plateau) - y0) / (y1 - y0)
    return plateau, float(t[j - 1] + frac * (t[j] - t[j - 1]))
