"""Machine learning: the direction model, its losses, the robust trainer, checkpoints.

torch is imported only inside this package (and lazily by the CLI that calls it).

Modules
-------
:mod:`.config`       :class:`TrainConfig`, every setting of a run.
:mod:`.inputs`       :class:`TrainData`, the arrays the trainer consumes.
:mod:`.model`        the MLP (logits out; initialisation and normalisation choices documented).
:mod:`.loss`         log-loss, MSE, the adaptive robust Huber loss, the validation yardstick.
:mod:`.schedule`     linear warmup + cosine decay, a pure function of the step.
:mod:`.guard`        the NaN guard: skip, roll back, back off, give up.
:mod:`.metrics`      accuracy with its interval, binomial p-value, AUC, log-loss, Brier, confusion.
:mod:`.checkpoint`   ``best.pt``/``last.pt``: save atomically, load, predict.
:mod:`.rundir`       the run directory, ``metrics.jsonl``, the log file, the progress bar.
:mod:`.distributed`  torchrun / DistributedDataParallel helpers.
:mod:`.device`       device, mixed-precision dtype, the AdamW factory, the fault-injection hooks.
:mod:`.epoch`        the steps of one training epoch and their accumulators.
:mod:`.evaluation`   the model on the validation part (every epoch) and the test part (at the end).
:mod:`.records`      ``config.json``, epoch records and log lines, ``summary.json``, test predictions.
:mod:`.trainer`      :class:`Trainer`, the loop.
"""

from futures_vpoc.lazy import lazy_exports

_EXPORTS = {
    "TrainConfig": "config",
    "TrainData": "inputs",
    "Trainer": "trainer",
    "TrainResult": "trainer",
}
"""Public name -> the submodule defining it, imported on first use (:mod:`futures_vpoc.lazy`)."""

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["TrainConfig", "TrainData", "TrainResult", "Trainer"]
