"""The run directory: where a run goes, ``metrics.jsonl``, JSON files, the log file and the progress bar.

Where a run goes (``--output_dir DIR``; a run never overwrites another)
    * ``DIR`` does not exist, or is an empty folder: the run writes into ``DIR`` itself.
    * ``DIR`` exists and holds anything: the run writes into a new subfolder
      ``DIR/run_YYYYMMDD_HHMMSS`` (``_2``, ``_3``... if that name is taken) and says so. Running the
      seed's command twice therefore gives ``TRAINING/ENHANCED_AMBITIOUS`` and then
      ``TRAINING/ENHANCED_AMBITIOUS/run_...``.
    * ``--resume``: ``DIR`` must be a run directory with a ``last.pt``; the run continues there.
    * ``DIR`` is a file: refused.

``metrics.jsonl``
    One JSON object per line, in the order things happened: an *epoch record* (no ``event`` key)
    at the end of every epoch, and *event records* when they happen.

    Epoch record: ``epoch, train_loss, val_loss, val_accuracy, val_auc, nan_batches,
    total_batches, nan_rate, valid_batch_pct, grad_norm_mean, grad_norm_max, clipped_pct, lr,
    seconds`` (DESIGN.md section 2) plus ``scaler_skips, lr_scale, rollbacks, step,
    samples_per_second`` and, with the adaptive loss, ``huber_delta``. ``total_batches`` counts
    every attempted step of the epoch; ``nan_rate = nan_batches / total_batches``;
    ``valid_batch_pct`` = 100 x steps that updated the weights / ``total_batches``; the gradient
    norms are the global L2 norms before clipping, over the finite steps; ``clipped_pct`` is the
    share of those that were clipped; ``lr`` is the last step's; ``seconds`` the training loop's
    (validation excluded).

    Event record: ``event`` (``nan_skip``, ``rollback``, ``lr_backoff``, ``diverged``,
    ``early_stop``, ``restore_best``, ``resume``), ``epoch``, ``step`` (optimizer steps attempted
    so far, the step concerned included) and ``detail`` (a sentence). At most 50 ``nan_skip``
    events per epoch are written (the epoch record counts them all).

    Non-finite numbers are written as ``null`` (JSON has no NaN). On ``--resume`` the file is
    rewritten from the history stored in ``last.pt``, so it holds exactly the records of the epochs
    that checkpoint covers.

The log file ``futures_vpoc_YYYYMMDD_HHMMSS.log``
    A dedicated logger (``futures_vpoc.train``, not propagating to the root logger) with its own
    ``FileHandler``, so it works whatever the host program did to the root logger (the prior
    system's ``basicConfig`` was a no-op and its log files stayed empty; section 8.5 item 44).
    ``--verbose`` sets it to DEBUG.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import sys
import time
from pathlib import Path

from futures_vpoc.data.barframe import atomic_write
from futures_vpoc.errors import UsageError
from futures_vpoc.progress import bar

LOGGER_NAME = "futures_vpoc.train"


def _stamp(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now()).strftime("%Y%m%d_%H%M%S")


def resolve_run_dir(output_dir: str | os.PathLike, resume: bool = False, create: bool = True,
                    now: dt.datetime | None = None) -> tuple[Path, str | None]:
    """The folder this run writes to, and a note when it is not ``output_dir`` itself.

    Parameters
    ----------
    output_dir : path
        ``--output_dir``.
    resume : bool
        ``--resume``: ``output_dir`` must hold ``last.pt``.
    create : bool
        Create the folder (False on the non-writing ranks of a distributed run: checks only).
    now : datetime, optional
        Clock for the subfolder name (tests).

    Raises
    ------
    UsageError
        ``output_dir`` is a file, or ``--resume`` without a ``last.pt`` there.
    """
    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output_dir {out} is a file; give a folder")
    if resume:
        if not (out / "last.pt").is_file():
            raise UsageError(f"--resume: {out} holds no last.pt; give the run directory of the run to continue")
        return out, None
    if not out.exists() or not any(out.iterdir()):
        if create:
            out.mkdir(parents=True, exist_ok=True)
        return out, None
    base = f"run_{_stamp(now)}"
    sub, k = out / base, 1
    while True:
        try:
            if create:
                sub.mkdir()
            elif sub.exists():
                raise FileExistsError(sub)
            break
        except FileExistsError:
            k += 1
            sub = out / f"{base}_{k}"
    return sub, f"{out} already holds files; this run writes to {sub}"


def jsonable(value):
    """``value`` with non-finite floats as None, numpy values as Python ones, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # numpy scalars and arrays, tensors
        if isinstance(value, list):
            return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, obj) -> None:
    """Write ``obj`` as indented JSON, atomically (temporary file, then rename)."""
    text = json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n"

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    atomic_write(Path(path), write)


class MetricsLog:
    """Append-only writer of ``metrics.jsonl`` (one JSON object per line, flushed each time).

    Parameters
    ----------
    path : Path
    enabled : bool
        False on the non-writing ranks: every call is a no-op.
    """

    def __init__(self, path: Path, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled

    def append(self, record: dict) -> None:
        """Write one record as a line."""
        if not self.enabled:
            return
        line = json.dumps(jsonable(record), allow_nan=False)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()

    def rewrite(self, records: list[dict]) -> None:
        """Replace the file by ``records`` (atomically)."""
        if not self.enabled:
            return
        text = "".join(json.dumps(jsonable(r), allow_nan=False) + "\n" for r in records)

        def write(tmp):
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)

        atomic_write(self.path, write)


def read_metrics(path: str | os.PathLike) -> tuple[list[dict], list[dict]]:
    """Epoch records and event records of a ``metrics.jsonl``, each in file order."""
    epochs, events = [], []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                rec = json.loads(line)
                (events if "event" in rec else epochs).append(rec)
    return epochs, events


def make_logger(run_dir: Path | None, verbose: bool = False, console: bool = True,
                now: dt.datetime | None = None) -> tuple[logging.Logger, Path | None]:
    """The run's logger: a file ``futures_vpoc_YYYYMMDD_HHMMSS.log`` in ``run_dir`` and the console.

    Parameters
    ----------
    run_dir : Path or None
        None: no file (non-writing ranks, in-memory runs).
    verbose : bool
        DEBUG instead of INFO.
    console : bool
        Also print messages (without timestamps) on stdout.

    Returns
    -------
    (logging.Logger, Path or None)
        The logger and the log file's path.
    """
    logger = logging.getLogger(LOGGER_NAME)
    close_logger(logger)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    path = None
    if run_dir is not None:
        stamp = _stamp(now)
        path, k = Path(run_dir) / f"futures_vpoc_{stamp}.log", 1
        while path.exists():
            k += 1
            path = Path(run_dir) / f"futures_vpoc_{stamp}_{k}.log"
        fh = logging.FileHandler(path, encoding="utf-8")
        fh.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s"))
        logger.addHandler(fh)
    if console:
        sh = logging.StreamHandler(sys.stdout)
        sh.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(sh)
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())
    return logger, path


def close_logger(logger: logging.Logger) -> None:
    """Flush, close and remove every handler of ``logger``."""
    for h in list(logger.handlers):
        try:
            h.flush()
            h.close()
        finally:
            logger.removeHandler(h)


class Progress:
    """The per-epoch training bar (a ``tqdm`` bar from :func:`futures_vpoc.progress.bar`), shown only
    on an interactive terminal.

    Shows the step within the epoch, the running training loss, the epoch's NaN rate, the last
    gradient norm and the learning rate. The trainer calls :meth:`update` every step; the numbers
    are formatted at most every ``interval`` seconds (tqdm redraws on its own clock).

    Parameters
    ----------
    stream : file, optional
        Default ``sys.stderr``; the bar is drawn only when it is a TTY.
    interval : float
        Seconds between refreshes of the numbers after the bar.
    enabled : bool
        False keeps it silent whatever the stream (non-main DDP ranks, ``console=False``).
    """

    def __init__(self, stream=None, interval: float = 0.25, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.interval = interval
        self.active = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = float("-inf")
        self._bar = None
        self._epoch = None

    def update(self, epoch: int, epochs: int, step: int, steps: int, loss: float, nan_rate: float,
               grad_norm: float, lr: float) -> None:
        """Move the bar to ``step`` of ``steps`` in ``epoch`` of ``epochs``; refresh the numbers when due."""
        if not self.active:
            return
        if self._bar is None or self._epoch != epoch:
            self.close()
            self._bar = bar(desc=f"epoch {epoch}/{epochs}", total=steps, unit="step", stream=self.stream)
            self._epoch = epoch
        self._bar.update(step - self._bar.n)
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._bar.set_postfix_str(f"loss {loss:.4f} nan {nan_rate:.1%} |g| {grad_norm:.3g} lr {lr:.2e}")

    def clear(self) -> None:
        """Lift the bar off the line (before a log line is printed); the next update redraws it."""
        if self._bar is not None:
            self._bar.clear()

    def close(self) -> None:
        """Remove the bar for good (end of an epoch or of the run)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None


__all__ = ["LOGGER_NAME", "MetricsLog", "Progress", "close_logger", "jsonable", "make_logger", "read_metrics",
           "resolve_run_dir", "write_json"]
