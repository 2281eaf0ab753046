"""Dependence-aware test statistics shared by train, walk-forward, scale-up, ensemble, the report
and ``futures-vpoc evaluate`` (DESIGN.md section 3: every interval and p-value respects the
dependence of overlapping labels and of bars within a session, and says which method it used).

:mod:`.blocks`          rows grouped into blocks of whole consecutive sessions.
:mod:`.sums`            per-block sums of every per-row term in one compiled pass (numba).
:mod:`.pairs`           the block-by-block concordance matrix behind the bootstrap AUC (numba).
:mod:`.classification`  accuracy, balanced accuracy, AUC, log loss, Brier, ECE with intervals and p-values.
:mod:`.predictions`     reading a predictions file (Parquet or CSV) for ``evaluate``.
"""

from futures_vpoc.lazy import lazy_exports

_EXPORTS = {"MAX_BLOCKS": "blocks", "BlockPlan": "blocks", "session_blocks": "blocks", "METHOD": "classification",
            "evaluate_predictions": "classification", "metrics_table": "classification",
            "naive_accuracy_test": "classification"}
"""Public name -> submodule, imported on first use: reading or writing a predictions file
(:mod:`.predictions`) must not pay for scipy.stats (~1 s), which only the statistics need."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["MAX_BLOCKS", "METHOD", "BlockPlan", "evaluate_predictions", "metrics_table", "naive_accuracy_test",
           "session_blocks"]
