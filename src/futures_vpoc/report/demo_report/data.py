"""Section 2 of the demo report, the data: span, contracts, rolls and problems of the bars.

Every figure is read from the bar check (:class:`~futures_vpoc.data.check.CheckReport`).
"""

from __future__ import annotations

from futures_vpoc.data.check import CheckReport
from futures_vpoc.report.blocks import Bullets
from futures_vpoc.report.common import esc
from futures_vpoc.report.demo_report.inputs import DemoInputs
from futures_vpoc.report.demo_report.pieces import _duration, _lead, _not_run, _table
from futures_vpoc.report.html import render_block


def _data_facts(c: CheckReport) -> list[tuple[str, str]]:
    span = f"{c.first} .. {c.last} (bar starts, UTC)" if c.first is not None else "no bars"
    gaps = (f"{c.missing_bars:,} of {c.expected_bars:,} session bars absent (no-trade intervals); "
            f"longest gap {_duration(c.longest_gap)}") if c.expected_bars else "not counted for daily or coarser bars"
    vix = f"{c.vix_pct:.1f}% of bars" + (f", from {c.vix_first}" if c.vix_first is not None else "")
    return [("Span", span), ("Bar width", _duration(c.width)), ("Rows", f"{c.rows:,}"),
            ("Trade dates (sessions)", f"{c.trade_dates:,}"),
            ("RTH", f"{c.rth_rows_pct:.1f}% of bars, {c.rth_volume_pct:.1f}% of volume"),
            ("VIX coverage", vix), ("Gaps", gaps), ("Problems", f"{len(c.problems)}")]


def _data(inputs: DemoInputs) -> str:
    c = inputs.check
    out = [_lead("The bars every stage read: what period they cover, which futures contracts, where the "
                 "contract rolls are, and whether anything looks wrong."),
           f"<p>{esc(inputs.dataset_note)}</p>", f"<p>File: <code>{esc(inputs.data_file)}</code></p>",
           _table(("Figure", "Value"), _data_facts(c)),
           "<h3>Contracts</h3>",
           _table(("Contract", "First trade date", "Last trade date", "Bars"),
                  [(k, a, b, f"{n:,}") for k, a, b, n in c.contracts], numeric=True)]
    out.append("<h3>Rolls</h3>")
    out.append(_table(("Trade date", "From", "To", "Jump [points]"),
                      [(d, a, b, f"{j:+.2f}") for d, a, b, j in c.rolls], numeric=True)
               if c.rolls else _not_run("No contract roll in this period."))
    out.append("<h3>Problems</h3>")
    out.append(render_block(Bullets(tuple(c.problems)), {}) if c.problems else _not_run("None found."))
    return "".join(out)
