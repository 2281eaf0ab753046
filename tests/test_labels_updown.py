"""The default ``direction`` target is up vs down (issue 14, "a label and a rule that agree").

A flat horizon (``close[j] == close[t]``) gets no label but keeps its forward return; the old "up vs
not up" target stays reachable as ``up_or_not``. On a signal-free market up and down are then
equally likely (so P(up) < 0.5 is evidence of down, and a symmetric long/short rule is unbiased),
whereas "up vs not up" puts the flat share on the "not up" side. Expected values below come from
hand loops over the closes, not from the code under test.
"""

import json

import numpy as np
import pandas as pd
import pytest
from test_dataset import StandIn
from test_labels import bars_at, ct_clock, session_grid

from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.dataset import build_dataset
from futures_vpoc.labels import BINARY_TARGETS, TARGETS, class_shares, is_binary, make_labels


@pytest.fixture(scope="module")
def day():
    """One 2019 session of 1-minute bars, a random walk on the tick grid (many flat 3-bar moves)."""
    return bars_at(session_grid("2019-03-07", "2019-03-07"), seed=11)


def hand_labels(bars, horizon):
    """(fwd_return, up vs down, up vs not up) by a plain loop on full minutes (no bar missing)."""
    close = bars["close"].to_numpy()
    clock = ct_clock(bars.index)
    n = len(close)
    fwd, updown, upnot = (np.full(n, np.nan) for _ in range(3))
    for t in range(n - horizon):
        crosses = ("2019-03-07 15:12" <= clock[t] < "2019-03-07 15:15") or clock[t] >= "2019-03-07 15:57"
        if crosses:
            continue
        a, b = close[t], close[t + horizon]
        fwd[t] = b / a - 1
        upnot[t] = 1.0 if b > a else 0.0
        updown[t] = 1.0 if b > a else (0.0 if b < a else np.nan)
    return fwd, updown, upnot


def test_flat_rows_get_no_label_and_keep_a_finite_forward_return(day):
    table = make_labels(day, horizon=3)
    fwd, updown, _ = hand_labels(day, 3)
    frame = table.frame
    np.testing.assert_array_equal(frame["fwd_return"].to_numpy(), fwd)
    np.testing.assert_array_equal(frame["label"].to_numpy(), updown)
    flat = table.known & ~table.labelled
    assert flat.sum() > 20  # the fixture has flat horizons to speak of
    assert (frame["fwd_return"][flat] == 0.0).all()
    assert frame["label"][flat].isna().all()
    assert frame["label_end"][flat].notna().all()  # the outcome's time is known, as for any asked row
    np.testing.assert_array_equal(table.labelled, np.isfinite(updown))
    np.testing.assert_array_equal(table.known, np.isfinite(fwd))


def test_up_or_not_reproduces_the_old_labels_exactly(day):
    for horizon in (1, 3, 5):
        old = make_labels(day, target="up_or_not", horizon=horizon)
        new = make_labels(day, horizon=horizon)
        if horizon == 3:
            _, _, upnot = hand_labels(day, 3)
            np.testing.assert_array_equal(old.frame["label"].to_numpy(), upnot)
        # same forward returns, same label_end, same rows asked; labels differ only on flat rows (0 vs NaN)
        pd.testing.assert_frame_equal(old.frame[["fwd_return", "label_end"]], new.frame[["fwd_return", "label_end"]])
        np.testing.assert_array_equal(old.labelled, old.known)
        np.testing.assert_array_equal(old.known, new.known)
        np.testing.assert_array_equal(old.frame["label"][new.labelled], new.frame["label"][new.labelled])
        flat = new.known & ~new.labelled
        assert (old.frame["label"][flat] == 0.0).all()


def test_targets_and_the_binary_helper():
    assert TARGETS == ("direction", "up_or_not", "rank")
    assert BINARY_TARGETS == ("direction", "up_or_not")
    assert is_binary("direction") and is_binary("up_or_not") and not is_binary("rank")
    from futures_vpoc.ml.config import TARGETS as ml_targets
    from futures_vpoc.ml.config import TrainConfig

    assert ml_targets == TARGETS
    assert TrainConfig(target="up_or_not").target == "up_or_not"


def test_the_cli_offers_every_target():
    """``train --target`` and ``backtest --walk-forward --target`` are text-only parsers: keep them equal."""
    from futures_vpoc.cli.main import build_parser

    top = build_parser()
    commands = next(a for a in top._actions if a.dest == "command").choices
    for name in ("train", "backtest"):
        action = next(a for a in commands[name]._actions if "--target" in a.option_strings)
        assert tuple(action.choices) == TARGETS, name


def test_class_shares_add_up_to_one(day):
    table = make_labels(day, horizon=3)
    s = class_shares(table)
    assert s["n"] == int(table.known.sum())
    assert s["up"] + s["flat"] + s["down"] == pytest.approx(1.0, abs=1e-12)
    fwd = table.frame["fwd_return"].to_numpy()
    assert s["flat"] == pytest.approx(np.mean(fwd[table.known] == 0))
    assert s["up"] == pytest.approx(np.mean(table.frame["label"][table.labelled] == 1) * (1 - s["flat"]))
    assert class_shares(fwd) == s  # the same from the forward returns, NaN rows left out
    for target in TARGETS:  # the shares describe the outcomes, whatever the target
        assert class_shares(make_labels(day, target=target, horizon=3)) == s
    assert class_shares(np.array([np.nan])) == {"up": None, "flat": None, "down": None, "n": 0}
    assert class_shares([0.01, 0.0, -0.02, 0.03]) == {"up": 0.5, "flat": 0.25, "down": 0.25, "n": 4}


@pytest.fixture(scope="module")
def no_signal():
    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-03-31", seed=7, signal=0.0))
    return bars


def test_a_signal_free_market_is_half_up_half_down_but_not_half_up_or_not(no_signal):
    """Signal 0 (2023-Q1, seed 7, horizon 5; about 85,000 labelled rows): up share 0.5 +- 0.03 among the
    up/down rows; "up vs not up" is near 0.46, the flat share (about 8 %) all on "not up"."""
    direction = make_labels(no_signal, horizon=5)
    up_share = float(direction.frame["label"][direction.labelled].mean())
    assert abs(up_share - 0.5) <= 0.03, up_share
    old = make_labels(no_signal, target="up_or_not", horizon=5)
    old_share = float(old.frame["label"][old.labelled].mean())
    shares = class_shares(old)
    assert old_share == pytest.approx(shares["up"])
    assert shares["flat"] > 0.04
    assert old_share < 0.5 - 0.03, old_share  # well below a half: a rule short below 0.5 - theta is short-biased
    assert old_share < up_share - shares["flat"] / 3


@pytest.fixture(scope="module")
def synthetic_bars():
    bars, _ = synthesize(SynthConfig(start="2023-02-27", end="2023-03-24", seed=4))
    return bars


def test_a_flat_row_never_enters_the_datasets_arrays(synthetic_bars):
    bars = synthetic_bars
    ds = build_dataset(bars, horizon=5, builder=StandIn())
    labels = make_labels(bars, horizon=5)
    flat_stamps = bars.index[labels.known & ~labels.labelled]
    assert len(flat_stamps) > 100
    for part in ("train", "val", "test"):
        stamps = getattr(ds, f"t_{part}")
        assert not stamps.isin(flat_stamps).any(), part
        assert (getattr(ds, f"fwd_{part}") != 0).all(), part
        assert set(np.unique(getattr(ds, f"y_{part}"))) == {0.0, 1.0}
    # every flat candidate row is counted, and the shares per part hold them (flat share = dropped / n)
    c = ds.counts
    shares = c["label_shares"]
    for part in ("train", "val", "test"):
        s = shares[part]
        assert s["up"] + s["flat"] + s["down"] == pytest.approx(1.0)
        assert s["n"] == c[f"n_{part}"] + round(s["flat"] * s["n"])
    assert c["dropped_flat"] == sum(round(shares[p]["flat"] * shares[p]["n"]) for p in ("train", "val", "test"))
    assert json.loads(json.dumps(c)) == c  # JSON-able, as config.json and checkpoints store it


def test_up_or_not_and_rank_keep_the_flat_rows_and_cut_the_same_boundaries(synthetic_bars):
    bars = synthetic_bars
    ds = build_dataset(bars, horizon=5, builder=StandIn())
    for target in ("up_or_not", "rank"):
        other = build_dataset(bars, target=target, horizon=5, builder=StandIn())
        assert other.boundaries == ds.boundaries  # the split is decided before any outcome
        assert other.counts["dropped_flat"] == 0
        assert other.counts["label_shares"] == ds.counts["label_shares"]
        for part in ("train", "val", "test"):
            kept = getattr(other, f"t_{part}")
            assert getattr(ds, f"t_{part}").isin(kept).all()  # direction = up_or_not minus the flat rows
            assert len(kept) == ds.counts[f"n_{part}"] + round(
                ds.counts["label_shares"][part]["flat"] * ds.counts["label_shares"][part]["n"])
