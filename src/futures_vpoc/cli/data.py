"""``futures-vpoc data synth|merge|check|sample``: write, merge, check and sample bar files.

Each command imports its layer when it runs; registering the parser imports nothing but text.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from futures_vpoc.cli.options import add_reading, out_path, say, session_hours
from futures_vpoc.errors import DataError


def add_data_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``data`` and its four subcommands on ``subparsers`` (from ``add_subparsers``)."""
    data = subparsers.add_parser("data", help="build, merge, check and sample bar data", allow_abbrev=False)
    dsub = data.add_subparsers(dest="data_command", required=True)
    synth = dsub.add_parser("synth", help="write a synthetic ES market (1-minute bars + VIX)", allow_abbrev=False)
    synth.add_argument("--out", required=True, help="output file (.csv or .parquet)")
    synth.add_argument("--start", default="2023-01-02", help="first trade date (default 2023-01-02)")
    synth.add_argument("--end", default="2023-12-29", help="last trade date (default 2023-12-29)")
    synth.add_argument("--seed", type=int, default=7, help="random seed: same seed, same file")
    synth.add_argument("--signal", type=float, default=0.0,
                       help="strength of the planted predictable component (0 = none)")
    merge = dsub.add_parser("merge", help="merge ES bars and CBOE VIX into the merged file", allow_abbrev=False)
    merge.add_argument("--es", required=True, help="ES bar file or folder of per-contract files")
    merge.add_argument("--vix", required=True, help="CBOE VIX_History.csv")
    merge.add_argument("--out", required=True, help="merged file to write (.csv or .parquet)")
    merge.add_argument("--vix-lag", type=float, default=0.0, help="minutes after 15:15 CT before a VIX close is usable")
    add_reading(merge)
    check = dsub.add_parser(
        "check", help="summarise a merged or vendor bar file; exit 0 when clean, 1 when it has problems",
        description="Describe a bar file and list what is wrong with it, each kind of problem once with its "
        "count and first line; offending rows are set aside and the rest is described. A vendor file is read "
        "even without --tz (as UTC, with a note). Exit status: 0 no problem, 1 problems found, 2 unreadable.",
        allow_abbrev=False)
    check.add_argument("file", help="merged file, or a vendor file/folder (read with --es-format)")
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

    out = out_path(args.out)
    t0 = time.perf_counter()
    bars, _ = synthesize(SynthConfig(start=args.start, end=args.end, seed=args.seed, signal=args.signal))
    write_merged(bars, out)
    say(f"wrote {len(bars):,} synthetic bars to {out}", t0)
    print(format_check(check_bars(bars), str(out)))
    return 0


def merge_options(args):
    """The :class:`~futures_vpoc.data.merge.MergeOptions` of the reading flags."""
    from futures_vpoc.data.merge import MergeOptions

    return MergeOptions(es_format=args.es_format, tz=args.tz, stamp=args.stamp, repair=args.repair,
                        roll=args.roll, tick=args.tick, hours=session_hours(args),
                        vix_lag_minutes=getattr(args, "vix_lag", 0.0))


def cmd_data_merge(args) -> int:
    """Run ``data merge``: vendor bars + VIX into the merged file; print notes, repairs and its check."""
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.check import check_bars, format_check
    from futures_vpoc.data.merge import build_merged

    out = out_path(args.out, args.es, args.vix)
    t0 = time.perf_counter()
    result = build_merged(args.es, args.vix, merge_options(args))
    for note in result.loaded.notes:
        print(note)
    repairs = {k: v for k, v in result.loaded.repairs.items() if v}
    print("repairs: " + (", ".join(f"{k} {v}" for k, v in repairs.items()) if repairs else "none"))
    write_merged(result.bars, out)
    say(f"wrote {len(result.bars):,} bars to {out}", t0)
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
