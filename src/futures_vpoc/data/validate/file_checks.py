"""Checks on one file, in file order (before stamps are converted or files combined).

NaN/infinite prices, prices of the wrong scale (:mod:`~.scale`), NaN/infinite/negative volume, and
timestamps going backwards within a contract; each is fatal.
"""

from __future__ import annotations

import numpy as np

from futures_vpoc.data.formats import PRICE_FIELDS, RawBars, fail
from futures_vpoc.data.validate.messages import _num, _ts_text
from futures_vpoc.data.validate.scale import check_scale


def check_file(raw: RawBars) -> None:
    """Fatal checks that need the file's own row order.

    NaN/infinite prices, NaN/infinite/negative volume, and timestamps going backwards within a
    contract (a multi-contract file may list contracts one after the other).

    Raises
    ------
    DataError
        For the first offending row (by line), with the count of further rows.
    """
    if not all(np.isfinite(getattr(raw, k)).all() for k in PRICE_FIELDS):  # cheap common case first
        _raise_non_finite(raw)
    check_scale(raw)
    _check_volume(raw)
    _check_order(raw)


def _raise_non_finite(raw: RawBars) -> None:
    prices = np.column_stack([getattr(raw, k) for k in PRICE_FIELDS])
    bad = ~np.isfinite(prices)
    rows = np.flatnonzero(bad.any(axis=1))
    if len(rows):
        i = int(rows[0])
        j = int(np.argmax(bad[i]))
        x = prices[i, j]
        what = "price is missing or NaN" if np.isnan(x) else "price is infinite"
        raise fail(what, raw.lines, int(raw.row[i]), column=PRICE_FIELDS[j], value=_num(x),
                   more=len(rows) - 1, hint="fix or remove the row")


def _check_volume(raw: RawBars) -> None:
    v = raw.volume
    if v.min(initial=0.0) >= 0 and np.isfinite(v).all():
        return
    finite = np.isfinite(v)
    bad = np.flatnonzero(~finite | (np.where(finite, v, 0.0) < 0))
    if len(bad):
        i = int(bad[0])
        what = "negative volume" if finite[i] else ("volume is missing or NaN" if np.isnan(v[i])
                                                   else "volume is infinite")
        raise fail(what, raw.lines, int(raw.row[i]), column="volume", value=_num(v[i]),
                   more=len(bad) - 1, hint="volume must be a count >= 0; fix or remove the row")


def _check_order(raw: RawBars) -> None:
    ts, codes = raw.ts, raw.contract_codes
    if len(ts) < 2:
        return
    if len(raw.contract_names) == 1:
        back = np.flatnonzero(np.diff(ts) < 0) + 1
        prev = back - 1
    else:
        order = np.argsort(codes, kind="stable")  # each contract's rows, still in file order
        same = codes[order][1:] == codes[order][:-1]
        hit = np.flatnonzero(same & (np.diff(ts[order]) < 0))
        back, prev = order[hit + 1], order[hit]
        by_line = np.argsort(back)
        back, prev = back[by_line], prev[by_line]
    if len(back):
        i, p = int(back[0]), int(prev[0])
        before = raw.lines.line(int(raw.row[p]))
        where = f"line {before}" if before is not None else f"row {int(raw.row[p]) + 1}"
        raise fail(f"timestamp earlier than the previous bar's ({where}); timestamps out of order",
                   raw.lines, int(raw.row[i]), column="timestamp", value=_ts_text(ts[i]),
                   more=len(back) - 1, hint="sort the file by time")


__all__ = ["check_file"]
