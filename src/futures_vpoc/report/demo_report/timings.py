"""Section 10 of the demo report: which stages ran or were skipped (and why), how long each took,
and the notes for the reader."""

from __future__ import annotations

from futures_vpoc.report.blocks import Bullets
from futures_vpoc.report.demo_report.inputs import DemoInputs
from futures_vpoc.report.demo_report.pieces import _lead, _not_run, _table
from futures_vpoc.report.html import render_block


def _timings(inputs: DemoInputs) -> str:
    out = [_lead("How long each stage of the demo took on this machine, and what the reader should know.")]
    if inputs.stages:
        out.append(_table(("Stage", "Outcome", "Time or reason"),
                          [(n, "ran" if o == "ran" else "**skipped**", r) for n, o, r in inputs.stages]))
    times = [(str(n), float(s)) for n, s in inputs.stage_times]
    if times:
        rows = [(n, f"{s:,.1f}") for n, s in times] + [("**total**", f"{sum(s for _, s in times):,.1f}")]
        out.append(_table(("Stage", "Wall time [s]"), rows, numeric=True))
    else:
        out.append(_not_run("Stage timings: not recorded."))
    out.append(render_block(Bullets(tuple(map(str, inputs.notes))), {}) if inputs.notes else _not_run("No notes."))
    return "".join(out)
