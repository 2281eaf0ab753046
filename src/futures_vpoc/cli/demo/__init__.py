"""``futures-vpoc demo``: the whole chain on embedded (or your own) data, ending in ``report.html``.

Stages, each the same subcommand a user would type (so the demo shows the commands, and each
stage's full output lands in ``DIR/logs/NN_stage.log``):

1. data      ``data synth`` (default: one year of synthetic 1-minute ES + VIX with a modest planted
             VPOC pull), ``data sample sp500-daily`` / ``data sample es-minute`` (real ES minute bars
             of 14 dates in 2013), or ``data check FILE`` for ``--data FILE``
2. profile   ``profile`` (session table, developing values, a picture of a sample session)
3. features  ``features`` (the feature table, to show what the model sees)
4. train     ``train`` with the seed's Strategy 1 conservative flags; ``--epochs`` and, on small
             data, ``--warmup_steps`` are adapted so the demo fits in minutes (printed)
5. analyze   ``analyze`` (the generated training analysis)
6. backtest  ``backtest --model`` against the VPOC rules and the baselines
7. scale-up  ``scale-up`` over two rungs, and 8. ``ensemble`` over three feature groups, each
             only when the time budget allows (``--budget_minutes``)
9. report    ``DIR/report.html`` (self-contained) and ``index.html`` in the runs folder

Each stage checks what it needs first (:mod:`~futures_vpoc.cli.demo.plan`) and adapts or is skipped
with its reason printed, kept in the notes, shown in the report and in the closing table: a file too
short to split skips training (and analyze, scale-up, ensemble) and backtests the rules and baselines
alone; a short file trains on the whole file instead of the last 0.8. A stage whose subcommand still
refuses the data for its size (exit 2 and a data-size message as the log's last line,
:data:`~futures_vpoc.cli.demo.runner.TOO_SHORT`) is recorded as skipped; any other failure stops
the demo. Which features the model used is the dataset's decision (``summary.json``), not the demo's.

``DIR`` is reused when it holds an earlier demo (its own files are replaced); a non-empty folder
that is not a demo's is refused (exit 2), so nothing else is ever deleted. Exit 0 when the report
was written, the failing stage's status otherwise.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Callable

from futures_vpoc.cli.demo.runner import MARKER, OWN_ENTRIES, Demo, StageFailed
from futures_vpoc.errors import DataError, UsageError


DESCRIPTION = ("Run the whole chain: data, volume profiles, features, training with the seed's Strategy 1 "
               "flags, its analysis, a backtest against the VPOC rules and baselines, and (when the time "
               "budget allows) a short scale-up and ensemble; then write DIR/report.html and index.html in "
               "the runs folder. Each stage is the subcommand you would type; its output goes to DIR/logs/.")


def _check_numbers(args) -> None:
    for flag, value, least in (("--months", args.months, 1), ("--epochs", args.epochs, 1),
                               ("--budget_minutes", args.budget_minutes, 0), ("--n_random", args.n_random, 0),
                               ("--signal", args.signal, 0)):
        if value is not None and not value >= least:
            raise UsageError(f"{flag} {value}: must be at least {least}")


def add_demo_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``demo`` on ``subparsers``."""
    p = subparsers.add_parser("demo", help="run the whole chain on embedded data and write report.html",
                              description=DESCRIPTION, allow_abbrev=False)
    p.add_argument("--output_dir", default="runs/demo", help="folder for every output (default runs/demo)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--data", default=None, help="your own merged file instead of the embedded data")
    src.add_argument("--dataset", choices=("synthetic", "sp500-daily", "es-minute"), default="synthetic",
                     help="synthetic 1-minute ES + VIX (default), real daily S&P 500 + VIX, or real ES 1-minute "
                     "bars of 14 dates in 2013 + VIX (a chain illustration: too short for meaningful figures)")
    p.add_argument("--trades", default=None, nargs="+", metavar="PATH",
                   help="the trade prints behind --data (any layout `profile --trades` reads): the report adds how "
                   "far the bar-based profiles are from the exact ones (the synthetic market writes its own)")
    p.add_argument("--seed", type=int, default=7, help="seed of the synthetic market and of training (default 7)")
    p.add_argument("--signal", type=float, default=3.0,
                   help="planted VPOC pull of the synthetic market, 0 = none (default 3, modest)")
    p.add_argument("--months", type=int, default=12, help="length of the synthetic market [months] (default 12)")
    p.add_argument("--epochs", type=int, default=None,
                   help="training epochs (default 8 on minute bars, 30 on daily bars)")
    p.add_argument("--budget_minutes", type=float, default=8.0,
                   help="scale-up and ensemble run only when the estimate fits this budget (default 8)")
    p.add_argument("--n_random", type=int, default=100, help="random-signal seeds of the backtest (default 100)")
    return p


def prepare_folder(out: Path) -> None:
    """Create ``out``, or empty an earlier demo's own entries in it; refuse any other non-empty folder.

    Raises
    ------
    UsageError
        ``out`` is a file, or a non-empty folder without the demo marker, or holds entries the demo
        did not write.
    """
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output_dir {out} is a file; give a folder")
    entries = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if entries and MARKER not in entries:
        raise UsageError(f"--output_dir {out} is not empty and holds no earlier demo ({MARKER}); "
                         "give a new or empty folder")
    foreign = [e for e in entries if e not in OWN_ENTRIES]
    if foreign:
        raise UsageError(f"--output_dir {out} holds files the demo did not write ({', '.join(foreign[:3])}); "
                         "move them or give another folder")
    for name in entries:
        path = out / name
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    (out / "logs").mkdir(parents=True)
    (out / MARKER).write_text(json.dumps({"started": time.strftime("%Y-%m-%dT%H:%M:%S")}) + "\n")


def _require_dataset_folder(path: str) -> None:
    """``--data`` that is not a file must be a bar dataset folder (read whole by every stage)."""
    from futures_vpoc.data.partitioned import partitions

    if not Path(path).is_dir():
        raise DataError("file not found", file=path, hint="--data takes a merged file (futures-vpoc data merge)")
    if not partitions(path):
        raise DataError("no year=YYYY/month=MM/part.parquet partition in the folder", file=path,
                        hint="--data takes a merged file or a bar dataset folder (futures-vpoc data synth --years N)")


def cmd_demo(args, run: Callable[[list[str]], int]) -> int:
    """Run ``futures-vpoc demo``; ``run`` executes one subcommand's argv and returns its status."""
    from futures_vpoc.cli.demo.stages import run_all  # pandas and the layers: only when the demo runs

    _check_numbers(args)
    if args.data and not Path(args.data).is_file():
        _require_dataset_folder(args.data)
    if args.trades and not args.data:
        raise UsageError("--trades names the prints behind --data; the synthetic market writes its own")
    for path in args.trades or ():
        if not Path(path).exists():
            raise DataError("file not found", file=path, hint="--trades takes trade files or a folder of them")
    demo = Demo(args, run)
    prepare_folder(demo.state.out)
    try:
        run_all(demo)
    except StageFailed as exc:
        print(f"futures-vpoc: demo: {exc}", file=sys.stderr)
        return exc.status if exc.status else 1
    return 0


__all__ = ["add_demo_parser", "cmd_demo", "prepare_folder"]
