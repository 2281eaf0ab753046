"""Section 1 of the demo report, the summary: the verdict and the headline numbers.

Test accuracy against the majority baseline, the worst NaN rate, and the model's backtest
against the best baseline strategy.
"""

from __future__ import annotations

import math

import numpy as np

from futures_vpoc.diagnostics.analysis import Analysis
from futures_vpoc.report.blocks import Bullets, Verdict
from futures_vpoc.report.common import baseline_text, stat_text, usd
from futures_vpoc.report.demo_report.inputs import DemoInputs
from futures_vpoc.report.demo_report.loaded import _Loaded, _quality_row
from futures_vpoc.report.demo_report.pieces import _lead, _not_run
from futures_vpoc.report.html import render_block


def _accuracy_line(a: Analysis) -> str:
    q = _quality_row(a, "Accuracy")
    if q is None or q.value == "n/a":
        return "Test accuracy: not recorded."
    method = a.quality_note.split(":", 1)[-1].split(";")[0].strip() if a.quality_note else ""
    how = f", {method}" if method.startswith("session") else ""
    return (f"Test accuracy **{q.value}** (95% CI{how} {q.interval or 'n/a'}) vs majority baseline "
            f"{baseline_text(q)}, p = {q.p_value or 'n/a'}.")


def _best_baseline(stats: dict) -> str | None:
    """The non-model strategy with the highest Sharpe (NaN Sharpe ranks last)."""
    others = [n for n in stats if n != "model" and isinstance(stats[n], dict)]
    key = [stats[n].get("sharpe") for n in others]
    key = [k if isinstance(k, (int, float)) and math.isfinite(k) else -math.inf for k in key]
    return others[int(np.argmax(key))] if others else None


def _strategy_text(name: str, s: dict) -> str:
    return f"{name} Sharpe {stat_text(s, 'sharpe')}, net P&L {usd(s.get('net_pnl_usd'))}"


def _backtest_line(stats: dict | None, error: str | None) -> str:
    if stats is None:
        return error or "Backtest: not run."
    parts = [_strategy_text("model", stats["model"])] if isinstance(stats.get("model"), dict) else \
        ["no model strategy"]
    best = _best_baseline(stats)
    if best is not None:
        parts.append(f"best baseline {_strategy_text(best, stats[best])}")
    return "Backtest: " + "; ".join(parts) + "."


def _summary(inputs: DemoInputs, got: _Loaded) -> str:
    a = got.analysis
    if a is None:
        items = [f"Training analysis {got.analysis_error}."]
        verdict = _not_run("No verdict: the training run " + (got.analysis_error or "is missing") + ".")
    else:
        facts = dict(a.run_facts)
        verdict = render_block(Verdict(a.ready, a.verdict.upper(), a.reason), {})
        items = [_accuracy_line(a), f"Worst NaN rate / fewest valid batches: "
                 f"{facts.get('Worst NaN rate / fewest valid batches', 'n/a')}."]
    items.append(_backtest_line(got.stats, got.backtest_error))
    return (_lead("The verdict on the trained model and the headline numbers; every section below shows "
                  "where they come from.")
            + f'<div class="summary">{verdict}{render_block(Bullets(tuple(items)), {})}</div>')
