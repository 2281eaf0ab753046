"""The feature registry: every group's specs and how to compute them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from futures_vpoc.errors import UsageError
from futures_vpoc.features import (
    calendar_features,
    price,
    profile_features,
    technical,
    vix,
    volatility,
    volume,
)
from futures_vpoc.features.spec import GROUPS, FeatureSpec


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


_MODULES = (price, volume, volatility, profile_features, vix, calendar_features, technical)
GROUP_IMPLS: dict[str, Group] = {
    m.GROUP: Group(m.GROUP, tuple(m.SPECS), m.compute, getattr(m, "prepare", None), m.LOOKBACK) for m in _MODULES
}
REGISTRY: dict[str, tuple[FeatureSpec, ...]] = {name: GROUP_IMPLS[name].specs for name in GROUPS}
"""Group name -> its feature specs, in column order."""

assert tuple(GROUP_IMPLS) == GROUPS, "group modules out of GROUPS order"


def resolve_groups(groups: Sequence[str] | None) -> tuple[Group, ...]:
    """The requested groups in :data:`GROUPS` order, each once (None: all).

    Raises
    ------
    UsageError
        On an unknown group name (the message lists the valid ones).
    """
    if groups is None:
        return tuple(GROUP_IMPLS.values())
    if isinstance(groups, str):
        groups = [groups]
    unknown = [g for g in groups if g not in GROUP_IMPLS]
    if unknown:
        raise UsageError(f"unknown feature group {', '.join(map(repr, unknown))}; valid groups: {', '.join(GROUPS)}")
    if not groups:
        raise UsageError(f"no feature group chosen; valid groups: {', '.join(GROUPS)}")
    return tuple(GROUP_IMPLS[g] for g in GROUPS if g in groups)


def all_specs(groups: Sequence[str] | None = None) -> tuple[FeatureSpec, ...]:
    """Specs of the chosen groups, in column order."""
    return tuple(spec for g in resolve_groups(groups) for spec in g.specs)
