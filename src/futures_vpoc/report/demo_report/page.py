"""The demo report's page: the section order, the assembly into one HTML page, and the writing."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from futures_vpoc.report.common import EXTRA_CSS, esc
from futures_vpoc.report.demo_report.backtest import _backtest
from futures_vpoc.report.demo_report.data import _data
from futures_vpoc.report.demo_report.holdout import _holdout
from futures_vpoc.report.demo_report.inputs import DemoInputs
from futures_vpoc.report.demo_report.loaded import _load
from futures_vpoc.report.demo_report.metrics import _metrics
from futures_vpoc.report.demo_report.migration import _migration
from futures_vpoc.report.demo_report.next_steps import _next
from futures_vpoc.report.demo_report.profile import _profile
from futures_vpoc.report.demo_report.scaling import _scaling
from futures_vpoc.report.demo_report.summary import _summary
from futures_vpoc.report.demo_report.timings import _timings
from futures_vpoc.report.demo_report.training import _training
from futures_vpoc.report.html import CSS
from futures_vpoc.report.write import write_text


SECTIONS = (
    ("summary", "Summary"),
    ("data", "Data"),
    ("profile", "Volume profile of a sample session"),
    ("migration", "VPOC migration over time"),
    ("training", "Training"),
    ("metrics", "Test metrics against baselines"),
    ("backtest", "Backtest"),
    ("holdout", "Out-of-time: the held-out last month"),
    ("scaling", "Scale-up and ensemble"),
    ("next", "What to run next"),
    ("timings", "Stage timings and notes"),
)
"""Section anchors and ``<h2>`` headings, in page order."""


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
              "backtest": _backtest(inputs, got), "holdout": _holdout(inputs), "scaling": _scaling(inputs),
              "next": _next(got, inputs),
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
