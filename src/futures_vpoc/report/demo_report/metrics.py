"""Section 6 of the demo report: the test metrics against the trivial baselines.

One row per metric of the training run's analysis, with its interval, baseline, p-value and
verdict.
"""

from __future__ import annotations

from futures_vpoc.report.blocks import badge
from futures_vpoc.report.demo_report.loaded import _Loaded
from futures_vpoc.report.demo_report.pieces import _lead, _not_run, _table


def _metrics(got: _Loaded) -> str:
    out = [_lead("Scores on the test part, which training and model selection never saw, next to what a "
                 "trivial model gets: always predicting the more frequent class (accuracy) or a constant "
                 "probability (log-loss, Brier).")]
    a = got.analysis
    if a is None:
        return "".join(out) + _not_run(f"Not available: the training run {got.analysis_error}.")
    rows = [(q.metric, q.value, q.interval or "-", q.baseline or "-", q.p_value or "-",
             (badge(q.passed) + " " + q.verdict).strip()) for q in a.quality]
    out.append(_table(("Test metric", "Value", "95% interval", "Baseline", "p-value", "Verdict"), rows))
    return "".join(out)
