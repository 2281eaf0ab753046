"""Contract specifications: multiplier, tick and per-side costs.

Defaults from ``reference/es_market_and_data_formats.md`` section 1 (Lean's IBKR model):
ES $0.85 commission + $1.28 exchange + $0.02 regulatory = $2.15 per contract per side;
MES $0.25 + $0.30 + $0.02 = $0.57. Fee schedules change, so every field is configurable.
"""

from __future__ import annotations

from dataclasses import dataclass

from futures_vpoc.config import ES_MULTIPLIER, ES_TICK_SIZE, MES_MULTIPLIER
from futures_vpoc.errors import UsageError


@dataclass(frozen=True)
class ContractSpec:
    """One futures contract's accounting terms.

    Attributes
    ----------
    symbol : str
        Root, e.g. ``ES``.
    multiplier : float
        Dollars per index point per contract ($50 for ES, $5 for MES).
    tick : float
        Minimum price increment [points] (0.25 for ES).
    cost_per_side : float
        Commission plus exchange and regulatory fees per contract per side [$].
    """

    symbol: str = "ES"
    multiplier: float = ES_MULTIPLIER
    tick: float = ES_TICK_SIZE
    cost_per_side: float = 2.15

    def __post_init__(self) -> None:
        for name in ("multiplier", "tick"):
            value = getattr(self, name)
            if not (value == value and value > 0):
                raise UsageError(f"contract {name} = {value!r} must be > 0")
        if not (self.cost_per_side == self.cost_per_side and self.cost_per_side >= 0):
            raise UsageError(f"--commission = {self.cost_per_side!r} must be >= 0 dollars per contract per side")

    @property
    def tick_value(self) -> float:
        """Dollars per tick per contract ($12.50 for ES)."""
        return self.tick * self.multiplier


ES = ContractSpec("ES", ES_MULTIPLIER, ES_TICK_SIZE, 2.15)
MES = ContractSpec("MES", MES_MULTIPLIER, ES_TICK_SIZE, 0.57)
PRESETS = {"ES": ES, "MES": MES}

RULE_STRATEGIES = ("vpoc_reversion", "vpoc_breakout", "buy_hold", "ma_cross")
"""Strategies that need no model: the VPOC rules and the baselines (:mod:`.strategies`)."""
STRATEGIES = ("model", *RULE_STRATEGIES, "random")
"""Every strategy a backtest knows, the model first."""
ROLL_MODES = ("roll", "close")
"""At a contract change the engine closes and reopens on the new contract (roll) or only closes."""
LEARNER_STRATEGIES = ("logistic", "lightgbm")
"""The run's learner baselines (``prob_<name>`` in its predictions file), traded by the model's rule."""
SESSION_SCOPED = ("model", *LEARNER_STRATEGIES, "vpoc_reversion", "vpoc_breakout")
"""Strategies whose trades live inside one session, so the engine flattens them at each session's
last close by default: the VPOC rules read the prior session's levels for one session, and the
model's label never crosses a session end. ``buy_hold`` and ``ma_cross`` hold overnight; ``random``
follows the strategy it copies. On daily bars (each bar a whole session) nothing is flattened."""

DESCRIPTIONS = {
    "model": "the trained model's predicted direction outside a dead band of +-theta, held for the label horizon",
    "logistic": "the logistic-regression baseline's P(up) (same features, parts and labels as the model), "
                "traded by the model's rule",
    "lightgbm": "the LightGBM baseline's P(up) (same features, parts and labels as the model), traded by the "
                "model's rule",
    "vpoc_reversion": "fade a close outside the prior session's value area back toward the prior VPOC",
    "vpoc_breakout": "follow acceptance outside the prior session's value area, exit back inside it",
    "buy_hold": "long one contract throughout, rolled at each contract change",
    "ma_cross": "long when the 60-bar mean close is above the 240-bar mean, short when below",
    "random": "random trades with the reference strategy's count, holding times and sides",
}
"""What each strategy does, in one line without its holding rule (:func:`describe` adds it)."""


def is_session_scoped(name: str) -> bool:
    """Whether strategy ``name`` is session-scoped (:data:`SESSION_SCOPED`)."""
    return name in SESSION_SCOPED


def holding_rule(flat: bool, daily: bool = False) -> str:
    """The holding rule in words: flat at each session end, or holds overnight and over weekends.

    Parameters
    ----------
    flat : bool
        Whether the engine flattens the strategy at each session's last close.
    daily : bool
        Whether every bar is a whole session (daily bars): then nothing is flattened.
    """
    if daily:
        return "daily bars: each bar is a whole session, so positions are held from session to session"
    if flat:
        return ("flat at each session end: exits at the close of the session's last bar, and no position "
                "opens on a signal from that bar")
    return "holds positions overnight and over weekends"


def describe(name: str, flat: bool, daily: bool = False) -> str:
    """One line for the report: what strategy ``name`` does and its holding rule (:func:`holding_rule`)."""
    return f"{DESCRIPTIONS.get(name, name)}; {holding_rule(flat, daily)}"


def contract_spec(symbol: str, cost_per_side: float | None = None) -> ContractSpec:
    """The preset for ``symbol`` (``ES`` or ``MES``), optionally with another per-side cost [$]."""
    try:
        spec = PRESETS[symbol.upper()]
    except KeyError:
        raise UsageError(f"--contract {symbol!r}: unknown; use one of {', '.join(PRESETS)}") from None
    if cost_per_side is None:
        return spec
    return ContractSpec(spec.symbol, spec.multiplier, spec.tick, float(cost_per_side))
