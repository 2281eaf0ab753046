"""Vendor bar-file readers and format auto-detection.

One small reader per vendor layout (``shared/reference/es_market_and_data_formats.md`` section 2):

=============  ===============================================================  ==================  =========
format         layout                                                           time zone           stamp
=============  ===============================================================  ==================  =========
generic        CSV/Parquet with a header: a timestamp column (or date + time)   offset in the text  start
               and open/high/low/close/volume in any capitalisation             or ``--tz``
databento      ``ts_event,rtype,publisher_id,instrument_id,open,...,volume``    UTC                 start
               ``[,symbol]``; int ns or ISO ts; fixed-point (1e-9) or decimal
ninjatrader    no header, ``yyyyMMdd HHmmss;open;high;low;close;volume``         UTC                 end
kibot          no header, ``MM/DD/YYYY,HH:MM,open,high,low,close,volume``       America/New_York    start
tradestation   ``"Date","Time","Open","High","Low","Close","Up","Down"``        America/Chicago     end
               (volume = Up + Down)
sierra         ``Date, Time, Open, High, Low, Last, Volume, # of Trades, ...``  the chart's: --tz   start
firstrate      no header, ``yyyy-MM-dd HH:mm:ss,open,high,low,close,volume``    America/New_York    detected
=============  ===============================================================  ==================  =========

A reader only parses: it returns :class:`RawBars` (UTC stamps as the file states them, prices as
read, 0-based data-row numbers) and raises :class:`~futures_vpoc.errors.DataError` for what it
cannot parse, naming the file, the 1-based line (header counted), the column and the value.
Checks of the values live in :mod:`futures_vpoc.data.validate`; turning end stamps into bar starts
and detecting the convention live in :mod:`futures_vpoc.data.load`.

Modules: one per vendor (:mod:`~.generic`, :mod:`~.databento`, :mod:`~.ninjatrader`,
:mod:`~.kibot`, :mod:`~.tradestation`, :mod:`~.sierra`, :mod:`~.firstrate`, with
:mod:`~.headerless` for what the header-less ones share), :mod:`~.detect` (detection and
:func:`read_bars`), :mod:`~.rawbars` (what a reader returns), :mod:`~.linemap` (rows to lines,
errors), :mod:`~.csvread` (fast typed CSV reading, locating a failed cell), :mod:`~.times`
(timestamp parsing, time zones) and :mod:`~.parquet`.
"""

from __future__ import annotations

from futures_vpoc.data.formats.databento import read_databento
from futures_vpoc.data.formats.detect import READERS, detect_format, read_bars
from futures_vpoc.data.formats.firstrate import read_firstrate
from futures_vpoc.data.formats.generic import read_generic
from futures_vpoc.data.formats.kibot import read_kibot
from futures_vpoc.data.formats.linemap import LineMap, fail
from futures_vpoc.data.formats.ninjatrader import read_ninjatrader
from futures_vpoc.data.formats.rawbars import FORMATS, PRICE_FIELDS, STAMPS, RawBars
from futures_vpoc.data.formats.sierra import read_sierra
from futures_vpoc.data.formats.times import check_zone, guess_time_format, has_zone, localize, parse_times
from futures_vpoc.data.formats.tradestation import read_tradestation

__all__ = ["FORMATS", "STAMPS", "LineMap", "RawBars", "detect_format", "read_bars", "READERS",
           "read_generic", "read_databento", "read_ninjatrader", "read_kibot", "read_tradestation",
           "read_sierra", "read_firstrate",
           "PRICE_FIELDS", "fail", "check_zone", "guess_time_format", "has_zone", "localize", "parse_times"]
