"""High- and low-volume nodes of a finished profile.

Rule (documented in the package docstring):

1. Smooth the level volumes over the held range (lowest to highest level holding volume, ``L``
   levels) with a centred mean of ``2 * window + 1`` levels, ``window = max(2, L // 20)`` unless
   given (a twentieth of the range each side: about 5 points on a 100-point ES day); at the
   range's edges the mean is over the levels that exist (no zero padding, which would thin them).
2. A high-volume node (HVN) is a level whose smoothed volume is the largest within ``window``
   levels either side, strictly larger than every such level below it (so a flat top counts once,
   at its lowest level) and strictly larger than the smallest in that neighbourhood (a flat
   stretch is not a peak), and at least ``hvn_factor`` times the mean smoothed volume.
3. A low-volume node (LVN) is, between two neighbouring HVNs, the level of least smoothed volume
   (the lowest such level on a tie), when that volume is at most ``lvn_factor`` times the smaller
   of the two HVNs' smoothed volumes: the thin area separating two distributions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from futures_vpoc.errors import DataError
from futures_vpoc.profile.session import Profile, SessionProfiles


@dataclass(frozen=True)
class VolumeNodes:
    """HVN and LVN prices (index points, ascending) of one profile, with their smoothed volumes."""

    hvn: tuple[float, ...]
    hvn_volume: tuple[float, ...]
    lvn: tuple[float, ...]
    lvn_volume: tuple[float, ...]


def smooth(volume: np.ndarray, window: int) -> np.ndarray:
    """Centred mean over ``2 * window + 1`` levels, averaging only over levels that exist."""
    csum = np.r_[0.0, np.cumsum(volume)]
    idx = np.arange(len(volume))
    lo = np.maximum(idx - window, 0)
    hi = np.minimum(idx + window + 1, len(volume))
    return (csum[hi] - csum[lo]) / (hi - lo)


def _peaks(s: np.ndarray, window: int, floor: float) -> list[int]:
    out = []
    for k in range(len(s)):
        near = s[max(k - window, 0): k + window + 1]
        below = s[max(k - window, 0): k]
        if s[k] >= near.max() and (below < s[k]).all() and s[k] > near.min() and s[k] >= floor:
            out.append(k)
    return out


def volume_nodes(profile: Profile, window: int | None = None, hvn_factor: float = 1.0,
                 lvn_factor: float = 0.5) -> VolumeNodes:
    """HVNs and LVNs of a finished profile (rule in the module docstring).

    Parameters
    ----------
    profile : Profile
        A finished profile.
    window : int, optional
        Half-width of the smoothing and peak neighbourhood, levels (>= 1); default
        ``max(2, L // 20)`` for a held range of ``L`` levels.
    hvn_factor : float
        An HVN's smoothed volume is at least this times the mean smoothed volume.
    lvn_factor : float
        An LVN's smoothed volume is at most this times the smaller neighbouring HVN's.

    Returns
    -------
    VolumeNodes
        Empty tuples for a profile without volume; no LVN without two HVNs.
    """
    if window is not None and window < 1:
        raise DataError("node window must be at least 1 level", column="window", value=window)
    held = np.flatnonzero(profile.volume > 0)
    if len(held) == 0:
        return VolumeNodes((), (), (), ())
    if window is None:
        window = max(2, (held[-1] - held[0] + 1) // 20)
    vol = profile.volume[held[0]: held[-1] + 1]
    prices = profile.prices[held[0]: held[-1] + 1]
    s = smooth(vol, window)
    peaks = _peaks(s, window, hvn_factor * s.mean())
    lvn = []
    for a, b in zip(peaks[:-1], peaks[1:]):
        m = a + 1 + int(np.argmin(s[a + 1: b])) if b > a + 1 else None
        if m is not None and s[m] <= lvn_factor * min(s[a], s[b]):
            lvn.append(m)
    return VolumeNodes(tuple(prices[peaks].tolist()), tuple(s[peaks].tolist()), tuple(prices[lvn].tolist()),
                       tuple(s[lvn].tolist()))


def nodes_table(sessions: SessionProfiles, window: int | None = None, hvn_factor: float = 1.0,
                lvn_factor: float = 0.5) -> pd.DataFrame:
    """HVNs and LVNs of every finished session, one row per node.

    Parameters
    ----------
    sessions : SessionProfiles
    window, hvn_factor, lvn_factor
        As :func:`volume_nodes`.

    Returns
    -------
    pandas.DataFrame
        Columns ``session, trade_date, contract, kind ("hvn"/"lvn"), price, smoothed_volume``.
    """
    rows = []
    for j in range(len(sessions)):
        p = sessions.profile(j)
        nodes = volume_nodes(p, window, hvn_factor, lvn_factor)
        for kind, prices, vols in (("hvn", nodes.hvn, nodes.hvn_volume), ("lvn", nodes.lvn, nodes.lvn_volume)):
            rows += [(j, p.trade_dates[0], p.contract, kind, x, v) for x, v in zip(prices, vols)]
    return pd.DataFrame(rows, columns=["session", "trade_date", "contract", "kind", "price", "smoothed_volume"])
