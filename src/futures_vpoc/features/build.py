"""``build_features``: run the chosen groups over a BarFrame, segment by segment, chunk by chunk."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from futures_vpoc.config import ES_TICK_SIZE
from futures_vpoc.data.barframe import bar_width
from futures_vpoc.errors import UsageError
from futures_vpoc.features.common import Context
from futures_vpoc.features.fit import as_utc, default_train_end, fit
from futures_vpoc.features.registry import Group, resolve_groups
from futures_vpoc.features.segments import BarArrays, bar_arrays, chunks
from futures_vpoc.features.spec import FeatureTable
from futures_vpoc.features.streams import Streams

SESSION_MINUTES = 1380  # a 23-hour Globex session (17:00-16:00 CT)
SESSIONS_PER_YEAR = 252


def _check_chunk_size(chunk_size) -> int | None:
    if chunk_size is None:
        return None
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size < 1:
        raise UsageError(f"chunk_size {chunk_size!r}: use a whole number of bars >= 1 (or none)")
    return int(chunk_size)


def bars_per_year(index: pd.DatetimeIndex) -> float:
    """252 sessions x bars per 23-hour session at the data's bar width (daily bars: 252)."""
    minutes = bar_width(index) / pd.Timedelta(minutes=1)
    per_session = 1.0 if minutes >= SESSION_MINUTES else max(1.0, round(SESSION_MINUTES / minutes))
    return SESSIONS_PER_YEAR * per_session


def _context(arrays: BarArrays, chosen: tuple[Group, ...], train_end, frozen: Context | None) -> Context:
    if frozen is not None:  # a trained model's settings: nothing is fit or measured on these bars
        if any(g.name == "volatility" for g in chosen) and frozen.fitted is None:
            raise UsageError("the volatility group needs the frozen fits (GARCH, regime edges) of its context")
        return frozen
    end = default_train_end(arrays.index) if train_end is None else as_utc(train_end)
    fitted = fit(arrays, end) if any(g.name == "volatility" for g in chosen) else None
    return Context(tick=ES_TICK_SIZE, bars_per_year=bars_per_year(arrays.index), fitted=fitted)


def _run_segment(bars, arrays, seg, chosen, streams, ctx, chunk_size, out, first_col) -> None:
    s0, s1 = int(arrays.segments[seg]), int(arrays.segments[seg + 1])
    prepared = {g.name: g.prepare(bars.iloc[s0:s1], ctx, s0) if g.prepare else None for g in chosen}
    for chunk in chunks(arrays, seg, chunk_size):
        for g in chosen:
            st = streams[g.name]
            st.begin_chunk()
            values = g.compute(chunk, st, ctx, prepared[g.name])
            if set(values) != {spec.name for spec in g.specs}:
                raise RuntimeError(f"group {g.name} computed {sorted(values)}, registry lists other names")
            for j, spec in enumerate(g.specs):
                out[chunk.start:chunk.stop, first_col[g.name] + j] = values[spec.name]


def build_features(bars: pd.DataFrame, groups: Sequence[str] | None = None, chunk_size: int | None = None,
                   train_end: pd.Timestamp | None = None, *, context: Context | None = None) -> FeatureTable:
    """Every registered feature of the chosen groups for every bar of a BarFrame.

    Parameters
    ----------
    bars : pandas.DataFrame
        A BarFrame (DESIGN.md section 2): prices > 0, finite; one contract at a time.
    groups : sequence of str, optional
        Names from :data:`~futures_vpoc.features.GROUPS` (default all); columns always come in
        GROUPS order, each group once.
    chunk_size : int, optional
        Most bars handed to a kernel at once (default: a whole contract segment). Bounds the
        working memory of the stream groups; the result is identical for every value (kernels
        carry their state from chunk to chunk). The profile group always works per segment.
    train_end : pandas.Timestamp, optional
        Fitted quantities (GARCH(1,1) parameters, volatility-regime edges) use only bars with
        timestamp < train_end; default: 70 % of the way from the first to the last bar start
        (:func:`~futures_vpoc.features.fit.default_train_end`). A naive value is read as UTC.
        Only the volatility group fits anything.
    context : Context, optional
        A frozen context (a trained run's tick, bars per year and fits,
        :meth:`Context.to_dict`): used as is, ``train_end`` ignored, nothing fit on ``bars``. This
        is how a model is applied to new bars (``futures-vpoc predict``).

    Returns
    -------
    FeatureTable
        One float64 column per feature, NaN while warming up (never zero-filled).

    Raises
    ------
    UsageError
        Unknown group, bad chunk size or train_end.
    DataError
        Bars that fail the BarFrame checks, a missing ``vix`` column, a price <= 0, or too few
        training bars for the volatility group's fit.
    """
    chosen = resolve_groups(groups)
    size = _check_chunk_size(chunk_size)
    arrays = bar_arrays(bars)
    ctx = _context(arrays, chosen, train_end, context)
    specs = tuple(spec for g in chosen for spec in g.specs)
    first_col, col = {}, 0
    for g in chosen:
        first_col[g.name], col = col, col + len(g.specs)
    # column-major: each feature is written as one contiguous column, and pandas keeps the block
    # as is (its blocks are (columns, rows)), so the frame below shares this memory
    out = np.empty((len(arrays), len(specs)), order="F")
    streams = {g.name: Streams() for g in chosen}
    for seg in range(len(arrays.contracts)):
        _run_segment(bars, arrays, seg, chosen, streams, ctx, size, out, first_col)
    frame = pd.DataFrame(out, index=arrays.index, columns=[s.column for s in specs], copy=False)
    return FeatureTable(frame=frame, specs=specs, warmup_rows=int(np.isnan(out).any(axis=1).sum()), context=ctx)
