"""The test-metrics table of a dependence-aware evaluation, as text rows (terminal, markdown, HTML).

One table for ``futures-vpoc evaluate``, the training analysis and the demo report, from the dict
of :func:`futures_vpoc.evaluation.evaluate_predictions` (as stored in ``summary.json`` under
``test_statistics``). Computes nothing: it formats what it is given.
"""

from __future__ import annotations

import math

LABELS = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy", "auc": "AUC",
          "log_loss": "log loss", "brier": "Brier score", "ece": "calibration error (ECE)"}
BASELINES = {"accuracy": "majority class", "balanced_accuracy": "chance", "auc": "chance",
             "log_loss": "base-rate forecast", "brier": "base-rate forecast", "ece": "-"}
HEADER = ("metric", "value", "CI", "baseline", "p-value")


def _num(x, spec: str = ".4f") -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def _p(x) -> str:
    if x is None:
        return "-"
    return "n/a" if not math.isfinite(x) else ("< 1e-4" if x < 1e-4 else f"{x:.4f}")


def method_line(stats: dict) -> str:
    """E.g. ``95% CI, session block bootstrap (blocks of 1 session, 52 blocks, 1,000 replicates); effective n 3,210 of 12,345``."""
    k = stats["block_length"]
    return (f"{stats['level']:.0%} CI, {stats['method']} (blocks of {k} session{'s' if k != 1 else ''}, "
            f"{stats['n_blocks']:,} blocks, {stats['n_boot']:,} replicates, seed {stats['seed']}); "
            f"effective n {stats['effective_n']:,.0f} of {stats['n']:,} rows")


def metric_rows(stats: dict) -> list[tuple[str, str, str, str, str]]:
    """One row per metric that applies: (metric, value, interval, baseline with its name, p-value)."""
    rows = []
    for name, label in LABELS.items():
        m = stats["metrics"].get(name)
        if m is None:
            continue
        base = "-" if m["baseline"] is None else f"{_num(m['baseline'])} ({BASELINES[name]})"
        rows.append((label, _num(m["value"]), f"[{_num(m['ci_low'])}, {_num(m['ci_high'])}]", base,
                     _p(m["p_value"])))
    return rows


def text_table(stats: dict) -> str:
    """The table as aligned plain text, the method line first."""
    rows = [HEADER, *metric_rows(stats)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join([method_line(stats), *lines])


def markdown_table(stats: dict) -> str:
    """The table as markdown, the method line as its caption."""
    rows = [HEADER, ("---",) * len(HEADER), *metric_rows(stats)]
    body = "\n".join("| " + " | ".join(r) + " |" for r in rows)
    return f"{body}\n\n{method_line(stats)}. p-values are one-sided: better than the baseline."


__all__ = ["BASELINES", "LABELS", "markdown_table", "method_line", "metric_rows", "text_table"]
