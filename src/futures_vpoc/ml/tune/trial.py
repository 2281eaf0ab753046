"""One trial of ``futures-vpoc tune``: a training on the training and validation parts only.

:func:`withhold_test` removes the test period from the arrays a trial receives, so nothing a trial
runs can read it. :class:`MedianRule` is the median pruning rule applied inside the trial (in
whatever process runs it) against the validation-loss curves of the trials completed in earlier
batches, which the parent passes in as plain lists: the decision depends only on those lists, so
it is the same under every executor. :func:`run_trial` is the executor task.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

COMPLETE, PRUNED, FAIL = "complete", "pruned", "fail"
TEST_STAND_IN = ("withheld: a tune trial never receives the test period; the trainer scored a copy of the "
                 "validation rows in its place, and those figures were removed from summary.json")


def withhold_test(data):
    """``data`` without its test period: the test arrays are replaced by the validation rows.

    The trainer scores a test part at the end of every run (and refuses an empty one), so the
    validation rows stand in for it; the test rows, labels, forward returns, timestamps and unscored
    flat rows are dropped. Only the training-part-fitted dataset state (scaler, boundaries as
    timestamps, row counts) is kept.

    Parameters
    ----------
    data : futures_vpoc.ml.inputs.TrainData

    Returns
    -------
    futures_vpoc.ml.inputs.TrainData
        ``X_test``/``y_test``/``up_test``/``t_test`` equal the validation ones; ``fwd_test``,
        ``X_test_unscored`` and ``t_test_unscored`` are None.
    """
    return replace(data, X_test=data.X_val, y_test=data.y_val, up_test=data.up_val, t_test=data.t_val,
                   fwd_test=None, X_test_unscored=None, t_test_unscored=None)


@dataclass(frozen=True)
class MedianRule:
    """Median pruning on validation loss per epoch (Optuna's ``MedianPruner`` rule, applied here).

    At epoch ``e`` (1-based) a trial is pruned when its best validation loss so far is worse than
    the median of the completed trials' validation losses at epoch ``e``, once at least
    ``startup_trials`` trials have completed and after the first ``warmup_epochs`` epochs. A
    non-finite loss is pruned under the same conditions. Completed trials that stopped before
    epoch ``e`` do not count at ``e``.
    """

    startup_trials: int = 3
    warmup_epochs: int = 2

    def prune(self, epoch: int, best_so_far: float, curves: list[list[float]]) -> bool:
        """Whether to stop a trial whose best validation loss after ``epoch`` epochs is ``best_so_far``."""
        if len(curves) < self.startup_trials or epoch <= self.warmup_epochs:
            return False
        at = [c[epoch - 1] for c in curves if len(c) >= epoch and math.isfinite(c[epoch - 1])]
        if not at:
            return False
        if not math.isfinite(best_so_far):
            return True
        return bool(best_so_far > float(np.median(at)))


def run_trial(data, config, run_dir: str, curves: list[list[float]], rule: MedianRule, number: int) -> dict:
    """Train one trial into ``run_dir`` (an executor task; module level so workers can import it).

    Parameters
    ----------
    data : futures_vpoc.ml.inputs.TrainData
        Already without its test period (:func:`withhold_test`).
    config : futures_vpoc.ml.config.TrainConfig
        The trial's settings (its params applied).
    run_dir : str
        The trial's run directory; a folder left by an interrupted attempt is removed first.
    curves : list of list of float
        Validation loss per epoch of every trial completed in earlier batches.
    rule : MedianRule
    number : int
        The trial's number (Optuna's), recorded in ``config.json``.

    Returns
    -------
    dict
        ``values`` (validation loss per epoch), ``state`` (complete, pruned or fail),
        ``best_val_loss``, ``best_epoch``, ``stop_reason``, ``seconds`` (wall clock).
    """
    from futures_vpoc.ml.executor import clear_unfinished
    from futures_vpoc.ml.trainer import Trainer

    clear_unfinished(run_dir)
    data = _writable(data)
    values: list[float] = []

    def hook(epoch: int, val_loss: float) -> bool:
        values.append(float(val_loss))
        finite = [v for v in values if math.isfinite(v)]
        return rule.prune(epoch, min(finite) if finite else math.nan, curves)

    start = time.perf_counter()
    meta = {"tune_trial": number, "test_part": TEST_STAND_IN}
    result = Trainer(config.replace(output_dir=str(run_dir), baselines=False), data, Path(run_dir), console=False,
                     meta=meta, epoch_hook=hook).fit()
    _blank_test(Path(run_dir))
    best = (result.summary or {}).get("best_val_loss")
    state = PRUNED if result.stop_reason == "pruned" else (COMPLETE if best is not None else FAIL)
    return {"values": values, "state": state, "best_val_loss": best,
            "best_epoch": (result.summary or {}).get("best_epoch"), "stop_reason": result.stop_reason,
            "seconds": time.perf_counter() - start}


def _writable(data):
    """``data`` with its arrays writable (Ray hands a task read-only views of its arguments, which
    torch warns about); unchanged when they already are."""
    names = [f"{a}_{p}" for a in ("X", "y") for p in ("train", "val", "test")]
    frozen = {n: np.array(getattr(data, n)) for n in names if not getattr(data, n).flags.writeable}
    return replace(data, **frozen) if frozen else data


def _blank_test(run_dir: Path) -> None:
    """Remove the stand-in test figures from a trial's run directory: every ``test_*`` entry of
    ``summary.json`` becomes None, ``n_test`` 0, ``test_withheld`` says why, and the stand-in
    ``predictions_test.parquet`` is deleted (its rows are validation rows). Listings and analyses
    of the trial then say its skill on test cannot be judged, instead of showing validation figures."""
    import json

    from futures_vpoc.ml.predfile import FILE
    from futures_vpoc.ml.rundir import write_json

    path = run_dir / "summary.json"
    if path.is_file():
        summary = json.loads(path.read_text(encoding="utf-8"))
        summary.update({k: None for k in summary if k.startswith("test_")})
        summary.update(n_test=0, test_withheld=TEST_STAND_IN)
        write_json(path, summary)
    (run_dir / FILE).unlink(missing_ok=True)


__all__ = ["COMPLETE", "FAIL", "PRUNED", "MedianRule", "run_trial", "withhold_test"]
