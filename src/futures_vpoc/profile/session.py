"""Finished session profiles: the per-session table, single profiles, and combining profiles."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.errors import DataError
from futures_vpoc.profile.grid import GridBars, prepare
from futures_vpoc.profile.kernels import finished_profiles, profile_stats
from futures_vpoc.profile.spec import ProfileSpec

TABLE_COLUMNS = ("trade_date", "contract", "vpoc", "val", "vah", "va_width", "volume", "poc_volume",
                 "va_volume", "va_share", "profile_total", "low", "high", "bars", "first_bar", "last_bar",
                 "scope")


@dataclass(frozen=True, eq=False)
class Profile:
    """One finished volume profile (a session, part of one, or a composite).

    Attributes
    ----------
    spec : ProfileSpec
        The definition it was built with.
    first_level : int
        Tick level of ``volume[0]`` (price ``first_level * spec.tick``).
    volume : numpy.ndarray of float64, shape (L,)
        Volume (TPO count for ``tpo``) of each level, ascending price; read-only.
    total : float
        Profile total: the bars' volume (``uniform``, ``close``) or TPO count.
    contract : str
        The one contract the profile's bars belong to.
    trade_dates : tuple of pandas.Timestamp
        Trade dates it covers (one for a session).
    vpoc, val, vah : float
        Prices in index points; NaN when no level holds volume.
    poc_volume, va_volume : float
        Volume at the VPOC and inside the value area.
    """

    spec: ProfileSpec
    first_level: int
    volume: np.ndarray
    total: float
    contract: str
    trade_dates: tuple
    vpoc: float
    val: float
    vah: float
    poc_volume: float
    va_volume: float

    @property
    def levels(self) -> np.ndarray:
        """Tick level of each entry of :attr:`volume` (int64, shape (L,))."""
        return self.first_level + np.arange(len(self.volume), dtype=np.int64)

    @property
    def prices(self) -> np.ndarray:
        """Price of each entry of :attr:`volume`, index points (float64, shape (L,))."""
        return self.levels * self.spec.tick

    def as_series(self) -> pd.Series:
        """Volume by price (index ``price``), levels with zero volume included."""
        return pd.Series(self.volume, index=pd.Index(self.prices, name="price"), name="volume")


def make_profile(spec: ProfileSpec, first_level: int, volume: np.ndarray, total: float, contract: str,
                 trade_dates: tuple) -> Profile:
    """Build a :class:`Profile` from a histogram, computing VPOC and value area.

    Parameters
    ----------
    volume : numpy.ndarray of float64, shape (L,)
        Level volumes from ``first_level`` upward; copied and frozen.
    total : float
        Profile total (``volume.sum()`` up to rounding; exact for integer volumes).
    """
    hist = np.array(volume, dtype=np.float64)
    hist.setflags(write=False)
    vpoc, val, vah, _, _, poc, inside = profile_stats(hist, float(total), spec.value_area, spec.two_level)
    prices = [(first_level + k) * spec.tick if k >= 0 else np.nan for k in (vpoc, val, vah)]
    return Profile(spec, int(first_level), hist, float(total), contract, tuple(trade_dates), *prices, float(poc),
                   float(inside))


def combine(*profiles: Profile) -> Profile:
    """Sum profiles level by level (equal tick levels add) and recompute VPOC and value area.

    This is how partial profiles (two halves of a session, chunks, or sessions of a composite)
    merge: the result equals the profile of all their bars at once.

    Raises
    ------
    DataError
        When no profile is given, or they differ in definition or contract.
    """
    if not profiles:
        raise DataError("nothing to combine", hint="pass at least one profile")
    spec, contract = profiles[0].spec, profiles[0].contract
    if any(p.spec != spec for p in profiles) or any(p.contract != contract for p in profiles):
        raise DataError("profiles of different definitions or contracts cannot be combined",
                        hint="a profile never mixes two contracts")
    lo = min(p.first_level for p in profiles)
    hi = max(p.first_level + len(p.volume) for p in profiles)
    hist = np.zeros(hi - lo)
    total = 0.0
    for p in profiles:
        hist[p.first_level - lo:p.first_level - lo + len(p.volume)] += p.volume
        total += p.total
    dates = tuple(sorted({d for p in profiles for d in p.trade_dates}))
    return make_profile(spec, lo, hist, total, contract, dates)


@dataclass(frozen=True, eq=False)
class SessionProfiles:
    """Finished profiles of every session in scope.

    Attributes
    ----------
    spec : ProfileSpec
        The definition used.
    table : pandas.DataFrame
        One row per session, in time order, index ``session`` (0..s-1). Columns: ``trade_date``,
        ``contract``, ``vpoc``, ``val``, ``vah`` (index points; NaN when the session holds no
        volume), ``va_width`` (``vah - val``, points), ``volume`` (the bars' volume), ``poc_volume``,
        ``va_volume``, ``va_share`` (``va_volume / profile_total``), ``profile_total`` (= volume, or
        the TPO count), ``low``/``high`` (lowest/highest level holding volume, points), ``bars``,
        ``first_bar``/``last_bar`` (bar start times, UTC), ``scope``.
    base : numpy.ndarray of int64, shape (s,)
        Tick level of each session's first histogram entry.
    offsets : numpy.ndarray of int64, shape (s + 1,)
        Session ``j``'s level volumes are ``hist[offsets[j]:offsets[j+1]]``.
    hist : numpy.ndarray of float64
        All sessions' level volumes, concatenated.
    last_pos : numpy.ndarray of int64, shape (s,)
        Position in the BarFrame of each session's last bar.
    """

    spec: ProfileSpec
    table: pd.DataFrame
    base: np.ndarray
    offsets: np.ndarray
    hist: np.ndarray
    last_pos: np.ndarray

    def __len__(self) -> int:
        return len(self.table)

    def profile(self, j: int) -> Profile:
        """The :class:`Profile` of session ``j`` (row ``j`` of :attr:`table`; negative counts back)."""
        j = range(len(self.table))[j]
        row = self.table.iloc[j]
        vol = self.hist[self.offsets[j]:self.offsets[j + 1]]
        return make_profile(self.spec, int(self.base[j]), vol, float(row["profile_total"]), str(row["contract"]),
                            (row["trade_date"],))

    def levels_table(self, **per_level: np.ndarray) -> pd.DataFrame:
        """Volume at every level holding volume, session by session, ascending price.

        Parameters
        ----------
        **per_level : numpy.ndarray, each shaped like :attr:`hist`
            More per-level columns (e.g. buy and sell volume of an exact profile).

        Returns
        -------
        pandas.DataFrame
            Columns ``session`` (row of :attr:`table`), ``trade_date``, ``contract``, ``price``
            (points), ``volume``, then ``per_level``'s keys.
        """
        counts = np.diff(self.offsets)
        session = np.repeat(np.arange(len(counts)), counts)
        level = np.repeat(self.base, counts) + (np.arange(len(self.hist)) - np.repeat(self.offsets[:-1], counts))
        held = self.hist > 0
        cols = {"session": session[held], "trade_date": self.table["trade_date"].to_numpy()[session[held]],
                "contract": self.table["contract"].to_numpy()[session[held]],
                "price": level[held] * self.spec.tick, "volume": self.hist[held]}
        cols.update({k: v[held] for k, v in per_level.items()})
        return pd.DataFrame(cols)

    def find(self, trade_date) -> list[int]:
        """Rows of the sessions of ``trade_date`` (one, or two when a roll splits the date)."""
        day = pd.Timestamp(trade_date).normalize()
        return [int(i) for i in np.flatnonzero(self.table["trade_date"].to_numpy() == day.to_datetime64())]


def _table(g: GridBars, spec: ProfileSpec, stats: np.ndarray, totals: np.ndarray) -> pd.DataFrame:
    tick = spec.tick
    has = totals[:, 1] > 0
    price = np.where(has[:, None], stats * tick, np.nan)
    bars = np.diff(g.bounds)
    first = g.take[g.bounds[:-1]]
    last = g.take[g.bounds[1:] - 1]
    volume = np.add.reduceat(g.scoped(g.volume), g.bounds[:-1]) if spec.allocation == "tpo" else totals[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(totals[:, 0] > 0, totals[:, 2] / np.where(totals[:, 0] > 0, totals[:, 0], 1.0), np.nan)
    table = pd.DataFrame({
        "trade_date": g.trade_date,
        "contract": pd.array(g.contracts[g.session_contract], dtype="str"),
        "vpoc": price[:, 0], "val": price[:, 1], "vah": price[:, 2],
        "va_width": price[:, 2] - price[:, 1],
        "volume": volume, "poc_volume": totals[:, 1], "va_volume": totals[:, 2], "va_share": share,
        "profile_total": totals[:, 0], "low": price[:, 3], "high": price[:, 4],
        "bars": bars.astype(np.int64), "first_bar": g.index[first], "last_bar": g.index[last],
        "scope": spec.scope,
    }, index=pd.RangeIndex(len(bars), name="session"))
    return table[list(TABLE_COLUMNS)]


def build_sessions(g: GridBars, spec: ProfileSpec) -> SessionProfiles:
    """Finished profiles of prepared bars (see :func:`session_profiles`)."""
    base, offsets, hist, stats, totals = finished_profiles(
        g.low, g.high, g.close, g.volume, g.take, g.bounds, spec.allocation_code, spec.value_area,
        spec.two_level)
    hist.setflags(write=False)
    last = g.take[g.bounds[1:] - 1]
    return SessionProfiles(spec, _table(g, spec, stats, totals), base, offsets, hist, last)


def session_profiles(bars: pd.DataFrame, spec: ProfileSpec | None = None) -> SessionProfiles:
    """Finished volume profile, VPOC and value area of every session of a BarFrame.

    Parameters
    ----------
    bars : pandas.DataFrame
        A BarFrame (DESIGN.md section 2). Prices must be finite; volume finite and >= 0.
    spec : ProfileSpec, optional
        The definition (default: tick 0.25, uniform, 70 %, two-level, whole Globex session).

    Returns
    -------
    SessionProfiles

    Raises
    ------
    DataError
        Unsorted bars, NaN prices or volumes, high < low, a close outside its bar, no trade
        date, no bar in scope, or a (trade date, contract) that comes back.
    """
    spec = spec or ProfileSpec()
    return build_sessions(prepare(bars, spec), spec)
