"""Issue 16 acceptance: on two weeks of real 1-minute ES bars with VIX (the bundled LEAN sample), VIX
and volume reach the model, and every feature is reported kept or dropped with its reason."""

from __future__ import annotations

import numpy as np
import pytest

from futures_vpoc.data.samples import es_minute
from futures_vpoc.dataset import build_dataset, kept_and_dropped
from futures_vpoc.features.build import build_features


@pytest.fixture(scope="module")
def two_weeks():
    """The sample's first ten trade dates, 2013-10-07 .. 2013-10-31 (six whole sessions in a row, a
    partial one, two more whole ones and a partial one: about two weeks of bars), ESZ3, VIX on every bar."""
    bars = es_minute()
    dates = bars["trade_date"].drop_duplicates()
    return bars[bars["trade_date"] < dates.iloc[10]]


def test_vix_and_volume_reach_the_model_on_two_real_weeks(two_weeks):
    ds = build_dataset(two_weeks)
    kept, dropped = kept_and_dropped(ds.feature_report)
    vix = [f for f in kept if f.startswith("vix_")]
    volume = [f for f in kept if f.startswith("volume_")]
    assert len(vix) >= 3 and len(volume) >= 2, (vix, volume, dropped)
    assert set(kept) | set(dropped) == set(ds.feature_report)  # every feature is accounted for
    assert all(reason.startswith("values on ") for reason in dropped.values()), dropped
    table = build_features(two_weeks).frame
    after_two = two_weeks["trade_date"] >= two_weeks["trade_date"].drop_duplicates().iloc[2]
    for name in vix + volume:
        share = float(np.isfinite(table.loc[after_two.to_numpy(), name]).mean())
        assert share >= 0.9, (name, share)
