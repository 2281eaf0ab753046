"""Command line: ``futures-vpoc <command> ...`` and ``python -m futures_vpoc ...``.

Parse -> options -> one call per subcommand. User errors (bad flags, bad data) print one line on
stderr and exit with status 2; nothing already written is damaged (outputs are written whole
through a temporary file, and only after every check passed).
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import sys
import time
from pathlib import Path

from futures_vpoc import __version__
from futures_vpoc.config import RTH_END_CT, RTH_START_CT, SessionHours
from futures_vpoc.errors import EXIT_USAGE, FuturesVpocError, UsageError

ES_FORMATS = ("auto", "generic", "databento", "ninjatrader", "kibot", "tradestation", "sierra", "firstrate")


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and suggest the closest known flag."""

    def error(self, message: str):  # noqa: D401 - argparse API
        if "unrecognized arguments" in message:
            known = sorted(_all_flags(self))
            hints = []
            for word in message.split(":", 1)[1].split():
                flag = word.split("=", 1)[0]
                if not flag.startswith("-"):
                    continue
                close = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
                hints.append(f"{flag} (did you mean {close[0]}?)" if close else flag)
            message = "unknown flag " + ", ".join(hints)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}; see --help\n")


def _all_flags(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of a parser and its subcommands (for "did you mean")."""
    flags = set()
    for action in parser._actions:
        flags.update(action.option_strings)
        for child in getattr(action, "choices", None) or {}:
            if isinstance(action.choices, dict):
                flags |= _all_flags(action.choices[child])
    return flags


def _time(text: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time of day HH:MM: {text!r}") from None


def _add_hours(p: argparse.ArgumentParser) -> None:
    p.add_argument("--rth-start", type=_time, default=RTH_START_CT, help="RTH start, US Central (default 08:30)")
    p.add_argument("--rth-end", type=_time, default=RTH_END_CT, help="RTH end, US Central (default 15:00)")


def _add_reading(p: argparse.ArgumentParser) -> None:
    p.add_argument("--es-format", default="auto", choices=ES_FORMATS,
                   help="vendor layout of the bar file(s); auto detects it from the content and says which")
    p.add_argument("--tz", default=None, help="IANA time zone of the file's timestamps, overriding the format's")
    p.add_argument("--stamp", choices=("start", "end"), default=None,
                   help="whether timestamps mark the bar start or end, overriding the format's convention")
    p.add_argument("--repair", action="store_true",
                   help="repair isolated bad prints, off-grid prices and bars outside sessions (counted)")
    p.add_argument("--roll", choices=("calendar", "volume"), default="calendar",
                   help="how per-contract files become one series (calendar: Thursday 8 days before expiry)")
    p.add_argument("--adjust", choices=("none", "difference", "ratio"), default="none",
                   help="back-adjustment at rolls (default none: raw prices; returns never cross a roll)")
    p.add_argument("--tick", type=float, default=0.25, help="tick size in index points (ES: 0.25)")
    _add_hours(p)


def build_parser() -> Parser:
    """The full command-line parser."""
    top = Parser(prog="futures-vpoc", allow_abbrev=False,
                 description="ES futures + VIX: volume profiles, features, robust training, analysis, backtests.")
    top.add_argument("--version", action="version", version=f"futures-vpoc {__version__}")
    sub = top.add_subparsers(dest="command", required=True, parser_class=Parser)

    data = sub.add_parser("data", help="build, merge, check and sample bar data", allow_abbrev=False)
    dsub = data.add_subparsers(dest="data_command", required=True, parser_class=Parser)
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
    _add_reading(merge)
    check = dsub.add_parser("check", help="summarise a merged or vendor bar file", allow_abbrev=False)
    check.add_argument("file", help="merged file, or a vendor file/folder (read with --es-format)")
    _add_reading(check)
    sample = dsub.add_parser("sample", help="write a bundled real data set in the merged format", allow_abbrev=False)
    sample.add_argument("name", choices=("sp500-daily",), help="sp500-daily: S&P 500 daily bars + VIX from `arch`")
    sample.add_argument("--out", required=True, help="output file (.csv or .parquet)")

    from futures_vpoc.cli_analyze import add_analyze_parser
    from futures_vpoc.cli_backtest import add_backtest_parser
    from futures_vpoc.cli_scaleup import add_ensemble_parser, add_scaleup_parser
    from futures_vpoc.cli_train import add_train_parser
    from futures_vpoc.cli_features import add_features_parser
    from futures_vpoc.cli_profile import add_profile_parser

    add_profile_parser(sub)
    add_features_parser(sub)
    add_train_parser(sub)
    add_scaleup_parser(sub)  # copies the train flags: must follow add_train_parser
    add_ensemble_parser(sub)
    add_analyze_parser(sub)
    add_backtest_parser(sub)

    from futures_vpoc.cli_demo import add_demo_parser

    add_demo_parser(sub)
    return top


def _hours(args) -> SessionHours:
    if args.rth_end <= args.rth_start:
        raise UsageError(f"--rth-end {args.rth_end} must be after --rth-start {args.rth_start}")
    return SessionHours(args.rth_start, args.rth_end)


def _out_path(text: str, *inputs: str) -> Path:
    out = Path(text)
    if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise UsageError(f"--out {text}: use a .csv or .parquet file name")
    for i in inputs:
        if i is not None and Path(i).resolve() == out.resolve():
            raise UsageError(f"--out {text} is also an input; choose another file name")
    return out


def _say(message: str, started: float) -> None:
    print(f"[{time.perf_counter() - started:6.1f}s] {message}", flush=True)


def cmd_data_synth(args) -> int:
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.check import check_bars, format_check
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    out = _out_path(args.out)
    t0 = time.perf_counter()
    bars, _ = synthesize(SynthConfig(start=args.start, end=args.end, seed=args.seed, signal=args.signal))
    write_merged(bars, out)
    _say(f"wrote {len(bars):,} synthetic bars to {out}", t0)
    print(format_check(check_bars(bars), str(out)))
    return 0


def _merge_options(args):
    from futures_vpoc.data.merge import MergeOptions

    return MergeOptions(es_format=args.es_format, tz=args.tz, stamp=args.stamp, repair=args.repair,
                        roll=args.roll, adjustment=args.adjust, tick=args.tick, hours=_hours(args),
                        vix_lag_minutes=getattr(args, "vix_lag", 0.0))


def cmd_data_merge(args) -> int:
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.check import check_bars, format_check
    from futures_vpoc.data.merge import build_merged

    out = _out_path(args.out, args.es, args.vix)
    t0 = time.perf_counter()
    result = build_merged(args.es, args.vix, _merge_options(args))
    for note in result.loaded.notes:
        print(note)
    repairs = {k: v for k, v in result.loaded.repairs.items() if v}
    print("repairs: " + (", ".join(f"{k} {v}" for k, v in repairs.items()) if repairs else "none"))
    write_merged(result.bars, out)
    _say(f"wrote {len(result.bars):,} bars to {out}", t0)
    print(format_check(check_bars(result.bars, args.tick, _hours(args)), str(out)))
    return 0


def read_any(path: str, args) -> "object":
    """A merged file as is; anything else through the vendor loaders and the roll."""
    from futures_vpoc.data.barframe import is_merged_header, read_merged
    from futures_vpoc.data.merge import build_merged
    from futures_vpoc.errors import DataError

    p = Path(path)
    if not p.exists():
        raise DataError("file not found", file=path, hint="check the path")
    if p.is_file() and p.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        if is_merged_header(pq.read_schema(p).names):
            return read_merged(p)
    elif p.is_file():
        with open(p, encoding="utf-8", errors="replace") as fh:
            header = fh.readline().strip().split(",")
        if is_merged_header(header):
            return read_merged(p)
    result = build_merged(p, None, _merge_options(args))
    for note in result.loaded.notes:
        print(note)
    return result.bars


def cmd_data_check(args) -> int:
    from futures_vpoc.data.check import check_bars, format_check

    bars = read_any(args.file, args)
    print(format_check(check_bars(bars, args.tick, _hours(args)), args.file))
    return 0


def cmd_data_sample(args) -> int:
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.check import check_bars, format_check
    from futures_vpoc.data.samples import sp500_daily

    out = _out_path(args.out)
    bars = sp500_daily()
    write_merged(bars, out)
    print(f"wrote {len(bars):,} daily S&P 500 bars with VIX (as of the previous close) to {out}")
    print(format_check(check_bars(bars), str(out)))
    return 0


COMMANDS = {
    ("data", "synth"): cmd_data_synth,
    ("data", "merge"): cmd_data_merge,
    ("data", "check"): cmd_data_check,
    ("data", "sample"): cmd_data_sample,
}


def _handler(args):
    if args.command == "profile":
        from futures_vpoc.cli_profile import cmd_profile

        return cmd_profile
    if args.command in ("scale-up", "ensemble"):
        from futures_vpoc.cli_scaleup import cmd_ensemble, cmd_scaleup

        return cmd_scaleup if args.command == "scale-up" else cmd_ensemble
    if args.command == "train":
        from futures_vpoc.cli_train import cmd_train

        return cmd_train
    if args.command == "backtest" and args.walk_forward:
        from futures_vpoc.cli_walkforward import cmd_walkforward

        return cmd_walkforward
    if args.command == "backtest":
        from futures_vpoc.cli_backtest import cmd_backtest

        return cmd_backtest
    if args.command == "analyze":
        from futures_vpoc.cli_analyze import cmd_analyze

        return cmd_analyze
    if args.command == "demo":
        from futures_vpoc.cli_demo import cmd_demo

        return lambda parsed: cmd_demo(parsed, main)
    if args.command == "features":
        from futures_vpoc.cli_features import cmd_features

        return cmd_features
    return COMMANDS[(args.command, getattr(args, "data_command", None))]


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # the exact command, for run records
    handler = _handler(args)
    try:
        return handler(args)
    except FuturesVpocError as exc:
        print(f"futures-vpoc: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("futures-vpoc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
