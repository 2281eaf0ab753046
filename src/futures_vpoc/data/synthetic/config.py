"""Settings of the synthetic market: :class:`SynthConfig` and the range check of every field.

The model the settings drive is described in :mod:`futures_vpoc.data.synthetic`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from futures_vpoc.config import ES_TICK_SIZE, SessionHours
from futures_vpoc.errors import UsageError


@dataclass(frozen=True)
class SynthConfig:
    """Settings of the synthetic market.

    Attributes
    ----------
    start, end : str
        First and last trade date, inclusive (``YYYY-MM-DD``).
    seed : int
        Seed of the one random generator; same seed, same frame.
    signal : float
        Strength ``S >= 0`` of the planted pull toward the developing VPOC (:mod:`futures_vpoc.data.synthetic`);
        0 = nothing predictable.
    tick : float
        Minimum price increment, index points.
    start_price : float
        Price of the first bar, index points (rounded to the tick).
    annual_vol : float
        Annualised volatility of returns in the median volatility state (fraction, 0.15 = 15 %).
    t_dof : float
        Degrees of freedom of the Student-t return innovations (> 2; lower = fatter tails).
    rth_volume : float
        Mean contracts per minute at the RTH midday level of the volume curve.
    volume_shape : float
        Gamma shape of the per-minute volume (negative binomial); lower = more dispersion and more
        zero-volume (missing) minutes.
    carry_rate : float
        Annual financing minus dividend yield that sets the calendar spread at each roll.
    pull_rate : float
        Fraction of the VPOC gap closed per minute at ``signal = 1``.
    pull_cap : float
        Bound of the pull, in units of the minute's return standard deviation.
    vix_premium : float
        Ratio of the VIX level to the realised volatility it tracks (variance risk premium).
    root : str
        Contract root of the codes (``ES``).
    hours : SessionHours
        RTH window.
    """

    start: str = "2023-01-02"
    end: str = "2023-12-29"
    seed: int = 7
    signal: float = 0.0
    tick: float = ES_TICK_SIZE
    start_price: float = 4000.0
    annual_vol: float = 0.15
    t_dof: float = 4.0
    rth_volume: float = 2000.0
    volume_shape: float = 1.5
    carry_rate: float = 0.02
    pull_rate: float = 0.004
    pull_cap: float = 0.5
    vix_premium: float = 1.25
    root: str = "ES"
    hours: SessionHours = field(default_factory=SessionHours)

    def __post_init__(self) -> None:
        try:
            start, end = pd.Timestamp(self.start), pd.Timestamp(self.end)
        except (ValueError, TypeError) as exc:
            raise UsageError(f"--start/--end: not a date ({exc}); use YYYY-MM-DD") from None
        if end < start:
            raise UsageError(f"--end {self.end} is before --start {self.start}; swap them")
        checks = {
            "--seed": isinstance(self.seed, (int, np.integer)) and self.seed >= 0,
            "--signal": np.isfinite(self.signal) and self.signal >= 0,
            "tick": np.isfinite(self.tick) and self.tick > 0,
            "start_price": np.isfinite(self.start_price) and self.start_price >= 10 * self.tick,
            "annual_vol": np.isfinite(self.annual_vol) and 0 < self.annual_vol < 2,
            "t_dof": np.isfinite(self.t_dof) and self.t_dof > 2,
            "rth_volume": np.isfinite(self.rth_volume) and self.rth_volume > 0,
            "volume_shape": np.isfinite(self.volume_shape) and self.volume_shape > 0,
            "carry_rate": np.isfinite(self.carry_rate) and abs(self.carry_rate) < 1,
            "pull_rate": np.isfinite(self.pull_rate) and 0 <= self.pull_rate <= 1,
            "pull_cap": np.isfinite(self.pull_cap) and self.pull_cap >= 0,
            "vix_premium": np.isfinite(self.vix_premium) and self.vix_premium > 0,
        }
        for name, ok in checks.items():
            if not ok:
                value = getattr(self, name.lstrip("-"))
                raise UsageError(f"{name} = {value!r} is out of range; see SynthConfig for valid values")


__all__ = ["SynthConfig"]
