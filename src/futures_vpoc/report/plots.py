"""The report's plots as PNG bytes: loss, validation accuracy, NaN rate, gradient norm, learning rate,
and the reliability diagram of the test predictions.

Drawn with matplotlib's object API on the Agg canvas (no display, no pyplot state). Rendering
only: every series comes from :class:`futures_vpoc.diagnostics.analysis.Curves` (the reliability
diagram: from the bins of :mod:`futures_vpoc.report.calibration`). Non-finite points are left out
of the lines and marked with a red cross on the axis floor; the phases are shaded behind every
plot and an early stop is a dash-dot line.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from futures_vpoc.diagnostics.analysis import Curves

SIZE = (7.2, 3.3)
DPI = 100
PHASE_COLOURS = {"plateau": "#e9ecef", "overfitting": "#efe3fb", "instability": "#ffe8cc", "collapse": "#ffd6d6"}
NONFINITE_STYLE = dict(marker="x", color="#d62728", linestyle="none", markersize=7, clip_on=False, zorder=5)
LOG_LOSS_OBJECTIVES = ("log_loss", "bce", "binary_cross_entropy", "adaptive_huber_log_loss")
"""Training objectives whose logged ``train_loss`` is the log-loss itself (one axis with validation);
``adaptive_huber_log_loss`` logs the batch's log-loss and only weights its gradient."""


def new_figure(size: tuple[float, float] = SIZE, **subplots) -> tuple[Figure, object]:
    """An Agg figure (no display, no pyplot state) and its axes, gridded in the report's style.

    ``subplots`` go to :meth:`matplotlib.figure.Figure.subplots` (e.g. ``nrows=2, sharex=True``);
    the axes come back as that method returns them.
    """
    fig = Figure(figsize=size, dpi=DPI)
    FigureCanvasAgg(fig)
    axes = fig.subplots(**subplots)
    for ax in np.atleast_1d(axes).ravel():
        ax.grid(True, color="#e5e5e5", linewidth=0.6)
    return fig, axes


def figure_png(fig: Figure) -> bytes:
    """A figure as PNG bytes at the report's resolution (layout tightened first)."""
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _new() -> tuple[Figure, object]:
    fig, ax = new_figure()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    return fig, ax


def _shade(ax, c: Curves) -> None:
    seen = set()
    for kind, start, end in c.spans:
        colour = PHASE_COLOURS.get(kind)
        if kind == "early stop":
            ax.axvline(end, color="#6e7781", linestyle="-.", linewidth=1, zorder=1, label="early stop")
        elif colour:
            ax.axvspan(start - 0.5, end + 0.5, color=colour, zorder=0, label=None if kind in seen else kind)
            seen.add(kind)


def _finite(y: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(y), y, np.nan)


def _mark_nonfinite(ax, x: np.ndarray, *series: np.ndarray, label: str = "non-finite") -> None:
    bad = np.zeros(len(x), dtype=bool)
    for y in series:
        bad |= ~np.isfinite(y)
    if bad.any():
        ax.plot(x[bad], np.full(bad.sum(), ax.get_ylim()[0]), label=label, **NONFINITE_STYLE)


def _empty(ax) -> bool:
    if ax.has_data():
        return False
    ax.text(0.5, 0.5, "not recorded", transform=ax.transAxes, ha="center", va="center", color="#6e7781")
    return True


def loss_plot(c: Curves) -> bytes:
    """PNG of :func:`loss_figure`."""
    return figure_png(loss_figure(c))


def loss_figure(c: Curves) -> Figure:
    """Train and validation loss per epoch.

    The validation loss is always log-loss. When the logged training loss is another objective (the
    seed's adaptive Huber loss on probability residuals, or MSE) its values live on another scale, so
    they get their own right-hand axis instead of a misleading shared one; the objectives of
    :data:`LOG_LOSS_OBJECTIVES` share the validation axis.
    """
    fig, ax = _new()
    _shade(ax, c)
    same_scale = c.train_objective in LOG_LOSS_OBJECTIVES
    train_ax = ax if same_scale else ax.twinx()
    name = "train loss" if same_scale else f"train objective ({c.train_objective.replace('_', ' ')}, right axis)"
    train_ax.plot(c.epoch, _finite(c.train_loss), marker=".", label=name, color="#1f77b4")
    ax.plot(c.epoch, _finite(c.val_loss), marker=".", label="validation log-loss", color="#ff7f0e")
    if not _empty(ax):
        _mark_nonfinite(ax, c.epoch, c.train_loss, c.val_loss, label="non-finite loss")
    ax.set_ylabel("log-loss" if not same_scale else "loss")
    if not same_scale:
        train_ax.set_ylabel(c.train_objective.replace("_", " "), color="#1f77b4")
        handles = [h for a in (ax, train_ax) for h in a.get_legend_handles_labels()[0]]
        ax.legend(handles, [h.get_label() for h in handles], fontsize=8, loc="best")
    else:
        ax.legend(fontsize=8, loc="best")
    ax.set_title("Loss")
    return fig


def accuracy_plot(c: Curves) -> bytes:
    """Validation accuracy with its 95% interval, against 50% and the majority baseline."""
    fig, ax = _new()
    _shade(ax, c)
    pct = 100 * _finite(c.val_accuracy)
    ax.fill_between(c.epoch, 100 * c.val_accuracy_lo, 100 * c.val_accuracy_hi, color="#2ca02c", alpha=0.18,
                    linewidth=0, label="95% interval")
    ax.plot(c.epoch, pct, marker=".", color="#2ca02c", label="validation accuracy")
    ax.axhline(50, color="#444", linewidth=1, linestyle=":", label="random (50%)")
    if c.majority_baseline is not None:
        ax.axhline(100 * c.majority_baseline, color="#d62728", linewidth=1, linestyle="--",
                   label=f"majority baseline (test) {100 * c.majority_baseline:.1f}%")
    ax.set_ylabel("accuracy [%]")
    ax.set_title("Validation accuracy")
    ax.legend(fontsize=8, loc="best")
    return figure_png(fig)


def nan_plot(c: Curves) -> bytes:
    """NaN rate (bars, left axis) and valid batches (line, right axis), both in percent."""
    fig, ax = _new()
    _shade(ax, c)
    ax.bar(c.epoch, 100 * np.nan_to_num(_finite(c.nan_rate)), color="#d62728", alpha=0.75, label="NaN rate")
    ax.axhline(10, color="#d62728", linewidth=1, linestyle="--", label="seed limit 10%")
    ax.set_ylim(0, 105)
    ax.set_ylabel("NaN batches [%]")
    right = ax.twinx()
    right.plot(c.epoch, _finite(c.valid_batch_pct), color="#1f77b4", marker=".", label="valid batches")
    right.set_ylim(0, 105)
    right.set_ylabel("valid batches [%]")
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=8, loc="center left")
    ax.set_title("NaN rate and valid batches")
    return figure_png(fig)


def grad_plot(c: Curves) -> bytes:
    """Mean and largest pre-clip gradient norm (log scale) against the clip value."""
    fig, ax = _new()
    _shade(ax, c)
    positive = [y for y in (c.grad_norm_mean, c.grad_norm_max) if np.any(np.isfinite(y) & (y > 0))]
    ax.plot(c.epoch, _finite(c.grad_norm_mean), marker=".", color="#9467bd", label="mean (before clipping)")
    ax.plot(c.epoch, _finite(c.grad_norm_max), marker=".", color="#8c564b", alpha=0.8, label="max (before clipping)")
    if c.clip_value is not None:
        ax.axhline(c.clip_value, color="#d62728", linestyle="--", linewidth=1.2, label=f"clip value {c.clip_value:g}")
    else:
        ax.text(0.01, 0.95, "gradient clipping off", transform=ax.transAxes, va="top", color="#d62728", fontsize=9)
    if positive:
        ax.set_yscale("log")
    if not _empty(ax):
        _mark_nonfinite(ax, c.epoch, c.grad_norm_max, label="non-finite norm")
    ax.set_ylabel("L2 norm")
    ax.set_title("Gradient norm before clipping")
    ax.legend(fontsize=8, loc="best")
    return figure_png(fig)


def lr_plot(c: Curves) -> bytes:
    """Learning rate per epoch (log scale when positive)."""
    fig, ax = _new()
    _shade(ax, c)
    ax.plot(c.epoch, _finite(c.lr), marker=".", color="#17becf", label="learning rate")
    if np.any(np.isfinite(c.lr) & (c.lr > 0)):
        ax.set_yscale("log")
    _empty(ax)
    ax.set_ylabel("learning rate")
    ax.set_title("Learning rate")
    return figure_png(fig)


def reliability_plot(mean_prob: np.ndarray, observed: np.ndarray, rows: np.ndarray, edges: np.ndarray) -> bytes:
    """PNG of :func:`reliability_figure`."""
    return figure_png(reliability_figure(mean_prob, observed, rows, edges))


def reliability_figure(mean_prob: np.ndarray, observed: np.ndarray, rows: np.ndarray, edges: np.ndarray) -> Figure:
    """Reliability diagram: per probability bin, the observed up-frequency against the mean predicted
    probability (top), and the rows per bin (bottom).

    Parameters
    ----------
    mean_prob, observed, rows : numpy.ndarray
        Per bin, shape (n_bins,): mean predicted probability, share of up labels, row count (empty
        bins: NaN, NaN, 0; they are left out).
    edges : numpy.ndarray
        The bin edges, shape (n_bins + 1,).

    Both axes span the same range, that of the occupied bins, so a narrow range of probabilities is
    not squeezed into a corner of [0, 1]; a red line joins each bin's point to the diagonal.
    """
    fig, (top, bottom) = new_figure((6.4, 5.6), nrows=2, sharex=True, gridspec_kw={"height_ratios": (3, 1)})
    used = rows > 0
    if not used.any():
        top.text(0.5, 0.5, "no scored test rows", transform=top.transAxes, ha="center", va="center", color="#6e7781")
        return fig
    first, last = int(np.flatnonzero(used)[0]), int(np.flatnonzero(used)[-1])
    lo = min(edges[first], np.nanmin(observed[used]))
    hi = max(edges[last + 1], np.nanmax(observed[used]))
    pad = 0.03 * (hi - lo)
    lo, hi = max(0.0, lo - pad), min(1.0, hi + pad)
    top.plot([lo, hi], [lo, hi], color="#444", linestyle=":", linewidth=1, label="perfect calibration")
    top.plot(mean_prob[used], observed[used], marker="o", color="#1f77b4", label="test bins")
    for x, y in zip(mean_prob[used], observed[used]):
        top.vlines(x, min(x, y), max(x, y), color="#d62728", alpha=0.6, linewidth=1.5)
    top.set_xlim(lo, hi)
    top.set_ylim(lo, hi)
    top.set_ylabel("observed up-frequency")
    top.set_title("Reliability diagram (test part)")
    top.legend(fontsize=8, loc="upper left")
    widths = np.diff(edges)
    bottom.bar(edges[:-1][used], rows[used], width=widths[used], align="edge", color="#9ecae1",
               edgecolor="#1f77b4", linewidth=0.6)
    bottom.set_ylabel("rows")
    bottom.set_xlabel("predicted probability of up")
    return fig


PLOTS = {"loss": loss_plot, "accuracy": accuracy_plot, "nan": nan_plot, "grad": grad_plot, "lr": lr_plot}


def render_plots(curves: Curves) -> dict[str, bytes]:
    """Every plot of the report as PNG bytes, by key (``loss``, ``accuracy``, ``nan``, ``grad``, ``lr``)."""
    return {key: draw(curves) for key, draw in PLOTS.items()}
