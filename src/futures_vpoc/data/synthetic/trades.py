"""The trade prints behind the synthetic market's bars (for bars from trades and exact profiles).

:func:`synthetic_trades` yields :class:`~futures_vpoc.data.trades.chunk.Trades` chunks whose
1-minute time bars (:class:`~futures_vpoc.data.trades.bars.BarBuilder`, ``time:1min``) are
exactly the market's bars: the same stamps, open, high, low, close, volume, contract, trade date
and RTH flag.
:func:`write_synthetic_trades` streams them into a Parquet trades file.

Prints of one bar
-----------------
A bar of volume ``V`` (contracts) gets ``k`` prints, ``k = floor(V * prints_per_contract + u)``
(``u`` uniform: stochastic rounding, so the expected count is ``V * prints_per_contract``) clipped
to ``[prints_needed, V]``, where :func:`prints_needed` is the fewest prints that can draw the bar's
open, high, low and close (1 to 4). Within the bar:

* prices (index points, on the tick grid): the first print at the open, the last at the close, the
  high and the low each touched by one print at a random place in between (high first or low first
  at random, where both orders fit in ``k`` prints); the other prints lie on the straight line
  between those anchors plus -1, 0 or +1 tick (probability 0.15, 0.7, 0.15), clipped to
  ``[low, high]``;
* sizes: positive whole contracts summing to ``V``; ``V - k`` contracts are spread over the prints
  in proportion to Pareto weights ``(1 - u) ** -0.75`` (tail index 4/3): mostly small prints, a
  few large ones;
* times: strictly inside the bar's minute (``start + 1 ns .. start + 60 s - 2 ns``) and strictly
  increasing: the ``k`` order statistics of uniform times (exponential spacings), spread apart by
  at least 1 ns;
* sides: a print above the previous print of the session (the previous bar's close for a bar's
  first print) is buyer-initiated (+1) with probability ``side_accuracy``, one below it
  seller-initiated (-1) with that probability; an unchanged print is on the bar's side (+1 in a
  bar closing above its open, -1 below) with that probability, and in a flat bar repeats the
  previous print's side with it; a session's first print is +1 or -1 at random. A share
  ``unknown_share`` of the prints is then marked unknown (0). So the tick rule recovers the
  aggressor of about ``side_accuracy`` of the price-changing prints, as on real tapes, and a bar's
  buyer share of volume leans with its close - open.

Bars a tape can print
---------------------
The synthetic market has no zero-volume bar (a minute without volume has no bar), and every bar
holds at least as many contracts as its prices need prints (:func:`prints_needed`; the market
floors its volumes so, :func:`~futures_vpoc.data.synthetic.assembly._simulate`), so every bar
comes from whole-contract trades.

Determinism and chunking
------------------------
Every draw comes from a counter-based generator (SplitMix64) keyed by the market's seed,
``seed_offset``, the bar's position in the market and the draw's position in the bar, so a seed
gives the same prints on every run, for every ``sessions_per_chunk``, without one shared stream.
The market's bars are simulated whole (a year: ~350,000 bars, about a second); the prints are made
``sessions_per_chunk`` sessions at a time, so 100M prints never sit in memory at once.

Speed
-----
Two ``@njit`` kernels (prints per bar, then the prints), no Python per bar or per print.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numba import njit

from futures_vpoc.data.barframe import atomic_write
from futures_vpoc.data.formats.linemap import LineMap
from futures_vpoc.data.synthetic.assembly import _Paths, _simulate
from futures_vpoc.data.synthetic.config import SynthConfig
from futures_vpoc.data.synthetic.prices import prints_needed
from futures_vpoc.data.trades.chunk import DEFAULT_CHUNK_ROWS, Trades
from futures_vpoc.errors import UsageError

DEFAULT_PRINTS_PER_CONTRACT = 0.02
"""Default density: a print per 50 contracts (a 2023 market: ~4.4M prints, ~12 per bar, 2-4 for
the quietest bars, ~40 at the RTH midday level)."""

SIDE_ACCURACY = 0.8
"""Default probability that a price-changing print's aggressor agrees with its tick direction."""

_MINUTE_NS = 60_000_000_000
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_UNIT = 1.0 / 9007199254740992.0  # 2**-53
# draw streams within a bar: a print's draw n of stream s is counter 8 * n + s
_S_COUNT, _S_ORDER, _S_ANCHOR, _S_WEIGHT, _S_GAP, _S_NOISE, _S_SIDE, _S_UNKNOWN = range(8)


@njit(cache=True, inline="always")
def _mix(z):  # pragma: no cover - compiled
    """SplitMix64 finaliser of a uint64."""
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return z ^ (z >> np.uint64(31))


@njit(cache=True, inline="always")
def _unit(key, counter):  # pragma: no cover - compiled
    """Uniform draw in [0, 1) number ``counter`` of the stream ``key`` (both uint64)."""
    return np.float64(_mix(key + np.uint64(counter) * _GOLDEN) >> np.uint64(11)) * _UNIT


@njit(cache=True, inline="always")
def _bar_key(seed_key, bar):  # pragma: no cover - compiled
    """The key of bar number ``bar`` (its position in the market)."""
    return _mix(seed_key ^ (np.uint64(bar) * _GOLDEN))


@njit(cache=True)
def _print_counts(seed_key, volume, need, per_contract):  # pragma: no cover - compiled
    """Prints per bar: stochastic rounding of ``volume * per_contract``, clipped to ``[need, volume]``.

    ``volume`` (int64, shape (n,)) is at least ``need``; returns int64 (n,).
    """
    n = volume.shape[0]
    out = np.empty(n, np.int64)
    for b in range(n):
        key = _bar_key(seed_key, b)
        k = np.int64(np.floor(volume[b] * per_contract + _unit(key, _S_COUNT)))
        out[b] = min(max(k, need[b]), volume[b])
    return out


@njit(cache=True)
def _anchors(o, h, lo, c, k, key, prices, places):  # pragma: no cover - compiled
    """Fill the anchor prices (open, the extremes, close; equal neighbours merged) and places.

    Returns the number of anchors ``m`` (1..4); ``prices[:m]`` ticks, ``places[:m]`` print numbers
    (first 0, last ``k - 1``, the middle ones distinct and random).
    """
    m_hl = 1 + (h != o) + (lo != h) + (c != lo)
    m_lh = 1 + (lo != o) + (h != lo) + (c != h)
    high_first = m_hl <= k and (m_lh > k or _unit(key, _S_ORDER) < 0.5)
    first, second = (h, lo) if high_first else (lo, h)
    m = 0
    for p in (o, first, second, c):
        if m == 0 or p != prices[m - 1]:
            prices[m] = p
            m += 1
    places[0] = 0
    if m >= 2:
        places[m - 1] = k - 1
    if m == 3:
        places[1] = 1 + np.int64(_unit(key, 8 + _S_ANCHOR) * (k - 2))
    elif m == 4:
        a = 1 + np.int64(_unit(key, 8 + _S_ANCHOR) * (k - 2))
        b = 1 + np.int64(_unit(key, 16 + _S_ANCHOR) * (k - 3))
        if b >= a:
            b += 1
        places[1], places[2] = min(a, b), max(a, b)
    return m


@njit(cache=True)
def _bar_prices(o, h, lo, c, k, key, out, at, anchor_prices, places):  # pragma: no cover - compiled
    """Ticks of the bar's ``k`` prints into ``out[at:at + k]``."""
    m = _anchors(o, h, lo, c, k, key, anchor_prices, places)
    if m == 1:
        for j in range(k):
            out[at + j] = o
        return
    s = 0
    for j in range(k):
        if j == places[s + 1]:
            s += 1
        if j == places[s]:
            out[at + j] = anchor_prices[s]
            continue
        frac = (j - places[s]) / (places[s + 1] - places[s])
        base = anchor_prices[s] + (anchor_prices[s + 1] - anchor_prices[s]) * frac
        u = _unit(key, 8 * j + _S_NOISE)
        noise = -1 if u < 0.15 else (1 if u >= 0.85 else 0)
        out[at + j] = min(max(np.int64(np.rint(base)) + noise, lo), h)


@njit(cache=True)
def _bar_sizes(volume, k, key, out, at, scratch):  # pragma: no cover - compiled
    """Whole-contract sizes of the bar's ``k`` prints, >= 1, summing to ``volume``.

    ``volume - k`` contracts are handed out in proportion to the Pareto weights ``(1 - u)**-0.75``
    by rounding their running share down (``scratch``: float64, at least ``k`` long).
    """
    extra = volume - k
    total = 0.0
    for j in range(k):
        r = np.sqrt(np.sqrt(1.0 / (1.0 - _unit(key, 8 * j + _S_WEIGHT))))
        scratch[j] = r * r * r
        total += scratch[j]
    cum = 0.0
    given = 0
    for j in range(k):
        cum += scratch[j]
        upto = extra if j == k - 1 else min(np.int64(np.floor(extra * (cum / total))), extra)
        out[at + j] = 1 + upto - given
        given = upto


@njit(cache=True)
def _bar_times(start, k, key, out, at, scratch):  # pragma: no cover - compiled
    """Stamps (ns) of the bar's ``k`` prints: strictly increasing, strictly inside the minute.

    The running sums of ``k + 1`` exponential gaps over their total are the order statistics of
    ``k`` uniform times; each is spread to ``j`` ns past its floor (``scratch``: at least ``k + 1``).
    """
    total = 0.0
    for j in range(k + 1):
        scratch[j] = -np.log(1.0 - _unit(key, 8 * j + _S_GAP))
        total += scratch[j]
    span = _MINUTE_NS - k - 1
    cum = 0.0
    for j in range(k):
        cum += scratch[j]
        out[at + j] = start + 1 + min(np.int64(np.floor(cum / total * span)), span - 1) + j


@njit(cache=True)
def _bar_sides(k, key, ticks, at, prev, prev_side, drift, accuracy, unknown,
               out):  # pragma: no cover - compiled
    """Aggressor sides of the bar's prints (+1 / -1, then 0 for a share ``unknown``).

    ``prev`` is the previous print's ticks (-1: none, the session's first print), ``prev_side``
    its side, ``drift`` the sign of the bar's close - open; returns the side of the bar's last
    print before any is marked unknown.
    """
    side = prev_side
    for j in range(k):
        p = ticks[at + j]
        u = _unit(key, 8 * j + _S_SIDE)
        if prev < 0:
            side = 1 if u < 0.5 else -1
        elif p > prev:
            side = 1 if u < accuracy else -1
        elif p < prev:
            side = -1 if u < accuracy else 1
        elif drift != 0:
            side = drift if u < accuracy else -drift
        elif u >= accuracy:
            side = -side
        prev = p
        out[at + j] = 0 if unknown > 0.0 and _unit(key, 8 * j + _S_UNKNOWN) < unknown else side
    return side


@njit(cache=True)
def _fill_prints(seed_key, first_bar, stamps, open_, high, low, close, volume, counts, new_session,
                 accuracy, unknown, ts, ticks, size, side):  # pragma: no cover - compiled
    """The prints of bars ``first_bar ..`` (local arrays of a session range) into the outputs.

    Parameters
    ----------
    seed_key : uint64
        Key of the market's seed and ``seed_offset``.
    first_bar : int
        Position of the first local bar in the market (keys the draws).
    stamps, open_, high, low, close, volume, counts : int64 arrays, shape (b,)
        Bar starts (ns UTC), prices (ticks), contracts (at least the prints needed), prints.
    new_session : bool array, shape (b,)
        True on a session's first bar (the range starts on one).
    accuracy, unknown : float
        ``side_accuracy`` and ``unknown_share``.
    ts, ticks, size : int64 arrays, shape (counts.sum(),)
    side : int8 array, shape (counts.sum(),)
    """
    prices = np.empty(4, np.int64)
    places = np.empty(4, np.int64)
    scratch = np.empty(counts.max() + 1 if counts.shape[0] else 1)
    at = 0
    prev = np.int64(-1)
    prev_side = np.int64(1)
    for b in range(stamps.shape[0]):
        key = _bar_key(seed_key, first_bar + b)
        k = counts[b]
        if new_session[b]:
            prev = np.int64(-1)
        _bar_prices(open_[b], high[b], low[b], close[b], k, key, ticks, at, prices, places)
        _bar_sizes(volume[b], k, key, size, at, scratch)
        _bar_times(stamps[b], k, key, ts, at, scratch)
        drift = np.int64(np.sign(close[b] - open_[b]))
        prev_side = _bar_sides(k, key, ticks, at, prev, prev_side, drift, accuracy, unknown, side)
        prev = close[b]
        at += k


@dataclass(frozen=True)
class _Tape:
    """The market's bars as the trades print them: per bar ``volume`` (contracts, at least the
    prints needed), ``counts`` (prints) and ``contract`` (into ``names``); ``paths`` the simulation."""

    paths: _Paths
    volume: np.ndarray
    counts: np.ndarray
    names: list[str]
    contract: np.ndarray
    seed_key: np.uint64
    tick: float


def _seed_key(seed: int, seed_offset: int) -> np.uint64:
    """One uint64 key of the market's seed and the trades' offset."""
    state = np.random.SeedSequence([int(seed), int(seed_offset), 0x7472616465]).generate_state(1, np.uint64)
    return np.uint64(state[0])


def _density(volume: np.ndarray, need: np.ndarray, prints_per_contract: float | None,
             target_trades: int | None) -> float:
    """Prints per contract from either knob (``target_trades`` wins).

    For a target, the density whose expected count ``sum(clip(volume * d, need, volume))`` is the
    target (bisection: the clip to the prints each bar needs adds prints at low densities).
    """
    if target_trades is not None:
        total = int(volume.sum())
        if not (isinstance(target_trades, (int, np.integer)) and target_trades > 0):
            raise UsageError(f"target_trades = {target_trades!r}: give a whole number of trades > 0")
        if target_trades > total:
            raise UsageError(f"target_trades = {target_trades:,} exceeds the market's {total:,} contracts "
                             "(a print holds at least one): widen --start/--end or raise rth_volume")
        lo, hi = 0.0, 1.0
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if np.clip(volume * mid, need, volume).sum() < target_trades else (lo, mid)
        return max(hi, 1e-12)
    per = DEFAULT_PRINTS_PER_CONTRACT if prints_per_contract is None else prints_per_contract
    if not (np.isfinite(per) and 0 < per <= 1):
        raise UsageError(f"prints_per_contract = {per!r} is out of range; use a value in (0, 1]")
    return float(per)


def _contract_codes(p: _Paths) -> tuple[list[str], np.ndarray]:
    """Contract names in order of appearance and each bar's code into them (int32, shape (n,))."""
    seen: dict[str, int] = {}
    per_session = np.array([seen.setdefault(str(code), len(seen)) for code in p.codes], np.int32)
    return list(seen), per_session[p.session]


def _tape(config: SynthConfig, prints_per_contract: float | None, target_trades: int | None,
          seed_offset: int) -> _Tape:
    """Simulate the market and fix each bar's volume and number of prints."""
    p = _simulate(config)
    if (p.volume <= 0).any():  # a zero-volume minute has no bar: a broken invariant if not
        raise RuntimeError("synthetic bar without volume")
    need = prints_needed(p.open_, p.high, p.low, p.close)
    volume = p.volume.astype(np.int64)
    if (volume < need).any():  # the market floors its volumes at the prints they need: broken invariant
        raise RuntimeError("synthetic bar with fewer contracts than its prices need prints")
    per = _density(volume, need, prints_per_contract, target_trades)
    key = _seed_key(config.seed, seed_offset)
    names, contract = _contract_codes(p)
    return _Tape(p, volume, _print_counts(key, volume, need, per), names, contract, key, float(config.tick))


def _session_ranges(session: np.ndarray, counts: np.ndarray, per_chunk: int | None) -> list[tuple[int, int]]:
    """Bar ranges ``[lo, hi)`` of whole sessions (``session`` nondecreasing, shape (n,)).

    ``per_chunk`` sessions each; None: as many sessions as keep a range within
    :data:`~futures_vpoc.data.trades.chunk.DEFAULT_CHUNK_ROWS` prints (``counts`` per bar), at
    least one.
    """
    starts = np.flatnonzero(np.r_[True, session[1:] != session[:-1]])
    if per_chunk is not None:
        if not (isinstance(per_chunk, (int, np.integer)) and per_chunk >= 1):
            raise UsageError(f"sessions_per_chunk = {per_chunk!r}: give a whole number >= 1")
        bounds = [*starts[::per_chunk].tolist(), len(session)]
        return list(zip(bounds[:-1], bounds[1:]))
    edges = np.r_[starts, len(session)]
    before = np.r_[0, np.cumsum(counts)][edges]  # prints before each session, and in all
    bounds, lo = [], 0
    while lo < len(starts):
        hi = max(lo + 1, int(np.searchsorted(before, before[lo] + DEFAULT_CHUNK_ROWS, side="right")) - 1)
        bounds.append((int(edges[lo]), int(edges[hi])))
        lo = hi
    return bounds


def _chunk(tape: _Tape, lo: int, hi: int, first_row: int, accuracy: float,
           unknown: float) -> tuple[Trades, np.ndarray]:
    """The Trades of bars ``lo..hi`` (a whole number of sessions) and their sizes as int64."""
    p = tape.paths
    counts = tape.counts[lo:hi]
    n = int(counts.sum())
    ts, ticks, size = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    side = np.empty(n, np.int8)
    session = p.session[lo:hi]
    new_session = np.r_[True, session[1:] != session[:-1]]
    _fill_prints(tape.seed_key, lo, p.stamps[lo:hi], p.open_[lo:hi], p.high[lo:hi], p.low[lo:hi],
                 p.close[lo:hi], tape.volume[lo:hi], counts, new_session, accuracy, unknown, ts, ticks,
                 size, side)
    path = Path(SYNTHETIC_PATH)
    trades = Trades(path, ts, ticks * tape.tick, size.astype(np.float64), side,
                    np.repeat(tape.contract[lo:hi], counts), tape.names,
                    np.arange(first_row, first_row + n, dtype=np.int64), LineMap(path, 0, text=False),
                    side_known=unknown < 1.0)
    return trades, size


def _chunks(tape: _Tape, accuracy: float, unknown: float,
            per_chunk: int | None) -> Iterator[tuple[Trades, np.ndarray]]:
    row = 0
    for lo, hi in _session_ranges(tape.paths.session, tape.counts, per_chunk):
        trades, size = _chunk(tape, lo, hi, row, accuracy, unknown)
        row += len(trades)
        yield trades, size


def _check_side_knobs(side_accuracy: float, unknown_share: float) -> None:
    if not (np.isfinite(side_accuracy) and 0.5 <= side_accuracy <= 1):
        raise UsageError(f"side_accuracy = {side_accuracy!r} is out of range; use a value in [0.5, 1]")
    if not (np.isfinite(unknown_share) and 0 <= unknown_share <= 1):
        raise UsageError(f"unknown_share = {unknown_share!r} is out of range; use a value in [0, 1]")


def synthetic_trades(config: SynthConfig | None = None, *, prints_per_contract: float | None = None,
                     target_trades: int | None = None, side_accuracy: float = SIDE_ACCURACY,
                     unknown_share: float = 0.0, seed_offset: int = 1,
                     sessions_per_chunk: int | None = None) -> Iterator[Trades]:
    """The trade prints behind :func:`~futures_vpoc.data.synthetic.assembly.synthesize`'s bars (module
    docstring: how they are drawn).

    Parameters
    ----------
    config : SynthConfig, optional
        The market (default: :class:`SynthConfig`'s, 2023, seed 7).
    prints_per_contract : float, optional
        Density in (0, 1]: expected prints per contract of a bar, before the clip to the prints
        the bar needs (default :data:`DEFAULT_PRINTS_PER_CONTRACT`; 1 = every print a 1-lot).
    target_trades : int, optional
        Ask for this many prints instead: the density whose expected count is the target (the
        count varies around it by the stochastic rounding, a few thousand in ten million). Fewer
        than the market's bars need (:func:`prints_needed`) cannot be had: the minimum is given.
    side_accuracy : float
        In [0.5, 1]: how often a price-changing print's side agrees with its tick direction.
    unknown_share : float
        In [0, 1]: share of prints whose side is marked unknown (0).
    seed_offset : int
        Mixed with ``config.seed`` into the prints' key: another offset, other prints behind the
        same bars.
    sessions_per_chunk : int, optional
        Sessions per yielded chunk; None: as many whole sessions as fit in
        :data:`~futures_vpoc.data.trades.chunk.DEFAULT_CHUNK_ROWS` prints (one at least). It bounds
        memory only: the prints do not depend on it.

    Yields
    ------
    Trades
        In time order, whole sessions per chunk; path :data:`SYNTHETIC_PATH`, ``row`` numbered
        across chunks, ``size`` whole contracts (float64, as the contract has it), ``side``
        +1 / -1 / 0; every chunk names every contract of the market (``names``).

    Raises
    ------
    UsageError
        A knob out of range, or ``target_trades`` above the market's volume.
    """
    config = config or SynthConfig()
    _check_side_knobs(side_accuracy, unknown_share)
    tape = _tape(config, prints_per_contract, target_trades, seed_offset)
    for trades, _ in _chunks(tape, side_accuracy, unknown_share, sessions_per_chunk):
        yield trades


@dataclass(frozen=True)
class TradesFile:
    """What :func:`write_synthetic_trades` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The Parquet file.
    trades : int
        Rows (prints).
    bars : int
        Market bars behind them.
    prints_per_contract : float
        The density reached: prints / contracts.
    """

    path: Path
    trades: int
    bars: int
    prints_per_contract: float


def trades_schema():
    """The Arrow schema of a Parquet trades file: ``timestamp`` timestamp[ns, UTC], ``price``
    float64 (index points), ``size`` int64 (contracts), ``side`` int8, ``contract`` string."""
    import pyarrow as pa

    return pa.schema([("timestamp", pa.timestamp("ns", tz="UTC")), ("price", pa.float64()),
                      ("size", pa.int64()), ("side", pa.int8()), ("contract", pa.string())])


def _arrow_table(trades: Trades, size: np.ndarray):
    """The Parquet columns of one chunk (:func:`trades_schema`)."""
    import pyarrow as pa

    names = pa.array(trades.names, pa.string())
    columns = [pa.array(trades.ts, pa.timestamp("ns", tz="UTC")), pa.array(trades.price, pa.float64()),
               pa.array(size, pa.int64()), pa.array(trades.side, pa.int8()), names.take(pa.array(trades.contract))]
    return pa.Table.from_arrays(columns, schema=trades_schema())


def write_synthetic_trades(path: str | os.PathLike, config: SynthConfig | None = None, *,
                           prints_per_contract: float | None = None, target_trades: int | None = None,
                           side_accuracy: float = SIDE_ACCURACY, unknown_share: float = 0.0,
                           seed_offset: int = 1, sessions_per_chunk: int | None = None,
                           row_group_rows: int = 1 << 20) -> TradesFile:
    """Write :func:`synthetic_trades` to a Parquet trades file, chunk by chunk.

    Columns ``timestamp`` (timestamp[ns, UTC]), ``price`` (float64, index points), ``size`` (int64,
    contracts), ``side`` (int8: +1 buyer, -1 seller, 0 unknown), ``contract`` (string). Memory holds
    one chunk (about :data:`~futures_vpoc.data.trades.chunk.DEFAULT_CHUNK_ROWS` prints by default),
    never the whole file; the file appears complete or not at all.

    Parameters
    ----------
    path : path-like
        The ``.parquet`` file to write (replaced if it exists).
    config, prints_per_contract, target_trades, side_accuracy, unknown_share, seed_offset, sessions_per_chunk
        As for :func:`synthetic_trades`.
    row_group_rows : int
        Rows per Parquet row group.

    Returns
    -------
    TradesFile
    """
    import pyarrow.parquet as pq

    config = config or SynthConfig()
    _check_side_knobs(side_accuracy, unknown_share)
    tape = _tape(config, prints_per_contract, target_trades, seed_offset)
    rows = 0

    def write(tmp: str) -> None:
        nonlocal rows
        with pq.ParquetWriter(tmp, trades_schema()) as writer:
            for trades, size in _chunks(tape, side_accuracy, unknown_share, sessions_per_chunk):
                writer.write_table(_arrow_table(trades, size), row_group_size=row_group_rows)
                rows += len(trades)

    atomic_write(Path(path), write)
    per = float(np.sum(tape.counts)) / float(np.sum(tape.volume))
    return TradesFile(Path(path), rows, len(tape.counts), per)


SYNTHETIC_PATH = "<synthetic>"
"""The ``path`` of the chunks :func:`synthetic_trades` yields."""

__all__ = ["DEFAULT_PRINTS_PER_CONTRACT", "SIDE_ACCURACY", "SYNTHETIC_PATH", "TradesFile",
           "prints_needed", "synthetic_trades", "trades_schema",
           "write_synthetic_trades"]
