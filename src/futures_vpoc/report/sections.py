"""The training analysis report as document blocks, in the seed report's order.

Executive summary, what happened (training progression, root causes), the command that ran and
the model configuration, model quality, recommended next runs, the success-metrics checklist, the
decision tree, and the epoch table. Every figure comes from the :class:`Analysis`; this module
only arranges and words them.
"""

from __future__ import annotations

import shlex
from typing import Sequence

from futures_vpoc.diagnostics.analysis import EPOCH_COLUMNS, Analysis
from futures_vpoc.diagnostics.cmdline import FlagList
from futures_vpoc.diagnostics.quality import LEARNER_HEADER
from futures_vpoc.report.blocks import Block, Bullets, Code, Figures, Heading, Para, Rule, Table, Verdict, badge
from futures_vpoc.report.calibration import calibration_section

FIGURES = (("loss", "Train and validation loss"),
           ("accuracy", "Validation accuracy with its 95% interval, against 50% and the majority baseline"),
           ("nan", "NaN rate and valid batches per epoch"),
           ("grad", "Gradient norm before clipping against the clip value"),
           ("lr", "Learning rate"))

_SEVERITY = {"critical": "critical", "warning": "warning", "info": "note"}

DECISION_TREE = (
    "**Run the conservative command** (Strategy 1): if it succeeds, validate with backtesting; if it fails, "
    "reduce the learning rate or the model size further.",
    "**Validate a successful model**: target > 55% accuracy and stable training; run the backtest and "
    "compare against the baseline strategies.",
    "**Scale up gradually**: only after proven success, one size at a time, keeping the stability principles.",
)


def command_lines(argv: Sequence[str], env: Sequence[tuple[str, str]] = ()) -> tuple[str, ...]:
    """A command as shell lines: one flag with its values per line, joined by backslashes."""
    tokens = list(argv)
    split = next((i for i, t in enumerate(tokens) if t.startswith("-")), len(tokens))
    head = [shlex.join(tokens[:split])]
    groups = FlagList.parse(tokens[split:]).groups
    lines = head + ["  " + shlex.join([flag, *values]) for flag, values in groups]
    lines = [line + " \\" for line in lines[:-1]] + lines[-1:]
    return tuple(f"export {k}={shlex.quote(v)}" for k, v in env) + tuple(lines)


def _summary(a: Analysis) -> list[Block]:
    title = "READY FOR BACKTESTING" if a.ready else "NOT READY FOR BACKTESTING"
    facts = dict(a.run_facts)
    config = dict(a.model_config)
    text = (f"Run `{a.run_dir.name}`: {config['Architecture']}, {facts['Epochs completed']} epochs, "
            f"stop reason `{facts['Stop reason']}`. Decision tree, step {a.decision.step}: {a.decision.outcome}.")
    return [Heading(2, "Executive Summary"), Verdict(a.ready, title, a.reason), Para(text)]


def _progression(a: Analysis) -> list[Block]:
    blocks: list[Block] = [Heading(2, "What Happened: Detailed Analysis"), Heading(3, "Training Progression")]
    if a.phases:
        blocks.append(Bullets(tuple(f"**{p.epochs.capitalize()} - {p.kind}**: {p.description}" for p in a.phases)))
    else:
        blocks.append(Para("No epoch was recorded, so there is no progression to describe."))
    blocks.append(Table(("Figure", "Value"), tuple(a.run_facts)))
    blocks.append(Figures(FIGURES))
    return blocks


def _causes(a: Analysis) -> list[Block]:
    blocks: list[Block] = [Heading(3, "Root-Cause Analysis")]
    if not a.causes:
        blocks.append(Para("No rule fired: no instability, gradient or precision problem, overfitting or lack of "
                           "skill was found in the metrics, events, config and test summary."))
    for n, cause in enumerate(a.causes, 1):
        blocks.append(Heading(4, f"{n}. {cause.title} ({_SEVERITY[cause.severity]})"))
        blocks.append(Para(cause.conclusion))
        blocks.append(Bullets(tuple(cause.evidence)))
    return blocks


def _command(a: Analysis) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Command That Ran"), Heading(3, "Training Command Executed")]
    if not a.command_recorded:
        blocks.append(Para("config.json holds no `argv`; this command is rebuilt from the resolved settings."))
    blocks.append(Code(command_lines(a.command, a.environment)))
    blocks += [Heading(3, "Model Configuration"), Table(("Setting", "Value"), tuple(a.model_config))]
    return blocks


def _quality(a: Analysis) -> list[Block]:
    mark = "[[PASS]] READY FOR BACKTESTING" if a.ready else "[[FAIL]] NOT READY FOR BACKTESTING"
    rows = tuple((q.metric, q.value, q.interval or "-", q.baseline or "-", q.p_value or "-",
                  (badge(q.passed) + " " + q.verdict).strip()) for q in a.quality)
    return [Heading(2, f"Model Quality Assessment: {mark}"),
            Table(("Test metric", "Value", "95% interval", "Baseline", "p-value", "Verdict"), rows),
            Para(((a.quality_note + " ") if a.quality_note else "") + "The test part is untouched by training and "
                 "model selection; the best checkpoint was chosen on validation loss.")] + _learners(a)


def _learners(a: Analysis) -> list[Block]:
    """The network beside the logistic and LightGBM baselines (same features, parts and labels)."""
    if not a.learners:
        return []
    return [Heading(3, "Learner baselines"),
            Para("A logistic regression and gradient-boosted trees (LightGBM) trained on the network's own "
                 "features, parts and labels, scored by the same statistics. " + a.best_learner),
            Table(LEARNER_HEADER, a.learners)]


def _recommendations(a: Analysis) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Next Run: Recommended Commands")]
    for n, rec in enumerate(a.recommendations, 1):
        tag = " (Recommended)" if n == 1 else ""
        blocks += [Heading(3, f"Strategy {n}: {rec.title}{tag}"), Para(rec.reason)]
        if rec.changes:
            blocks.append(Table(("Flag", "This run", "Next run", "Why"),
                                tuple((f"`{c.flag}`", c.old, c.new, c.why) for c in rec.changes)))
        blocks.append(Code(command_lines(rec.argv)))
    if a.withheld:
        blocks += [Para("Not recommended now:"), Bullets(a.withheld)]
    return blocks


def _checklist(a: Analysis) -> list[Block]:
    rows = tuple((c.name, c.target, c.measured, badge(c.passed)) for c in a.criteria)
    return [Heading(2, "Success Metrics Checklist"),
            Para(f"The seed's four criteria: {a.criteria_met} of {len(a.criteria)} met."),
            Table(("Criterion", "Target", "Measured", "Result"), rows)]


def _decision(a: Analysis) -> list[Block]:
    items = tuple(text + ("  **← this run**" if k == a.decision.step else "")
                  for k, text in enumerate(DECISION_TREE, 1))
    return [Heading(2, "Next Steps Decision Tree"), Bullets(items, ordered=True),
            Para(f"**Where this run stands**: step {a.decision.step}: {a.decision.outcome}."),
            Para(f"**Next**: {a.decision.next_step}.")]


def _appendix(a: Analysis) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Appendix: Epoch by Epoch"), Table(EPOCH_COLUMNS, a.epoch_table)]
    if a.notes:
        blocks += [Heading(3, "Data Notes"), Bullets(a.notes)]
    blocks.append(Para(f"Generated by `futures-vpoc analyze {a.run_dir}` from config.json, metrics.jsonl and "
                       "summary.json (and predictions_test.parquet when present)."))
    return blocks


def build_document(a: Analysis) -> tuple[Block, ...]:
    """Every block of the report, in order."""
    blocks: list[Block] = [Heading(1, f"Training Analysis & Recommendations Report: {a.run_dir.name}")]
    for part in (_summary, _progression, _causes, _command, _quality, calibration_section, _recommendations,
                 _checklist, _decision, _appendix):
        if part in (_command, _quality, _recommendations, _checklist, _appendix):
            blocks.append(Rule())
        blocks += part(a)
    return tuple(blocks)
