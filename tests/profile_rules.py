"""The VPOC and value-area rule of the package docstring (futures_vpoc.profile), written as plainly
as possible, for tests to check the kernels against an independent implementation."""

from __future__ import annotations

import numpy as np


def value_area(h: np.ndarray, share: float = 0.7) -> tuple[int, int, int]:
    """VPOC, VAL, VAH as positions in the histogram ``h`` (float64, one entry per level, ascending,
    from the lowest to the highest level holding volume): the VPOC is the fullest level (ties: the
    one nearest the middle of the range, then the lower); the area grows by the two-level rule,
    the larger side first, a tie going up, until it holds ``share`` of the total."""
    top = h.max()
    mid = (len(h) - 1) / 2
    poc = min((k for k in range(len(h)) if h[k] == top), key=lambda k: (abs(k - mid), k))
    a = b = poc
    inside, target = h[poc], share * h.sum()
    while inside < target and (a > 0 or b < len(h) - 1):
        up = h[b + 1:b + 3].sum() if b < len(h) - 1 else -1.0
        down = h[max(a - 2, 0):a].sum() if a > 0 else -1.0
        if up >= down:
            step = min(2, len(h) - 1 - b)
            inside += h[b + 1:b + 1 + step].sum()
            b += step
        else:
            step = min(2, a)
            inside += h[a - step:a].sum()
            a -= step
    return poc, a, b
