"""The profile definition as plain Python loops, slow and easy to check against the docstring.

Nothing here is used by the fast path; the tests run these loops and the numba kernels on random
sessions and demand identical numbers (:mod:`futures_vpoc.profile.kernels`). Histograms are dicts
``{tick level: volume}``; bars are tuples ``(low, high, close, volume)`` with tick levels.
Additions happen in the same order as in the kernels (bar by bar, levels ascending), so even
fractional volumes give bit-identical floats.
"""

from __future__ import annotations

import math


def level(price: float, tick: float) -> int:
    """Tick level of a price: the nearest multiple of ``tick`` (halves to even)."""
    return round(price / tick)


def allocate(low: int, high: int, close: int, volume: float, allocation: str) -> dict[int, float]:
    """What one bar puts on each level.

    ``close``: the whole volume at the close. ``tpo``: 1 on every level from low to high.
    ``uniform``: every level from low to high gets the whole part ``floor(volume / n)``; the
    remainder is handed out one contract at a time to the levels nearest the close (the lower one
    first at equal distance), the last piece being the fractional rest.
    """
    if allocation == "close":
        return {close: volume}
    levels = range(low, high + 1)
    if allocation == "tpo":
        return {k: 1.0 for k in levels}
    n = len(levels)
    whole = float(math.floor(volume / n))
    if whole * n > volume:  # the division rounded up across an integer
        whole -= 1.0
    elif (whole + 1.0) * n <= volume:
        whole += 1.0
    amounts = {k: whole for k in levels}
    remainder = volume - whole * n
    for k in sorted(levels, key=lambda k: (abs(k - close), k)):
        if remainder <= 0:
            break
        piece = min(1.0, remainder)
        amounts[k] = whole + piece
        remainder -= piece
    return amounts


def histogram(bars, allocation: str) -> tuple[dict[int, float], float]:
    """Profile of a list of bars: level volumes and the profile total (volume, or TPO count)."""
    hist: dict[int, float] = {}
    total = 0.0
    for low, high, close, volume in bars:
        amounts = allocate(low, high, close, volume, allocation)
        for k in sorted(amounts):
            hist[k] = hist.get(k, 0.0) + amounts[k]
        total += (high - low + 1) if allocation == "tpo" else volume
    return hist, total


def held_range(hist: dict[int, float]) -> tuple[int, int] | None:
    """Lowest and highest level holding volume, or None."""
    held = [k for k, v in hist.items() if v > 0]
    return (min(held), max(held)) if held else None


def vpoc(hist: dict[int, float]) -> int | None:
    """Level of greatest volume; ties: nearest the middle of the held range, then the lower."""
    span = held_range(hist)
    if span is None:
        return None
    top = max(hist.values())
    tied = [k for k, v in hist.items() if v == top]
    return min(tied, key=lambda k: (abs(2 * k - (span[0] + span[1])), k))


def value_area(hist: dict[int, float], poc: int, target: float, expansion: str) -> tuple[int, int, float]:
    """Grow from the VPOC: add the larger of the next ``step`` levels above / below (tie: above)
    until the volume inside reaches ``target`` or the held range is used up.

    Returns ``(val, vah, volume inside)``.
    """
    lowest, highest = held_range(hist)
    step = 2 if expansion == "two" else 1
    lo = hi = poc
    inside = hist[poc]
    while inside < target:
        above = [k for k in range(hi + 1, hi + 1 + step) if k <= highest]
        below = [k for k in range(lo - 1, lo - 1 - step, -1) if k >= lowest]
        if not above and not below:
            break
        up = sum(hist.get(k, 0.0) for k in above)
        down = sum(hist.get(k, 0.0) for k in below)
        if above and (not below or up >= down):
            hi += len(above)
            inside += up
        else:
            lo -= len(below)
            inside += down
    return lo, hi, inside


def session(bars, allocation: str = "uniform", share: float = 0.7, expansion: str = "two") -> dict:
    """Finished profile of one session: ``hist, total, vpoc, val, vah, va_volume`` (levels; None
    when no level holds volume)."""
    hist, total = histogram(bars, allocation)
    poc = vpoc(hist)
    if poc is None:
        return {"hist": hist, "total": total, "vpoc": None, "val": None, "vah": None, "va_volume": 0.0}
    val, vah, inside = value_area(hist, poc, share * total, expansion)
    return {"hist": hist, "total": total, "vpoc": poc, "val": val, "vah": vah, "va_volume": inside}


def developing(bars, allocation: str = "uniform", share: float = 0.7, expansion: str = "two") -> list[tuple]:
    """``(vpoc, val, vah)`` after each bar, each recomputed from the session's first bar."""
    out = []
    for t in range(len(bars)):
        s = session(bars[: t + 1], allocation, share, expansion)
        out.append((s["vpoc"], s["val"], s["vah"]))
    return out


def sessions(keys) -> list[tuple[int, int]]:
    """``[start, stop)`` bar ranges of the runs of equal ``(trade_date, contract)`` keys."""
    out = []
    for i, key in enumerate(keys):
        if i == 0 or key != keys[i - 1]:
            out.append([i, i + 1])
        else:
            out[-1][1] = i + 1
    return [tuple(r) for r in out]


def prior_levels(bars, keys, session_ranges, session_vpocs, scope: str = "globex") -> list[dict]:
    """At every bar: the latest completed session of its contract and the naked VPOCs.

    ``bars`` are ``(low, high)`` levels of every bar (all scopes), ``keys`` their
    ``(trade_date, contract)``, ``session_ranges`` the positions ``(first, last + 1)`` of each
    session's first and last bar and ``session_vpocs`` their VPOC levels (None without volume).
    A session counts at bar ``i`` once a bar after its last bar, up to ``i``, shows it is over
    (any bar; for the ETH scope, whose sessions resume after RTH, a bar of another trade date or
    contract), if the contract has not changed since the session began. Its VPOC is naked while no
    bar after its last bar, up to ``i``, has ``low <= vpoc <= high``.
    Returns per bar ``{"prev": session or None, "above": level or None, "below": level or None,
    "count": int}``.
    """
    out = []
    for i, (low, high) in enumerate(bars):
        since = i
        while since > 0 and keys[since - 1][1] == keys[i][1]:
            since -= 1
        done = []
        for j, (a, b) in enumerate(session_ranges):
            later = keys[b: i + 1]
            over = any(k != keys[a] for k in later) if scope == "eth" else len(later) > 0
            if a >= since and over:
                done.append(j)
        naked = set()
        for j in done:
            v = session_vpocs[j]
            if v is not None and not any(lo <= v <= hi for lo, hi in bars[session_ranges[j][1]: i + 1]):
                naked.add(v)
        above = [v for v in naked if v > high]
        below = [v for v in naked if v < low]
        out.append({"prev": done[-1] if done else None, "above": min(above) if above else None,
                    "below": max(below) if below else None, "count": len(naked)})
    return out
