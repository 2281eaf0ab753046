"""Section 4 of the demo report: VPOC migration over time, and its plot.

The session value areas with their VPOC (the line broken at each contract roll) and how far the
VPOC moved since the previous session of the same contract.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from futures_vpoc.report.demo_report.inputs import MIGRATION_COLUMN, DemoInputs
from futures_vpoc.report.demo_report.pieces import _img, _lead, _not_run
from futures_vpoc.report.plots import figure_png, new_figure


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
