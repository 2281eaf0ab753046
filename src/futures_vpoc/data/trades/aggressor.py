"""Who initiated each trade: the file's aggressor side, else the tick rule.

The same rule as the bars built from trades (:mod:`futures_vpoc.data.trades.bars`, "Buyer and
seller volume"), so a session's buy and sell volume agree between the exact profile and its bars:
a known side (+1 buyer aggressor, -1 seller) counts as that side; an unknown one (0) is classified
by the tick test on the contract's whole price sequence (Lee and Ready, 1991): a price above the
previous print's is a buy, below it a sell, unchanged takes the direction of the last price change;
before the contract's first price change a print stays unclassified (0). The state (last price,
last direction) carries across chunks (:class:`AggressorState`), so the result does not depend on
the chunk size. Pass one contract's prints at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit


@dataclass
class AggressorState:
    """One contract's tick-test state: the last print's price (NaN before any) and the direction
    of the last price change (0 before any)."""

    price: float = float("nan")
    direction: int = 0


@njit(cache=True, nogil=True)
def _classify(price, side, last_price, direction):
    n = len(price)
    out = np.empty(n, np.int8)
    for i in range(n):
        p = price[i]
        if p > last_price:  # NaN (no earlier print) compares False both ways
            direction = 1
        elif p < last_price:
            direction = -1
        last_price = p
        s = side[i]
        out[i] = s if s != 0 else direction
    return out, last_price, direction


def classify(price: np.ndarray, side: np.ndarray, state: AggressorState) -> np.ndarray:
    """Aggressor class of each print of one contract, in time order; updates ``state``.

    Parameters
    ----------
    price : numpy.ndarray of float64, shape (n,)
        Index points, on the tick grid (equal prices are equal floats).
    side : numpy.ndarray of int8, shape (n,)
        +1 buyer aggressor, -1 seller, 0 unknown (as in :class:`~futures_vpoc.data.trades.chunk.Trades`).
    state : AggressorState
        The contract's state before this chunk; updated in place.

    Returns
    -------
    numpy.ndarray of int8, shape (n,)
        +1 buy, -1 sell, 0 unclassified.
    """
    out, state.price, direction = _classify(np.ascontiguousarray(price, dtype=np.float64),
                                            np.ascontiguousarray(side, dtype=np.int8), state.price,
                                            np.int8(state.direction))
    state.direction = int(direction)
    return out


__all__ = ["AggressorState", "classify"]
