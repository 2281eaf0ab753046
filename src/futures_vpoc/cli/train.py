"""``futures-vpoc train``: the seed's training command line, verbatim, on a robust trainer.

Every flag of the seed report's commands is accepted as written there (``--batch_size``,
``--use_mixed_precision`` ...; the dashed spellings ``--batch-size`` work too). Boolean flags have
negations (``--no-adaptive_loss``, ``--no-use_mixed_precision``, ``--no-verbose``), so every switch
can be turned off. An unknown flag is a one-line error that names the closest known one (the
parent parser's class does this).

Flags left out take :class:`futures_vpoc.ml.config.TrainConfig`'s defaults. With ``--resume`` the
run's stored settings are used; only ``--epochs``, ``--verbose``, ``--device``, ``--threads``,
``--tensorboard`` and ``--data`` (the same file, checked by its sha256, possibly moved) may be given
again; other flags that differ from the stored run are reported and ignored.

A bar dataset folder (``--data DIR`` holding ``year=YYYY/month=MM/part.parquet``, e.g. from
``data synth --years N --out DIR``) is built month by month and never held in memory
(:func:`futures_vpoc.dataset.sharded.build_sharded`): the scaled float32 rows of each part are
written to ``RUN/data_cache/X_{train,val,test,test_unscored}.npy`` and memory-mapped, and training
gathers its batches from them block by block (:func:`futures_vpoc.ml.epoch.epoch_order`). The same
bars as one file give the same arrays. The run directory is created before that build (removed
again when the build fails); ``--resume`` rebuilds the cache. ``data_cache`` is a cache: delete it
when the run is done.

Exit status: 0 when training finished (completed or stopped early), 1 when it diverged (the run
directory is still complete), 2 for a usage or data error (one line, nothing written).

A file with too few sessions for the split stops before any feature is built ("needs >= N sessions
for train/validation/test; the file has M", :func:`futures_vpoc.dataset.min_sessions`). A feature
with values on under 90% of the training rows (a warm-up longer than a short file) is dropped with
its reason; ``summary.json`` lists ``features_kept`` and ``features_dropped``.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from futures_vpoc.cli.options import whole_number
from futures_vpoc.errors import DataError, UsageError

RESUME_OVERRIDES = ("epochs", "verbose", "device", "threads", "tensorboard", "data")

_DESCRIPTION = textwrap.dedent("""\
    Train a direction model (an MLP emitting logits) on a merged ES + VIX bar file and write a run
    directory: config.json, metrics.jsonl, futures_vpoc_YYYYMMDD_HHMMSS.log, best.pt, last.pt,
    predictions_test.parquet and summary.json. --output_dir DIR is used as is when it does not
    exist or is empty; otherwise the run goes to a new DIR/run_YYYYMMDD_HHMMSS (a run never
    overwrites another). Multi-GPU / multi-node: torchrun --nproc_per_node=N -m futures_vpoc train ...
    """)


def _chunk(text: str) -> int | None:
    value = whole_number(text)
    return None if value == 0 else value


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``train`` subcommand on ``subparsers`` (from ``add_subparsers``)."""
    from futures_vpoc.features.spec import GROUPS
    from futures_vpoc.ml.config import defaults

    d = defaults()
    p = subparsers.add_parser("train", help="train a direction model (the seed's flags, verbatim)",
                              description=_DESCRIPTION, allow_abbrev=False,
                              formatter_class=argparse.RawDescriptionHelpFormatter)

    def add(*names, dest=None, help_text="", shown=None, **kw):
        dest = dest or names[0].lstrip("-")
        spellings = list(names)
        dashed = names[0].replace("_", "-")
        if "_" in names[0] and dashed not in spellings:
            spellings.append(dashed)
        if shown is None:
            default = d.get(dest)
            shown = "default " + (" ".join(map(str, default)) if isinstance(default, tuple) else str(default))
        kw.setdefault("default", None)
        p.add_argument(*spellings, dest=dest, help=f"{help_text} ({shown})", **kw)

    add("--data", help_text="merged bar file (.csv or .parquet), e.g. from `data merge` or `data synth`, or a bar "
                            "dataset folder (year=YYYY/month=MM, `data synth --years N`): built month by month "
                            "into memory-mapped shards in RUN/data_cache",
        metavar="FILE", shown="required; with --resume the run's own file")
    add("--output_dir", help_text="run directory (or its parent, see above)", metavar="DIR")
    add("--epochs", type=int, help_text="most epochs")
    add("--batch_size", type=int, help_text="rows per optimizer step (per process under torchrun)")
    add("--learning_rate", type=float, help_text="peak learning rate, reached at the end of the warmup")
    add("--hidden_dims", type=int, nargs="+", metavar="WIDTH", help_text="hidden layer widths")
    add("--dropout_rate", type=float, help_text="dropout after every hidden layer")
    add("--weight_decay", type=float, help_text="AdamW decoupled weight decay")
    add("--warmup_steps", type=int,
        help_text="linear warmup over this many optimizer steps (every attempted step counts), "
                  "then cosine decay to --min_lr_ratio x the peak at the last step")
    add("--min_lr_ratio", type=float, help_text="end of the cosine decay, as a fraction of the peak")
    add("--gradient_clip_value", type=float,
        help_text="clip the global L2 gradient norm to this; 0 = off (the norm is still checked)")
    add("--early_stopping_patience", type=int,
        help_text="stop after this many epochs without a validation-loss improvement of --min_delta; "
                  "0 = off; the best weights are restored at the end")
    add("--min_delta", type=float, help_text="smallest validation-loss decrease that counts as improvement")
    add("--use_mixed_precision", action=argparse.BooleanOptionalAction,
        help_text="bf16 autocast where the device supports it (CPUs, recent GPUs), else fp16 with a "
                  "GradScaler updated on every step")
    add("--amp_dtype", choices=("auto", "bf16", "fp16"), help_text="force the mixed-precision type")
    add("--data_fraction", type=float, help_text="keep the most recent fraction of the bars, in (0, 1]")
    add("--chunk_size", type=_chunk, metavar="N",
        help_text="rows per feature-kernel call: bounds memory only, identical results; 0 = whole segments",
        shown="default whole contract segments")
    add("--adaptive_loss", action=argparse.BooleanOptionalAction,
        help_text="robust log-loss: each row's pull on its logit is capped at delta/|logit|, delta following "
                  "a running 90%% quantile of |logit| (label-blind, so still a proper score for P(up)); "
                  "rank target: adaptive Huber; --no-adaptive_loss = plain log-loss")
    add("--huber_quantile", type=float, help_text="quantile of |logit| (rank: |residual|) the adaptive delta follows")
    add("--huber_momentum", type=float, help_text="per-step momentum of the adaptive delta")
    add("--verbose", action=argparse.BooleanOptionalAction, help_text="more detail in the console and the log")
    add("--seed", type=int, help_text="random seed (weights, shuffles, dropout)")
    add("--target", choices=("direction", "up_or_not", "rank"),
        help_text="direction: up (1) vs down (0), a flat horizon has no label and is left out of training "
                  "and scoring; up_or_not: up vs not up; a flat horizon counts as not up; short-biased "
                  "rule; rank: percentile rank of the forward return")
    add("--horizon", type=int, help_text="label horizon in bars")
    add("--features", nargs="+", metavar="GROUP", help_text=f"feature groups: {' '.join(GROUPS)}",
        shown="default all")
    add("--device", help_text="auto (CUDA, including ROCm builds, else CPU), cpu, cuda or cuda:N")
    add("--resume", action=argparse.BooleanOptionalAction,
        help_text="continue the killed run in --output_dir from its last.pt, with its stored settings "
                  "(--epochs may be raised to extend a finished run)")
    add("--tensorboard", metavar="DIR", help_text="also write TensorBoard scalars (needs the tensorboard package)",
        shown="default off")
    add("--nan_patience", type=int, help_text="consecutive non-finite steps that trigger a rollback")
    add("--max_nan_share", type=float, help_text="share of an epoch's steps non-finite that triggers a rollback")
    add("--max_rollbacks", type=int, help_text="rollbacks allowed before the run stops as diverged")
    add("--threads", type=int, help_text="torch CPU threads", shown="default PyTorch's choice")
    add("--baselines", action=argparse.BooleanOptionalAction,
        help_text="also fit a logistic regression and LightGBM on the same features, parts and labels, and "
                  "score and write them beside the network")
    from futures_vpoc.report.tracking import add_mlflow_flag

    add_mlflow_flag(p)
    return p


def config_from_args(args) -> tuple[object, set[str]]:
    """A :class:`TrainConfig` from parsed flags, and the names of the flags that were given."""
    from futures_vpoc.ml.config import config_from_namespace

    return config_from_namespace(args)


def _resume_config(config, given: set[str]):
    """The stored settings of the run to resume, with the allowed overrides applied."""
    import json

    from futures_vpoc.ml.config import TrainConfig

    path = Path(config.output_dir) / "config.json"
    if not path.is_file():
        raise UsageError(f"--resume: {config.output_dir} holds no config.json; give the directory of a run")
    stored_doc = json.loads(path.read_text(encoding="utf-8"))
    stored = TrainConfig.from_dict(stored_doc)
    ignored = sorted(n for n in given - set(RESUME_OVERRIDES) - {"resume", "output_dir"}
                     if getattr(config, n) != getattr(stored, n))
    keep = {n: getattr(config, n) for n in RESUME_OVERRIDES if n in given}
    if "data" not in keep and not Path(str(stored.data)).exists() and stored_doc.get("data_file"):
        keep["data"] = stored_doc["data_file"]  # the absolute path recorded at the start (another cwd)
    resumed = stored.replace(resume=True, output_dir=config.output_dir, **keep)
    return resumed, ignored, stored_doc.get("data_sha256")


def cmd_train(args) -> int:
    """Run ``futures-vpoc train``; returns the exit status (0 finished, 1 diverged)."""
    from futures_vpoc.ml.distributed import from_env
    from futures_vpoc.ml.rundir import resolve_run_dir

    from futures_vpoc.report.tracking import check_tracking, track_run

    config, given = config_from_args(args)
    check_tracking(args)
    info = from_env()
    ignored, stored_sha = [], None
    if config.resume:
        resolve_run_dir(config.output_dir, resume=True, create=False)
        config, ignored, stored_sha = _resume_config(config, given)
    if config.data is None:
        raise UsageError("--data FILE is required (a merged bar file, e.g. from `futures-vpoc data synth`)")
    folder = Path(config.data).is_dir()
    if not folder and not Path(config.data).is_file():
        raise DataError("file not found", file=config.data, hint="check --data")
    if folder:
        _require_dataset(config.data)
    from futures_vpoc.data.barframe import file_sha256

    sha = file_sha256(config.data)
    if stored_sha and sha != stored_sha:
        raise DataError("the file differs from the data the run was trained on (sha256)", file=config.data,
                        hint="resume with the original file")
    if config.resume:
        run_dir, note = Path(config.output_dir), None
    else:
        resolve_run_dir(config.output_dir, create=False)  # refuse a bad --output_dir before the slow part
    if folder:
        data, run_dir, note = _load_folder(config, info, run_dir if config.resume else None)
    else:
        data = _load(config)
    if not config.resume and not folder:
        run_dir, note = resolve_run_dir(config.output_dir, create=info.is_main)
    if info.is_main:
        if note:
            print(note, flush=True)
        if ignored:
            print(f"--resume uses the run's stored settings; ignored: {', '.join('--' + n for n in ignored)}",
                  flush=True)
    from futures_vpoc.ml.trainer import Trainer

    argv = list(getattr(args, "argv", None) or sys.argv[1:])
    meta = {"data_sha256": sha, "data_file": str(Path(config.data).resolve()), "argv": argv}
    result = Trainer(config, data, run_dir, dist_info=info, meta=meta).fit()
    from futures_vpoc.ml.distributed import shutdown

    shutdown()
    if info.is_main:
        _analyze(run_dir)
        track_run(args, "train", run_dir)
    return result.exit_code


def _analyze(run_dir: Path) -> None:
    """Every run explains itself: write analysis.md and analysis.html (issue 6) into the run directory."""
    from futures_vpoc.report.write import write_analysis

    analysis = write_analysis(run_dir)
    print(f"analysis: {analysis.verdict.upper()}: {analysis.reason}", flush=True)
    if analysis.recommendations:
        print(f"next: {analysis.recommendations[0].command}", flush=True)
    print(f"wrote {Path(run_dir) / 'analysis.md'} and {Path(run_dir) / 'analysis.html'}", flush=True)


def _load(config):
    """Bars -> features, labels, split, scaling -> :class:`~futures_vpoc.ml.inputs.TrainData`."""
    from futures_vpoc.data.barframe import read_merged
    from futures_vpoc.dataset import SplitSpec, build_dataset, require_sessions
    from futures_vpoc.ml.inputs import TrainData

    bars = read_merged(config.data)
    require_sessions(bars, SplitSpec(), config.horizon, config.data_fraction)  # before any feature is built
    ds = build_dataset(bars, groups=list(config.features) if config.features else None, target=config.target,
                       horizon=config.horizon, data_fraction=config.data_fraction, chunk_size=config.chunk_size)
    return TrainData.from_dataset(ds)


CACHE_DIR = "data_cache"
"""Folder of the run directory holding a dataset folder's memory-mapped shards (a cache, never committed)."""


def _require_dataset(folder) -> None:
    """Refuse a folder that is not a bar dataset, before anything is written."""
    from futures_vpoc.data.partitioned import partitions

    if not partitions(folder):
        raise DataError("no year=YYYY/month=MM/part.parquet partition in the folder", file=str(folder),
                        hint="give a merged bar file or a dataset from `futures-vpoc data synth --years N --out DIR`")


def _load_folder(config, info, run_dir: Path | None):
    """A dataset folder -> memory-mapped shards in ``RUN/data_cache`` -> TrainData, and the run directory.

    The run directory is made first (the shards live in it); a failed build removes what this call
    made (nothing is left for an exit status 2). A non-writing rank of a distributed run builds its
    own shards in a temporary folder, removed when the process exits.
    """
    import atexit
    import shutil
    import tempfile

    from futures_vpoc.dataset import SplitSpec
    from futures_vpoc.dataset.sharded import build_sharded
    from futures_vpoc.ml.inputs import TrainData
    from futures_vpoc.ml.rundir import resolve_run_dir

    out = Path(config.output_dir)
    existed = out.exists()
    note = None
    if run_dir is None:
        run_dir, note = resolve_run_dir(out, create=info.is_main)
    if info.is_main:
        cache = run_dir / CACHE_DIR
    else:
        cache = Path(tempfile.mkdtemp(prefix=f"futures_vpoc_cache_rank{info.rank}_"))
        atexit.register(shutil.rmtree, cache, True)
    try:
        ds = build_sharded(config.data, cache, groups=list(config.features) if config.features else None,
                           target=config.target, horizon=config.horizon, split=SplitSpec(),
                           data_fraction=config.data_fraction, chunk_size=config.chunk_size)
    except BaseException:
        if info.is_main and not config.resume:
            shutil.rmtree(out if not existed else run_dir if run_dir != out else cache, ignore_errors=True)
        raise
    return TrainData.from_dataset(ds), run_dir, note


__all__ = ["CACHE_DIR", "RESUME_OVERRIDES", "add_train_parser", "cmd_train", "config_from_args"]
