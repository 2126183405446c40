"""The house style for figures: theory is a line, simulation is markers with error bars.

Every figure of the book goes through these functions so that all chapters look alike and
every legend names N and the number of seeds. Functions take an ``ax`` and return it; they
never call ``plt.show()`` (the chapter does). Figures are rendered as PNG (nbval compares
only the text label of a figure, never an SVG with random ids).
"""
from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np

from .core import check_array, check_int, check_public, check_real

__all__ = ["STYLE", "use_house_style", "new_figure", "plot_theory", "plot_simulation",
           "theory_vs_simulation", "simulation_label", "plot_power_law_fit"]

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.format": "png",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": mpl.cycler(color=["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                                         "#8c564b", "#e377c2", "#17becf"]),
    "legend.frameon": False,
    "legend.fontsize": 9,
    "font.size": 11,
    "lines.linewidth": 1.8,
    "errorbar.capsize": 2.5,
    "svg.hashsalt": "dmftlib",
}


def use_house_style() -> None:
    """Apply the house style to matplotlib's global settings (idempotent)."""
    mpl.rcParams.update(STYLE)
    try:  # inside IPython: PNG figures only
        from matplotlib_inline.backend_inline import set_matplotlib_formats
        set_matplotlib_formats("png")
    except Exception:  # pragma: no cover - outside a kernel
        pass


def new_figure(ncols: int = 1, nrows: int = 1, width: float | None = None, height: float | None = None, **kw):
    """A figure and its axes in the house style (``squeeze=False`` is not used: one axis returns one ``Axes``)."""
    ncols = check_int("ncols", ncols, low=1, high=20)
    nrows = check_int("nrows", nrows, low=1, high=20)
    if width is not None:
        width = check_real("width", width, low=0.5, high=100.0)
    if height is not None:
        height = check_real("height", height, low=0.5, high=100.0)
    use_house_style()
    w = width if width is not None else 4.2 * ncols + 0.6
    h = height if height is not None else 3.4 * nrows + 0.4
    fig, ax = plt.subplots(nrows, ncols, figsize=(w, h), constrained_layout=True, **kw)
    return fig, ax


def simulation_label(N, n_seeds: int, prefix: str = "simulation") -> str:
    """``'simulation, N = 1000, 20 seeds'``."""
    n_seeds = check_int("n_seeds", n_seeds, low=1)
    if N is not None:
        N = check_int("N", N, low=1)
    seeds = f"{n_seeds} seed" + ("" if n_seeds == 1 else "s")
    return f"{prefix}, N = {N}, {seeds}" if N is not None else f"{prefix}, {seeds}"


def _plot_array(name, a):
    """An array to plot: NaN/inf entries leave gaps in the plot, but an array with entries and none of
    them finite is refused (nothing would be drawn: surely a failed computation upstream)."""
    a = check_array(name, a, finite=False)
    if a.size and not np.any(np.isfinite(a)):
        raise ValueError(f"{name} must hold at least one finite value (NaN/inf only leave gaps); got no finite entry")
    return a


def plot_theory(ax, x, y, label: str = "theory (N → ∞)", **kw):
    """Theory as a solid line."""
    x, y = _plot_array("x", x), _plot_array("y", y)   # NaN/inf leave gaps
    kw.setdefault("lw", 1.8)
    ax.plot(x, y, "-", label=label, **kw)
    return ax


def plot_simulation(ax, x, mean, sem=None, N=None, n_seeds: int = 1, label: str | None = None,
                    every: int = 1, **kw):
    """Simulation as markers with error bars (one standard error over seeds).

    ``every`` thins the markers of a long time series; the label names N and the seed count.
    """
    every = check_int("every", every, low=1)
    x = _plot_array("x", x)[::every]          # NaN/inf leave gaps in the plot
    mean = _plot_array("mean", mean)[::every]
    yerr = None if sem is None else _plot_array("sem", sem)[::every]
    if label is None:
        label = simulation_label(N, n_seeds)
    kw.setdefault("fmt", "o")
    kw.setdefault("ms", 4)
    kw.setdefault("mfc", "none")
    ax.errorbar(x, mean, yerr=yerr, label=label if label is not None else simulation_label(N, n_seeds), **kw)
    return ax


def theory_vs_simulation(ax, theory_x, theory_y, sim_x, sim_mean, sim_sem, N, n_seeds,
                         color=None, theory_label="theory (N → ∞)", every: int = 1):
    """Overlay one theory curve and one simulation in the same colour."""
    theory_x, theory_y = _plot_array("theory_x", theory_x), _plot_array("theory_y", theory_y)
    sim_x, sim_mean = _plot_array("sim_x", sim_x), _plot_array("sim_mean", sim_mean)
    sim_sem = None if sim_sem is None else _plot_array("sim_sem", sim_sem)
    simulation_label(N, n_seeds)
    line, = ax.plot(theory_x, theory_y, "-", color=color, label=theory_label)
    plot_simulation(ax, sim_x, sim_mean, sim_sem, N=N, n_seeds=n_seeds, color=line.get_color(), every=every)
    return ax


def plot_power_law_fit(ax, x, y, sem, fit, N=None, n_seeds: int = 1):
    """Measured errors (markers with error bars) and their fitted power law (dashed) on log-log axes.

    ``fit`` is any object with ``slope``, ``slope_stderr`` and ``prefactor`` (e.g. a
    :class:`dmftlib.core.PowerLawFit` or a result carrying those fields).
    """
    x = check_array("x", x, low=0.0)
    y = _plot_array("y", y)
    sem = None if sem is None else _plot_array("sem", sem)
    if not hasattr(fit, "slope") or not hasattr(fit, "prefactor"):
        raise TypeError(f"fit must be a PowerLawFit; got {type(fit).__name__}")
    plot_simulation(ax, x, y, sem, N=N, n_seeds=n_seeds)
    ax.plot(x, fit.prefactor * x**fit.slope, "--", label=f"fit: slope {fit.slope:.3f} ± {fit.slope_stderr:.2g}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    return ax


check_public(globals())
