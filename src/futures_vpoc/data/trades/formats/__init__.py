"""One reader per trade-print layout: Databento DBN (trades, tbbo, mbo), TickData CSV,
NinjaTrader tick exports, and generic CSV/Parquet with named columns.

A reader only parses: it yields :class:`~futures_vpoc.data.trades.chunk.Trades` chunks as the file
states them (UTC ns stamps, prices in index points, sizes in contracts, aggressor side codes) and
refuses what it cannot parse. Tick grid, sizes and time order are checked afterwards by
:mod:`futures_vpoc.data.trades.validate`, chunk by chunk.
"""
