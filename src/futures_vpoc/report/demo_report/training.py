"""Section 5 of the demo report, training: the verdict, the command that ran and the curves.

Read from the training run's analysis (:func:`futures_vpoc.diagnostics.analysis.analyze_run`),
with a link to the run's own ``analysis.html``.
"""

from __future__ import annotations

from futures_vpoc.report.blocks import Code, Figures, Verdict
from futures_vpoc.report.demo_report.features import features_table
from futures_vpoc.report.demo_report.inputs import DemoInputs
from futures_vpoc.report.demo_report.loaded import _Loaded
from futures_vpoc.report.demo_report.pieces import _lead, _link, _not_run, _table
from futures_vpoc.report.html import render_block
from futures_vpoc.report.plots import render_plots
from futures_vpoc.report.sections import FIGURES, command_lines


def _training(inputs: DemoInputs, got: _Loaded) -> str:
    out = [_lead("A small neural network learns from the features whether the price will be higher a few bars "
                 "ahead. The curves show whether training was healthy: falling loss, no NaN batches, "
                 "bounded gradients.")]
    a = got.analysis
    if a is None:
        return "".join(out) + _not_run(f"Training run {inputs.train_dir}: {got.analysis_error}.")
    out += [render_block(Verdict(a.ready, a.verdict.upper(), a.reason), {}), "<h3>The command that ran</h3>"]
    if not a.command_recorded:
        out.append("<p>config.json holds no <code>argv</code>; this command is rebuilt from the settings.</p>")
    out += [render_block(Code(command_lines(a.command, a.environment)), {}),
            _table(("Figure", "Value"), a.run_facts), "<h3>Training curves</h3>",
            render_block(Figures(FIGURES), render_plots(a.curves)),
            _link(a.run_dir / "analysis.html", inputs.report_dir, "The run's full training analysis (analysis.html)"),
            features_table(inputs.train_dir)]
    return "".join(out)
