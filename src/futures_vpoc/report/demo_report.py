"""The demo's one-page report (``report.html``): the whole chain on one self-contained page.

Sections, in order: data (span, sessions, rolls, VIX coverage), the volume profile of a sample
session with its developing VPOC, VPOC migration over time, training curves and the analysis
verdict, test metrics against the baselines, the backtest's equity curves against the baselines
with the statistics table and significance, scale-up and ensemble (when they ran), what to run
next, and how long each stage took. Images are ``data:`` URIs; no script, no network.

The report renders what other stages computed (the run directory, ``stats.json``,
``equity.csv``, the session table); it computes no metric of its own. A part that did not run
or cannot be read is one short line in its section, never an error.
"""

from __future__ import annotations

import dataclasses
import html
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.backtest.stats import LABELS
from futures_vpoc.data.check import CheckReport
from futures_vpoc.diagnostics.analysis import Analysis, analyze_run
from futures_vpoc.diagnostics.quality import QualityRow
from futures_vpoc.errors import FuturesVpocError
from futures_vpoc.report.common import (EXTRA_CSS, accuracy_vs_majority, baseline_text, esc, href, num, pct,
                                        read_json, stat_text, usd)
from futures_vpoc.report.blocks import Bullets, Code, Figures, Para, Table, Verdict, badge
from futures_vpoc.report.html import CSS, data_uri, render_block
from futures_vpoc.report.plots import figure_png, new_figure, render_plots
from futures_vpoc.report.sections import DECISION_TREE, FIGURES, command_lines
from futures_vpoc.report.write import write_text

SECTIONS = (
    ("summary", "Summary"),
    ("data", "Data"),
    ("profile", "Volume profile of a sample session"),
    ("migration", "VPOC migration over time"),
    ("training", "Training"),
    ("metrics", "Test metrics against baselines"),
    ("backtest", "Backtest"),
    ("scaling", "Scale-up and ensemble"),
    ("next", "What to run next"),
    ("timings", "Stage timings and notes"),
)
"""Section anchors and ``<h2>`` headings, in page order."""

MIGRATION_COLUMN = "migration"
"""Session-table column read as the VPOC migration [points] when present."""


@dataclass(frozen=True)
class DemoInputs:
    """Everything the demo report shows.

    Attributes
    ----------
    title : str
        Page title and first heading.
    dataset_note : str
        One paragraph: what the data is (synthetic with a planted signal, real daily S&P 500, the
        user's file) and what that means for the figures (e.g. daily-bar composites).
    data_file : pathlib.Path
        The merged bar file every stage read.
    check : CheckReport
        ``futures_vpoc.data.check.check_bars`` of the bars.
    profile_png : bytes or None
        PNG of the sample session's profile with its developing VPOC/VAH/VAL.
    profile_caption : str
    sessions : pandas.DataFrame
        One row per session (``developing_profile(bars).sessions.table``): ``trade_date``,
        ``contract``, ``vpoc``, ``val``, ``vah`` [index points] and the other session columns.
        A ``migration`` column [points], when present, is drawn as the session-to-session VPOC
        migration; otherwise the VPOC change within one contract is drawn.
    train_dir : pathlib.Path
        Run directory of the training run (read with ``diagnostics.analysis.analyze_run``).
    backtest_dir : pathlib.Path or None
        Directory written by ``futures-vpoc backtest`` (``stats.json``, ``equity.csv``).
    scaleup_dir, ensemble_dir : pathlib.Path or None
        Directories written by ``scale-up`` / ``ensemble`` (``scaleup.json`` / ``ensemble.json``),
        None when the demo skipped them.
    stage_times : tuple of (str, float)
        Stage name and wall time [s], in order.
    notes : tuple of str
        Extra lines for the reader (stages skipped for time, data caveats).
    report_dir : pathlib.Path or None
        Folder the page is written to; links to the runs' own pages are relative to it. None:
        the current directory (:func:`write_demo_report` sets it to the file's folder).
    """

    title: str
    dataset_note: str
    data_file: Path
    check: CheckReport
    profile_png: bytes | None
    profile_caption: str
    sessions: pd.DataFrame
    train_dir: Path
    backtest_dir: Path | None = None
    scaleup_dir: Path | None = None
    ensemble_dir: Path | None = None
    stage_times: tuple = ()
    notes: tuple = field(default_factory=tuple)
    report_dir: Path | None = None


# --------------------------------------------------------------------------------------------
# small HTML pieces


def _lead(text: str) -> str:
    return f'<p class="lead">{esc(text)}</p>'


def _not_run(text: str) -> str:
    return f'<p class="notrun">{esc(text)}</p>'


def _table(header, rows, numeric: bool = False) -> str:
    """A table through the analysis report's renderer; cells are text (``code``/**bold** marks)."""
    body = render_block(Table(tuple(header), tuple(tuple(str(c) for c in r) for r in rows)), {})
    return f'<div class="num">{body}</div>' if numeric else body


def _img(png: bytes, alt: str) -> str:
    return f'<img class="wide" src="{data_uri(png)}" alt="{html.escape(alt)}">'


def _link(target: Path, base: Path | None, text: str) -> str:
    if not Path(target).is_file():
        return _not_run(f"{Path(target).name} was not written.")
    return f'<p><a href="{href(target, base)}">{esc(text)}</a></p>'


def _duration(td: pd.Timedelta) -> str:
    """A bar width or gap as ``1 min``, ``4 h`` or ``1 day``."""
    seconds = pd.Timedelta(td).total_seconds()
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}" + ("s" if unit == "day" and n != 1 else "")
    return f"{seconds:g} s"


# --------------------------------------------------------------------------------------------
# reading what the stages wrote (no metric is computed here)


@dataclass(frozen=True)
class _Loaded:
    """What the page shows, read once; each ``*_error`` is why a part is missing (None: present)."""

    analysis: Analysis | None
    analysis_error: str | None
    stats: dict | None
    equity: pd.DataFrame | None
    backtest_error: str | None


def _read_error(exc: Exception) -> str:
    return f"could not be read ({type(exc).__name__}: {exc})"


def _load(inputs: DemoInputs) -> _Loaded:
    analysis = analysis_error = stats = equity = backtest_error = None
    try:
        analysis = analyze_run(inputs.train_dir)
    except FuturesVpocError as exc:
        analysis_error = _read_error(exc)
    if inputs.backtest_dir is None:
        backtest_error = "Backtest: not run."
    else:
        try:
            stats = read_json(Path(inputs.backtest_dir) / "stats.json")
            equity = pd.read_csv(Path(inputs.backtest_dir) / "equity.csv", index_col="trade_date", parse_dates=True)
        except (OSError, ValueError) as exc:
            backtest_error = "Backtest " + _read_error(exc) + "."
    return _Loaded(analysis, analysis_error, stats, equity, backtest_error)


def _quality_row(a: Analysis, metric: str) -> QualityRow | None:
    return next((q for q in a.quality if q.metric == metric), None)


# --------------------------------------------------------------------------------------------
# 1. summary


def _accuracy_line(a: Analysis) -> str:
    q = _quality_row(a, "Accuracy")
    if q is None or q.value == "n/a":
        return "Test accuracy: not recorded."
    return (f"Test accuracy **{q.value}** (95% CI {q.interval or 'n/a'}) vs majority baseline "
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


# --------------------------------------------------------------------------------------------
# 2. data


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


# --------------------------------------------------------------------------------------------
# 3. profile and 4. migration


SESSION_COLUMNS = (("trade_date", "Trade date"), ("contract", "Contract"), ("vpoc", "VPOC"), ("val", "VAL"),
                   ("vah", "VAH"), ("va_width", "VA width [points]"), ("volume", "Volume"))


def _cell(value, digits: int = 2) -> str:
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    if isinstance(value, (float, np.floating)):
        return num(float(value), digits)
    return str(value)


def _session_table(sessions: pd.DataFrame, n: int = 10) -> str:
    cols = [(k, label) for k, label in SESSION_COLUMNS if k in sessions.columns]
    digits = [0 if k == "volume" else 2 for k, _ in cols]
    rows = [[_cell(v, d) for v, d in zip(row, digits)]
            for row in sessions[[k for k, _ in cols]].tail(n).itertuples(index=False)]
    return _table([label for _, label in cols], rows, numeric=True)


def _profile(inputs: DemoInputs) -> str:
    out = [_lead("A volume profile stacks the day's traded volume by price. The VPOC is the price with the most "
                 "volume; the value area (VAL to VAH) holds 70% of it. Both build up bar by bar during the "
                 "session (the developing VPOC).")]
    if inputs.profile_png:
        out.append(f'<figure style="width:100%">{_img(inputs.profile_png, inputs.profile_caption)}'
                   f"<figcaption>{esc(inputs.profile_caption)}</figcaption></figure>")
    else:
        out.append(_not_run("Profile picture: not run."))
    s = inputs.sessions
    if s is None or len(s) == 0:
        out.append(_not_run("Session table: not run."))
    else:
        out += [f"<h3>The last {min(10, len(s))} of {len(s):,} sessions [index points]</h3>", _session_table(s)]
    return "".join(out)


def _segments(contract: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` row ranges of consecutive equal contracts."""
    change = np.flatnonzero(contract[1:] != contract[:-1]) + 1
    return list(zip(np.r_[0, change], np.r_[change, len(contract)]))


def _migration_points(s: pd.DataFrame) -> np.ndarray:
    """The session table's migration column [points], else the VPOC change within one contract (NaN at a roll)."""
    if MIGRATION_COLUMN in s.columns:
        return s[MIGRATION_COLUMN].to_numpy(float)
    vpoc, contract = s["vpoc"].to_numpy(float), s["contract"].to_numpy(dtype=object)
    same = np.r_[False, contract[1:] == contract[:-1]]
    return np.where(same, vpoc - np.r_[np.nan, vpoc[:-1]], np.nan)


def migration_plot(sessions: pd.DataFrame) -> bytes:
    """PNG: value-area band and VPOC per session (line broken at each roll), and the migration bars.

    Parameters
    ----------
    sessions : pandas.DataFrame
        Columns ``trade_date``, ``contract``, ``vpoc``, ``val``, ``vah`` [points]; NaN values
        leave gaps.
    """
    fig, (top, bottom) = new_figure((9.6, 5.0), nrows=2, sharex=True, gridspec_kw={"height_ratios": (3, 1.2)})
    x = pd.to_datetime(sessions["trade_date"]).to_numpy()
    contract = sessions["contract"].astype(str).to_numpy(dtype=object)
    segs = _segments(contract)
    for i, (a, b) in enumerate(segs):
        first = i == 0
        top.fill_between(x[a:b], sessions["val"].iloc[a:b], sessions["vah"].iloc[a:b], color="#1f5fbf",
                         alpha=0.35, linewidth=0, label="value area (VAL-VAH)" if first else None)
        top.plot(x[a:b], sessions["vpoc"].iloc[a:b], color="#e07000", linewidth=1.1,
                 marker="." if len(x) <= 40 else None, label="VPOC" if first else None)
        if i:
            for ax in (top, bottom):
                ax.axvline(x[a], color="#6e7781", linestyle=":", linewidth=1)
            if len(segs) <= 12:
                top.annotate(f"roll to {contract[a]}", (x[a], 1), xycoords=("data", "axes fraction"),
                             xytext=(3, -12), textcoords="offset points", fontsize=8, color="#57606a")
    top.set_ylabel("price [index points]")
    top.set_title("Session VPOC and value area" + (" (dotted lines: contract rolls)" if len(segs) > 1 else ""))
    top.legend(fontsize=8, loc="upper left")
    move = _migration_points(sessions)
    ok = np.isfinite(move)
    bottom.vlines(x[ok], 0, move[ok], colors=np.where(move[ok] >= 0, "#2e9e5b", "#d0463c"),
                  linewidth=2.5 if ok.sum() < 150 else 1.0)
    bottom.axhline(0, color="#444", linewidth=0.8)
    bottom.set_ylabel("migration [points]")
    return figure_png(fig)


def _migration(inputs: DemoInputs) -> str:
    out = [_lead("How the session VPOC and value area move from day to day: the upper panel is each session's "
                 "value area with its VPOC, the lower one how far the VPOC moved since the previous session of "
                 "the same contract (a roll is not a move).")]
    s = inputs.sessions
    need = {"trade_date", "contract", "vpoc", "val", "vah"}
    if s is None or len(s) == 0 or not need <= set(s.columns):
        return "".join(out) + _not_run("Not run: no session table with " + ", ".join(sorted(need)) + ".")
    return "".join(out) + _img(migration_plot(s), "VPOC migration over time")


# --------------------------------------------------------------------------------------------
# 5. training and 6. test metrics


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
            _link(a.run_dir / "analysis.html", inputs.report_dir, "The run's full training analysis (analysis.html)")]
    return "".join(out)


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


# --------------------------------------------------------------------------------------------
# 7. backtest


STAT_COLUMNS = ("net_pnl_usd", "costs_usd", "trades", "sharpe", "max_drawdown_pct", "psr", "dsr", "p_value_random")


def equity_plot(equity: pd.DataFrame) -> bytes:
    """PNG: equity [$] of every strategy per trade date, the ``model`` column drawn thick on top."""
    fig, ax = new_figure((9.6, 3.8))
    for name in equity.columns:
        model = name == "model"
        ax.plot(equity.index, equity[name].to_numpy(float), label=name, linewidth=2.4 if model else 1.0,
                color="#111111" if model else None, alpha=1.0 if model else 0.85, zorder=5 if model else 2)
    ax.set_ylabel("equity [$]")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.legend(fontsize=8, ncol=min(len(equity.columns), 6), loc="upper left")
    return figure_png(fig)


def _stats_rows(stats: dict) -> list[list[str]]:
    rows = []
    for name, s in stats.items():
        if not isinstance(s, dict):
            continue
        cells = [stat_text(s, k) for k in STAT_COLUMNS]
        lo, hi = stat_text(s, "sharpe_ci95_low"), stat_text(s, "sharpe_ci95_high")
        ci = "n/a" if "n/a" in (lo, hi) else f"[{lo}, {hi}]"
        cells.insert(4, ci)
        rows.append([f"**{name}**" if name == "model" else name, *cells])
    return rows


def _significance(stats: dict) -> str:
    m = stats.get("model")
    if not isinstance(m, dict):
        return "No model strategy in stats.json, so there is no significance to report."
    verdict = ("significant: the Sharpe ratio survives the deflation for the strategies tried"
               if m.get("dsr_significant") else "not significant: the Sharpe ratio can be luck given the "
               "strategies tried")
    return (f"The model's deflated Sharpe ratio is {stat_text(m, 'dsr')} over {stat_text(m, 'n_trials')} "
            f"trials (significant above 0.95), so it is {verdict}. Its p-value against random signals with the "
            f"same number of trades and holding times is {stat_text(m, 'p_value_random')} (the share of random seeds "
            "doing at least as well).")


def _backtest(inputs: DemoInputs, got: _Loaded) -> str:
    out = [_lead("The model's signals traded as ES futures with commissions and slippage (a signal at a bar's "
                 "close fills at the next bar's open), next to simple rule-based and naive strategies on the "
                 "same test period.")]
    if got.stats is None:
        return "".join(out) + _not_run(got.backtest_error or "Backtest: not run.")
    if got.equity is not None and len(got.equity):
        out.append(_img(equity_plot(got.equity), "Equity of every strategy"))
    header = ["Strategy"] + [LABELS.get(k, k) for k in STAT_COLUMNS]
    header.insert(5, "Sharpe 95% interval")
    header[-3:] = ["PSR (vs 0)", "DSR", "p vs random"]
    out += [_table(header, _stats_rows(got.stats), numeric=True), f"<p>{esc(_significance(got.stats))}</p>",
            _link(Path(inputs.backtest_dir) / "backtest.html", inputs.report_dir,
                  "The full backtest report: drawdowns, monthly returns, trades (backtest.html)")]
    return "".join(out)


# --------------------------------------------------------------------------------------------
# 8. scale-up and ensemble


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


# --------------------------------------------------------------------------------------------
# 9. next and 10. timings


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


def _timings(inputs: DemoInputs) -> str:
    out = [_lead("How long each stage of the demo took on this machine, and what the reader should know.")]
    times = [(str(n), float(s)) for n, s in inputs.stage_times]
    if times:
        rows = [(n, f"{s:,.1f}") for n, s in times] + [("**total**", f"{sum(s for _, s in times):,.1f}")]
        out.append(_table(("Stage", "Wall time [s]"), rows, numeric=True))
    else:
        out.append(_not_run("Stage timings: not recorded."))
    out.append(render_block(Bullets(tuple(map(str, inputs.notes))), {}) if inputs.notes else _not_run("No notes."))
    return "".join(out)


# --------------------------------------------------------------------------------------------
# page


def render_demo_report(inputs: DemoInputs) -> str:
    """The report as one HTML page (str).

    Parameters
    ----------
    inputs : DemoInputs
        What to show. Optional parts that are None, missing or unreadable become a short
        "not run" / "could not be read" line in their section.

    Returns
    -------
    str
        A self-contained page: inline CSS, every image a ``data:image/png;base64`` URI, no
        script, links only relative (to ``inputs.report_dir``) or in-page anchors.
    """
    got = _load(inputs)
    bodies = {"summary": _summary(inputs, got), "data": _data(inputs), "profile": _profile(inputs),
              "migration": _migration(inputs), "training": _training(inputs, got), "metrics": _metrics(got),
              "backtest": _backtest(inputs, got), "scaling": _scaling(inputs), "next": _next(got, inputs),
              "timings": _timings(inputs)}
    nav = "<nav>" + "".join(f'<a href="#{k}">{esc(t)}</a>' for k, t in SECTIONS) + "</nav>"
    body = "\n".join(f'<h2 id="{k}">{esc(t)}</h2>\n{bodies[k]}' for k, t in SECTIONS)
    t = esc(inputs.title)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{t}</title>\n'
            f"<style>{CSS}{EXTRA_CSS}</style>\n</head>\n<body>\n<h1>{t}</h1>\n{nav}\n{body}\n</body>\n</html>\n")


def write_demo_report(inputs: DemoInputs, path: str | Path) -> Path:
    """Render and write ``report.html`` whole (through a temporary file); return its path.

    Links are made relative to the file's folder unless ``inputs.report_dir`` is set. The file
    gets the mode of any file the user writes (``0o666`` less the umask).
    """
    path = Path(path)
    if inputs.report_dir is None:
        inputs = dataclasses.replace(inputs, report_dir=path.parent)
    page = render_demo_report(inputs)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, page)
    return path
