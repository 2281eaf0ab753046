"""Session volume profiles: one definition of VPOC, value area and developing VPOC.

This docstring is the definition; :mod:`~futures_vpoc.profile.reference` spells it out as plain
loops and :mod:`~futures_vpoc.profile.kernels` computes it fast (numba, one core, no GPU); the
tests prove the two equal. Every function of the package uses these kernels, so there is exactly
one VPOC and one value area (the prior system had two, section 8.2 of its reference).

Price levels
    Level ``k`` is the price ``k * tick`` (``tick`` = 0.25 for ES, set by :class:`ProfileSpec`;
    ``tick <= 0`` is rejected). A price goes to the nearest level, ``rint(price / tick)`` (halves to
    even), held as an int64, so float noise can never split one price into two levels. Profiles
    that are added (chunks, halves, composites) sum equal levels.

Allocation (``ProfileSpec.allocation``) of a bar with levels ``low..high`` (``n`` of them), close
level ``c`` and volume ``v``:
    ``uniform`` (default): each level gets ``q = floor(v / n)``; the remainder ``r = v - q*n`` is
    handed out one contract at a time to the levels nearest the close (c, c-1, c+1, c-2, ...; the
    lower first at equal distance), the last piece being the fraction left. Every piece is an exact
    float, so the profile total equals the bars' total volume exactly (bit for bit for integer
    volumes, which every exchange reports; to float rounding for fractional ones).
    ``close``: the whole ``v`` at ``c``.
    ``tpo``: 1 on every level of the bar (a time profile; its "volume" and total are counts).
    Zero-volume bars add nothing (except one TPO per level touched).

Session
    The bars of one trade date and one contract within the scope: ``globex`` (the whole Globex
    session, default), ``rth`` or ``eth`` (the bars outside RTH: the overnight and post-close
    bars of that trade date). A roll inside a trade date gives two sessions, one per contract;
    a profile never mixes two contracts. A composite sums the last ``N`` sessions of one contract
    (:func:`composite`; it holds fewer than ``N`` right after a roll).

VPOC
    The level of greatest volume among the levels holding volume. Ties: the tied level nearest
    the middle of the held range (``(lowest + highest) / 2``, lowest/highest level holding
    volume), and of two equally near the lower one (the Market Profile convention; a pure function
    of the histogram, so combined partial profiles give the VPOC of the whole). NaN when no level
    holds volume (a session of zero-volume bars).

Value area (``value_area`` = 0.70, ``expansion``)
    Start at the VPOC. Compare the volume of the next two levels above the area with the next two
    below (``two``, the CBOT/Dalton rule, default) or one and one (``one``); add the larger side,
    a tie going up; at the edge of the held range a side has fewer (or no) levels left. Stop as
    soon as the area holds ``value_area * total`` or no level is left. So the area is contiguous,
    holds the VPOC and at least the target share; VAL and VAH are its lowest and highest level.

Developing profile
    At each bar, the VPOC, VAL and VAH of the bar's session over its bars up to and including that
    bar: causal, and equal to the finished values at the session's last bar. Updated incrementally
    (:func:`~futures_vpoc.profile.kernels.developing_profiles`).

Prior levels (:func:`~futures_vpoc.profile.levels.prior_table`)
    At each bar, the previous completed session's VPOC/VAL/VAH and the naked VPOCs: VPOCs of
    completed sessions that no later bar's [low, high] has touched, up to and including this bar;
    the nearest above and below with distances in ticks from the close. Only sessions of the bar's
    own contract count; the state restarts at a roll.

HVN / LVN (:mod:`~futures_vpoc.profile.nodes`)
    Peaks of the smoothed profile (centred mean over a twentieth of the range each side, edge
    means over the existing levels only) above the mean, and the thinnest level between two
    peaks when it is under half the smaller peak; exact rule in that module.

Migration (:mod:`~futures_vpoc.profile.migration`)
    From completed sessions only; a move across a contract change is not a migration (NaN).
"""

from futures_vpoc.lazy import lazy_exports

_EXPORTS = {
    "iter_month_profiles": "partitioned",
    "composite": "composites",
    "composite_table": "composites",
    "DevelopingProfile": "developing",
    "developing_profile": "developing",
    "Migration": "migration",
    "vpoc_migration": "migration",
    "VolumeNodes": "nodes",
    "nodes_table": "nodes",
    "volume_nodes": "nodes",
    "Profile": "session",
    "SessionProfiles": "session",
    "combine": "session",
    "session_profiles": "session",
    "ALLOCATIONS": "spec",
    "EXPANSIONS": "spec",
    "SCOPES": "spec",
    "ProfileSpec": "spec",
}
"""Public name -> the submodule defining it, imported on first use (:mod:`futures_vpoc.lazy`)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "ALLOCATIONS", "EXPANSIONS", "SCOPES", "DevelopingProfile", "Migration", "Profile", "ProfileSpec",
    "SessionProfiles", "VolumeNodes", "combine", "composite", "composite_table", "developing_profile",
    "iter_month_profiles",
    "nodes_table", "session_profiles", "volume_nodes", "vpoc_migration",
]
