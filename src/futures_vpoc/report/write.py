"""Write a run's ``analysis.md`` and self-contained ``analysis.html`` into its directory.

Lives in the report layer so that ``futures-vpoc analyze`` (:mod:`futures_vpoc.cli.analyze`), the end
of ``futures-vpoc train`` (:mod:`futures_vpoc.cli.train`) and ``scale-up``/``ensemble`` call one function.
"""

from __future__ import annotations

import os
from pathlib import Path

from futures_vpoc.data.barframe import atomic_write
from futures_vpoc.diagnostics.analysis import Analysis, analyze_run
from futures_vpoc.report.calibration import calibration_images
from futures_vpoc.report.html import render_html
from futures_vpoc.report.markdown import render_markdown
from futures_vpoc.report.plots import render_plots

MARKDOWN_FILE = "analysis.md"
HTML_FILE = "analysis.html"


def write_text(path: Path, text: str) -> None:
    umask = os.umask(0)
    os.umask(umask)

    def write(tmp):
        Path(tmp).write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o666 & ~umask)  # a report, readable like any file the user writes

    atomic_write(path, write)


def write_analysis(run_dir: str | Path) -> Analysis:
    """Analyse a run directory and write ``analysis.md`` and ``analysis.html`` into it.

    Both files are rendered before either is written, and each is written whole through a
    temporary file.

    Parameters
    ----------
    run_dir : str or path-like

    Returns
    -------
    Analysis
        The analysis the reports show.

    Raises
    ------
    DataError
        When the run directory or one of its required files is missing or malformed; nothing is
        written then.
    """
    analysis = analyze_run(run_dir)
    markdown = render_markdown(analysis)
    page = render_html(analysis, {**render_plots(analysis.curves), **calibration_images(analysis)})
    write_text(analysis.run_dir / MARKDOWN_FILE, markdown)
    write_text(analysis.run_dir / HTML_FILE, page)
    return analysis
