"""Section 9 of the demo report: what to run next, and where this run stands in the decision tree.

The analysis's recommendations as commands, a note where the demo already ran a short form of
one, and the seed report's decision tree with this run's step marked.
"""

from __future__ import annotations

from futures_vpoc.report.blocks import Bullets, Code, Para
from futures_vpoc.report.common import esc
from futures_vpoc.report.demo_report.inputs import DemoInputs
from futures_vpoc.report.demo_report.loaded import _Loaded
from futures_vpoc.report.demo_report.pieces import _lead, _not_run
from futures_vpoc.report.html import render_block
from futures_vpoc.report.sections import DECISION_TREE, command_lines


DEMO_RAN = {"backtest": ("backtest", "Backtest"), "scale-up": ("scaling", "Scale-up and ensemble"),
            "ensemble": ("scaling", "Scale-up and ensemble")}
"""Recommendation kinds the demo itself ran (in short form), and the section that shows them."""


def _already_ran(kind: str, inputs: DemoInputs) -> str:
    """A note when the demo already ran a short form of the recommended kind of run."""
    ran = {"backtest": inputs.backtest_dir, "scale-up": inputs.scaleup_dir, "ensemble": inputs.ensemble_dir}
    if kind not in DEMO_RAN or ran.get(kind) is None:
        return ""
    anchor, title = DEMO_RAN[kind]
    what = ("The demo ran this backtest" if kind == "backtest" else
            "The demo ran a short form of this (two epochs per run); the command below is the full one")
    return f'<p class="lead">{what}: see <a href="#{anchor}">{esc(title)}</a>.</p>'


def _next(got: _Loaded, inputs: DemoInputs) -> str:
    out = [_lead("The analysis turns this run's figures into the next commands to try, following the seed "
                 "report's decision tree.")]
    a = got.analysis
    if a is None:
        return "".join(out) + _not_run(f"Not available: the training run {got.analysis_error}.")
    for n, rec in enumerate(a.recommendations, 1):
        out += [f"<h3>{n}. {esc(rec.title)}</h3>", render_block(Para(rec.reason), {}),
                _already_ran(rec.kind, inputs),
                render_block(Code(command_lines(rec.argv)), {})]
    if not a.recommendations:
        out.append(_not_run("No recommendation."))
    if a.withheld:
        out += ["<p>Not recommended now:</p>", render_block(Bullets(a.withheld), {})]
    items = tuple(text + ("  **← this run**" if k == a.decision.step else "")
                  for k, text in enumerate(DECISION_TREE, 1))
    out += ["<h3>Decision tree</h3>", render_block(Bullets(items, ordered=True), {}),
            render_block(Para(f"**Where this run stands**: step {a.decision.step}: {a.decision.outcome}. "
                        f"**Next**: {a.decision.next_step}."), {})]
    return "".join(out)
