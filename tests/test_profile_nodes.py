"""High/low-volume nodes and composite profiles."""

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.errors import DataError
from futures_vpoc.profile import (ProfileSpec, combine, composite, composite_table, nodes_table, session_profiles,
                                  volume_nodes)
from futures_vpoc.profile import reference as ref
from futures_vpoc.profile.nodes import smooth
from futures_vpoc.profile.session import make_profile

from test_profile_support import frame_from_sessions

SPEC = ProfileSpec()


def _profile(volumes, first=16000):
    return make_profile(SPEC, first, np.array(volumes, float), float(sum(volumes)), "ESH4",
                        (pd.Timestamp("2024-01-02"),))


def test_two_distributions_give_two_hvns_and_the_lvn_between():
    # levels 4000.00.. : a peak at 4001.00 (index 4), a thin valley at index 10, a peak at index 16
    vol = [1, 2, 4, 8, 12, 8, 4, 2, 1, 1, 0.5, 1, 1, 2, 5, 9, 14, 9, 5, 2, 1]
    nodes = volume_nodes(_profile(vol), window=2)
    assert nodes.hvn == (4001.0, 4004.0)
    assert nodes.lvn == (4002.5,)
    # smoothed volumes: centred 5-level means
    assert nodes.hvn_volume[0] == pytest.approx((4 + 8 + 12 + 8 + 4) / 5)
    assert nodes.lvn_volume[0] == pytest.approx((1 + 1 + 0.5 + 1 + 1) / 5)


def test_one_distribution_has_no_lvn():
    vol = [1, 3, 6, 10, 6, 3, 1]
    nodes = volume_nodes(_profile(vol), window=1)
    assert nodes.hvn == (4000.75,) and nodes.lvn == ()


def test_shallow_valley_is_not_an_lvn():
    vol = [10, 12, 10, 9, 10, 12, 10]
    nodes = volume_nodes(_profile(vol), window=1, hvn_factor=0.5)
    assert len(nodes.hvn) == 2 and nodes.lvn == ()


def test_edges_are_not_thinned_by_zero_padding():
    # a flat profile keeps its edges: the smoothed edge level is the mean of existing levels only
    np.testing.assert_array_equal(smooth(np.full(6, 7.0), 2), np.full(6, 7.0))
    assert volume_nodes(_profile([5.0] * 6)).hvn == ()  # flat: no peak


def test_profile_without_volume_has_no_nodes():
    assert volume_nodes(_profile([0.0, 0.0])) == volume_nodes(_profile([0.0]))
    with pytest.raises(DataError):
        volume_nodes(_profile([1.0]), window=0)


def test_nodes_table_lists_every_session():
    frame = frame_from_sessions([[(16000, 16010, 16005, 100.0)], [(16000, 16000, 16000, 5.0)]])
    table = nodes_table(session_profiles(frame))
    assert set(table.columns) == {"session", "trade_date", "contract", "kind", "price", "smoothed_volume"}
    assert table["session"].isin([0, 1]).all()


def _sessions(n_days, contracts):
    days = [[(16000 + 4 * d, 16006 + 4 * d, 16003 + 4 * d, 30.0 + d),
             (16002 + 4 * d, 16003 + 4 * d, 16002 + 4 * d, 7.0)] for d in range(n_days)]
    return days, session_profiles(frame_from_sessions(days, contracts))


def test_composite_is_the_profile_of_all_its_bars():
    days, sessions = _sessions(5, None)
    comp = composite(sessions, 3)
    hist, total = ref.histogram([b for day in days[2:] for b in day], "uniform")
    assert {int(k): v for k, v in zip(comp.levels, comp.volume) if v} == {k: v for k, v in hist.items() if v}
    assert comp.total == total and len(comp.trade_dates) == 3
    poc = ref.vpoc(hist)
    val, vah, _ = ref.value_area(hist, poc, 0.7 * total, "two")
    assert (comp.vpoc, comp.val, comp.vah) == (poc * 0.25, val * 0.25, vah * 0.25)


def test_composite_never_crosses_a_roll():
    _, sessions = _sessions(5, ["ESH4", "ESH4", "ESH4", "ESM4", "ESM4"])
    comp = composite(sessions, 4)
    assert comp.contract == "ESM4" and len(comp.trade_dates) == 2
    table = composite_table(sessions, 4)
    assert table["sessions"].tolist() == [1, 2, 3, 1, 2]
    assert table["vpoc"].iloc[0] == sessions.table["vpoc"].iloc[0]  # one session: its own VPOC
    with pytest.raises(DataError):
        combine(sessions.profile(0), sessions.profile(4))  # two contracts
    with pytest.raises(DataError):
        composite(sessions, 0)
