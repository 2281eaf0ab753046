"""``index.html`` of a runs folder: every run found below it, newest first, one table per kind.

Kinds, by the files a folder holds: training runs (``config.json`` with ``summary.json`` and/or
``metrics.jsonl``), backtests (``stats.json``), scale-ups (``scaleup.json``), ensembles
(``ensemble.json``) and demo reports (``report.html``). The search goes to any depth and skips
hidden folders; a folder may be of several kinds. Each row links (relative to the index) to the
run's own page. A run that cannot be read is listed as ``unreadable`` with the reason, never an
error. Rendering only: every figure comes from the run's files or its analysis. No script.
"""

from __future__ import annotations

import html
import os
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from futures_vpoc.diagnostics.analysis import analyze_run
from futures_vpoc.errors import FuturesVpocError
from futures_vpoc.report.blocks import badge
from futures_vpoc.report.common import (EXTRA_CSS, accuracy_vs_majority, baseline_text, esc, href, num, read_json,
                                        stat_text, usd)
from futures_vpoc.report.html import CSS, inline
from futures_vpoc.report.write import write_text

INDEX_FILE = "index.html"
LOG_NAME = re.compile(r"futures_vpoc_(\d{8}_\d{6})\.log$")
READ_ERRORS = (OSError, ValueError, KeyError, TypeError, AttributeError, FuturesVpocError)
"""What reading one run may raise; the run is then listed as unreadable."""


@dataclass(frozen=True)
class Row:
    """One run in the index.

    Attributes
    ----------
    kind : str
        ``training``, ``backtest``, ``scale-up``, ``ensemble`` or ``demo``.
    folder : pathlib.Path
        The run's folder.
    when : datetime.datetime
        Local time the run was written (training: its log file name; else the file's mtime).
    cells : tuple of str
        The table cells after the name and time (text with ``**bold**``/``code`` marks).
    """

    kind: str
    folder: Path
    when: datetime
    cells: tuple[str, ...]


KINDS = (
    ("training", "Training runs", ("Verdict", "Test accuracy [95% CI] vs majority baseline, p",
                                   "Worst NaN rate / fewest valid batches", "Epochs", "Model", "Stop reason")),
    ("backtest", "Backtests", ("Model Sharpe", "Model net P&L", "Model DSR", "Best strategy (Sharpe, net P&L)")),
    ("scale-up", "Scale-ups", ("Ladder", "Winner", "Winner's test accuracy [95% CI] vs majority", "Stopped at")),
    ("ensemble", "Ensembles", ("Members (weight)", "Ensemble test accuracy [95% CI] vs majority", "p vs majority")),
    ("demo", "Demo reports", ("Title",)),
)
"""Kind key, table heading and the columns after *Run* and *Written*."""

LINKS = {"training": "analysis.html", "backtest": "backtest.html", "scale-up": "scaleup.md",
         "ensemble": "ensemble.md", "demo": "report.html"}
"""The file each kind's name links to."""


def _mtime(path: Path) -> datetime:
    return datetime.fromtimestamp(path.stat().st_mtime)


def _unreadable(exc: Exception, width: int) -> tuple[str, ...]:
    text = f"unreadable: {' '.join(str(exc).split())[:300]}"
    return (text,) + ("-",) * (width - 1)


# --------------------------------------------------------------------------------------------
# one row per kind


def _training_when(folder: Path) -> datetime:
    stamps = sorted(m.group(1) for f in folder.iterdir() if (m := LOG_NAME.match(f.name)))
    if stamps:
        return datetime.strptime(stamps[-1], "%Y%m%d_%H%M%S")
    return max(_mtime(folder / f) for f in ("summary.json", "metrics.jsonl", "config.json") if (folder / f).exists())


def _training(folder: Path) -> tuple[str, ...]:
    a = analyze_run(folder)
    facts, model = dict(a.run_facts), dict(a.model_config)
    q = next((q for q in a.quality if q.metric == "Accuracy"), None)
    acc = "n/a" if q is None or q.value == "n/a" else f"{q.value} [{q.interval}] vs {baseline_text(q)}, p {q.p_value}"
    return (f"{badge(a.ready)} {a.verdict}", acc, facts.get("Worst NaN rate / fewest valid batches", "n/a"),
            facts.get("Epochs completed", "n/a"), model.get("Architecture", "n/a"), facts.get("Stop reason", "n/a"))


def _best(stats: dict) -> str:
    """The strategy with the highest Sharpe, with its Sharpe and net P&L (NaN/null Sharpe ranks last)."""
    def key(name):
        v = stats[name].get("sharpe")
        return v if isinstance(v, (int, float)) and v == v else float("-inf")
    names = [n for n, s in stats.items() if isinstance(s, dict)]
    if not names:
        return "n/a"
    best = max(names, key=key)
    return f"{best} ({stat_text(stats[best], 'sharpe')}, {usd(stats[best].get('net_pnl_usd'))})"


def _backtest(folder: Path) -> tuple[str, ...]:
    stats = read_json(folder / "stats.json")
    m = stats.get("model")
    if not isinstance(m, dict):
        return ("no model", "-", "-", _best(stats))
    return (stat_text(m, "sharpe"), usd(m.get("net_pnl_usd")), stat_text(m, "dsr"), _best(stats))


def _scaleup(folder: Path) -> tuple[str, ...]:
    d = read_json(folder / "scaleup.json")
    rungs = {r.get("architecture"): r for r in d.get("rungs", [])}
    win = rungs.get(d.get("winner"))
    acc = accuracy_vs_majority(win, "test_accuracy", "test_accuracy_ci95", "test_majority_baseline") if win else "n/a"
    return (", ".join(map(str, d.get("ladder", []))), str(d.get("winner") or "none"), acc,
            str(d.get("stopped_at") or "-"))


def _ensemble(folder: Path) -> tuple[str, ...]:
    d = read_json(folder / "ensemble.json")
    weights = d.get("weights", {})
    members = ", ".join(f"{g} ({num(weights.get(g), 2)})" for g in d.get("groups", weights))
    test = d.get("ensemble", {}).get("test", {})
    return (members, accuracy_vs_majority(test, "accuracy", "accuracy_ci95", "majority_baseline"), stat_text(test, "p_value"))


def _demo(folder: Path) -> tuple[str, ...]:
    text = (folder / "report.html").read_text(encoding="utf-8", errors="replace")[:4000]
    m = re.search(r"<title>(.*?)</title>", text, re.S)
    return (html.unescape(m.group(1)).strip() if m else "(no title)",)


READERS = {"training": _training, "backtest": _backtest, "scale-up": _scaleup, "ensemble": _ensemble,
           "demo": _demo}


# --------------------------------------------------------------------------------------------
# finding runs


def _kinds(folder: Path, files: set[str]) -> list[str]:
    kinds = []
    if "config.json" in files and ({"summary.json", "metrics.jsonl"} & files):
        kinds.append("training")
    for kind, name in (("backtest", "stats.json"), ("scale-up", "scaleup.json"), ("ensemble", "ensemble.json"),
                       ("demo", "report.html")):
        if name in files:
            kinds.append(kind)
    return kinds


def _row(kind: str, folder: Path) -> Row:
    width = len(dict((k, c) for k, _, c in KINDS)[kind])
    try:
        when = _training_when(folder) if kind == "training" else _mtime(folder / LINKS[kind])
    except (OSError, ValueError):
        when = datetime.min
    try:
        cells = READERS[kind](folder)
    except READ_ERRORS as exc:
        cells = _unreadable(exc, width)
    return Row(kind, folder, when, tuple(cells))


def find_runs(root: str | Path) -> list[Row]:
    """Every run below ``root`` (any depth, hidden folders skipped, links not followed), newest first.

    Parameters
    ----------
    root : str or path-like

    Returns
    -------
    list of Row
        Sorted by time written, newest first (ties: by folder).
    """
    root = Path(root)
    rows = []
    for here, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        folder = Path(here)
        rows += [_row(kind, folder) for kind in _kinds(folder, set(files))]
    return sorted(rows, key=lambda r: (r.when, str(r.folder)), reverse=True)


# --------------------------------------------------------------------------------------------
# page


def _name_cell(row: Row, root: Path) -> str:
    rel = os.path.relpath(row.folder, root)
    name = root.resolve().name if rel == "." else Path(rel).as_posix()
    target = row.folder / LINKS[row.kind]
    if not target.is_file():
        return f"{esc(name)} <small>(no {LINKS[row.kind]})</small>"
    return f'<a href="{href(target, root)}">{esc(name)}</a>'


def _kind_table(rows: list[Row], root: Path, columns: tuple[str, ...]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in ("Run", "Written", *columns))
    body = []
    for r in rows:
        when = r.when.strftime("%Y-%m-%d %H:%M:%S") if r.when != datetime.min else "?"
        cells = "".join(f"<td>{inline(c)}</td>" for c in (when, *r.cells))
        body.append(f"<tr><td>{_name_cell(r, root)}</td>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_runs_index(root: str | Path) -> str:
    """The index page of ``root`` as HTML (str).

    Parameters
    ----------
    root : str or path-like
        The folder the page will be written to; every link is relative to it.

    Returns
    -------
    str
        One self-contained page (inline CSS, no script, no image): a table per kind of run,
        newest first; "none found" for a kind without runs.
    """
    root = Path(root)
    rows = find_runs(root)
    parts = []
    for kind, title, columns in KINDS:
        mine = [r for r in rows if r.kind == kind]
        parts.append(f'<h2 id="{kind}">{esc(title)} ({len(mine)})</h2>')
        parts.append(_kind_table(mine, root, columns) if mine else '<p class="notrun">None found.</p>')
    t = esc(f"Runs in {root.resolve().name or root.resolve()}")
    lead = (f"<p class=\"lead\">Every run found below <code>{esc(root)}</code> (hidden folders skipped), newest "
            "first. The names link to each run's own report.</p>")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{t}</title>\n'
            f"<style>{CSS}{EXTRA_CSS}</style>\n</head>\n<body>\n<h1>{t}</h1>\n{lead}\n{''.join(parts)}\n"
            "</body>\n</html>\n")


def write_runs_index(root: str | Path) -> Path:
    """Write ``root/index.html`` whole (through a temporary file); return its path.

    The file gets the mode of any file the user writes (``0o666`` less the umask).
    """
    root = Path(root)
    page = render_runs_index(root)
    path = root / INDEX_FILE
    write_text(path, page)
    return path
