"""``futures-vpoc ticks bars``: bars built from trade prints (time, tick, volume or dollar bars).

The bars are a BarFrame with the order-flow columns (``buy_volume``, ``sell_volume``, ``trades``;
:data:`futures_vpoc.data.barframe.FLOW_COLUMNS`), written as a merged file every later stage reads.
"""

from __future__ import annotations

import argparse
import time

from futures_vpoc.cli.options import TRADE_FORMATS

BAR_HELP = ("time:1min (also time:Nmin, time:Ns, time:Nh), tick:N (N prints), volume:N (N contracts) or "
            "dollar:N (N US dollars of notional: price x 50 x size), as in Lopez de Prado, Advances in "
            "Financial Machine Learning, ch. 2")


def add_ticks_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``ticks`` and its subcommand ``bars`` on ``subparsers``."""
    ticks = subparsers.add_parser("ticks", help="trade prints: bars built from trades", allow_abbrev=False)
    tsub = ticks.add_subparsers(dest="ticks_command", required=True)
    bars = tsub.add_parser("bars", help="build time, tick, volume or dollar bars from trade prints",
                           allow_abbrev=False)
    bars.add_argument("--trades", nargs="+", required=True, metavar="PATH",
                      help="trade files or a folder (DBN trades/tbbo/mbo, TickData, NinjaTrader tick, CSV/Parquet)")
    bars.add_argument("--out", required=True, help="bar file to write (.csv or .parquet)")
    bars.add_argument("--bar", default="time:1min", help=f"bar rule: {BAR_HELP} (default time:1min)")
    bars.add_argument("--trades-format", choices=TRADE_FORMATS, default="auto",
                      help="layout of the files (default: told from the content)")
    bars.add_argument("--tz", default=None, help="time zone of stamps written without one (IANA name)")
    bars.add_argument("--vix", default=None, help="CBOE VIX_History.csv to attach (as of publication; else NaN)")
    bars.add_argument("--tick", type=float, default=0.25, help="price grid in index points (ES: 0.25)")
    bars.add_argument("--repair", action="store_true",
                      help="drop and count bad prints (off-grid price, size <= 0, time going back, unknown side, "
                      "outside every session) instead of stopping at the first")
    return ticks


def cmd_ticks_bars(args) -> int:
    """Run ``ticks bars``; returns the exit status (errors raise FuturesVpocError)."""
    from futures_vpoc.cli.options import out_path, say
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.merge import MergeOptions, with_vix
    from futures_vpoc.data.trades.bars import BarBuilder, parse_bar_rule
    from futures_vpoc.data.trades.chunk import Repairs
    from futures_vpoc.data.trades.read import iter_trades
    from futures_vpoc.data.trades.sessions import drop_outside_sessions, trade_sessions
    from futures_vpoc.data.vix import read_vix_history
    from futures_vpoc.errors import DataError

    out = out_path(args.out, *args.trades, args.vix)
    rule = parse_bar_rule(args.bar)
    vix = read_vix_history(args.vix) if args.vix else None
    t0 = time.perf_counter()
    notes: list[str] = []
    repairs = Repairs()
    builder = BarBuilder(rule, tick=args.tick)
    count = 0
    for chunk in iter_trades(args.trades, args.trades_format, tz=args.tz, tick=args.tick, repair=args.repair,
                             repairs=repairs, notes=notes):
        sess = trade_sessions(chunk.ts)
        chunk, sess = drop_outside_sessions(chunk, sess, args.repair, repairs)
        if len(chunk):
            builder.add(chunk, sess.trade_date, sess.rth)
            count += len(chunk)
    if not count:
        raise DataError("no trades to build bars from", file=" ".join(args.trades),
                        hint="check the file, the --repair counts and the session hours")
    bars = builder.finish()
    for line in [*notes, *builder.notes]:
        print(f"note: {line}")
    for line in repairs.lines():
        print(f"repair: {line}")
    bars = with_vix(bars, vix, MergeOptions()) if rule.kind == "time" else _with_vix_at_start(bars, vix)
    write_merged(bars, out)
    say(f"wrote {len(bars):,} {args.bar} bars from {count:,} trades to {out}", t0)
    return 0


def _with_vix_at_start(bars, vix):
    """VIX as of each bar's START for bars of no fixed width (tick, volume, dollar): their end is
    their last print, which the frame does not hold; the start is earlier, so never a look-ahead."""
    import numpy as np
    import pandas as pd

    from futures_vpoc.data.vix import attach_vix

    out = bars.copy()
    out["vix"] = np.nan if vix is None else attach_vix(out.index, pd.Timedelta(0), vix)
    return out


COMMANDS = {"bars": cmd_ticks_bars}
"""``ticks`` subcommand -> handler."""
