"""The feature registry: every group's specs and how to compute them.

The default selection (``groups=None``) is :data:`~futures_vpoc.features.spec.GROUPS`; the
opt-in groups (:data:`~futures_vpoc.features.spec.OPT_IN_GROUPS`: ``orderflow``) are built only
when named, always after the default ones (:data:`~futures_vpoc.features.spec.ALL_GROUPS` order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from futures_vpoc.errors import UsageError
from futures_vpoc.features import (
    calendar_features,
    orderflow,
    price,
    profile_features,
    technical,
    vix,
    volatility,
    volume,
)
from futures_vpoc.features.spec import ALL_GROUPS, GROUPS, FeatureSpec


@dataclass(frozen=True)
class Group:
    """One feature group.

    Attributes
    ----------
    name : str
    specs : tuple of FeatureSpec
    compute : callable
        ``compute(chunk, streams, ctx, prepared) -> {name: float64 array of the chunk's length}``.
    prepare : callable or None
        ``prepare(segment_bars, ctx, start) -> prepared``, run once per contract segment.
    lookback : int
        Longest window in bars (documentation and tests: a chunk smaller than this still works).
    """

    name: str
    specs: tuple[FeatureSpec, ...]
    compute: Callable
    prepare: Callable | None
    lookback: int


_MODULES = (price, volume, volatility, profile_features, vix, calendar_features, technical, orderflow)
GROUP_IMPLS: dict[str, Group] = {
    m.GROUP: Group(m.GROUP, tuple(m.SPECS), m.compute, getattr(m, "prepare", None), m.LOOKBACK) for m in _MODULES
}
REGISTRY: dict[str, tuple[FeatureSpec, ...]] = {name: GROUP_IMPLS[name].specs for name in GROUPS}
"""Default group name -> its feature specs, in column order (every group's: :data:`GROUP_IMPLS`)."""

assert tuple(GROUP_IMPLS) == ALL_GROUPS, "group modules out of ALL_GROUPS order"


def resolve_groups(groups: Sequence[str] | None) -> tuple[Group, ...]:
    """The requested groups in :data:`~futures_vpoc.features.spec.ALL_GROUPS` order, each once.

    None: the default groups, :data:`~futures_vpoc.features.spec.GROUPS` (the opt-in
    ``orderflow`` only when named).

    Raises
    ------
    UsageError
        On an unknown group name (the message lists the valid ones).
    """
    if groups is None:
        return tuple(GROUP_IMPLS[g] for g in GROUPS)
    if isinstance(groups, str):
        groups = [groups]
    unknown = [g for g in groups if g not in GROUP_IMPLS]
    if unknown:
        raise UsageError(f"unknown feature group {', '.join(map(repr, unknown))}; valid groups: "
                         f"{', '.join(ALL_GROUPS)}")
    if not groups:
        raise UsageError(f"no feature group chosen; valid groups: {', '.join(ALL_GROUPS)}")
    return tuple(GROUP_IMPLS[g] for g in ALL_GROUPS if g in groups)


def all_specs(groups: Sequence[str] | None = None) -> tuple[FeatureSpec, ...]:
    """Specs of the chosen groups, in column order (None: the default groups; every registered
    feature: ``all_specs(ALL_GROUPS)``)."""
    return tuple(spec for g in resolve_groups(groups) for spec in g.specs)
