"""The analysis report's calibration section: the reliability diagram of the test predictions.

Reads the run's ``predictions_test.parquet`` (``prob`` and ``label``; rows without a label, the
flat horizons the target leaves unscored, and rows without a finite probability are skipped) and
puts its rows into the :data:`~futures_vpoc.evaluation.sums.N_BINS` (10) equal-width probability
bins of the expected calibration error, ``min(floor(10 p), 9)``. Per bin it shows the mean predicted
probability against the share of up labels. That binning is all it computes: the ECE in the caption
is ``summary.json``'s ``test_statistics.metrics.ece`` (value and interval, from the evaluation layer).

Used by :func:`futures_vpoc.report.sections.build_document` (:func:`calibration_section`) and, for
the picture in ``analysis.html``, by whoever renders the images (:func:`calibration_images`, key
:data:`FIGURE_KEY`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from futures_vpoc.diagnostics.analysis import Analysis
from futures_vpoc.diagnostics.rundata import PREDICTIONS_FILE, SUMMARY_FILE, read_predictions
from futures_vpoc.evaluation.sums import N_BINS
from futures_vpoc.report.blocks import Block, Figures, Heading, Para, Table
from futures_vpoc.report.plots import reliability_plot

FIGURE_KEY = "calibration"


@dataclass(frozen=True)
class ReliabilityBins:
    """The test predictions in the ECE's bins, shape (N_BINS,) each (``edges``: N_BINS + 1).

    Attributes
    ----------
    edges : numpy.ndarray
        Bin edges, 0, 0.1, ..., 1.
    rows : numpy.ndarray
        Scored rows per bin (int).
    mean_prob, observed : numpy.ndarray
        Mean predicted probability and share of up labels per bin (NaN for an empty bin).
    skipped : int
        Rows left out: no label (not scored) or no finite probability.
    """

    edges: np.ndarray
    rows: np.ndarray
    mean_prob: np.ndarray
    observed: np.ndarray
    skipped: int


def reliability_bins(prob: np.ndarray, label: np.ndarray) -> ReliabilityBins:
    """Bin scored test rows (finite label and probability) as the ECE does (module docstring)."""
    prob, label = np.asarray(prob, dtype=float), np.asarray(label, dtype=float)
    keep = np.isfinite(prob) & np.isfinite(label)
    p, y = prob[keep], label[keep]
    b = np.clip((p * N_BINS).astype(int), 0, N_BINS - 1)
    rows = np.bincount(b, minlength=N_BINS)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_prob = np.bincount(b, weights=p, minlength=N_BINS) / rows
        observed = np.bincount(b, weights=(y > 0.5).astype(float), minlength=N_BINS) / rows
    return ReliabilityBins(np.linspace(0.0, 1.0, N_BINS + 1), rows, mean_prob, observed, int((~keep).sum()))


def read_bins(run_dir: Path) -> ReliabilityBins | None:
    """The bins of a run's test predictions, None when ``predictions_test.parquet`` is absent."""
    predictions = read_predictions(Path(run_dir) / PREDICTIONS_FILE)
    return None if predictions is None else reliability_bins(predictions.probability, predictions.label)


def ece_text(run_dir: Path) -> str:
    """The ECE as ``summary.json`` records it (``test_statistics``), with its interval and method."""
    try:
        summary = json.loads((Path(run_dir) / SUMMARY_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        summary = {}
    stats = (summary.get("test_statistics") if isinstance(summary, dict) else None) or {}
    ece = (stats.get("metrics") or {}).get("ece") or {}
    value = ece.get("value")
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return "ECE not recorded in summary.json"
    text = f"ECE {value:.4f}"
    lo, hi = ece.get("ci_low"), ece.get("ci_high")
    if all(isinstance(v, (int, float)) and math.isfinite(v) for v in (lo, hi)):
        text += f" (95% interval {lo:.4f} - {hi:.4f}" + (f", {stats['method']})" if stats.get("method") else ")")
    return text


def calibration_images(analysis: Analysis) -> dict[str, bytes]:
    """``{FIGURE_KEY: PNG}`` of the run's reliability diagram; empty without test predictions."""
    bins = read_bins(analysis.run_dir)
    if bins is None:
        return {}
    return {FIGURE_KEY: reliability_plot(bins.mean_prob, bins.observed, bins.rows, bins.edges)}


def _bin_rows(bins: ReliabilityBins) -> tuple[tuple[str, ...], ...]:
    return tuple((f"{bins.edges[k]:.1f} - {bins.edges[k + 1]:.1f}", f"{bins.rows[k]:,}", f"{bins.mean_prob[k]:.3f}",
                  f"{bins.observed[k]:.3f}") for k in range(N_BINS) if bins.rows[k])


def calibration_section(a: Analysis) -> list[Block]:
    """The report's calibration subsection (after the model quality assessment)."""
    blocks: list[Block] = [Heading(3, "Calibration: reliability diagram (test part)")]
    bins = read_bins(a.run_dir)
    if bins is None:
        return blocks + [Para(f"No reliability diagram: the run has no `{PREDICTIONS_FILE}`.")]
    ece = ece_text(a.run_dir)
    skipped = (f" {bins.skipped:,} rows without a label (not scored) or probability are left out."
               if bins.skipped else "")
    blocks.append(Para(f"The test rows in the {N_BINS} equal-width probability bins the expected calibration error "
                       "(ECE) uses: per bin, the mean predicted probability of up against the share of its rows "
                       f"that went up; calibrated probabilities lie on the diagonal. {ece}, from summary.json."
                       f"{skipped}"))
    blocks.append(Figures(((FIGURE_KEY, f"Reliability diagram of the test predictions; {ece}"),)))
    blocks.append(Table(("Probability bin", "Rows", "Mean predicted", "Observed up-frequency"), _bin_rows(bins)))
    return blocks


__all__ = ["FIGURE_KEY", "ReliabilityBins", "calibration_images", "calibration_section", "ece_text", "read_bins",
           "reliability_bins"]
