"""Contracts of a Databento file (CSV or DBN) from its instrument ids.

Databento identifies each contract by ``instrument_id``. The symbol a user requested is either a
raw contract (``ESH4``), which names the contract, or a continuous symbol
``<root>.<rule>.<rank>`` (``ES.c.0`` calendar/expiry, ``ES.v.0`` volume, ``ES.n.0`` open interest;
rank 0 = front), which spans one instrument per roll period and names none of them. Reading a
continuous file as one contract would run returns, labels and profiles straight across every
roll, so here each instrument id is one contract, named by the calendar when the file gives no
contract symbol:

* the ids are ordered by their first bar; the first is named by the contract that the rule makes
  front on the CME trade date of its first bar (``.c.``: the first quarterly contract whose expiry,
  the third Friday, is on or after that date; ``.v.``, ``.n.`` and no symbol: the calendar-roll
  front, :func:`futures_vpoc.data.contracts.front_contract`), moved ``rank`` quarters on;
* each later id is the next quarterly contract after the previous one.

A note names the mapping. Parent symbols (``ES.FUT``) are refused: their instruments trade at the
same time and cannot be named without the definitions. Products other than ES and MES (Databento
files often bundle NQ) are dropped with a note.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.config import MONTH_CODES
from futures_vpoc.data.contracts import Contract, front_contract, split_code
from futures_vpoc.errors import DataError

CONTINUOUS = re.compile(r"^(?P<root>[A-Za-z0-9]{1,6})\.(?P<rule>[cvn])\.(?P<rank>\d{1,2})$")
"""A Databento continuous symbol, e.g. ``ES.c.0``."""
PARENT = re.compile(r"^[A-Za-z0-9]{1,6}\.(FUT|OPT|SPOT)$", re.IGNORECASE)
"""A Databento parent symbol, e.g. ``ES.FUT`` (every contract and spread of the product)."""
ES_ROOTS = ("ES", "MES")
"""Products this project reads (same index-point price scale)."""
_NAMED_BY_CALENDAR = "named by the calendar; the file gives no contract symbols"
_MAX_LISTED = 6


def trade_date(ts_ns: int) -> dt.date:
    """CME trade date of a bar starting at ``ts_ns`` (ns UTC): the US Central date 7 hours later.

    The Globex day opens 17:00 CT for the next trade date (post-2012 schedule,
    ``es_market_and_data_formats.md`` section 1); good enough to pick the front contract.
    """
    ct = pd.Timestamp(int(ts_ns), unit="ns", tz="UTC").tz_convert("America/Chicago")
    return (ct + pd.Timedelta(hours=7)).date()


def first_by_rule(rule: str, root: str, date: dt.date, rank: int = 0) -> Contract:
    """The contract a continuous rule holds on trade date ``date`` at rank ``rank``.

    ``rule`` ``"c"``: the first quarterly contract expiring on or after ``date``; anything else: the
    calendar-roll front contract.
    """
    if rule == "c":
        c = Contract(date.year, 3 * ((date.month - 1) // 3 + 1), root)
        while c.expiry < date:
            c = c.next_quarterly()
    else:
        c = front_contract(date, root)
    for _ in range(rank):
        c = c.next_quarterly()
    return c


def _contract_code(symbol: str | None) -> str | None:
    """A raw contract symbol in its normal spelling, year digits as written (``esh4`` -> ``ESH4``)."""
    parts = split_code(symbol) if symbol else None
    if parts is None:
        return None
    root, month, digits = parts
    return f"{root}{MONTH_CODES[month - 1]}{digits}"


def name_instruments(path: Path, ids: np.ndarray, ts: np.ndarray, symbol_of: dict[int, str | None],
                     notes: list[str], file_contract: str | None = None) -> tuple[np.ndarray, list[str]]:
    """Per-row contract codes from instrument ids.

    Parameters
    ----------
    path : pathlib.Path
        The file, for notes and errors.
    ids : numpy.ndarray of int, shape (n,)
        ``instrument_id`` of each row.
    ts : numpy.ndarray of int64, shape (n,)
        Bar start of each row, ns UTC.
    symbol_of : dict of int to str or None
        The symbol the file gives each id (raw contract, continuous, other text); missing or None
        when it gives none.
    notes : list of str
        Receives the mapping note when ids are named by the calendar.
    file_contract : str, optional
        Contract named by the file name; used when the file has a single id and no symbol.

    Returns
    -------
    codes : numpy.ndarray of int32, shape (n,)
        Index into ``names`` per row.
    names : list of str
        Sorted contract names.

    Raises
    ------
    DataError
        A parent symbol (``ES.FUT``), or ids named by the calendar that trade at the same time.
    """
    uniq, inverse = np.unique(np.asarray(ids, dtype=np.int64), return_inverse=True)
    if len(uniq) == 0:
        return np.zeros(0, dtype=np.int32), [file_contract or "ES"]
    order = np.lexsort((ts, inverse))
    starts = np.flatnonzero(np.r_[True, inverse[order][1:] != inverse[order][:-1]])
    first = ts[order][starts]
    last = ts[order][np.r_[starts[1:], len(order)] - 1]
    named: dict[int, str] = {}
    groups: dict[tuple, list[int]] = {}
    for k in np.argsort(first, kind="stable"):
        iid = int(uniq[k])
        sym = symbol_of.get(iid)
        sym = sym.strip() if isinstance(sym, str) and sym.strip() else None
        if sym is not None and PARENT.match(sym):
            raise DataError(f"parent symbol {sym} mixes every contract of the product and names none", file=str(path),
                            hint="request raw contract symbols (ESH4) or a continuous symbol (ES.c.0)")
        code = _contract_code(sym)
        cont = CONTINUOUS.match(sym) if sym else None
        if code is not None:
            named[iid] = code
        elif cont is not None:
            groups.setdefault((cont["root"].upper(), cont["rule"], int(cont["rank"]), sym), []).append(int(k))
        elif sym is not None:
            named[iid] = sym  # not a contract and not continuous: kept as written
        else:
            groups.setdefault(("ES", "", 0, None), []).append(int(k))
    lone = groups.get(("ES", "", 0, None))
    if lone is not None and len(lone) == 1 and file_contract is not None and len(groups) == 1:
        named[int(uniq[lone[0]])] = file_contract
        groups = {}
    for (root, rule, rank, sym), ks in groups.items():
        _check_disjoint(path, sym, [int(uniq[k]) for k in ks], first[ks], last[ks])
        c = first_by_rule(rule, root, trade_date(first[ks[0]]), rank)
        pairs = []
        for i, k in enumerate(ks):
            c = c if i == 0 else c.next_quarterly()
            named[int(uniq[k])] = c.code2  # the year is known: the loader shows ESH4 unless ambiguous
            pairs.append(f"{int(uniq[k])} -> {c.code}")
        if len(pairs) > _MAX_LISTED:
            pairs = [*pairs[:_MAX_LISTED - 1], f"... ({len(pairs) - _MAX_LISTED} more)", pairs[-1]]
        what = f"{sym}: instrument" if sym else "instrument"
        notes.append(f"{path.name}: {what} {', '.join(pairs)} ({_NAMED_BY_CALENDAR})")
    id_names = [named[int(i)] for i in uniq]
    names = sorted(set(id_names))
    remap = np.asarray([names.index(n) for n in id_names], dtype=np.int32)
    return remap[inverse].astype(np.int32, copy=False), names


def _check_disjoint(path: Path, sym: str | None, ids: list[int], first: np.ndarray, last: np.ndarray) -> None:
    """Ids named one after the other must not trade at the same time (they would be one roll chain)."""
    for i in range(1, len(ids)):
        if first[i] <= last[i - 1]:
            what = f"symbol {sym}" if sym else "no symbol"
            raise DataError(f"instruments {ids[i - 1]} and {ids[i]} trade at the same time and the file "
                            f"names neither ({what})", file=str(path),
                            hint="export with the raw contract symbols (Databento map_symbols=True), "
                            "one file per contract, or a continuous symbol")


def keep_products(codes: np.ndarray, names: list[str], path: Path,
                  notes: list[str]) -> tuple[np.ndarray | None, np.ndarray, list[str]]:
    """Drop the rows of contracts of another product than ES/MES (e.g. NQU4), with a note.

    Returns
    -------
    keep : numpy.ndarray of bool, shape (n,), or None
        Rows to keep; None when every row is kept.
    codes, names
        Re-indexed to the kept contracts.

    Raises
    ------
    DataError
        When no ES or MES row is left.
    """
    other = [n for n in names if (parts := split_code(n)) is not None and parts[0] not in ES_ROOTS]
    if not other:
        return None, codes, names
    drop = np.isin(codes, [names.index(n) for n in other])
    if drop.all():
        raise DataError(f"no ES or MES bars: the file holds {', '.join(other)}", file=str(path),
                        hint="this project reads E-mini (ES) and Micro (MES) S&P 500 futures")
    kept = [n for n in names if n not in other]
    remap = np.asarray([kept.index(n) if n in kept else -1 for n in names], dtype=np.int32)
    notes.append(f"{path.name}: dropped {int(drop.sum())} bar(s) of {', '.join(other)} (not ES or MES)")
    keep = ~drop
    return keep, remap[codes[keep]], kept


__all__ = ["CONTINUOUS", "ES_ROOTS", "PARENT", "first_by_rule", "keep_products", "name_instruments", "trade_date"]
