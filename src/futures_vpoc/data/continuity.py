"""Contract boundaries for a continuous file that names no contract.

FirstRate files and most retail exports hold one continuous ES series without a contract column;
the loader then names every bar's contract ``'ES'`` (a bare root). Left so, nothing downstream
would see a roll: labels, returns, rolling windows and volume profiles would run across every
quarterly roll and its price jump. :func:`assign_calendar_contracts` gives each bar the contract
the calendar roll makes front on its trade date
(:func:`~futures_vpoc.data.contracts.front_contract`: the Thursday eight days before the
third-Friday expiry, switched at the session boundary), so every later stage restarts there, and
says where the boundaries fell and how far the price jumped across each (open of the first bar
after minus close of the last bar before, in index points). The assigned contract is the rule's,
not a fact of the file: a vendor that rolled on another day has its jump inside a session; the
warning asks the user to check.

With ``roll="none"`` the file is taken as one series with no boundaries (an index, or a series the
user knows is rolled elsewhere) and only a note says so.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pyarrow as pa

from futures_vpoc.data.contracts import contract_names, front_contract
from futures_vpoc.data.load import LoadedBars

CALENDAR_RULE = "the calendar roll (Thursday 8 days before expiry)"
_BARE_ROOT = re.compile(r"[A-Z]{1,3}")


def bare_root(bars: pd.DataFrame) -> str | None:
    """The product root when every bar's contract is one bare root (``'ES'``), else None."""
    if bars.empty:
        return None
    names = pd.unique(bars["contract"].astype(str))
    if len(names) != 1 or not _BARE_ROOT.fullmatch(str(names[0])):
        return None
    return str(names[0])


def assign_calendar_contracts(bars: pd.DataFrame, source: str) -> tuple[pd.DataFrame, str | None]:
    """Give the bars of a file without contracts the calendar front contract of each trade date.

    Parameters
    ----------
    bars : pandas.DataFrame
        Loaded bars (:attr:`futures_vpoc.data.load.LoadedBars.bars`): RangeIndex, columns
        ``timestamp`` (UTC bar start), ``open``, ``close``, ``contract``, ``trade_date``, sorted by
        time when there is one contract.
    source : str
        Name of the file or folder, for the warning.

    Returns
    -------
    bars : pandas.DataFrame
        A copy with ``contract`` = the front contract (``ESH4``; two-digit years such as ``ESH15``
        when the data span two contracts with one one-digit code), or ``bars`` itself when its
        contract is not one bare root.
    warning : str or None
        One line naming each boundary's first trade date, the contracts and the price jump; None
        when nothing was assigned.
    """
    root = bare_root(bars)
    if root is None:
        return bars, None
    out = bars if bars["timestamp"].is_monotonic_increasing else bars.sort_values("timestamp", kind="stable")
    out = out.reset_index(drop=True)  # a copy: the caller's frame is left as it was
    day = out["trade_date"].to_numpy("datetime64[ns]")
    if len(day) < 2 or bool((day[1:] >= day[:-1]).all()):  # sorted by time: trade dates never go back
        new_day = np.r_[True, day[1:] != day[:-1]]
        uniq, inverse = day[new_day], np.cumsum(new_day) - 1
    else:
        uniq, inverse = np.unique(day, return_inverse=True)
    fronts = [front_contract(pd.Timestamp(d).date(), root) for d in uniq]
    shown = contract_names(fronts)
    names = list(dict.fromkeys(shown[c] for c in fronts))  # in order of first trade date
    ids = np.asarray([names.index(shown[c]) for c in fronts], dtype=np.int32)[inverse]
    # Through an Arrow dictionary: far faster than an object array for millions of bars.
    codes = pa.DictionaryArray.from_arrays(pa.array(ids), pa.array(names, pa.string()))
    out["contract"] = pd.array(codes.to_pandas(types_mapper=lambda t: pd.StringDtype(na_value=np.nan)), dtype="str")
    return out, _warning(out, ids, names, source)


def _warning(bars: pd.DataFrame, ids: np.ndarray, names: list[str], source: str) -> str:
    change = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    head = f"{source}: no contract column: contracts assigned by {CALENDAR_RULE}"
    if len(change) == 0:
        return f"{head}; all bars fall in {names[ids[0]]}, no roll in the data"
    opens, closes = bars["open"].to_numpy(), bars["close"].to_numpy()
    days = bars["trade_date"]
    parts = [f"{days.iloc[i]:%Y-%m-%d} {names[ids[i - 1]]}->{names[ids[i]]} "
             f"(jump {opens[i] - closes[i - 1]:+.2f} pts)" for i in change]
    return f"{head}; boundaries {', '.join(parts)}; labels, returns and profiles stop there"


def with_contracts(loaded: LoadedBars, source: str, roll: str) -> LoadedBars:
    """``loaded`` with calendar contracts assigned where it names none (unless ``roll == "none"``).

    The warning (or, with ``roll="none"``, a note that the series is taken whole) is appended to
    :attr:`~futures_vpoc.data.load.LoadedBars.notes`.
    """
    if roll == "none":
        if bare_root(loaded.bars) is None:
            return loaded
        note = (f"{source}: no contract column and --roll none: one series without contract boundaries; "
                "labels, returns and profiles run across any roll in it")
        return dataclasses.replace(loaded, notes=(*loaded.notes, note))
    bars, warning = assign_calendar_contracts(loaded.bars, source)
    if warning is None:
        return loaded
    return dataclasses.replace(loaded, bars=bars, notes=(*loaded.notes, warning))


__all__ = ["CALENDAR_RULE", "assign_calendar_contracts", "bare_root", "with_contracts"]
