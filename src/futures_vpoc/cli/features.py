"""``futures-vpoc features``: the feature table of a merged file, and a per-feature summary.

Writes ``--out`` (CSV or Parquet by extension): a ``timestamp`` column (bar start, UTC; ISO-8601
text in CSV) and then one column per feature, named ``<group>_<name>``. Prints one summary line
per feature: coverage, NaN (warm-up) rows, the training part's median and IQR, the share of rows
beyond the training 1st-99th percentiles and, when ``futures_vpoc.labels`` is available, the
correlation with the default direction label on the training part. Every check runs before
anything is computed; the file is written whole through a temporary file.

The opt-in ``orderflow`` group (``--features ... orderflow``) reads the bars' own ``buy_volume`` /
``sell_volume`` when the file has them (bars built by ``futures-vpoc ticks bars``); with
``--trades`` the exact profiles of those trades are computed and their developing order flow put on
the bars (:func:`futures_vpoc.features.orderflow.with_trade_flow`), which fills the per-price
features (delta at the developing VPOC, volume at VAL/VAH) and the session delta when the bars
carry none.

With a partitioned bar dataset as ``--data`` (a folder, :mod:`futures_vpoc.data.partitioned`) and a
folder as ``--out``, the features are built month by month in bounded memory
(:func:`futures_vpoc.features.partitioned.build_partitioned`: each month with the history its
features need prepended, fits made once on the training span) and written one Parquet per month;
the summary then gives coverage and NaN rows per feature. A dataset folder with a file ``--out``
is read whole, as one merged file.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING

from futures_vpoc.cli.options import TRADE_FORMATS
from futures_vpoc.errors import DataError, UsageError

if TYPE_CHECKING:
    import pandas as pd

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def add_features_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``features`` subcommand on ``subparsers`` (from ``add_subparsers``)."""
    from futures_vpoc.features.spec import GROUPS, OPT_IN_GROUPS

    p = subparsers.add_parser("features", help="leakage-free feature table of a merged bar file",
                              allow_abbrev=False)
    p.add_argument("--data", required=True,
                   help="merged bar file (.csv or .parquet) or partitioned bar dataset folder (data synth --years)")
    p.add_argument("--out", required=True,
                   help="feature table to write (.csv or .parquet), or a folder (no suffix; with a dataset "
                        "--data): one Parquet per month, built month by month in bounded memory")
    p.add_argument("--chunk_size", "--chunk-size", dest="chunk_size", type=int, default=None,
                   help="most bars per kernel call (bounds memory; the table is identical for every value)")
    p.add_argument("--features", nargs="+", default=None, metavar="GROUP",
                   help=f"feature groups to build (default all of {' '.join(GROUPS)}; opt-in, only when named: "
                        f"{' '.join(OPT_IN_GROUPS)})")
    p.add_argument("--train_end", "--train-end", dest="train_end", default=None,
                   help="end of the training part, UTC (GARCH and regime fits, summary scales); "
                        "default 70%% of the way through the data")
    p.add_argument("--trades", nargs="+", default=None, metavar="PATH",
                   help="trade prints of the same bars (files or a folder; DBN, TickData, NinjaTrader tick, "
                        "CSV/Parquet): fill the orderflow group from their exact profiles (needs --features "
                        "... orderflow)")
    p.add_argument("--trades-format", choices=TRADE_FORMATS, default="auto",
                   help="layout of the --trades files (default: told from the content)")
    p.add_argument("--tz", default=None, help="time zone of --trades stamps written without one (IANA name)")
    return p


def _is_folder_out(args) -> bool:
    """True when ``--out`` names a feature dataset folder (no suffix, or an existing folder)."""
    out = Path(args.out)
    return out.is_dir() or out.suffix == ""


def _check_args(args) -> None:
    from futures_vpoc.features.spec import ALL_GROUPS

    out = Path(args.out)
    if _is_folder_out(args):
        if not Path(args.data).is_dir():
            raise UsageError(f"--out {args.out}: a feature dataset folder is built from a bar dataset folder "
                             "(--data DIR, e.g. from `data synth --years`); for a merged file use a .csv or "
                             ".parquet --out")
        if args.trades:
            raise UsageError("--trades does not work with a dataset folder yet; build the orderflow group from a "
                             "merged file (--out FILE.parquet)")
        from futures_vpoc.data.partitioned import check_dataset_out

        check_dataset_out(out)
        if out.resolve() == Path(args.data).resolve():
            raise UsageError(f"--out {args.out} is the input dataset; choose another folder")
    elif out.suffix.lower() not in TABLE_SUFFIXES:
        raise UsageError(f"--out {args.out}: use a .csv or .parquet file name, or a folder name without a suffix")
    if out.resolve() == Path(args.data).resolve():
        raise UsageError(f"--out {args.out} is the input file; choose another name")
    if any(out.resolve() == Path(t).resolve() for t in args.trades or ()):
        raise UsageError(f"--out {args.out} is one of the --trades files; choose another name")
    if args.chunk_size is not None and args.chunk_size < 1:
        raise UsageError(f"--chunk_size {args.chunk_size}: use a whole number of bars >= 1")
    bad = [g for g in args.features or () if g not in ALL_GROUPS]
    if bad:
        raise UsageError(f"--features {' '.join(bad)}: unknown group; valid groups: {', '.join(ALL_GROUPS)}")
    if args.trades and "orderflow" not in (args.features or ()):
        raise UsageError("--trades feeds the opt-in orderflow group: add --features ... orderflow "
                         "(with the other groups you want)")
    if not args.trades and (args.trades_format != "auto" or args.tz):
        raise UsageError("--trades-format and --tz work with --trades only")


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


def _with_order_flow(bars: pd.DataFrame, args) -> pd.DataFrame:
    """The bars with the developing order flow of ``--trades`` (or as they are, with a note on what
    the orderflow group will find)."""
    from futures_vpoc.features.orderflow import BAR_FLOW_COLUMNS, with_trade_flow

    has_bar_flow = all(c in bars.columns for c in BAR_FLOW_COLUMNS)
    if not args.trades:
        if not has_bar_flow:
            print("note: the bars carry no buy_volume/sell_volume and no --trades were given: "
                  "the orderflow features are NaN on every bar")
        else:
            print("note: no --trades: orderflow_session_delta_share from the bars' buy/sell volume; the "
                  "per-price orderflow features are NaN")
        return bars
    from futures_vpoc.data.trades.chunk import Repairs
    from futures_vpoc.data.trades.read import iter_trades
    from futures_vpoc.profile.exact import exact_profiles
    from futures_vpoc.profile.spec import ProfileSpec

    notes: list[str] = []
    repairs = Repairs()
    spec = ProfileSpec()
    chunks = iter_trades(args.trades, args.trades_format, tz=args.tz, tick=spec.tick, repairs=repairs, notes=notes)
    exact = exact_profiles(chunks, spec, developing=True, repairs=repairs, notes=notes)
    for line in notes:
        print(f"note: {line}")
    out = with_trade_flow(bars, exact, source=args.data)
    matched = int(out["dev_total"].notna().sum())
    print(f"{exact.trades:,} trades read; order flow from trades on {matched:,} of {len(out):,} bars"
          + ("" if not has_bar_flow else " (session delta from the bars' own buy/sell volume)"))
    return out


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


def format_partitioned(result) -> str:
    """The per-feature lines of a month-by-month build: coverage, NaN rows, declared warm-up."""
    lines = [f"{'feature':<34} {'coverage':>8} {'nan rows':>9}  warm-up"]
    for spec, nan in zip(result.specs, result.nan_rows.tolist()):
        cover = 1.0 - nan / result.rows if result.rows else 0.0
        lines.append(f"{spec.column:<34} {cover:>8.1%} {nan:>9,}  {spec.warmup}")
    return "\n".join(lines)


def _cmd_features_partitioned(args) -> int:
    """``features --data DIR --out DIR``: month by month (:mod:`futures_vpoc.features.partitioned`)."""
    import time

    from futures_vpoc.cli.options import say
    from futures_vpoc.features.fit import as_utc
    from futures_vpoc.features.partitioned import build_partitioned

    if "orderflow" in (args.features or ()):
        print("note: no --trades: orderflow features from the bars' own buy/sell volume where the dataset has it "
              "(NaN otherwise)")
    t0 = time.perf_counter()
    result = build_partitioned(args.data, args.out, groups=args.features, chunk_size=args.chunk_size,
                               train_end=as_utc(args.train_end) if args.train_end else None)
    print(format_partitioned(result))
    for note in result.notes:
        print(f"note: {note}")
    carried = ", ".join(f"{k} {v}" for k, v in result.plan.sessions.items())
    end = "" if result.train_end is None else f"; fits on bars before {result.train_end:%Y-%m-%d %H:%M} UTC"
    print(f"history before each month: each group's contract segment from its first bar, and at least "
          f"(trade dates) {carried}; at most {result.plan.carry_sessions} trade dates kept{end}")
    say(f"wrote {result.rows:,} rows x {len(result.specs)} features in {len(result.months)} monthly partitions "
        f"({result.months[0]} to {result.months[-1]}) to {result.out} "
        f"({result.warmup_rows:,} rows with a NaN feature)", t0)
    return 0


def _summary_while_writing(table, train_end, bars: pd.DataFrame, out: str) -> pd.DataFrame:
    """The per-feature summary, computed while another thread writes the table to ``out``.

    The Parquet writer spends most of its time in Arrow's C++ with the GIL released, as do the summary's
    sorts and kernels: on two cores the two overlap (~1 s saved on 1M bars). A failed write is raised
    after the summary, as it would have been raised alone.
    """
    from concurrent.futures import ThreadPoolExecutor

    from futures_vpoc.features import feature_summary

    with ThreadPoolExecutor(max_workers=1) as pool:
        written = pool.submit(write_table, table.frame, out)
        summary = feature_summary(table, train_end, label=_train_label(bars))
        written.result()
    return summary


def cmd_features(args) -> int:
    """Run ``futures-vpoc features``; returns the exit status (errors raise FuturesVpocError)."""
    from futures_vpoc.data.barframe import read_merged
    from futures_vpoc.features import build_features, default_train_end
    from futures_vpoc.features.fit import as_utc

    _check_args(args)
    if _is_folder_out(args):
        return _cmd_features_partitioned(args)
    bars = read_merged(args.data)
    if "orderflow" in (args.features or ()):
        bars = _with_order_flow(bars, args)
    train_end = as_utc(args.train_end) if args.train_end else default_train_end(bars.index)
    try:
        table = build_features(bars, groups=args.features, chunk_size=args.chunk_size, train_end=train_end)
    except DataError as exc:
        if exc.file is not None:
            raise
        raise DataError(exc.problem, file=args.data, column=exc.column, value=exc.value, hint=exc.hint,
                        more=exc.more) from None
    summary = _summary_while_writing(table, train_end, bars, args.out)
    print(format_summary(summary, len(bars)))
    print(f"wrote {len(table.frame):,} rows x {len(table.specs)} features to {args.out} "
          f"({table.warmup_rows:,} rows with a NaN feature; training part before {train_end:%Y-%m-%d %H:%M} UTC)")
    return 0
