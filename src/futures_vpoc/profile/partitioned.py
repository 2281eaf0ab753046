"""Profiles of a month-partitioned bar dataset, month by month, in bounded memory.

A session never spans two partitions (a partition holds every bar of the trade dates of its
month, :mod:`futures_vpoc.data.partitioned`), so each month's finished profiles, levels and
developing values depend on that month's bars alone. Only the prior-session levels look back
(:func:`futures_vpoc.profile.levels.prior_columns`): the previous completed session of the bar's
contract and the naked VPOCs of that contract, a state that can reach back to the contract's
first session. That state is carried across the boundary instead of any history of bars:

- the sorted naked VPOC levels of the current contract, the contract's name and the latest
  completed session (its global row), as they stand after the month's last bar;
- the month's sessions not yet known to be over at its last bar (the last one; it counts from the
  next month's first bar, :func:`~futures_vpoc.profile.levels.completion`), each with whether a
  bar after its last bar, in the rest of the month, already traded at its VPOC.

The next month's prior levels run through :func:`_prior_carried`, the loop of
:func:`futures_vpoc.profile.kernels.prior.prior_levels` started from that state, so every output
equals the whole-file build's (``developing_profile`` of the concatenated dataset) exactly: the
same kernels on the same bars, sessions numbered globally. Memory: one month of bars and its
outputs, the carried state (a few hundred levels at most), and the per-session rows the caller
keeps.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from futures_vpoc.data.partitioned import iter_partitions, partitions
from futures_vpoc.errors import DataError
from futures_vpoc.profile.developing import DevelopingProfile, developing_columns
from futures_vpoc.profile.grid import GridBars, check_bars, prepare, to_ticks
from futures_vpoc.profile.kernels.prior import _touched, prior_levels_from
from futures_vpoc.profile.levels import completion
from futures_vpoc.profile.session import SessionProfiles, build_sessions
from futures_vpoc.profile.spec import ProfileSpec


@dataclass
class PriorCarry:
    """The prior-level state at a partition boundary (module docstring).

    Attributes
    ----------
    naked : numpy.ndarray of int64
        Naked VPOC levels (ticks) of the contract in force, ascending.
    contract : str or None
        The contract of the last bar so far (None before the first bar).
    latest : int
        Global row of the latest completed session of that contract, -1 if none.
    pending : list of tuple
        Sessions over only at the next bar: ``(row, contract, vpoc level, naked)``, ``naked``
        False when the session has no VPOC or a later bar already traded at it.
    levels : dict of int -> tuple of float
        ``row -> (vpoc, val, vah)`` of the sessions ``latest`` and ``pending`` name (points).
    """

    naked: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    contract: str | None = None
    latest: int = -1
    pending: list = field(default_factory=list)
    levels: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class MonthProfiles:
    """One month's profiles, numbered within the whole dataset.

    Attributes
    ----------
    key : str
        ``YYYY-MM`` of the partition.
    bars : pandas.DataFrame
        The month's BarFrame.
    offset : int
        Global row of the month's first session (sessions before it in the dataset).
    sessions : SessionProfiles or None
        The month's finished sessions, rows numbered from 0 (None when no bar is in scope).
    developing : DevelopingProfile or None
        When asked for: per-bar developing values and prior levels on the month's bars, ``session``
        numbered from 0 within the month (-1 outside the scope), ``prev_session`` global; its
        ``sessions`` are :attr:`sessions`.
    """

    key: str
    bars: pd.DataFrame
    offset: int
    sessions: SessionProfiles | None
    developing: DevelopingProfile | None

    @property
    def table(self) -> pd.DataFrame:
        """The month's rows of the per-session table, index ``session`` global (empty when none)."""
        if self.sessions is None:
            return pd.DataFrame()
        table = self.sessions.table.copy()
        table.index = pd.RangeIndex(self.offset, self.offset + len(table), name="session")
        return table

    def developing_table(self) -> pd.DataFrame:
        """The per-bar developing table as the whole build writes it: ``session`` global."""
        table = self.developing.table.copy()
        local = table["session"].to_numpy()
        table["session"] = np.where(local >= 0, local + self.offset, local)
        return table

    def levels_table(self) -> pd.DataFrame:
        """Volume at every level of the month's sessions, ``session`` global."""
        table = self.sessions.levels_table()
        table["session"] = table["session"].to_numpy() + self.offset
        return table


def _empty_grid(bars: pd.DataFrame, spec: ProfileSpec) -> GridBars:
    """:func:`~futures_vpoc.profile.grid.prepare` of a month without a bar in scope: no session."""
    index = check_bars(bars)
    codes, contracts = pd.factorize(bars["contract"], sort=False)
    if (codes < 0).any():
        prepare(bars, spec)  # raises the whole build's error for a bar without contract
    return GridBars(index=index, low=to_ticks(bars["low"].to_numpy(np.float64), spec.tick),
                    high=to_ticks(bars["high"].to_numpy(np.float64), spec.tick),
                    close=to_ticks(bars["close"].to_numpy(np.float64), spec.tick),
                    price_close=bars["close"].to_numpy(np.float64), volume=bars["volume"].to_numpy(np.float64),
                    contract_code=codes.astype(np.int64),
                    day=bars["trade_date"].to_numpy(dtype="datetime64[ns]").view(np.int64),
                    contracts=np.asarray(contracts, dtype=object), take=np.zeros(0, np.int64),
                    bounds=np.zeros(1, np.int64), trade_date=np.zeros(0, "datetime64[ns]"),
                    session_contract=np.zeros(0, np.int64))


def _in_scope(bars: pd.DataFrame, scope: str) -> bool:
    if scope == "globex":
        return True
    rth = bars["rth"].to_numpy(dtype=bool)
    return bool(rth.any() if scope == "rth" else (~rth).any())


def _code_of(g: GridBars, contract: str | None) -> int:
    """The month's code of ``contract`` (-2 when absent: equal to no bar's code)."""
    hits = np.flatnonzero(g.contracts == contract) if contract is not None else []
    return int(hits[0]) if len(hits) else -2


def prior_month(g: GridBars, sessions: SessionProfiles | None, offset: int, carry: PriorCarry,
                spec: ProfileSpec) -> tuple[dict[str, np.ndarray], PriorCarry]:
    """Prior-session levels of one month's bars from the carried state, and the state after it.

    Parameters
    ----------
    g : GridBars
        The month's bars (all of them).
    sessions : SessionProfiles or None
        Their finished sessions (None: none in scope).
    offset : int
        Global row of the month's first session.
    carry : PriorCarry
        The state after the previous month (a fresh one for the first).

    Returns
    -------
    (dict of numpy.ndarray, PriorCarry)
        The columns of :func:`~futures_vpoc.profile.levels.prior_columns` (shape (n,) each, equal to
        the whole build's rows of these bars) and the state to carry into the next month.
    """
    tick = spec.tick
    n = len(g.index)
    table = sessions.table if sessions is not None else None
    vpoc = table["vpoc"].to_numpy() if table is not None else np.zeros(0)
    has = np.isfinite(vpoc)
    level = np.where(has, np.rint(np.where(has, vpoc, 0.0) / tick), 0).astype(np.int64)
    last_pos = sessions.last_pos if sessions is not None else np.zeros(0, np.int64)
    done = completion(g, last_pos, spec.scope)
    own = table.index.to_numpy() + offset if table is not None else np.zeros(0, np.int64)
    k = len(carry.pending)
    pend = carry.pending
    prev, above, below, count, naked, cur, latest, finished = prior_levels_from(
        g.low, g.high, g.contract_code,
        np.r_[np.full(k, -1, np.int64), last_pos].astype(np.int64),
        np.r_[np.zeros(k, np.int64), done].astype(np.int64),
        np.r_[np.array([p[2] for p in pend], np.int64), level].astype(np.int64),
        np.r_[np.array([p[3] for p in pend], bool), has].astype(bool),
        np.r_[np.array([_code_of(g, p[1]) for p in pend], np.int64),
              g.session_contract if sessions is not None else np.zeros(0, np.int64)].astype(np.int64),
        np.r_[np.array([p[0] for p in pend], np.int64), own].astype(np.int64),
        carry.naked, _code_of(g, carry.contract) if carry.contract is not None else -1, carry.latest)
    lookup = dict(carry.levels)
    if table is not None:
        lookup.update(zip(own.tolist(), table[["vpoc", "val", "vah"]].itertuples(index=False, name=None)))
    some = prev >= 0
    trio = np.full((n, 3), np.nan)
    if some.any():
        rows, inverse = np.unique(prev[some], return_inverse=True)
        trio[some] = np.array([lookup[int(r)] for r in rows], dtype=np.float64)[inverse]
    above_p, below_p = above * tick, below * tick
    cols = {"prev_session": prev, "prev_vpoc": trio[:, 0], "prev_val": trio[:, 1], "prev_vah": trio[:, 2],
            "naked_above": above_p, "naked_above_ticks": (above_p - g.price_close) / tick,
            "naked_below": below_p, "naked_below_ticks": (g.price_close - below_p) / tick, "naked_count": count}
    pending = []
    for j in range(max(finished - k, 0), len(done)):  # the month's sessions not over at its last bar
        naked_j = bool(has[j]) and not _touched(g.low, g.high, int(last_pos[j]) + 1, n, int(level[j]))
        pending.append((int(own[j]), str(g.contracts[g.session_contract[j]]), int(level[j]), naked_j))
    keep = {latest, *(p[0] for p in pending)} - {-1}
    state = PriorCarry(naked=naked, contract=str(g.contracts[cur]) if cur >= 0 else carry.contract, latest=int(latest),
                       pending=pending, levels={r: lookup[r] for r in keep})
    return cols, state


def _month(bars: pd.DataFrame, spec: ProfileSpec, offset: int, carry: PriorCarry | None):
    """Sessions (and with ``carry``, developing values and prior levels) of one month's bars."""
    if not _in_scope(bars, spec.scope):
        g = _empty_grid(bars, spec)
        sessions = None
    else:
        g = prepare(bars, spec)
        sessions = build_sessions(g, spec)
    if carry is None:
        return sessions, None, None
    if sessions is not None:
        cols = developing_columns(g, spec)
    else:
        n = len(g.index)
        cols = {"session": np.full(n, -1, np.int64), **{c: np.full(n, np.nan) for c in
                                                         ("dev_vpoc", "dev_val", "dev_vah", "dev_total")}}
    prior, carry = prior_month(g, sessions, offset, carry, spec)
    cols.update(prior)
    dev = DevelopingProfile(spec, pd.DataFrame(cols, index=g.index, copy=False), sessions)
    return sessions, dev, carry


def iter_month_profiles(folder: str | os.PathLike, spec: ProfileSpec | None = None,
                        developing: bool = False) -> Iterator[MonthProfiles]:
    """The profiles of a bar dataset, one month at a time, in time order.

    Parameters
    ----------
    folder : str or path-like
        A bar dataset (:func:`~futures_vpoc.data.partitioned.write_partitioned`).
    spec : ProfileSpec, optional
        The definition (default :class:`ProfileSpec`).
    developing : bool
        Also the per-bar developing values and prior-session levels (the prior-level state is
        carried from month to month, module docstring).

    Yields
    ------
    MonthProfiles
        Concatenating the months' :attr:`~MonthProfiles.table`, :meth:`~MonthProfiles.developing_table`
        and :meth:`~MonthProfiles.levels_table` gives exactly what
        :func:`~futures_vpoc.profile.developing.developing_profile` of the whole dataset gives.
        Memory: one month of bars plus the carried state.

    Raises
    ------
    DataError
        No partition, an unreadable partition, bars that fail the profile checks (named by their
        partition file), or no bar in scope in the whole dataset.
    """
    spec = spec or ProfileSpec()
    carry = PriorCarry() if developing else None
    offset = 0
    parts = partitions(folder)
    for part, bars in zip(parts, iter_partitions(folder)):
        if len(bars) == 0:
            continue
        try:
            sessions, dev, carry = _month(bars, spec, offset, carry)
        except DataError as exc:
            if exc.file is not None:
                raise
            raise DataError(exc.problem, file=str(part.path), column=exc.column, value=exc.value, hint=exc.hint,
                            more=exc.more) from None
        yield MonthProfiles(part.key, bars, offset, sessions, dev)
        offset += 0 if sessions is None else len(sessions)
    if offset == 0:
        raise DataError(f"no {spec.scope.upper()} bars to profile", file=str(folder), column="rth",
                        hint="choose another scope or check the rth column")
