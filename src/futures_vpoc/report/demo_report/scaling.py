"""Section 8 of the demo report: scale-up and ensemble, when they ran.

Read from ``scaleup.json`` and ``ensemble.json``; a part that did not run or cannot be read is one
short line.
"""

from __future__ import annotations

from pathlib import Path

from futures_vpoc.report.blocks import Para, badge
from futures_vpoc.report.common import accuracy_vs_majority, esc, num, pct, read_json, stat_text
from futures_vpoc.report.demo_report.inputs import DemoInputs
from futures_vpoc.report.demo_report.loaded import _read_error
from futures_vpoc.report.demo_report.pieces import _lead, _link, _not_run, _table
from futures_vpoc.report.html import render_block


def _scaleup(path: Path, base: Path | None) -> str:
    d = read_json(path / "scaleup.json")
    rows = [(r.get("architecture", "?"), num(r.get("parameters")), num(r.get("epochs")), r.get("stop_reason", "?"),
             pct(r.get("nan_rate_max"), 2), num(r.get("best_val_loss"), 4),
             accuracy_vs_majority(r, "test_accuracy", "test_accuracy_ci95", "test_majority_baseline"),
             f"{badge(r.get('gate') == 'pass')} " + "; ".join(r.get("gate_reasons") or []))
            for r in d.get("rungs", [])]
    text = (f"Winner: **{d.get('winner') or 'none'}** ({d.get('chosen_by', '')})"
            + (f"; stopped at {d['stopped_at']}" if d.get("stopped_at") else "")
            + (f"; not trained: {', '.join(d['not_trained'])}" if d.get("not_trained") else "") + ".")
    return (render_block(Para(text), {})
            + _table(("Rung", "Parameters", "Epochs", "Stop", "Worst NaN", "Best val loss",
                      "Test accuracy [95% CI] vs majority", "Gate"), rows, numeric=True)
            + _link(path / "scaleup.md", base, "scaleup.md"))


def _member_row(name: str, weight: str, m: dict) -> tuple:
    t = m.get("test", {})
    return (name, weight, num(m.get("param_count")), num(m.get("val", {}).get("log_loss"), 4),
            accuracy_vs_majority(t, "accuracy", "accuracy_ci95", "majority_baseline"), stat_text(t, "p_value"),
            num(t.get("auc"), 3))


def _ensemble(path: Path, base: Path | None) -> str:
    d = read_json(path / "ensemble.json")
    weights = d.get("weights", {})
    rows = [_member_row(m.get("group", "?"), num(weights.get(m.get("group")), 3), m) for m in d.get("members", [])]
    rows.append(_member_row("**ensemble**", "-", d.get("ensemble", {})))
    note = f"<p>{esc(d['rows_note'])}</p>" if d.get("rows_note") else ""
    return (render_block(Para(f"Weights fit on {d.get('weights_fit_on', 'validation')}."), {}) + note
            + _table(("Member", "Weight", "Parameters", "Val log-loss", "Test accuracy [95% CI] vs majority",
                      "p vs majority", "Test AUC"), rows, numeric=True)
            + _link(path / "ensemble.md", base, "ensemble.md"))


def _optional(title: str, path: Path | None, render, base: Path | None) -> str:
    if path is None:
        return f"<h3>{title}</h3>" + _not_run(f"{title}: not run.")
    try:
        return f"<h3>{title}</h3>" + render(Path(path), base)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"<h3>{title}</h3>" + _not_run(f"{title} {_read_error(exc)}.")


def _scaling(inputs: DemoInputs) -> str:
    return (_lead("Scale-up trains growing model sizes and keeps the largest that stays stable and improves on "
                  "validation; the ensemble trains one small model per feature group and blends them.")
            + _optional("Scale-up", inputs.scaleup_dir, _scaleup, inputs.report_dir)
            + _optional("Ensemble", inputs.ensemble_dir, _ensemble, inputs.report_dir))
