"""Reading what the stages wrote, once per page (no metric is computed here).

The training run's analysis and the backtest's ``stats.json`` / ``equity.csv``; a part that
cannot be read becomes the reason it is missing, never an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from futures_vpoc.diagnostics.analysis import Analysis, analyze_run
from futures_vpoc.diagnostics.quality import QualityRow
from futures_vpoc.errors import FuturesVpocError
from futures_vpoc.report.common import read_json
from futures_vpoc.report.demo_report.inputs import DemoInputs


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
    if inputs.train_dir is None:
        why = next((r for n, o, r in inputs.stages if n == "train" and o == "skipped"), None)
        analysis_error = "was skipped: " + why if why else "was not run"
    else:
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
