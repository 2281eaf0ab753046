"""``build_features``: run the chosen groups over a BarFrame, segment by segment, chunk by chunk."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

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
    return replace(_base_context(arrays, None), fitted=fitted)


def _base_context(arrays: BarArrays, frozen: Context | None) -> Context:
    """The settings every group but volatility reads (tick, bars per year): known before any fit."""
    if frozen is not None:
        return frozen
    return Context(tick=ES_TICK_SIZE, bars_per_year=bars_per_year(arrays.index), fitted=None)


def _group_chunk(g: Group, chunk, st: Streams, ctx: Context, prepared) -> list[np.ndarray]:
    """Group ``g``'s feature columns of one chunk, in spec order."""
    st.begin_chunk()
    values = g.compute(chunk, st, ctx, prepared)
    if set(values) != {spec.name for spec in g.specs}:
        raise RuntimeError(f"group {g.name} computed {sorted(values)}, registry lists other names")
    return [values[spec.name] for spec in g.specs]


def _segment_columns(bars, arrays, seg, chosen, streams, ctx, chunk_size) -> Iterator[tuple[int, int, list]]:
    """Each chunk of segment ``seg``: its rows ``(start, stop)`` and its feature columns in spec order."""
    s0, s1 = int(arrays.segments[seg]), int(arrays.segments[seg + 1])
    prepared = {g.name: g.prepare(bars.iloc[s0:s1], ctx, s0) if g.prepare else None for g in chosen}
    for chunk in chunks(arrays, seg, chunk_size):
        columns = []
        for g in chosen:
            columns.extend(_group_chunk(g, chunk, streams[g.name], ctx, prepared[g.name]))
        yield chunk.start, chunk.stop, columns


def _all_columns(bars, arrays, chosen, ctx, chunk_size) -> Iterator[tuple[int, int, list]]:
    """Every chunk of every contract segment in row order (kernels carry their state across chunks)."""
    streams = {g.name: Streams() for g in chosen}
    for seg in range(len(arrays.contracts)):
        yield from _segment_columns(bars, arrays, seg, chosen, streams, ctx, chunk_size)


def _fill_group(out: np.ndarray, first: int, bars, arrays, g: Group, ctx: Context, chunk_size) -> None:
    """Write group ``g``'s columns into ``out[:, first:first + len(g.specs)]``, segment by segment and
    chunk by chunk in row order: the same calls, in the same order, as the row-wise walk of
    :func:`_all_columns` makes for this group (a group's state is its own), so the same values."""
    streams = Streams()
    for seg in range(len(arrays.contracts)):
        s0, s1 = int(arrays.segments[seg]), int(arrays.segments[seg + 1])
        prepared = g.prepare(bars.iloc[s0:s1], ctx, s0) if g.prepare else None
        for chunk in chunks(arrays, seg, chunk_size):
            for j, values in enumerate(_group_chunk(g, chunk, streams, ctx, prepared)):
                out[chunk.start:chunk.stop, first + j] = values


BUILD_THREADS = max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))
"""Threads of :func:`build_features`: the groups run side by side (their numba kernels release the GIL)."""

_HEAVY_FIRST = ("profile", "volume", "orderflow")  # the longest groups start first (a shorter tail)


def _fill_all(out, bars, arrays, chosen, train_end, context, chunk_size) -> Context:
    """Every group's columns into ``out`` (column-major, spec order); returns the context used.

    The fit (volatility only) and the groups run on :data:`BUILD_THREADS` threads: groups are
    independent (each its own streams and prepared state, writing its own columns), so the values
    are those of the sequential walk bit for bit. Errors are raised in a fixed order, whatever
    finishes first: the fit's, then each group's in column order.
    """
    firsts = np.cumsum([0, *(len(g.specs) for g in chosen)])[:-1]
    if BUILD_THREADS == 1:
        ctx = _context(arrays, chosen, train_end, context)
        for g, first in zip(chosen, firsts, strict=True):
            _fill_group(out, int(first), bars, arrays, g, ctx, chunk_size)
        return ctx
    base = _base_context(arrays, context)
    order = sorted(range(len(chosen)), key=lambda i: (chosen[i].name not in _HEAVY_FIRST, chosen[i].name == "volatility"))
    with ThreadPoolExecutor(max_workers=BUILD_THREADS) as pool:
        fitted = pool.submit(_context, arrays, chosen, train_end, context)
        done = {}
        for i in order:
            g = chosen[i]
            if g.name == "volatility":  # needs the fit: waits for it on its own thread
                done[i] = pool.submit(lambda g=g, first=int(firsts[i]): _fill_group(
                    out, first, bars, arrays, g, fitted.result(), chunk_size))
            else:
                done[i] = pool.submit(_fill_group, out, int(firsts[i]), bars, arrays, g, base, chunk_size)
        ctx = fitted.result()
        for i in range(len(chosen)):
            done[i].result()
    return ctx


def _prepare(bars, groups, chunk_size, train_end, context):
    chosen = resolve_groups(groups)
    size = _check_chunk_size(chunk_size)
    arrays = bar_arrays(bars)
    ctx = _context(arrays, chosen, train_end, context)
    specs = tuple(spec for g in chosen for spec in g.specs)
    return chosen, size, arrays, ctx, specs


@dataclass(frozen=True)
class FeatureBlocks:
    """The feature table of a BarFrame delivered block by block (:func:`feature_blocks`).

    Attributes
    ----------
    specs : tuple of FeatureSpec
        The columns, in order.
    index : pandas.DatetimeIndex
        Every bar's start (UTC), shape (n,).
    context : Context
        The settings and fits used.
    blocks : iterator of (int, int, numpy.ndarray)
        ``(start, stop, values)`` in row order, covering rows ``0:n`` once: ``values`` is float64
        ``(stop - start, len(specs))``, column-major, NaN while warming up. Each block is a view
        of one buffer that the next block overwrites: copy what must outlive the step.
    """

    specs: tuple
    index: pd.DatetimeIndex
    context: Context
    blocks: Iterator[tuple[int, int, np.ndarray]]


BLOCK_ROWS = 65_536
"""Default rows per block of :func:`feature_blocks` (a 59-feature block is 31 MB, reused)."""


def feature_blocks(bars: pd.DataFrame, groups: Sequence[str] | None = None, *, context: Context | None = None,
                   train_end: pd.Timestamp | None = None, block_rows: int = BLOCK_ROWS) -> FeatureBlocks:
    """The values of :func:`build_features`, block by block, without the whole table in memory.

    Blocks are chunks in the sense of ``chunk_size`` (at most ``block_rows`` bars of one contract
    segment), so every value equals the whole build's bit for bit (the chunk-invariance tests).
    The checks, calendar and fits run before this returns; the feature kernels run as the blocks
    are taken. Peak memory: one block, instead of the (n, features) table, whose fresh pages
    alone cost ~0.3-1 s per 1M x 59 float64 table on a freshly started process.

    Parameters are those of :func:`build_features` (``block_rows`` >= 1 in place of ``chunk_size``).
    """
    chosen, size, arrays, ctx, specs = _prepare(bars, groups, block_rows, train_end, context)
    buffer = np.empty((min(size, len(arrays)), len(specs)), order="F")

    def blocks() -> Iterator[tuple[int, int, np.ndarray]]:
        for a, b, columns in _all_columns(bars, arrays, chosen, ctx, size):
            view = buffer[:b - a]
            for j, values in enumerate(columns):
                view[:, j] = values
            yield a, b, view

    return FeatureBlocks(specs=specs, index=arrays.index, context=ctx, blocks=blocks())


def build_features(bars: pd.DataFrame, groups: Sequence[str] | None = None, chunk_size: int | None = None,
                   train_end: pd.Timestamp | None = None, *, context: Context | None = None) -> FeatureTable:
    """Every registered feature of the chosen groups for every bar of a BarFrame.

    Parameters
    ----------
    bars : pandas.DataFrame
        A BarFrame (DESIGN.md section 2): prices > 0, finite; one contract at a time.
    groups : sequence of str, optional
        Names from :data:`~futures_vpoc.features.spec.ALL_GROUPS` (default: the default groups
        :data:`~futures_vpoc.features.GROUPS`; the opt-in ``orderflow`` only when named, its inputs
        being columns of ``bars``, see :mod:`~futures_vpoc.features.orderflow`); columns always come
        in ALL_GROUPS order, each group once.
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
    specs = tuple(spec for g in chosen for spec in g.specs)
    # column-major: each feature is written as one contiguous column, and pandas keeps the block
    # as is (its blocks are (columns, rows)), so the frame below shares this memory
    out = np.empty((len(arrays), len(specs)), order="F")
    ctx = _fill_all(out, bars, arrays, chosen, train_end, context, size)
    frame = pd.DataFrame(out, index=arrays.index, columns=[s.column for s in specs], copy=False)
    return FeatureTable(frame=frame, specs=specs, warmup_rows=int(np.isnan(out).any(axis=1).sum()), context=ctx)
