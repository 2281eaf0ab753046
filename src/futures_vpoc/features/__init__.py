"""Leakage-free features of a BarFrame: a registry of named, typed, causal features in groups.

Public surface: :class:`FeatureSpec` (with its declared :class:`Warmup`, :func:`warmup_of`),
:data:`GROUPS`, :data:`REGISTRY`, :class:`FeatureTable`, :func:`build_features` (block by block:
:func:`feature_blocks`; and
:func:`default_train_end`, :func:`feature_summary`).

Rules every feature follows
---------------------------
Causal
    The value at bar t uses bars up to and including t (``FeatureSpec.lag`` = 0: known at the
    end of bar t) and nothing later; the VIX column is already as of publication. Every kernel
    is a sequential state machine (:mod:`~futures_vpoc.features.kernels`), so a prefix of the
    data gives exactly the values of the whole on the overlap (tested on several prefixes across
    a roll and a daylight-saving change).
No window across a roll
    Prices are raw per contract. Every bar-count window and recursion on prices or returns
    restarts at the first bar of a contract segment (a contiguous run of one ``contract``). Two
    baselines that are not prices span rolls on purpose and say so: the volume norms per clock
    minute (:mod:`.volume`) and the VIX trailing year (:mod:`.vix`).
Names say what they mean
    A number in a name counts bars (``ret_5`` = 5 bars), unless the name says sessions.
NaN, never zero
    A value that does not exist yet (warm-up, a contract's first session for prior-session
    levels) is NaN. A few features have a documented value where a formula degenerates
    (correlation over a constant window 0, RSI without movement 50, Bollinger %b of a constant
    window 0.5, proximity to a naked VPOC that does not exist 0); every divisor by an ATR is
    floored at one tick.
Warm-up declared
    Every spec carries its :class:`Warmup` (bars of the contract segment, sessions of the
    contract, sessions across rolls, VIX closes, or none); the first value is exactly where it
    says (tests/test_features_warmup.py). Each group has members that start within two sessions
    (``volume_rel_tod_sessions``, ``vix_z_sessions``), so short files keep every group.
Fit on train only
    Only the volatility group learns anything (GARCH(1,1) parameters via ``arch``, regime
    edges), from bars before ``train_end`` (:mod:`~futures_vpoc.features.fit`).
Chunk-size invariant
    ``chunk_size`` splits each contract segment into consecutive chunks; the kernels carry their
    state across chunks, performing the same floating-point operations in the same order, so
    the table is bit-identical for every chunk size. The profile group runs the profile engine
    once per contract segment (its naked-VPOC state spans the contract) and slices the result.
"""

from futures_vpoc.lazy import lazy_exports

_EXPORTS = {
    "build_features": "build",
    "feature_blocks": "build",
    "default_train_end": "fit",
    "REGISTRY": "registry",
    "all_specs": "registry",
    "GROUPS": "spec",
    "FeatureSpec": "spec",
    "FeatureTable": "spec",
    "Warmup": "spec",
    "warmup_of": "spec",
    "feature_summary": "summary",
}
"""Public name -> the submodule defining it, imported on first use (:mod:`futures_vpoc.lazy`)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["GROUPS", "REGISTRY", "FeatureSpec", "FeatureTable", "all_specs", "build_features", "feature_blocks",
           "default_train_end",
           "feature_summary", "Warmup", "warmup_of"]
