"""What every command shares: the parser class, option types, the session-hours and file-reading
flags, and the checks of output paths.

Nothing here imports a layer beyond ``config`` and ``errors``: the whole parser is built from
text, so ``futures-vpoc --help`` starts at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import time
from pathlib import Path

from futures_vpoc.config import RTH_END_CT, RTH_START_CT, SessionHours
from futures_vpoc.errors import EXIT_USAGE, UsageError

ES_FORMATS = ("auto", "generic", "databento", "ninjatrader", "kibot", "tradestation", "sierra", "firstrate",
              "lean", "dbn")
TRADE_FORMATS = ("auto", "dbn", "tickdata", "ninjatrader", "generic")
"""``--trades-format`` choices as text (a parser imports no layer): equal to
:data:`futures_vpoc.data.trades.chunk.TRADE_FORMATS` (tests/test_features_orderflow.py keeps them equal)."""

CLOSE_ENOUGH = 0.75
"""Least ``difflib`` similarity for a "did you mean" hint (``--epoch`` -> ``--epochs`` is 0.93;
``--executor`` -> ``--es`` is 0.33 and gets no hint)."""


class Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line and suggest the closest flag of the command typed."""

    def add_subparsers(self, **kwargs):  # noqa: D401 - argparse API
        kwargs.setdefault("action", TrackingSubparsers)
        return super().add_subparsers(**kwargs)

    def parse_known_args(self, args=None, namespace=None):  # noqa: D401 - argparse API
        self._typed_child = None  # set by TrackingSubparsers when a subcommand is parsed
        return super().parse_known_args(args, namespace)

    def error(self, message: str):  # noqa: D401 - argparse API
        if "unrecognized arguments" in message:
            message = "unknown flag " + ", ".join(_hints(message.split(":", 1)[1].split(), self._typed()))
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}; see --help\n")

    def _typed(self) -> argparse.ArgumentParser:
        """The parser of the (sub)subcommand the user typed: argparse reports unknown flags on the
        top parser, but the hint must look at the flags of the command typed."""
        parser = self
        while getattr(parser, "_typed_child", None) is not None:
            parser = parser._typed_child
        return parser


def _hints(words: list[str], parser: argparse.ArgumentParser) -> list[str]:
    """Each unknown flag among ``words``, with the closest flag of ``parser`` when one is close."""
    known = sorted(flag for action in parser._actions for flag in action.option_strings)
    hints = []
    for word in words:
        flag = word.split("=", 1)[0]
        if not flag.startswith("-"):
            continue
        close = difflib.get_close_matches(flag, known, n=1, cutoff=CLOSE_ENOUGH)
        hints.append(f"{flag} (did you mean {close[0]}?)" if close else flag)
    return hints


class TrackingSubparsers(argparse._SubParsersAction):
    """The subcommand action (argparse's own, a private class) that also records on the parent
    parser which subcommand parser was chosen, so :meth:`Parser.error` can find the one typed."""

    def __call__(self, parser, namespace, values, option_string=None):
        parser._typed_child = self._name_parser_map.get(values[0])
        super().__call__(parser, namespace, values, option_string)


def time_of_day(text: str) -> dt.time:
    """An ``HH:MM`` option value."""
    try:
        return dt.time.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a time of day HH:MM: {text!r}") from None


def whole_number(text: str) -> int:
    """An integer option value, with a one-line message for anything else."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    return value


def add_hours(p: argparse.ArgumentParser) -> None:
    """``--rth-start`` and ``--rth-end``."""
    p.add_argument("--rth-start", type=time_of_day, default=RTH_START_CT, help="RTH start, US Central (default 08:30)")
    p.add_argument("--rth-end", type=time_of_day, default=RTH_END_CT, help="RTH end, US Central (default 15:00)")


def add_reading(p: argparse.ArgumentParser) -> None:
    """The flags that say how to read vendor bar files (format, zone, stamps, repairs, rolls, tick)."""
    p.add_argument("--es-format", default="auto", choices=ES_FORMATS,
                   help="vendor layout of the bar file(s); auto detects it from the content and says which")
    p.add_argument("--tz", default=None,
                   help="IANA time zone of the file's timestamps, overriding the format's; without it, "
                        "timestamps that state none are read in the zone where the file's gaps match the "
                        "Globex breaks (the run says which, or asks for --tz)")
    p.add_argument("--stamp", choices=("start", "end"), default=None,
                   help="whether timestamps mark the bar start or end, overriding the format's convention "
                        "or the one the file's gaps show")
    p.add_argument("--repair", action="store_true",
                   help="repair isolated bad prints, off-grid prices and bars outside sessions (counted)")
    p.add_argument("--roll", choices=("calendar", "volume", "none"), default="calendar",
                   help="how per-contract files become one series, raw prices (calendar: Thursday 8 days "
                        "before expiry, also given to a file without contracts; none: the file is one series)")
    p.add_argument("--tick", type=float, default=0.25, help="tick size in index points (ES: 0.25)")
    add_hours(p)


def session_hours(args) -> SessionHours:
    """The :class:`SessionHours` of ``--rth-start``/``--rth-end``, refused when they are out of order."""
    if args.rth_end <= args.rth_start:
        raise UsageError(f"--rth-end {args.rth_end} must be after --rth-start {args.rth_start}")
    return SessionHours(args.rth_start, args.rth_end)


def out_path(text: str, *inputs: str) -> Path:
    """``--out`` as a path: a .csv or .parquet name that is none of ``inputs``."""
    out = Path(text)
    if out.suffix.lower() not in (".csv", ".parquet", ".pq"):
        raise UsageError(f"--out {text}: use a .csv or .parquet file name")
    for i in inputs:
        if i is not None and Path(i).resolve() == out.resolve():
            raise UsageError(f"--out {text} is also an input; choose another file name")
    return out


def say(message: str, started: float) -> None:
    """Print ``message`` with the seconds since ``started`` (``time.perf_counter``)."""
    print(f"[{time.perf_counter() - started:6.1f}s] {message}", flush=True)
