"""AUC under block resampling: the block-by-block matrix of concordant pairs.

The AUC of a resampled set in which block ``a`` appears ``w_a`` times is

    AUC(w) = sum_ab w_a w_b C[a, b] / ((sum_a w_a P_a) (sum_b w_b N_b))

where ``C[a, b]`` counts the pairs (positive row of block ``a``, negative row of block ``b``) in which
the positive scores higher (a tie counts 1/2), and ``P_a``, ``N_b`` are the blocks' positives and
negatives. With ``w = 1`` it is the Mann-Whitney AUC exactly, so one matrix gives the point estimate
and every bootstrap replicate (a quadratic form) without re-sorting a million scores per replicate.
No library computes ``C`` (scikit-learn and scipy give only the pooled statistic), hence this kernel.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _concordance(score: np.ndarray, positive: np.ndarray, block: np.ndarray, n_blocks: int) -> np.ndarray:
    """``C`` from rows sorted by score (ties in runs); O(n * n_blocks)."""
    c = np.zeros((n_blocks, n_blocks))
    below = np.zeros(n_blocks)  # negatives per block strictly below the current tie run
    tied = np.zeros(n_blocks)  # negatives per block inside the current tie run
    n = score.shape[0]
    i = 0
    while i < n:
        j = i
        while j < n and score[j] == score[i]:
            if not positive[j]:
                tied[block[j]] += 1.0
            j += 1
        for k in range(i, j):
            if positive[k]:
                row = c[block[k]]
                for b in range(n_blocks):
                    row[b] += below[b] + 0.5 * tied[b]
        for k in range(i, j):
            if not positive[k]:
                below[block[k]] += 1.0
                tied[block[k]] = 0.0
        i = j
    return c


def concordance_matrix(y: np.ndarray, score: np.ndarray, block: np.ndarray, n_blocks: int) -> np.ndarray:
    """Concordant-pair counts between blocks.

    Parameters
    ----------
    y : numpy.ndarray of 0/1, shape (n,)
        Labels (1 = positive).
    score : numpy.ndarray of float, shape (n,)
        Scores; higher means more likely positive. Must be finite.
    block : numpy.ndarray of int64, shape (n,)
        Block of each row, 0 .. ``n_blocks - 1``.
    n_blocks : int

    Returns
    -------
    numpy.ndarray of float64, shape (n_blocks, n_blocks)
        ``C[a, b]`` as in the module docstring; ``C.sum() / (P * N)`` is the AUC.
    """
    order = np.argsort(score)  # any order within a tie run: ties are handled as runs
    return _concordance(np.ascontiguousarray(score[order], dtype=np.float64),
                        np.ascontiguousarray(y[order] == 1), np.ascontiguousarray(block[order], dtype=np.int64),
                        int(n_blocks))


__all__ = ["concordance_matrix"]
