"""The report's calibration section: the reliability diagram of the test predictions in the ECE's bins,
with the ECE read from summary.json, never computed by the report."""

import dataclasses

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from futures_vpoc.diagnostics.analysis import analyze_run
from futures_vpoc.report.calibration import (FIGURE_KEY, calibration_images, calibration_section, ece_text,
                                             reliability_bins)
from futures_vpoc.report.html import render_html
from futures_vpoc.report.markdown import render_markdown
from futures_vpoc.report.plots import loss_figure, render_plots

from test_diagnostics_support import RUNS, copy_run, patch_json

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STATISTICS = {"method": "session block bootstrap", "block_length": 1, "block_unit": "sessions", "n_blocks": 30,
              "n_sessions": 30, "n_boot": 1000, "level": 0.95, "seed": 0, "n": 3200, "effective_n": 1800.0,
              "threshold": 0.5, "majority_class": 0, "base_rate": 0.5,
              "metrics": {"ece": {"value": 0.01234, "ci_low": 0.00456, "ci_high": 0.02011, "se": 0.004,
                                  "baseline": None, "p_value": None}}}
"""A ``test_statistics`` block as the trainer writes it, reduced to the ECE (a made-up value: the report
must show it, not one of its own)."""


def predictions(n: int = 4000, seed: int = 0):
    """Probabilities over 0.1-1.0 (one exactly 1.0), labels drawn from a slightly overconfident truth,
    and a fifth of the labels missing (flat horizons: not scored)."""
    rng = np.random.default_rng(seed)
    prob = np.concatenate([rng.uniform(0.1, 0.95, n - 1), [1.0]])
    label = (rng.random(n) < 0.5 + 0.8 * (prob - 0.5)).astype(float)
    label[rng.random(n) < 0.2] = np.nan
    return prob, label


def run_with_predictions(tmp_path, statistics=STATISTICS):
    run = copy_run("healthy", tmp_path)
    prob, label = predictions()
    pq.write_table(pa.table({"prob": prob, "label": label}), run / "predictions_test.parquet")
    if statistics is not None:
        patch_json(run / "summary.json", test_statistics=statistics)
    return run, prob, label


def test_bins_are_the_eces_and_skip_unscored_rows():
    prob, label = predictions()
    bins = reliability_bins(prob, label)
    scored = np.isfinite(label)
    assert bins.skipped == int((~scored).sum()) and bins.rows.sum() == scored.sum()
    p, y = prob[scored], label[scored]
    b = np.minimum(np.floor(p * 10).astype(int), 9)  # the evaluation layer's bins; p = 1.0 in the last
    assert bins.rows[0] == 0 and np.isnan(bins.mean_prob[0]) and np.isnan(bins.observed[0])
    for k in range(1, 10):
        assert bins.rows[k] == (b == k).sum()
        assert bins.mean_prob[k] == pytest.approx(p[b == k].mean())
        assert bins.observed[k] == pytest.approx(y[b == k].mean())
    # the count-weighted gaps of the picture are the ECE's formula (sum over bins of |sum(p - y)| / n)
    ece = sum(abs((p[b == k] - y[b == k]).sum()) for k in range(10)) / p.size
    used = bins.rows > 0
    assert (bins.rows[used] * np.abs(bins.mean_prob[used] - bins.observed[used])).sum() / p.size == pytest.approx(ece)


def test_the_section_shows_the_diagram_with_the_ece_of_summary_json(tmp_path):
    run, _, label = run_with_predictions(tmp_path)
    a = analyze_run(run)
    text = "ECE 0.0123 (95% interval 0.0046 - 0.0201, session block bootstrap)"
    assert ece_text(run) == text
    blocks = calibration_section(a)
    assert blocks[0].text.startswith("Calibration")
    figure = next(b for b in blocks if hasattr(b, "items"))
    assert figure.items == ((FIGURE_KEY, f"Reliability diagram of the test predictions; {text}"),)
    md = render_markdown(a)
    assert md.index("## Model Quality Assessment") < md.index("### Calibration") < md.index("## Next Run")
    assert f"{int(np.isnan(label).sum()):,} rows without a label" in md
    assert "| 0.9 - 1.0 |" in md and "| 0.0 - 0.1 |" not in md  # empty bins are left out
    images = calibration_images(a)
    assert set(images) == {FIGURE_KEY} and images[FIGURE_KEY].startswith(PNG_MAGIC)
    page = render_html(a, {**render_plots(a.curves), **images})
    assert page.count("<img") == 6 and f'alt="Reliability diagram of the test predictions; {text}"' in page


def test_without_predictions_or_statistics_the_section_says_so(tmp_path):
    a = analyze_run(RUNS / "healthy")
    assert calibration_images(a) == {}
    assert "no `predictions_test.parquet`" in calibration_section(a)[-1].text
    run, _, _ = run_with_predictions(tmp_path, statistics=None)
    assert ece_text(run) == "ECE not recorded in summary.json"
    assert calibration_images(analyze_run(run))[FIGURE_KEY].startswith(PNG_MAGIC)


def test_the_adaptive_log_loss_shares_the_validation_axis():
    """``adaptive_huber_log_loss`` logs the batch's log-loss (only its gradient is weighted)."""
    curves = dataclasses.replace(analyze_run(RUNS / "healthy").curves, train_objective="adaptive_huber_log_loss")
    fig = loss_figure(curves)
    assert len(fig.axes) == 1 and "train loss" in fig.axes[0].get_legend_handles_labels()[1]
