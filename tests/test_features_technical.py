"""Technical indicators pinned to outside references.

RSI(14), ATR(14) and Bollinger Bands (20, 2) are checked against StockCharts ChartSchool's worked
examples (the spreadsheets cs-rsi.xls, cs-atr.xls and cs-bbands.xls published with the indicator
pages below), including where the first value appears. The spreadsheets publish 4 decimals for
RSI and 6 for ATR and the bands, hence the tolerances. MACD is checked against an independent
pandas implementation of the same definition (``ewm(adjust=False)`` after an SMA seed).

RSI: https://chartschool.stockcharts.com/table-of-contents/technical-indicators-and-overlays/technical-indicators/relative-strength-index-rsi
ATR: https://chartschool.stockcharts.com/table-of-contents/technical-indicators-and-overlays/technical-indicators/average-true-range-atr
Bollinger: https://chartschool.stockcharts.com/table-of-contents/technical-indicators-and-overlays/technical-overlays/bollinger-bands
"""

import numpy as np
import pandas as pd

from futures_vpoc.calendar import assign_sessions
from futures_vpoc.data.barframe import conform
from futures_vpoc.features import build_features
from futures_vpoc.features.common import atr, true_range
from futures_vpoc.features.segments import bar_arrays, chunks
from futures_vpoc.features.streams import Streams

RSI_CLOSE = [44.3389, 44.0902, 44.1497, 43.6124, 44.3278, 44.8264, 45.0955, 45.4245, 45.8433, 46.0826, 45.8931,
             46.0328, 45.6140, 46.2820, 46.2820, 46.0028, 46.0328, 46.4116, 46.2222, 45.6439, 46.2122, 46.2521,
             45.7137, 46.4515, 45.7835, 45.3548, 44.0288, 44.1783, 44.2181, 44.5672, 43.4205, 42.6628, 43.1314]
RSI_PUBLISHED = [70.5328, 66.3186, 66.5498, 69.4063, 66.3552, 57.9749, 62.9296, 63.2571, 56.0593, 62.3771, 54.7076,
                 50.4228, 39.9898, 41.4605, 41.8689, 45.4632, 37.3040, 33.0795, 37.7730]  # from bar 15 on

ATR_HIGH = [48.70, 48.72, 48.90, 48.87, 48.82, 49.05, 49.20, 49.35, 49.92, 50.19, 50.12, 49.66, 49.88, 50.19, 50.36,
            50.57, 50.65, 50.43, 49.63, 50.33, 50.29, 50.17, 49.32, 48.50, 48.3201, 46.80, 47.80, 48.39, 48.66, 48.79]
ATR_LOW = [47.79, 48.14, 48.39, 48.37, 48.24, 48.635, 48.94, 48.86, 49.50, 49.87, 49.20, 48.90, 49.43, 49.725, 49.26,
           50.09, 50.30, 49.21, 48.98, 49.61, 49.20, 49.43, 48.08, 47.64, 41.55, 44.2833, 47.31, 47.20, 47.90, 47.7301]
ATR_CLOSE = [48.16, 48.61, 48.75, 48.63, 48.74, 49.03, 49.07, 49.32, 49.91, 50.13, 49.53, 49.50, 49.75, 50.03, 50.31,
             50.52, 50.41, 49.34, 49.37, 50.23, 49.2375, 49.93, 48.43, 48.18, 46.57, 45.41, 47.77, 47.72, 48.62, 47.85]
ATR_PUBLISHED = [0.555, 0.593929, 0.585791, 0.568949, 0.615452, 0.61792, 0.642354, 0.674329, 0.69277, 0.775429,
                 0.78147, 1.209229, 1.30262, 1.38029, 1.366698, 1.336219, 1.316482]  # from bar 14 on

BB_CLOSE = [86.1557, 89.0867, 88.7829, 90.3228, 89.0671, 91.1453, 89.4397, 89.1750, 86.9302, 87.6752, 86.9596,
            89.4299, 89.3221, 88.7241, 87.4497, 87.2634, 89.4985, 87.9006, 89.1260, 90.7043, 92.9001, 92.9784,
            91.8021, 92.6647, 92.6843, 92.3021, 92.7725, 92.5373, 92.9490, 93.2039, 91.0669, 89.8318, 89.7435,
            90.3994, 90.7387, 88.0177, 88.0867, 88.8439, 90.7781, 90.5416, 91.3894, 90.6500]
BB_UPPER = [91.291862, 91.949268, 92.612595, 92.9342, 93.31195, 93.72845, 93.899592, 94.266255, 94.565096, 94.786912,
            95.043001, 94.907605, 94.902912, 94.89532, 94.861013, 94.673629, 94.556593, 94.678752, 94.575786,
            94.534271, 94.532306, 94.369251, 94.148503]  # from bar 20 on
BB_LOWER = [86.124018, 86.141052, 85.866895, 85.84721, 85.70365, 85.64887, 85.593408, 85.560025, 85.597414,
            85.977478, 86.274259, 86.820385, 86.865268, 86.915, 87.116837, 87.633121, 87.825587, 87.562248,
            87.759544, 87.966269, 87.951964, 87.963949, 87.951857]


def _bars(close, high=None, low=None):
    """One session of 1-minute ESH4 bars (from 2024-03-05 15:00 UTC); open = close; range +-0.25 by default."""
    close = np.asarray(close, dtype=float)
    idx = pd.date_range("2024-03-05 15:00", periods=len(close), freq="1min", tz="UTC")
    where = assign_sessions(idx)
    return conform(pd.DataFrame({
        "open": close, "high": close + 0.25 if high is None else high, "low": close - 0.25 if low is None else low,
        "close": close, "volume": 10.0, "contract": "ESH4", "trade_date": where.trade_date, "rth": where.rth,
        "vix": np.nan}, index=idx))


def _technical(closes):
    return build_features(_bars(closes), groups=["technical"]).frame


def test_rsi_matches_chartschool():
    rsi = _technical(RSI_CLOSE)["technical_rsi_14"].to_numpy()
    assert np.isnan(rsi[:14]).all()
    np.testing.assert_allclose(rsi[14:], RSI_PUBLISHED, atol=5e-5)  # published to 4 decimals


def test_atr_matches_chartschool():
    chunk = next(chunks(bar_arrays(_bars(ATR_CLOSE, ATR_HIGH, ATR_LOW)), 0, None))
    st = Streams()
    got = atr(chunk, st, true_range(chunk, st), 14)
    assert np.isnan(got[:13]).all()
    np.testing.assert_allclose(got[13:], ATR_PUBLISHED, atol=5e-7)  # published to 6 decimals


def test_bollinger_position_matches_chartschool_bands():
    b = _technical(BB_CLOSE)["technical_bb_position_20"].to_numpy()
    close, upper, lower = np.array(BB_CLOSE[19:]), np.array(BB_UPPER), np.array(BB_LOWER)
    assert np.isnan(b[:19]).all()
    np.testing.assert_allclose(b[19:], (close - lower) / (upper - lower), atol=1e-6)


def _ema_reference(x: pd.Series, n: int) -> pd.Series:
    """EMA seeded with the SMA of the first n values, via pandas' own recursion."""
    seeded = pd.concat([pd.Series([x.iloc[:n].mean()], index=[x.index[n - 1]]), x.iloc[n:]])
    return seeded.ewm(alpha=2 / (n + 1), adjust=False).mean().reindex(x.index)


def test_macd_matches_an_independent_pandas_implementation():
    rng = np.random.default_rng(3)
    closes = 4000 + 0.25 * np.round(rng.normal(size=120).cumsum() * 4)
    frame = _technical(closes)
    c = pd.Series(closes)
    line = _ema_reference(c, 12) - _ema_reference(c, 26)
    valid = line.dropna()
    hist = (valid - _ema_reference(valid.reset_index(drop=True), 9).to_numpy()).reindex(c.index)
    got_cross = frame["technical_macd_cross"].to_numpy()
    assert np.isnan(got_cross[:33]).all() and np.isfinite(got_cross[33:]).all()
    np.testing.assert_array_equal(got_cross[33:], np.sign(hist.to_numpy()[33:]))
    chunk = next(chunks(bar_arrays(_bars(closes)), 0, None))
    st = Streams()
    unit = np.maximum(atr(chunk, st, true_range(chunk, st), 14), 0.25)
    np.testing.assert_allclose(frame["technical_macd_hist_atr"].to_numpy()[33:], (hist / unit).to_numpy()[33:],
                               rtol=1e-9, atol=1e-12)


def test_flat_prices_give_documented_neutral_values():
    frame = _technical(np.full(60, 4000.0))
    assert (frame["technical_rsi_14"].iloc[14:] == 50.0).all()
    assert (frame["technical_bb_position_20"].iloc[19:] == 0.5).all()
    assert (frame["technical_macd_cross"].iloc[33:] == 0.0).all()
