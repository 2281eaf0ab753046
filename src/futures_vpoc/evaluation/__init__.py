"""Dependence-aware test statistics shared by train, walk-forward, scale-up, ensemble, the report
and ``futures-vpoc evaluate`` (DESIGN.md section 3: every interval and p-value respects the
dependence of overlapping labels and of bars within a session, and says which method it used).

:mod:`.blocks`          rows grouped into blocks of whole consecutive sessions.
:mod:`.sums`            per-block sums of every per-row term in one compiled pass (numba).
:mod:`.pairs`           the block-by-block concordance matrix behind the bootstrap AUC (numba).
:mod:`.classification`  accuracy, balanced accuracy, AUC, log loss, Brier, ECE with intervals and p-values.
:mod:`.predictions`     reading a predictions file (Parquet or CSV) for ``evaluate``.
"""

from futures_vpoc.evaluation.blocks import MAX_BLOCKS, BlockPlan, session_blocks
from futures_vpoc.evaluation.classification import METHOD, evaluate_predictions, metrics_table, naive_accuracy_test

__all__ = ["MAX_BLOCKS", "METHOD", "BlockPlan", "evaluate_predictions", "metrics_table", "naive_accuracy_test",
           "session_blocks"]
