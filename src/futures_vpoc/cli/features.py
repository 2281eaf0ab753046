"""``futures-vpoc features``: the feature table of a merged file, and a per-feature summary.

Writes ``--out`` (CSV or Parquet by extension): a ``timestamp`` column (bar start, UTC; ISO-8601
text in CSV) and then one column per feature, named ``<group>_<name>``. Prints one summary line
per feature: coverage, NaN (warm-up) rows, the training part's median and IQR, the share of rows
beyond the training 1st-99th percentiles and, when ``futures_vpoc.labels`` is available, the
correlation with the default direction label on the training part. Every check runs before
anything is computed; the file is written whole through a temporary file.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from futures_vpoc.errors import DataError, UsageError

if TYPE_CHECKING:
    import pandas as pd

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def add_features_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``features`` subcommand on ``subparsers`` (from ``add_subparsers``)."""
    from futures_vpoc.features.spec import GROUPS

    p = subparsers.add_parser("features", help="leakage-free feature table of a merged bar file",
                              allow_abbrev=False)
    p.add_argument("--data", required=True, help="merged bar file (.csv or .parquet)")
    p.add_argument("--out", required=True, help="feature table to write (.csv or .parquet)")
    p.add_argument("--chunk_size", "--chunk-size", dest="chunk_size", type=int, default=None,
                   help="most bars per kernel call (bounds memory; the table is identical for every value)")
    p.add_argument("--features", nargs="+", default=None, metavar="GROUP",
                   help=f"feature groups to build (default all): {' '.join(GROUPS)}")
    p.add_argument("--train_end", "--train-end", dest="train_end", default=None,
                   help="end of the training part, UTC (GARCH and regime fits, summary scales); "
                        "default 70%% of the way through the data")
    return p


def _check_args(args) -> None:
    from futures_vpoc.features.spec import GROUPS

    out = Path(args.out)
    if out.suffix.lower() not in TABLE_SUFFIXES:
        raise UsageError(f"--out {args.out}: use a .csv or .parquet file name")
    if out.resolve() == Path(args.data).resolve():
        raise UsageError(f"--out {args.out} is the input file; choose another name")
    if args.chunk_size is not None and args.chunk_size < 1:
        raise UsageError(f"--chunk_size {args.chunk_size}: use a whole number of bars >= 1")
    bad = [g for g in args.features or () if g not in GROUPS]
    if bad:
        raise UsageError(f"--features {' '.join(bad)}: unknown group; valid groups: {', '.join(GROUPS)}")


def _train_label(bars: pd.DataFrame) -> pd.Series | None:
    """Hook for the summary's label correlation: the default direction label (5 bars ahead).

    Returns None when ``futures_vpoc.labels`` is not available; the summary then leaves
    ``label_corr`` empty.
    """
    try:
        from futures_vpoc.labels import make_labels
    except ImportError:
        return None
    return make_labels(bars).frame["label"]


def write_table(frame: pd.DataFrame, path: str) -> None:
    """Write the feature table: ``timestamp`` first, then the feature columns (CSV or Parquet)."""
    from futures_vpoc.data.barframe import atomic_write

    p = Path(path)
    out = frame.reset_index()
    out = out.rename(columns={out.columns[0]: "timestamp"})
    if p.suffix.lower() in (".parquet", ".pq"):
        # no dictionary pages: float features hardly repeat, and trying costs ~25% of the write
        atomic_write(p, lambda tmp: out.to_parquet(tmp, engine="pyarrow", index=False, use_dictionary=False))
        return
    out["timestamp"] = out["timestamp"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    atomic_write(p, lambda tmp: out.to_csv(tmp, index=False, lineterminator="\n", float_format="%.17g"))


def format_summary(summary: pd.DataFrame, rows: int) -> str:
    """The per-feature summary as aligned text lines."""
    def num(v, fmt):
        return "-" if not math.isfinite(v) else format(v, fmt)

    lines = [f"{'feature':<34} {'coverage':>8} {'nan rows':>9} {'median':>11} {'IQR':>11} {'>p1/p99':>8} "
             f"{'corr(y)':>8}  unit"]
    for r in summary.itertuples(index=False):
        lines.append(f"{r.feature:<34} {r.coverage:>8.1%} {r.nan_rows:>9,} {num(r.train_median, '.4g'):>11} "
                     f"{num(r.train_iqr, '.4g'):>11} {num(r.beyond_p1_p99, '.2%'):>8} "
                     f"{num(r.label_corr, '+.3f'):>8}  {r.unit}")
    lines.append(f"({len(summary)} features over {rows:,} bars; median, IQR and percentiles from the training part)")
    return "\n".join(lines)


def cmd_features(args) -> int:
    """Run ``futures-vpoc features``; returns the exit status (errors raise FuturesVpocError)."""
    from futures_vpoc.data.barframe import read_merged
    from futures_vpoc.features import build_features, default_train_end, feature_summary
    from futures_vpoc.features.fit import as_utc

    _check_args(args)
    bars = read_merged(args.data)
    train_end = as_utc(args.train_end) if args.train_end else default_train_end(bars.index)
    try:
        table = build_features(bars, groups=args.features, chunk_size=args.chunk_size, train_end=train_end)
    except DataError as exc:
        if exc.file is not None:
            raise
        raise DataError(exc.problem, file=args.data, column=exc.column, value=exc.value, hint=exc.hint,
                        more=exc.more) from None
    summary = feature_summary(table, train_end, label=_train_label(bars))
    write_table(table.frame, args.out)
    print(format_summary(summary, len(bars)))
    print(f"wrote {len(table.frame):,} rows x {len(table.specs)} features to {args.out} "
          f"({table.warmup_rows:,} rows with a NaN feature; training part before {train_end:%Y-%m-%d %H:%M} UTC)")
    return 0
