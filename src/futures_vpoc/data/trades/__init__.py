"""Trade prints: readers (DBN trades/mbo/tbbo, TickData, NinjaTrader tick, generic CSV/Parquet),
validation and repair, per-trade sessions, and bars built from trades.

Everything works on :class:`~futures_vpoc.data.trades.chunk.Trades` chunks, streamed from the
files, so memory stays bounded however many prints there are.
"""
