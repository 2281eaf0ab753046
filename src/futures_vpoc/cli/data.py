"""``futures-vpoc data synth|merge|check|sample``: write, merge, check and sample bar files.

Each command imports its layer when it runs; registering the parser imports nothing but text.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from futures_vpoc.cli.options import add_reading, out_path, say, session_hours
from futures_vpoc.errors import DataError, UsageError


def add_data_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``data`` and its four subcommands on ``subparsers`` (from ``add_subparsers``)."""
    data = subparsers.add_parser("data", help="build, merge, check and sample bar data", allow_abbrev=False)
    dsub = data.add_subparsers(dest="data_command", required=True)
    synth = dsub.add_parser("synth", help="write a synthetic ES market (1-minute bars + VIX)", allow_abbrev=False)
    synth.add_argument("--out", required=True,
                       help="output file (.csv or .parquet), or a folder (no suffix): a partitioned dataset, "
                       "one Parquet per trade-date month")
    synth.add_argument("--start", default=None, help="first trade date (default 2023-01-02)")
    synth.add_argument("--end", default=None, help="last trade date (default 2023-12-29)")
    synth.add_argument("--years", type=int, default=None,
                       help="N whole calendar years ending with the year of --end (default 2023), generated "
                       "year by year into the --out folder (~352,000 bars a year; bounded memory)")
    synth.add_argument("--seed", type=int, default=7, help="random seed: same seed, same file")
    synth.add_argument("--signal", type=float, default=0.0,
                       help="strength of the planted predictable component (0 = none)")
    synth.add_argument("--trades", default=None,
                       help="also write the trade prints behind the bars (.parquet: timestamp, price, size, side, "
                       "contract); 1-minute bars built from them are the market's bars exactly")
    synth.add_argument("--prints-per-contract", type=float, default=None,
                       help="--trades density: expected prints per contract in (0, 1] (default 0.02, ~12 per bar)")
    merge = dsub.add_parser("merge", help="merge ES bars and CBOE VIX into the merged file", allow_abbrev=False)
    merge.add_argument("--es", required=True, help="ES bar file or folder of per-contract files")
    merge.add_argument("--vix", required=True, help="CBOE VIX_History.csv")
    merge.add_argument("--out", required=True,
                       help="merged file to write (.csv or .parquet), or a folder (no suffix): a partitioned dataset, "
                       "one Parquet per trade-date month")
    merge.add_argument("--vix-lag", type=float, default=0.0, help="minutes after 15:15 CT before a VIX close is usable")
    add_reading(merge)
    check = dsub.add_parser(
        "check", help="summarise a merged or vendor bar file; exit 0 when clean, 1 when it has problems",
        description="Describe a bar file and list what is wrong with it, each kind of problem once with its "
        "count and first line; offending rows are set aside and the rest is described. A vendor file is read "
        "even without --tz (as UTC, with a note). Exit status: 0 no problem, 1 problems found, 2 unreadable.",
        allow_abbrev=False)
    check.add_argument("file", help="merged file, partitioned bar dataset folder, or a vendor file/folder "
                       "(read with --es-format)")
    add_reading(check)
    sample = dsub.add_parser("sample", help="write a bundled real data set in the merged format", allow_abbrev=False)
    sample.add_argument("name", choices=("sp500-daily", "es-minute"),
                        help="sp500-daily: S&P 500 daily bars + VIX from `arch`; es-minute: real ES 1-minute bars "
                        "of 14 dates in Oct-Dec 2013 (QuantConnect LEAN, Apache-2.0) + CBOE VIX")
    sample.add_argument("--out", required=True, help="output file (.csv or .parquet)")
    return data


def cmd_data_synth(args) -> int:
    """Run ``data synth``: write a synthetic market and print its check."""
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.check import check_bars, format_check
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    if _is_folder(args.out) or args.years is not None:
        return _synth_dataset(args)
    out = out_path(args.out)
    trades = _trades_path(args, out)
    t0 = time.perf_counter()
    config = SynthConfig(start=args.start or SYNTH_START, end=args.end or SYNTH_END, seed=args.seed,
                         signal=args.signal)
    bars, _ = synthesize(config)
    write_merged(bars, out)
    say(f"wrote {len(bars):,} synthetic bars to {out}", t0)
    if trades is not None:
        from futures_vpoc.data.synthetic.trades import write_synthetic_trades

        made = write_synthetic_trades(trades, config, prints_per_contract=args.prints_per_contract)
        say(f"wrote {made.trades:,} trade prints behind them to {trades}", t0)
    print(format_check(check_bars(bars), str(out)))
    return 0


SYNTH_START, SYNTH_END = "2023-01-02", "2023-12-29"
"""Default --start and --end of ``data synth``."""


def _is_folder(text: str) -> bool:
    """An ``--out`` that names a dataset folder: no suffix, or an existing folder."""
    p = Path(text)
    return p.is_dir() or p.suffix == ""


def _synth_dataset(args) -> int:
    """``data synth --out DIR [--years N]``: a partitioned dataset, generated a year at a time."""
    from futures_vpoc.data.partitioned import check_dataset_out, synthetic_years, write_partitioned
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    if not _is_folder(args.out):
        raise UsageError(f"--years writes a partitioned dataset: give --out a folder name without a suffix, "
                         f"not {args.out}")
    if args.trades is not None or args.prints_per_contract is not None:
        raise UsageError("--trades works with a single --out file only (not with a dataset folder)")
    out = check_dataset_out(args.out)
    if args.years is not None:
        if args.years < 1:
            raise UsageError(f"--years {args.years}: use a whole number of years >= 1")
        if args.start is not None:
            raise UsageError("--years counts whole calendar years back from the year of --end: leave out --start")
        last = pd_year(args.end or SYNTH_END)
        first = last - args.years + 1
        SynthConfig(start=f"{first}-01-01", end=f"{last}-12-31", seed=args.seed, signal=args.signal)  # checks
        t0 = time.perf_counter()
        counted = []

        def years():
            for year, bars in zip(range(first, last + 1), synthetic_years(first, last, args.seed, args.signal)):
                counted.append(len(bars))
                say(f"year {year}: {len(bars):,} bars", t0)
                yield bars

        months = write_partitioned(years(), out)
        span = f"{first}-{last}"
    else:
        t0 = time.perf_counter()
        config = SynthConfig(start=args.start or SYNTH_START, end=args.end or SYNTH_END, seed=args.seed,
                             signal=args.signal)
        bars, _ = synthesize(config)
        counted = [len(bars)]
        months = write_partitioned(bars, out)
        span = f"{config.start} to {config.end}"
    say(f"wrote {sum(counted):,} synthetic bars ({span}) to {out}: {len(months)} monthly partitions "
        f"({months[0]} to {months[-1]}), year=YYYY/month=MM/part.parquet by trade date", t0)
    return 0


def pd_year(text: str) -> int:
    """The year of a date given on the command line."""
    import pandas as pd

    try:
        return pd.Timestamp(text).year
    except (ValueError, TypeError):
        raise UsageError(f"--end {text}: not a date; use YYYY-MM-DD") from None


def _trades_path(args, out):
    """``--trades`` as a path (a .parquet name other than ``--out``), or None; checks the density."""
    if args.trades is None:
        if args.prints_per_contract is not None:
            raise UsageError("--prints-per-contract sets the density of --trades: add --trades FILE.parquet")
        return None
    path = Path(args.trades)
    if path.suffix.lower() not in (".parquet", ".pq") or path.resolve() == Path(out).resolve():
        raise UsageError(f"--trades {args.trades}: use a .parquet file name other than --out")
    ppc = args.prints_per_contract
    if ppc is not None and not 0 < ppc <= 1:
        raise UsageError(f"--prints-per-contract {ppc:g}: use a density in (0, 1]")
    return path


def merge_options(args):
    """The :class:`~futures_vpoc.data.merge.MergeOptions` of the reading flags."""
    from futures_vpoc.data.merge import MergeOptions

    return MergeOptions(es_format=args.es_format, tz=args.tz, stamp=args.stamp, repair=args.repair,
                        roll=args.roll, tick=args.tick, hours=session_hours(args),
                        vix_lag_minutes=getattr(args, "vix_lag", 0.0))


def _merge_out(args):
    """``--out`` of ``data merge``: a file (.csv/.parquet) or a dataset folder, none of the inputs."""
    from futures_vpoc.data.partitioned import check_dataset_out

    if not _is_folder(args.out):
        return out_path(args.out, args.es, args.vix)
    out = Path(args.out)
    for given in (args.es, args.vix):
        inp = Path(given).resolve()
        if inp == out.resolve() or out.resolve() in inp.parents:
            raise UsageError(f"--out {args.out} holds an input ({given}); choose another folder")
    return check_dataset_out(out)


def cmd_data_merge(args) -> int:
    """Run ``data merge``: vendor bars + VIX into the merged file; print notes, repairs and its check.

    With ``--out DIR`` (no suffix) the merged bars are written as a partitioned dataset, one
    Parquet per trade-date month (:func:`~futures_vpoc.data.partitioned.write_partitioned`), equal
    bar for bar to the merged file. Memory: the merge itself is the in-memory one (every vendor bar,
    the roll, the VIX history and the merged frame are held at once, as for a file: the roll
    compares contracts over the whole span); only the writing goes month by month.
    """
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.check import check_bars, format_check
    from futures_vpoc.data.merge import build_merged
    from futures_vpoc.data.partitioned import write_partitioned

    out = _merge_out(args)
    t0 = time.perf_counter()
    result = build_merged(args.es, args.vix, merge_options(args))
    for note in result.loaded.notes:
        print(note)
    repairs = {k: v for k, v in result.loaded.repairs.items() if v}
    print("repairs: " + (", ".join(f"{k} {v}" for k, v in repairs.items()) if repairs else "none"))
    if not _is_folder(args.out):
        write_merged(result.bars, out)
        say(f"wrote {len(result.bars):,} bars to {out}", t0)
    else:
        months = write_partitioned(result.bars, out)
        say(f"wrote {len(result.bars):,} bars to {out}: {len(months)} monthly partitions ({months[0]} to "
            f"{months[-1]}), year=YYYY/month=MM/part.parquet by trade date", t0)
    print(format_check(check_bars(result.bars, args.tick, session_hours(args)), str(out)))
    return 0


def _merged_locator(path: Path):
    """``file:line`` of row ``i`` of a merged CSV (header on line 1); Parquet: ``file row i+1``."""
    if path.suffix.lower() in (".parquet", ".pq"):
        return lambda i: f"{path} row {i + 1}"
    return lambda i: f"{path}:{i + 2}"


def _is_merged(p: Path) -> bool:
    """True when the file's header (or Parquet schema) names every merged-file column."""
    from futures_vpoc.data.barframe import is_merged_header

    if p.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return is_merged_header(pq.read_schema(p).names)
    with open(p, encoding="utf-8", errors="replace") as fh:
        return is_merged_header(fh.readline().strip().split(","))


def read_any(path: str, args) -> tuple:
    """Describe a merged file as it is, anything else through the survey (never stops early).

    Returns
    -------
    tuple of (pandas.DataFrame, CheckReport, list of str)
        The bars, their report and the reading notes. A merged file that cannot be read as one
        (e.g. timestamps out of order) is surveyed like a vendor file, with a note saying so.
    """
    from futures_vpoc.data.barframe import read_merged
    from futures_vpoc.data.check import check_bars
    from futures_vpoc.data.survey import survey

    p = Path(path)
    if not p.exists():
        raise DataError("file not found", file=path, hint="check the path")
    notes: list[str] = []
    from futures_vpoc.data.partitioned import is_partitioned, partitions

    if p.is_dir() and is_partitioned(p):  # a bar dataset: its months read whole, described as one
        bars = read_merged(p)
        notes.append(f"{p.name}: partitioned bar dataset of {len(partitions(p))} months, read whole")
        return bars, check_bars(bars, args.tick, session_hours(args)), notes
    if p.is_file() and _is_merged(p):
        try:
            bars = read_merged(p)
        except DataError as exc:
            notes.append(f"{p.name}: not readable as a merged file ({exc.problem}); surveyed as a vendor file")
        else:
            return bars, check_bars(bars, args.tick, session_hours(args), locate=_merged_locator(p)), notes
    found = survey(p, merge_options(args))
    return found.bars, found.report, notes + list(found.notes)


def cmd_data_check(args) -> int:
    """Run ``data check``: print the summary of a merged or vendor file; 1 when it has problems."""
    from futures_vpoc.data.check import format_check

    _, report, notes = read_any(args.file, args)
    for note in notes:
        print(note)
    print(format_check(report, args.file))
    return 1 if report.problems else 0


SAMPLE_WHAT = {"sp500-daily": "daily S&P 500 bars with VIX (as of the previous close)",
               "es-minute": "real ES 1-minute bars (QuantConnect LEAN 2013, Apache-2.0; ESZ3, ESH4) with CBOE VIX"}


def cmd_data_sample(args) -> int:
    """Run ``data sample``: write a bundled real data set in the merged format."""
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.check import check_bars, format_check
    from futures_vpoc.data.samples import load_sample

    out = out_path(args.out)
    t0 = time.perf_counter()
    bars = load_sample(args.name)
    write_merged(bars, out)
    what = SAMPLE_WHAT.get(args.name, f"{args.name} sample bars")
    print(f"wrote {len(bars):,} {what} to {out} ({time.perf_counter() - t0:.1f} s)")
    print(format_check(check_bars(bars), str(out)))
    return 0


COMMANDS = {"synth": cmd_data_synth, "merge": cmd_data_merge, "check": cmd_data_check, "sample": cmd_data_sample}
"""``data`` subcommand -> its handler."""
