"""Per-block sums from which every metric of a bootstrap replicate follows (one pass, numba).

A replicate weights each block by how often it was drawn, so a metric that is a ratio of sums over
rows (accuracy, the losses, the calibration gaps) is a ratio of weighted block sums. Column order
is :data:`COLUMNS` then ``gap0 .. gap{N_BINS-1}`` (sum of ``prob - y`` over the rows whose
probability falls in each of ``N_BINS`` equal-width bins). One compiled pass replaces some twenty
numpy passes (``np.bincount`` per column), which is most of the cost at a million rows.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

COLUMNS = ("n", "correct", "majority_correct", "pos", "tp", "neg", "tn", "log_loss", "log_loss_base",
           "brier", "brier_base")
N_BINS = 10
EPS = 1e-15
"""Probabilities are clipped to [EPS, 1 - EPS] inside the log loss (so a 0 or 1 scores finitely)."""


@njit(cache=True, nogil=True)
def _sums(y, prob, block, n_blocks, threshold, majority, base_rate, probabilistic):
    k = 11 + 10
    out = np.zeros((n_blocks, k))
    q = min(max(base_rate, EPS), 1.0 - EPS)
    base_up, base_down = -math.log(q), -math.log1p(-q)
    for i in range(y.shape[0]):
        r = out[block[i]]
        up = y[i] == 1.0
        p = prob[i]
        pred = p > threshold
        r[0] += 1.0
        r[1] += 1.0 if pred == up else 0.0
        r[2] += 1.0 if up == (majority == 1) else 0.0
        if up:
            r[3] += 1.0
            r[4] += 1.0 if pred else 0.0
        else:
            r[5] += 1.0
            r[6] += 0.0 if pred else 1.0
        if probabilistic:
            c = min(max(p, EPS), 1.0 - EPS)
            r[7] += -math.log(c) if up else -math.log1p(-c)
            r[8] += base_up if up else base_down
            r[9] += (p - y[i]) ** 2
            r[10] += (base_rate - y[i]) ** 2
            b = min(int(p * 10.0), 9)
            r[11 + b] += p - y[i]
    return out


def block_sums(y: np.ndarray, prob: np.ndarray, block: np.ndarray, n_blocks: int, *, threshold: float,
               majority: int, base_rate: float, probabilistic: bool) -> dict[str, np.ndarray]:
    """Sums per block of every per-row term.

    Parameters
    ----------
    y : numpy.ndarray of float64 0/1, shape (n,)
    prob : numpy.ndarray of float64, shape (n,)
        P(up) (a score when ``probabilistic`` is False; the loss and gap columns are then zero).
    block : numpy.ndarray of int64, shape (n,)
        Block of each row, 0 .. ``n_blocks - 1``.
    n_blocks : int
    threshold : float
        Up is predicted when ``prob > threshold``.
    majority : {0, 1}
        The baseline's constant prediction.
    base_rate : float
        The constant forecast of the loss baselines.
    probabilistic : bool

    Returns
    -------
    dict of str to numpy.ndarray of float64, shape (n_blocks,)
        :data:`COLUMNS` and ``gap0`` .. ``gap9``.
    """
    table = _sums(np.ascontiguousarray(y, dtype=np.float64), np.ascontiguousarray(prob, dtype=np.float64),
                  np.ascontiguousarray(block, dtype=np.int64), int(n_blocks), float(threshold), int(majority),
                  float(base_rate), bool(probabilistic))
    names = COLUMNS + tuple(f"gap{b}" for b in range(N_BINS))
    return {name: table[:, j].copy() for j, name in enumerate(names)}


__all__ = ["COLUMNS", "EPS", "N_BINS", "block_sums"]
