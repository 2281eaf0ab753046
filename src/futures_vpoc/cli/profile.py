"""``futures-vpoc profile``: session volume profiles of a merged file, or exact ones from trades.

Prints the per-session table, and on request writes it (``--out``), the per-bar developing table
(``--developing``), the volume at every price (``--levels``) and a picture of one session
(``--plot``). A partitioned bar dataset (``--data DIR``, :mod:`futures_vpoc.data.partitioned`) is
profiled month by month in bounded memory (:mod:`futures_vpoc.profile.partitioned`): the same
files, equal to the whole-file run's, the per-bar and per-level tables appended month by month
into their one file and the per-session table (one row a session) kept whole. With ``--trades`` the profiles are exact (volume at each traded price), with delta
per price, and ``--compare-bars`` measures how far each bar-based allocation rule lands from them.
Every check runs before anything is computed; every file is written whole through a temporary file.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from futures_vpoc.cli.options import TRADE_FORMATS
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.profile.spec import ALLOCATIONS, EXPANSIONS

PRINT_COLUMNS = ["trade_date", "contract", "vpoc", "val", "vah", "va_width", "volume", "poc_volume", "bars"]
TABLE_SUFFIXES = (".csv", ".parquet", ".pq")

if TYPE_CHECKING:
    import pandas as pd


def add_profile_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``profile`` subcommand on ``subparsers`` (from ``add_subparsers``)."""
    p = subparsers.add_parser("profile", help="session volume profiles: VPOC, value area, developing VPOC",
                              allow_abbrev=False)
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="merged bar file (.csv or .parquet), or a partitioned bar dataset folder "
                        "(profiled month by month in bounded memory; the same output files)")
    source.add_argument("--trades", nargs="+", metavar="PATH",
                        help="trade prints (DBN trades/tbbo/mbo, TickData, NinjaTrader tick, CSV/Parquet; files or a "
                        "folder): exact profiles, volume and delta at every price")
    p.add_argument("--trades-format", choices=TRADE_FORMATS, default="auto",
                   help="layout of the --trades files (default: told from the content)")
    p.add_argument("--tz", default=None, help="time zone of --trades stamps written without one (IANA name)")
    p.add_argument("--repair", action="store_true",
                   help="--trades: drop and count bad prints (off-grid price, size <= 0, time going back, unknown "
                   "side, outside every session) instead of stopping at the first")
    p.add_argument("--compare-bars", action="store_true",
                   help="--trades: profile the 1-minute bars of the same trades with each allocation rule and "
                   "report how far their VPOC, VAH and VAL are from the exact ones, in ticks")
    p.add_argument("--compare-out", default=None, help="write the --compare-bars table (.csv, .parquet or .md)")
    p.add_argument("--date", default=None, help="trade date YYYY-MM-DD: print, write and plot only this date")
    scope = p.add_mutually_exclusive_group()
    scope.add_argument("--rth", action="store_true", help="profile regular trading hours only")
    scope.add_argument("--eth", action="store_true", help="profile the electronic (non-RTH) hours only")
    p.add_argument("--allocation", choices=ALLOCATIONS, default="uniform",
                   help="volume per level: uniform over the bar's range (default), at the close, or tpo counts")
    p.add_argument("--value-area", type=float, default=0.7, help="value-area share of the volume (default 0.7)")
    p.add_argument("--expansion", choices=EXPANSIONS, default="two",
                   help="value-area expansion: two levels a side (CBOT/Dalton, default) or one")
    p.add_argument("--tick", type=float, default=0.25, help="price level size in index points (ES: 0.25)")
    p.add_argument("--out", default=None, help="write the per-session table (.csv or .parquet)")
    p.add_argument("--developing", default=None,
                   help="write the per-bar developing table: timestamp, dev_vpoc, dev_vah, dev_val, prior levels")
    p.add_argument("--levels", default=None,
                   help="write the volume at every price of every session (.csv or .parquet; with --trades also "
                   "buy, sell volume and delta)")
    p.add_argument("--plot", default=None, help="write a PNG of the --date session (default: the last one)")
    p.add_argument("--rows", type=int, default=20, help="sessions to print, the last ones (default 20; 0 = all)")
    return p


def _spec(args):
    from futures_vpoc.profile.spec import ProfileSpec

    if not 0 < args.value_area <= 1:
        raise UsageError(f"--value-area {args.value_area}: use a share in (0, 1], e.g. 0.7")
    if not args.tick > 0:
        raise UsageError(f"--tick {args.tick}: the tick size must be > 0 (ES: 0.25)")
    scope = "rth" if args.rth else "eth" if args.eth else "globex"
    return ProfileSpec(tick=args.tick, allocation=args.allocation, value_area=args.value_area,
                       expansion=args.expansion, scope=scope)


def _check_outputs(args) -> None:
    inputs = {Path(p).resolve() for p in ([args.data] if args.data else args.trades)}
    if args.trades is None:
        for flag in ("--compare-bars", "--compare-out", "--repair", "--tz"):
            if getattr(args, flag[2:].replace("-", "_")) not in (None, False):
                raise UsageError(f"{flag} works with --trades only")
        if args.trades_format != "auto":
            raise UsageError("--trades-format works with --trades only")
    if args.compare_out and not args.compare_bars:
        raise UsageError("--compare-out writes the --compare-bars table: add --compare-bars")
    for flag, name, suffixes in (("--out", args.out, TABLE_SUFFIXES), ("--developing", args.developing, TABLE_SUFFIXES),
                                 ("--levels", args.levels, TABLE_SUFFIXES),
                                 ("--compare-out", args.compare_out, (*TABLE_SUFFIXES, ".md")),
                                 ("--plot", args.plot, (".png",))):
        if name is None:
            continue
        if Path(name).suffix.lower() not in suffixes:
            raise UsageError(f"{flag} {name}: use a {' or '.join(suffixes)} file name")
        if Path(name).resolve() in inputs:
            raise UsageError(f"{flag} {name} is an input file; choose another name")


def _date(text):
    import pandas as pd

    if text is None:
        return None
    try:
        return pd.Timestamp(text).normalize()
    except (ValueError, TypeError):
        raise UsageError(f"--date {text!r}: not a date; use YYYY-MM-DD") from None


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Times as ISO-8601 UTC text (``...Z``), trade dates as ``YYYY-MM-DD`` (the merged-file style)."""
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif pd.api.types.is_datetime64_dtype(out[col].dtype):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    return out


def _write_table(frame: pd.DataFrame, path: str) -> None:
    from futures_vpoc.data.barframe import atomic_write

    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        atomic_write(p, lambda tmp: frame.to_parquet(tmp, engine="pyarrow", index=False))
    else:
        atomic_write(p, lambda tmp: _as_text(frame).to_csv(tmp, index=False, lineterminator="\n"))


def _select(table: pd.DataFrame, day, data: str) -> pd.DataFrame:
    if day is None:
        return table
    rows = table[table["trade_date"] == day]
    if rows.empty:
        first, last = table["trade_date"].iloc[0], table["trade_date"].iloc[-1]
        raise DataError(f"no session on trade date {day:%Y-%m-%d}", file=data,
                        hint=f"the file covers {first:%Y-%m-%d} to {last:%Y-%m-%d}")
    return rows


def _print_table(table: pd.DataFrame, rows: int, spec, exact: bool = False) -> None:
    shown = table if rows <= 0 or len(table) <= rows else table.tail(rows)
    how = "exact from trades" if exact else f"{spec.allocation} allocation"
    print(f"{len(table):,} {spec.scope.upper()} session(s); {how}, "
          f"{spec.value_area:.0%} value area, {spec.expansion}-level expansion, tick {spec.tick:g}")
    if len(shown) < len(table):
        print(f"(the last {len(shown)}; --rows 0 prints all, --out writes all)")
    out = shown[PRINT_COLUMNS + (["trades", "delta"] if exact else [])].copy()
    out["trade_date"] = out["trade_date"].dt.strftime("%Y-%m-%d")
    print(out.to_string(index=False, float_format=lambda x: f"{x:.2f}"))


def _bar_profiles(args, spec):
    """Profiles of the merged file: (bars, sessions, developing or None, levels table or None)."""
    from futures_vpoc.data.barframe import read_merged
    from futures_vpoc.profile.developing import developing_profile
    from futures_vpoc.profile.session import session_profiles

    bars = read_merged(args.data)
    want_bars = args.developing is not None or args.plot is not None
    try:
        dev = developing_profile(bars, spec) if want_bars else None
        sessions = dev.sessions if dev is not None else session_profiles(bars, spec)
    except DataError as exc:
        if exc.file is not None:
            raise
        raise DataError(exc.problem, file=args.data, column=exc.column, value=exc.value, hint=exc.hint,
                        more=exc.more) from None
    return bars, sessions, dev


def _trade_profiles(args, spec):
    """Exact profiles of ``--trades``: the :class:`~futures_vpoc.profile.exact.ExactProfiles`."""
    from futures_vpoc.data.trades.chunk import Repairs
    from futures_vpoc.data.trades.read import iter_trades
    from futures_vpoc.profile.exact import exact_profiles

    notes: list[str] = []
    repairs = Repairs()
    chunks = iter_trades(args.trades, args.trades_format, tz=args.tz, tick=spec.tick, repair=args.repair,
                         repairs=repairs, notes=notes)
    want_dev = args.developing is not None or args.plot is not None
    exact = exact_profiles(chunks, spec, developing=want_dev, repair=args.repair, repairs=repairs, notes=notes)
    for line in notes:
        print(f"note: {line}")
    print(f"{exact.trades:,} trades read" + (f"; repairs: {repairs.total:,} row(s) dropped" if args.repair else ""))
    for line in repairs.lines():
        print(f"  {line}")
    return exact


def _write_compare(exact, args) -> None:
    from futures_vpoc.profile.compare import compare_bars
    from futures_vpoc.report.trades import approximation_markdown

    table = compare_bars(exact)
    text = approximation_markdown(table, exact)
    print(text)
    if args.compare_out:
        if Path(args.compare_out).suffix.lower() == ".md":
            from futures_vpoc.data.barframe import atomic_write

            atomic_write(Path(args.compare_out), lambda tmp: Path(tmp).write_text(text + "\n", encoding="utf-8"))
        else:
            _write_table(table, args.compare_out)
        print(f"wrote the comparison table to {args.compare_out}")


def _dataset_profile(args, spec, day) -> int:
    """``profile --data DIR`` of a partitioned bar dataset: month by month, the same outputs.

    Memory: one month of bars and its per-bar tables, the carried prior-level state, and the
    per-session table (one row a session, kept whole to print, select and write). The per-bar
    (``--developing``) and per-level (``--levels``) tables are appended month by month to their
    file (:class:`~futures_vpoc.data.partitioned.TableAppender`), which appears whole at the end.
    """
    from contextlib import ExitStack

    import pandas as pd

    from futures_vpoc.data.barframe import atomic_write
    from futures_vpoc.data.partitioned import TableAppender
    from futures_vpoc.profile.partitioned import iter_month_profiles

    want_dev = args.developing is not None or args.plot is not None
    tables, shown = [], None
    with ExitStack() as stack:
        levels = stack.enter_context(TableAppender(args.levels, _as_text)) if args.levels else None
        per_bar = stack.enter_context(TableAppender(args.developing, _as_text)) if args.developing else None
        for month in iter_month_profiles(args.data, spec, developing=want_dev):
            if month.sessions is None:
                continue
            table = month.table
            tables.append(table)
            hit = table if day is None else table[table["trade_date"] == day]
            if len(hit) == 0:
                continue
            if levels is not None:
                rows = month.levels_table()
                levels.append(rows[rows["session"].isin(hit.index)].reset_index(drop=True) if day is not None
                              else rows)
            if per_bar is not None:
                dev = month.developing_table()
                per_bar.append((dev.loc[dev["session"].isin(hit.index).to_numpy()] if day is not None
                                else dev).reset_index())
            shown = (month, int(hit.index[-1]))
            if day is not None:
                break  # the date's sessions are all in this month (a partition holds whole trade dates)
        table = _select(pd.concat(tables), day, args.data)
        _print_table(table, args.rows, spec)
        if levels is not None:
            levels.close()
            print(f"wrote {levels.rows:,} price levels to {args.levels}")
        if args.out:
            _write_table(table.reset_index(), args.out)
            print(f"wrote {len(table):,} sessions to {args.out}")
        if per_bar is not None:
            per_bar.close()
            print(f"wrote {per_bar.rows:,} bars of developing values to {args.developing}")
    if args.plot:
        from futures_vpoc.profile.plot import plot_session

        month, j = shown
        atomic_write(Path(args.plot), lambda tmp: plot_session(month.bars, month.developing, j - month.offset, tmp))
        print(f"wrote the {table.loc[j, 'trade_date']:%Y-%m-%d} session plot to {args.plot}")
    return 0


def _is_dataset(data) -> bool:
    from futures_vpoc.data.partitioned import is_partitioned

    return data is not None and Path(data).is_dir() and is_partitioned(data)


def cmd_profile(args) -> int:
    """Run ``futures-vpoc profile``; returns the exit status (errors raise FuturesVpocError)."""
    from futures_vpoc.data.barframe import atomic_write

    spec = _spec(args)
    _check_outputs(args)
    day = _date(args.date)
    if _is_dataset(args.data):
        return _dataset_profile(args, spec, day)
    source = args.data if args.data else " ".join(args.trades)
    if args.data:
        bars, sessions, dev = _bar_profiles(args, spec)
        levels = sessions.levels_table() if args.levels else None
    else:
        exact = _trade_profiles(args, spec)
        bars, sessions, dev = exact.bars, exact.sessions, exact.developing
        spec = exact.spec
        levels = exact.levels_table() if args.levels else None
    table = _select(sessions.table, day, source)
    _print_table(table, args.rows, spec, exact=args.trades is not None)
    if args.trades and args.compare_bars:
        _write_compare(exact, args)
    if args.levels:
        rows = levels[levels["session"].isin(table.index).to_numpy()] if day is not None else levels
        _write_table(rows.reset_index(drop=True), args.levels)
        print(f"wrote {len(rows):,} price levels to {args.levels}")
    if args.out:
        _write_table(table.reset_index(), args.out)
        print(f"wrote {len(table):,} sessions to {args.out}")
    if args.developing:
        per_bar = dev.table.loc[dev.table["session"].isin(table.index).to_numpy()] if day is not None else dev.table
        _write_table(per_bar.reset_index(), args.developing)
        print(f"wrote {len(per_bar):,} bars of developing values to {args.developing}")
    if args.plot:
        from futures_vpoc.profile.plot import plot_session

        j = int(table.index[-1])
        atomic_write(Path(args.plot), lambda tmp: plot_session(bars, dev, j, tmp))
        print(f"wrote the {table.loc[j, 'trade_date']:%Y-%m-%d} session plot to {args.plot}")
    return 0
