"""The developing profile one bar at a time, as a live feed delivers bars.

The batch engine (:func:`futures_vpoc.profile.developing_profile`) sizes each session's histogram
from all of its bars; a live feed does not know them yet. :class:`LiveProfile` keeps the running
histogram of the current session on a level grid that grows when a bar reaches past it, and
updates it with the batch kernel's own pieces (:mod:`futures_vpoc.profile.kernels.developing`:
allocation, VPOC tracking, the resumed value-area walk), so the developing VPOC/VAL/VAH are the
batch values bit for bit (level indices are shifted, never rescaled: the VPOC tie-break compares
distances of levels, which a shift leaves unchanged). The naked VPOCs of the contract are the
sorted set of :mod:`futures_vpoc.profile.kernels.prior`, grown when a session ends and erased by
each bar's range.

State layout (numpy arrays, so numba kernels of a caller can update them in place):

- ``hist`` (W,), ``path_lo`` / ``path_hi`` (W + 1,) int64, ``path_in`` (W + 1,): the session's
  histogram (level ``base + k`` at ``hist[k]``) and its recorded value-area walk (``path_in``
  current at the last state only while the exact-sums flag holds);
- ``fstate`` float64: [top, total, dev VPOC, dev VAL, dev VAH (tick levels as floats, NaN while
  the session holds no volume)];
- ``istate`` int64: [n_top, vpoc, plo, phi, last, base, base set (0/1), naked count, exact sums
  (0/1: the session's volumes so far are integers, so its value-area walk is updated
  incrementally; :func:`futures_vpoc.profile.kernels.developing.stays_exact`)];
- ``naked`` int64 (capacity,): the sorted naked VPOC levels, ``naked[:istate[7]]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from futures_vpoc.profile.kernels.developing import advance_bar
from futures_vpoc.profile.kernels.prior import _erase_touched, _insert

NO_RANGE = 1 << 62
"""``plo`` of a session holding no volume yet (any level is below it)."""
WIDTH = 2048
"""Initial histogram width, levels (512 index points of ES), centred on the session's first bar."""

F_TOP, F_TOTAL, F_VPOC, F_VAL, F_VAH = range(5)
I_NTOP, I_VPOC, I_PLO, I_PHI, I_LAST, I_BASE, I_BASED, I_NAKED, I_EXACT = range(9)


@njit(cache=True, error_model="numpy")
def bar_levels(low, high, close, tick):
    """Tick levels of a bar, as :func:`futures_vpoc.profile.grid.to_ticks` (``rint``, halves to even)."""
    return np.int64(np.rint(low / tick)), np.int64(np.rint(high / tick)), np.int64(np.rint(close / tick))


@njit(cache=True, error_model="numpy")
def fits(istate, width, lo, hi):
    """Whether levels ``lo..hi`` fit the histogram (fixing its base at a session's first bar)."""
    if istate[I_BASED] == 0:
        istate[I_BASE] = lo - width // 2
        istate[I_BASED] = 1
    b0 = istate[I_BASE]
    return lo - b0 >= 0 and hi - b0 < width


@njit(cache=True, error_model="numpy", _nrt=False)
def develop(hist, path_lo, path_hi, path_in, fstate, istate, lo, hi, c, v, alloc, share, step):
    """Add one bar (absolute tick levels ``lo..hi``, close ``c``, volume ``v``) to the session.

    The exact update of :func:`futures_vpoc.profile.kernels.developing._develop_session` for one
    bar; the caller has checked :func:`fits`. Writes the developing levels into ``fstate``.
    """
    b0 = istate[I_BASE]
    lo -= b0
    hi -= b0
    c -= b0
    top = fstate[F_TOP]
    total = fstate[F_TOTAL]
    n_top = istate[I_NTOP]
    vpoc = istate[I_VPOC]
    plo = istate[I_PLO]
    phi = istate[I_PHI]
    last = istate[I_LAST]
    exact = istate[I_EXACT] != 0
    top, n_top, vpoc, plo, phi, total, last, exact = advance_bar(hist, path_lo, path_hi, path_in, lo, hi, c, v, alloc,
                                                                 share, step, top, n_top, vpoc, plo, phi, total, last,
                                                                 exact)
    fstate[F_TOP] = top
    fstate[F_TOTAL] = total
    istate[I_NTOP] = n_top
    istate[I_VPOC] = vpoc
    istate[I_PLO] = plo
    istate[I_PHI] = phi
    istate[I_LAST] = last
    istate[I_EXACT] = 1 if exact else 0
    if vpoc >= 0:
        fstate[F_VPOC] = b0 + vpoc
        fstate[F_VAL] = b0 + path_lo[last]
        fstate[F_VAH] = b0 + path_hi[last]


@njit(cache=True, error_model="numpy")
def erase_naked(naked, istate, lo, hi):
    """Erase the naked VPOCs a bar's range ``lo..hi`` touches; return (nearest above, below) as levels (NaN: none)."""
    m, p = _erase_touched(naked, istate[I_NAKED], lo, hi)
    istate[I_NAKED] = m
    above = np.float64(naked[p]) if p < m else np.nan
    below = np.float64(naked[p - 1]) if p > 0 else np.nan
    return above, below


class LiveProfile:
    """Developing profile of the current session and naked VPOCs of the contract, bar by bar.

    Use: :meth:`new_contract` at the first bar of a contract segment, :meth:`end_session` then
    :meth:`start_session` at the first bar of every later session (the session before is then
    known to be complete), and per bar :meth:`ensure` (grows the grid if needed) before the
    numba step calls :func:`develop` and :func:`erase_naked` on the arrays (or :meth:`add`).

    Parameters
    ----------
    spec : ProfileSpec
        Only the Globex scope (every bar belongs to its trade date's session) is supported.
    """

    def __init__(self, spec) -> None:
        if spec.scope != "globex":
            raise ValueError("LiveProfile supports the globex scope only")
        self.spec = spec
        self.alloc = spec.allocation_code
        self.share = float(spec.value_area)
        self.step = 2 if spec.two_level else 1
        self.hist = np.zeros(WIDTH)
        self.path_lo = np.zeros(WIDTH + 1, np.int64)
        self.path_hi = np.zeros(WIDTH + 1, np.int64)
        self.path_in = np.zeros(WIDTH + 1)
        self.fstate = np.zeros(5)
        self.istate = np.zeros(9, np.int64)
        self.naked = np.zeros(64, np.int64)
        self.start_session()

    def new_contract(self) -> None:
        """Forget the naked VPOCs (they belong to the contract before)."""
        self.istate[I_NAKED] = 0

    def start_session(self) -> None:
        """Empty the histogram for a new session."""
        self.hist[:] = 0.0
        self.fstate[:] = (0.0, 0.0, np.nan, np.nan, np.nan)
        self.istate[:I_NAKED] = (0, -1, NO_RANGE, -1, -1, 0, 0)
        self.istate[I_EXACT] = 1

    def levels(self) -> tuple[float, float, float]:
        """Developing VPOC, VAL, VAH of the session so far, tick levels (NaN: no volume yet)."""
        return float(self.fstate[F_VPOC]), float(self.fstate[F_VAL]), float(self.fstate[F_VAH])

    def end_session(self) -> tuple[float, float, float]:
        """The finished session's VPOC/VAL/VAH levels; its VPOC joins the naked set (if any)."""
        vpoc, val, vah = self.levels()
        if vpoc == vpoc:  # not NaN
            m = int(self.istate[I_NAKED])
            if m == len(self.naked):
                self.naked = np.concatenate([self.naked, np.zeros(len(self.naked), np.int64)])
            self.istate[I_NAKED] = _insert(self.naked, m, np.int64(vpoc))
        return vpoc, val, vah

    def ensure(self, lo: int, hi: int) -> None:
        """Grow the histogram grid so levels ``lo..hi`` fit (rare: a session wider than the grid)."""
        width = len(self.hist)
        if fits(self.istate, width, lo, hi):
            return
        b0 = int(self.istate[I_BASE])
        new_b0 = min(b0, lo - width // 2)
        new_top = max(b0 + width, hi + 1 + width // 2)
        shift = b0 - new_b0
        size = new_top - new_b0
        hist = np.zeros(size)
        hist[shift:shift + width] = self.hist
        for name, dtype in (("path_lo", np.int64), ("path_hi", np.int64), ("path_in", np.float64)):
            old = getattr(self, name)
            new = np.zeros(size + 1, dtype)
            new[:len(old)] = old + shift if dtype is np.int64 else old
            setattr(self, name, new)
        self.hist = hist
        st = self.istate
        if st[I_VPOC] >= 0:
            st[I_VPOC] += shift
        if st[I_PHI] >= 0:
            st[I_PLO] += shift
            st[I_PHI] += shift
        st[I_BASE] = new_b0

    def add(self, low: float, high: float, close: float, volume: float) -> tuple[float, float]:
        """Add one bar of the current session; return the nearest naked VPOC levels above and below."""
        lo, hi, c = bar_levels(low, high, close, self.spec.tick)
        self.ensure(lo, hi)
        develop(self.hist, self.path_lo, self.path_hi, self.path_in, self.fstate, self.istate, lo, hi, c,
                float(volume), self.alloc, self.share, self.step)
        return erase_naked(self.naked, self.istate, lo, hi)
