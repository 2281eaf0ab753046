"""Vendor bar-file readers and format auto-detection.

One small reader per vendor layout (``shared/reference/es_market_and_data_formats.md`` section 2):

=============  ===============================================================  ==================  =========
format         layout                                                           time zone           stamp
=============  ===============================================================  ==================  =========
generic        CSV/Parquet with a header: a timestamp column (or date + time)   offset in the text  start
               and open/high/low/close/volume in any capitalisation; or no      or ``--tz``, else   (else
               header, ``date[,time],open,high,low,close,volume`` with dates    told by the gaps    told by
               ``20230103``, ``01/03/2023``, ``2023-01-03``, ``2023.01.03``                         the gaps)
               and times ``093000``, ``09:30``, ``09:30:00``
generic        a date without a time of day (``Date,Open,...`` or Yahoo's       none: the CME       start
(date only)    ``...,Adj Close,Volume``): bar at its trade date's Globex open   trade date
databento      ``ts_event,rtype,publisher_id,instrument_id,open,...,volume``    UTC                 start
               ``[,symbol]``; int ns or ISO ts; fixed-point (1e-9) or decimal
ninjatrader    no header, ``yyyyMMdd HHmmss;open;high;low;close;volume``         UTC                 end
kibot          no header, ``MM/DD/YYYY,HH:MM,open,high,low,close,volume``       America/New_York    start
tradestation   ``"Date","Time","Open","High","Low","Close","Up","Down"``        America/Chicago     end
               (volume = Up + Down)
sierra         ``Date, Time, Open, High, Low, Last, Volume, # of Trades, ...``  the chart's: --tz   start
firstrate      ``yyyy-MM-dd HH:mm:ss,open,high,low,close,volume``, no header    America/New_York    told by
               or ``timestamp,open,high,low,close,volume``                      unless the gaps     the gaps
                                                                                clearly differ
lean           QuantConnect LEAN ``<YYYYMMDD>_trade.zip``: one header-less CSV  UTC                 start
               per contract, ``ms_since_midnight,open,high,low,close,volume``
dbn            Databento DBN (``.dbn``, ``.dbn.zst``), OHLCV schemas;           UTC                 start
               fixed-point (1e-9) prices; contract per ``instrument_id``
=============  ===============================================================  ==================  =========

A reader only parses: it returns :class:`RawBars` (UTC stamps as the file states them, prices as
read, 0-based data-row numbers) and raises :class:`~futures_vpoc.errors.DataError` for what it
cannot parse, naming the file, the 1-based line (header counted), the column and the value.
Checks of the values live in :mod:`futures_vpoc.data.validate`; turning end stamps into bar starts
lives in :mod:`futures_vpoc.data.load`; telling a zone or stamp convention from the file's gaps, in
:mod:`futures_vpoc.data.clock`.

Modules: one per vendor (:mod:`~.generic`, :mod:`~.databento`, :mod:`~.ninjatrader`,
:mod:`~.kibot`, :mod:`~.tradestation`, :mod:`~.sierra`, :mod:`~.firstrate`, :mod:`~.lean`,
:mod:`~.dbn`, with :mod:`~.headerless` for what the header-less ones share and
:mod:`~.instruments` for naming Databento instrument ids as contracts), :mod:`~.detect` (detection and
:func:`read_bars`), :mod:`~.dateonly` (daily bars dated without a time of day),
:mod:`~.rawbars` (what a reader returns), :mod:`~.linemap` (rows to lines,
errors), :mod:`~.csvread` (fast typed CSV reading, locating a failed cell), :mod:`~.times`
(timestamp parsing, time zones) and :mod:`~.parquet`.
"""

from __future__ import annotations

from futures_vpoc.data.formats.databento import read_databento
from futures_vpoc.data.formats.dbn import read_dbn
from futures_vpoc.data.formats.detect import READERS, detect_format, read_bars
from futures_vpoc.data.formats.firstrate import read_firstrate
from futures_vpoc.data.formats.generic import read_generic
from futures_vpoc.data.formats.kibot import read_kibot
from futures_vpoc.data.formats.lean import lean_tick_type, read_lean
from futures_vpoc.data.formats.linemap import LineMap, fail
from futures_vpoc.data.formats.ninjatrader import read_ninjatrader
from futures_vpoc.data.formats.rawbars import FORMATS, PRICE_FIELDS, STAMPS, RawBars
from futures_vpoc.data.formats.sierra import read_sierra
from futures_vpoc.data.formats.times import check_zone, guess_time_format, has_zone, localize, parse_times
from futures_vpoc.data.formats.tradestation import read_tradestation

__all__ = ["FORMATS", "STAMPS", "LineMap", "RawBars", "detect_format", "read_bars", "READERS",
           "read_generic", "read_databento", "read_ninjatrader", "read_kibot", "read_tradestation",
           "read_sierra", "read_firstrate", "read_lean", "read_dbn", "lean_tick_type",
           "PRICE_FIELDS", "fail", "check_zone", "guess_time_format", "has_zone", "localize", "parse_times"]
