"""Everything the demo report shows, as one frozen record (:class:`DemoInputs`).

The inputs are what other stages wrote or computed (the bar check, the session table, the run
directories, the stage times); the report reads them and computes no metric of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from futures_vpoc.data.check import CheckReport


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
    train_dir : pathlib.Path or None
        Run directory of the training run (read with ``diagnostics.analysis.analyze_run``); None
        when the demo skipped training (the reason is in ``stages``). Its ``summary.json``
        ``features_kept`` / ``features_dropped`` ({name: reason}) are shown when present.
    backtest_dir : pathlib.Path or None
        Directory written by ``futures-vpoc backtest`` (``stats.json``, ``equity.csv``).
    scaleup_dir, ensemble_dir : pathlib.Path or None
        Directories written by ``scale-up`` / ``ensemble`` (``scaleup.json`` / ``ensemble.json``),
        None when the demo skipped them.
    holdout_dir : pathlib.Path or None
        The out-of-time month's folder (``predictions.parquet``, ``evaluate.json``,
        ``backtest/stats.json``, ``replay_parity.json``), None when no month was held out.
    stage_times : tuple of (str, float)
        Stage name and wall time [s], in order.
    notes : tuple of str
        Extra lines for the reader (stages skipped for time, data caveats).
    stages : tuple of (str, str, str)
        Each stage's name, ``"ran"`` or ``"skipped"``, and the wall time or the reason, in order.
    compare : pandas.DataFrame or None
        The bar-approximation table (``futures_vpoc.profile.compare.compare_bars``: per allocation
        rule, the VPOC/VAH/VAL distances from the exact profiles of the trades, in ticks), when
        the data came with its trade prints; None otherwise.
    compare_caption : str
        What the table compares (prints, sessions, tick).
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
    train_dir: Path | None
    backtest_dir: Path | None = None
    scaleup_dir: Path | None = None
    ensemble_dir: Path | None = None
    holdout_dir: Path | None = None
    stage_times: tuple = ()
    notes: tuple = field(default_factory=tuple)
    stages: tuple = ()
    compare: pd.DataFrame | None = None
    compare_caption: str = ""
    report_dir: Path | None = None
