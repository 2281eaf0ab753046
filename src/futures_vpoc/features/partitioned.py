"""Features of a partitioned bar dataset, month by month, in bounded memory.

The in-memory build (:func:`~futures_vpoc.features.build.build_features`) sees every bar before
the one it computes. Month by month, each month's bars are built with the bars before them
prepended as history, and the history's rows are dropped from the output. How much history:

* **Contract state.** Every price window and recursion restarts at the first bar of a contract
  segment (``WARMUP_UNITS``: ``bars``, ``contract_sessions``), but the recursive ones (Wilder ATR
  and RSI, MACD's EMAs, GARCH(1,1) variance, the running sums of the rolling means, the profile
  group's prior and naked levels) depend on EVERY bar since that first bar, not only on the
  declared warm-up: the declared 14 bars of an ATR are when its first value appears, not how far
  back its value reaches. So every group gets the bars from the start of the contract segment the
  month begins in (an ES quarterly contract: at most about 65 trade dates), which makes those
  features equal to the whole build bit for bit.
* **Cross-roll windows.** Features counted in ``sessions`` or ``vix_closes`` run across rolls; a
  group gets at least the trade dates its longest such warm-up declares (``up_to`` when the window
  keeps growing): 10 for the volume group's time-of-day norms, 252 for the VIX group's trailing
  year. Bar counts are converted to trade dates of the data's bar width.

A group's history starts at the earlier of the two; groups with the same start are built in one
call. At most ``carry_sessions`` trade dates are kept (default: the longest declared need, at least
252 = one year, :func:`carry_plan`); a contract segment that began before them (a back-adjusted
continuous series that never rolls) is cut there, and its recursive features then start from a
different state than in the whole build: each such month is named in the notes. A feature whose
declared warm-up exceeds ``carry_sessions`` is named in the notes too.

Fitted quantities (GARCH(1,1), regime edges, :mod:`.fit`) are fit once on the training span, read
from the partitions' ``close`` and ``contract`` columns only, and the frozen
:class:`~futures_vpoc.features.common.Context` is reused for every month; ``bars_per_year`` comes
from every bar's stamp, as in the whole build. So the values equal the whole build's.

Memory: the carried history (at most ``carry_sessions`` trade dates of bars, one year of 1-minute
bars is ~350,000 bars, ~40 MB) plus one month's table per group start, plus, for the fit, the
training span's stamps, closes and roll flags (~17 bytes per bar).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.config import ES_TICK_SIZE
from futures_vpoc.data.partitioned import DatasetWriter, iter_partitions, partitions
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.features.build import SESSIONS_PER_YEAR, _check_chunk_size, bars_per_year, build_features
from futures_vpoc.features import vix
from futures_vpoc.features.common import Context
from futures_vpoc.features.fit import as_utc, default_train_end, fit
from futures_vpoc.features.registry import Group, resolve_groups
from futures_vpoc.features.spec import FeatureSpec

MIN_CARRY_SESSIONS = SESSIONS_PER_YEAR
"""Least trade dates of history kept by default (one year): covers a quarterly contract segment
several times over, so the recursive features restart where the whole build restarts them."""

RING_GROUPS = {vix.GROUP: vix.YEAR_SESSIONS}
"""Groups whose trade-date kernels sum a ring buffer of day ends in storage order (the VIX z-score's
mean and sd over the trailing 252 day ends, :func:`~futures_vpoc.features.kernels_days.trailing_zscore`).
The order of a float sum changes its last bits, so such a group's history starts at a trade date where
the ring's write position equals the whole build's: between ``n`` and ``2 n`` finite day ends back
(:func:`_aligned_day`); the default carry keeps ``2 n`` trade dates plus a month for it."""


def declared_sessions(spec: FeatureSpec, bars_per_session: float) -> int:
    """Trade dates of history a feature's declared warm-up needs before a month's first bar.

    ``sessions`` / ``contract_sessions`` / ``vix_closes``: the count, or ``up_to`` when the window
    keeps growing (one VIX close per trade date); ``bars``: the count over the bars of a session,
    rounded up; ``none``: 0.
    """
    w = spec.warmup
    n = w.up_to if w.up_to is not None else w.count
    if w.unit == "none":
        return 0
    if w.unit == "bars":
        return int(math.ceil(n / max(bars_per_session, 1.0)))
    return int(n)


@dataclass(frozen=True)
class CarryPlan:
    """How much history each group is given.

    Attributes
    ----------
    sessions : dict of str to int
        Group name -> trade dates of cross-roll history it needs (the longest declared warm-up of
        its features, in trade dates); each group also gets its contract segment's start.
    carry_sessions : int
        Most trade dates of bars kept before a month.
    notes : tuple of str
        Features whose declared warm-up exceeds ``carry_sessions``.
    """

    sessions: dict
    carry_sessions: int
    notes: tuple


def carry_plan(chosen: Sequence[Group], bars_per_session: float, carry_sessions: int | None = None) -> CarryPlan:
    """The history of each group (:class:`CarryPlan`), from the registry's declared warm-ups.

    Parameters
    ----------
    chosen : sequence of Group
        The groups built (:func:`~futures_vpoc.features.registry.resolve_groups`).
    bars_per_session : float
        Bars of a full session at the data's bar width (1-minute bars: 1380).
    carry_sessions : int, optional
        Most trade dates to keep; default the longest declared need, at least
        :data:`MIN_CARRY_SESSIONS`.
    """
    need = {g.name: max((declared_sessions(s, bars_per_session) for s in g.specs), default=0) for g in chosen}
    longest = max(need.values(), default=0)
    if carry_sessions is None:
        carry_sessions = max(longest, MIN_CARRY_SESSIONS)
        rings = [RING_GROUPS[g.name] for g in chosen if g.name in RING_GROUPS]
        if rings:
            carry_sessions = max(carry_sessions, 2 * max(rings) + 25)
    if isinstance(carry_sessions, bool) or not isinstance(carry_sessions, (int, np.integer)) or carry_sessions < 1:
        raise UsageError(f"carry_sessions {carry_sessions!r}: use a whole number of trade dates >= 1")
    notes = tuple(f"{s.column}: declared warm-up {s.warmup} (~{declared_sessions(s, bars_per_session)} trade "
                  f"dates) is longer than the {carry_sessions} trade dates carried; its values may differ from "
                  "the whole-file build after the first months"
                  for g in chosen for s in g.specs if declared_sessions(s, bars_per_session) > carry_sessions)
    return CarryPlan({k: min(v, int(carry_sessions)) for k, v in need.items()}, int(carry_sessions), notes)


@dataclass(frozen=True)
class _FitArrays:
    """What :func:`~futures_vpoc.features.fit.fit` reads of a BarArrays: stamps, closes, roll flags."""

    ts: np.ndarray
    close: np.ndarray
    reset: np.ndarray


def dataset_context(folder: str | os.PathLike, chosen: Sequence[Group],
                    train_end: pd.Timestamp | None = None) -> tuple[Context, pd.Timestamp]:
    """The frozen context of a whole-dataset build, read column by column (no BarFrame in memory).

    ``bars_per_year`` from every bar's stamp, the fits (when the volatility group is chosen) from
    the closes and contracts before ``train_end`` (default 70 % of the way from the first to the
    last bar, :func:`~futures_vpoc.features.fit.default_train_end`): the context
    ``build_features`` of the concatenated dataset would make.

    Returns
    -------
    (Context, pandas.Timestamp)
        The context and the ``train_end`` used (UTC).
    """
    ts_parts, close_parts, reset_parts = [], [], []
    last_contract = None
    for month in iter_partitions(folder, columns=["close", "contract"]):
        ts_parts.append(pd.DatetimeIndex(month.index).tz_convert("UTC").as_unit("ns").asi8)
        close_parts.append(month["close"].to_numpy(dtype=np.float64))
        codes = month["contract"].to_numpy(dtype=object)
        reset = np.empty(len(codes), dtype=bool)
        if len(codes):
            reset[0] = codes[0] != last_contract
            reset[1:] = codes[1:] != codes[:-1]
            last_contract = codes[-1]
        reset_parts.append(reset)
    ts = np.concatenate(ts_parts)
    if len(ts) == 0:
        raise DataError("the dataset holds no bars", file=str(folder), hint="check the dataset")
    index = pd.DatetimeIndex(ts.view("datetime64[ns]")).tz_localize("UTC")
    end = default_train_end(index) if train_end is None else as_utc(train_end)
    fitted = None
    if any(g.name == "volatility" for g in chosen):
        stop = int(np.searchsorted(ts, end.value, side="left"))
        arrays = _FitArrays(ts[:stop], np.concatenate(close_parts)[:stop], np.concatenate(reset_parts)[:stop])
        fitted = fit(arrays, end)
    return Context(tick=ES_TICK_SIZE, bars_per_year=bars_per_year(index), fitted=fitted), end


@dataclass(frozen=True)
class PartitionedFeatures:
    """What :func:`build_partitioned` wrote.

    Attributes
    ----------
    out : pathlib.Path
        The feature dataset folder (one ``year=YYYY/month=MM/part.parquet`` per bar month:
        ``timestamp`` (UTC) then one float64 column per feature).
    months : tuple of str
        ``YYYY-MM`` written, in order.
    rows : int
        Bars (rows) written.
    specs : tuple of FeatureSpec
        The columns, in order.
    nan_rows : numpy.ndarray of int64, shape (features,)
        Rows where each feature is NaN (warming up or undefined).
    warmup_rows : int
        Rows with at least one NaN feature.
    context : Context
        The frozen context every month used.
    train_end : pandas.Timestamp
        End of the training span of the fits (UTC; the frozen context's when one was given).
    plan : CarryPlan
        The history each group was given.
    notes : tuple of str
        Features and months whose carried history falls short of what they depend on.
    """

    out: Path
    months: tuple
    rows: int
    specs: tuple
    nan_rows: np.ndarray
    warmup_rows: int
    context: Context
    train_end: pd.Timestamp | None
    plan: CarryPlan
    notes: tuple


def _day_starts(trade_date: np.ndarray) -> np.ndarray:
    d = trade_date.view(np.int64)
    return np.flatnonzero(np.r_[True, d[1:] != d[:-1]]) if len(d) else np.zeros(0, dtype=np.int64)


def _day_end_finite(vix: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per trade date (first rows ``starts`` of ``vix``, shape (n,)): its last bar's VIX is finite."""
    if len(starts) == 0:
        return np.zeros(0, dtype=bool)
    last = np.r_[starts[1:], len(vix)] - 1
    return np.isfinite(vix[last])


def _segment_start(bars: pd.DataFrame, i0: int) -> int:
    """First row of the contract segment (run of one contract) that holds row ``i0``."""
    codes = pd.factorize(bars["contract"].array, sort=False)[0]
    runs = np.flatnonzero(np.r_[True, codes[1:i0 + 1] != codes[:i0]])
    return int(runs[-1])


def _history_start(seg: int, day_starts: np.ndarray, i0: int, sessions: int) -> int:
    """First row a group needs for the month starting at row ``i0``: the earlier of its contract
    segment's first bar ``seg`` and the first bar of ``sessions`` trade dates before the month."""
    k0 = int(np.searchsorted(day_starts, i0, side="left"))
    sess = int(day_starts[max(k0 - sessions, 0)]) if sessions > 0 else i0
    return min(seg, sess)


def _aligned_day(ends: np.ndarray, k0: int, n: int) -> int | None:
    """The latest trade date ``j`` (global index) such that a ring buffer of ``n`` day ends started
    at ``j`` holds the whole build's values in the same slots at day ``k0``.

    ``ends[d]`` is True when day ``d`` ended on a finite value (only those enter the ring, one slot
    each). The ring started at ``j`` writes where the whole build writes when the finite day ends
    before ``j`` are a multiple of ``n``; it holds the same ``min(n, ...)`` values at ``k0`` when at
    least ``n`` finite day ends lie in ``[j, k0)`` (or ``j = 0``). None when no day qualifies.
    """
    before = np.r_[0, np.cumsum(ends[:k0], dtype=np.int64)]  # finite day ends before each day 0..k0
    total = int(before[k0])
    if total < n:
        return 0
    target = (total - n) // n * n
    j = int(np.searchsorted(before, target, side="right")) - 1
    return j if j >= 0 and int(before[j]) == target else None


def build_partitioned(data: str | os.PathLike, out: str | os.PathLike, groups: Sequence[str] | None = None, *,
                      train_end: pd.Timestamp | None = None, context: Context | None = None,
                      chunk_size: int | None = None, carry_sessions: int | None = None,
                      progress: Callable[[str, int], None] | None = None) -> PartitionedFeatures:
    """Build the features of a bar dataset month by month into a feature dataset.

    Parameters
    ----------
    data : str or path-like
        A bar dataset folder (:func:`~futures_vpoc.data.partitioned.write_partitioned`).
    out : str or path-like
        The feature dataset folder to write (absent, empty or an earlier dataset, replaced whole
        once every month is written; a failure leaves it as it was).
    groups : sequence of str, optional
        As in :func:`~futures_vpoc.features.build.build_features`.
    train_end : pandas.Timestamp, optional
        End of the training span of the fits (default 70 % of the way through the dataset).
    context : Context, optional
        A frozen context (nothing is fit; ``train_end`` ignored).
    chunk_size : int, optional
        Most bars per kernel call (the values do not depend on it).
    carry_sessions : int, optional
        Most trade dates of history kept before a month (:func:`carry_plan`).
    progress : callable, optional
        ``progress(month_key, rows)`` after each month is written.

    Returns
    -------
    PartitionedFeatures
        Each month's rows equal the whole build's (``build_features`` of the concatenated dataset
        with the same context) wherever the carried history covers what the features depend on;
        :attr:`PartitionedFeatures.notes` names where it does not. NaN while warming up, never
        zero-filled.

    Raises
    ------
    UsageError
        Unknown group, bad chunk size or carry, ``out`` not writable as a dataset.
    DataError
        No partitions, an unreadable partition, bars failing the BarFrame checks (named by file).
    """
    chosen = resolve_groups(groups)
    _check_chunk_size(chunk_size)
    parts = partitions(data)
    if not parts:
        raise DataError("no year=YYYY/month=MM/part.parquet partition in the folder", file=str(data),
                        hint="write a dataset with `futures-vpoc data synth --years N --out DIR`")
    if context is None:
        context, train_end = dataset_context(data, chosen, train_end)
    else:
        train_end = context.fitted.train_end if context.fitted is not None else None
    plan = carry_plan(chosen, context.bars_per_year / SESSIONS_PER_YEAR, carry_sessions)
    specs = tuple(s for g in chosen for s in g.specs)
    nan_rows = np.zeros(len(specs), dtype=np.int64)
    warmup_rows = rows = 0
    cut_months: dict[str, list[str]] = {}
    window: pd.DataFrame | None = None
    trimmed = False
    day0 = 0  # global index (trade dates since the data's first) of the window's first trade date
    ends = np.zeros(0, dtype=bool)  # per trade date of the data so far: ended on a finite VIX
    with DatasetWriter(out) as writer:
        for part, month in zip(parts, iter_partitions(data)):
            if len(month) == 0:
                continue
            bars = month if window is None else pd.concat([window, month])
            i0 = len(bars) - len(month)
            seg = _segment_start(bars, i0)
            days = _day_starts(bars["trade_date"].to_numpy())
            by_start: dict[int, list[str]] = {}
            ends = np.r_[ends, _day_end_finite(bars["vix"].to_numpy()[i0:], days[days >= i0] - i0)]
            k0 = int(np.searchsorted(days, i0, side="left"))
            for g in chosen:
                s = _history_start(seg, days, i0, plan.sessions[g.name])
                if g.name in RING_GROUPS:
                    j = _aligned_day(ends, day0 + k0, RING_GROUPS[g.name])
                    if j is None or j < day0:
                        cut_months.setdefault(f"{g.name} ring", []).append(part.key)
                    else:
                        s = min(s, int(days[j - day0]))
                if s == 0 and trimmed and seg == 0:
                    cut_months.setdefault(g.name, []).append(part.key)
                by_start.setdefault(s, []).append(g.name)
            columns: dict[str, np.ndarray] = {}
            for s, names in by_start.items():
                try:
                    table = build_features(bars.iloc[s:], groups=names, chunk_size=chunk_size, context=context)
                except DataError as exc:
                    if exc.file is not None:
                        raise
                    raise DataError(exc.problem, file=str(part.path), column=exc.column, value=exc.value,
                                    hint=exc.hint) from None
                block = table.frame.to_numpy()[i0 - s:]
                for j, spec in enumerate(table.specs):
                    columns[spec.column] = block[:, j]
            values = np.column_stack([columns[s.column] for s in specs]) if specs else np.empty((len(month), 0))
            isnan = np.isnan(values)
            nan_rows += isnan.sum(axis=0)
            warmup_rows += int(isnan.any(axis=1).sum())
            rows += len(month)
            frame = pd.DataFrame(values, index=month.index, columns=[s.column for s in specs])
            table_out = frame.reset_index()
            writer.write(part.year, part.month, lambda path, t=table_out: t.to_parquet(
                path, engine="pyarrow", index=False, use_dictionary=False))
            if progress is not None:
                progress(part.key, len(month))
            if len(days) > plan.carry_sessions:
                day0 += len(days) - plan.carry_sessions
                window = bars.iloc[int(days[-plan.carry_sessions]):]
                trimmed = True
            else:
                window = bars
        if not writer.written:
            raise DataError("the dataset holds no bars", file=str(data), hint="check the dataset")
        folder = writer.commit()
    notes = list(plan.notes)
    for name, keys in cut_months.items():
        if name.endswith(" ring"):
            notes.append(f"group {name}: in {len(keys)} month(s) ({keys[0]} ... {keys[-1]}) the carried "
                         f"{plan.carry_sessions} trade dates hold too few day ends to start the trailing-year ring "
                         "where the whole build has it: its mean and sd are summed in another order (last-bit "
                         "differences), over fewer days where the year is cut")
            continue
        notes.append(f"group {name}: in {len(keys)} month(s) ({keys[0]} ... {keys[-1]}) the contract segment began "
                     f"more than {plan.carry_sessions} trade dates earlier; its recursive features (ATR, EMA, "
                     "GARCH, running sums) start from the carried history there, not from the segment's first bar")
    return PartitionedFeatures(out=folder, months=tuple(writer.written), rows=rows, specs=specs, nan_rows=nan_rows,
                               warmup_rows=warmup_rows, context=context, train_end=train_end, plan=plan,
                               notes=tuple(notes))


def read_feature_dataset(folder: str | os.PathLike) -> pd.DataFrame:
    """A feature dataset's months concatenated: index ``timestamp`` (UTC), one column per feature."""
    frames = []
    for part in partitions(folder):
        frame = pd.read_parquet(part.path, engine="pyarrow")
        frames.append(frame.set_index("timestamp"))
    if not frames:
        raise DataError("no year=YYYY/month=MM/part.parquet partition in the folder", file=str(folder),
                        hint="write one with `futures-vpoc features --data DATASET --out DIR`")
    return pd.concat(frames)
