"""Dependence-aware test statistics: ``evaluate_predictions`` on 1M predictions with 1,000 session
block bootstrap replicates (every metric, AUC included), against a plain numpy accuracy + rank AUC
of the same rows in the same run (what the independent-rows method costs).

Budget (issue 14): <= 5 s on 2 cores, median of at least 5 runs. 1M one-minute predictions span
about 725 sessions; they are grouped into at most 500 blocks (``evaluation.blocks.MAX_BLOCKS``).
"""

from __future__ import annotations

import numpy as np
from _common import line, median_seconds, scaled
from scipy.stats import rankdata

BUDGET_S = 5.0
BARS_PER_SESSION = 1380


def _inputs(n: int):
    rng = np.random.default_rng(0)
    y = (rng.random(n) < 0.5).astype(np.float64)
    prob = np.clip(0.5 + 0.05 * (y - 0.5) + 0.1 * rng.standard_normal(n), 0.0, 1.0)
    sessions = np.arange(n) // BARS_PER_SESSION
    dates = np.datetime64("2020-01-02") + sessions.astype("timedelta64[D]")
    return y, prob, dates


def _plain(y, prob) -> None:
    np.mean((prob > 0.5) == (y == 1))
    ranks = rankdata(prob)
    n1 = y.sum()
    (ranks[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * (len(y) - n1))


def main(repeats: int = 3) -> None:
    from futures_vpoc.evaluation import evaluate_predictions

    repeats = max(5, repeats)
    n = scaled(1_000_000, least=20 * BARS_PER_SESSION)
    y, prob, dates = _inputs(n)
    evaluate_predictions(y[:5000], prob[:5000], dates[:5000], n_boot=100)  # compile the numba kernel
    plain = median_seconds(lambda: _plain(y, prob), repeats)
    print(line("accuracy + rank AUC, rows independent (baseline)", n, plain))
    seconds = median_seconds(lambda: evaluate_predictions(y, prob, dates, n_boot=1000), repeats)
    verdict = "ok" if seconds <= BUDGET_S else "FAIL"
    print(line("evaluate_predictions, 1,000 session-block replicates", n, seconds,
               f"{seconds / plain:5.1f}x baseline; budget {BUDGET_S} s: {verdict}"))


if __name__ == "__main__":
    main()
