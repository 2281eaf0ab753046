"""The demo's one-page report on real stage outputs: order, self-containment, figures, missing parts."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import html
import io
import json
import os
import re
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.cli import main
from futures_vpoc.data.barframe import write_merged
from futures_vpoc.data.check import check_bars
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.diagnostics.analysis import analyze_run
from futures_vpoc.profile import developing_profile
from futures_vpoc.profile.plot import plot_session
from futures_vpoc.report.backtest_html import fmt_stat
from futures_vpoc.report.demo_report import (SECTIONS, DemoInputs, _migration_points, migration_plot,
                                             render_demo_report, write_demo_report)

PNG = b"\x89PNG\r\n\x1a\n"


def _run(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(list(argv)) == 0, argv


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """Four synthetic months through train, backtest, scale-up and ensemble, with tiny settings."""
    root = tmp_path_factory.mktemp("demo_report")
    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-04-28", signal=3))
    data = root / "bars.parquet"
    write_merged(bars, data)
    small = ("--epochs", "1", "--batch_size", "512")
    _run("train", "--data", str(data), "--output_dir", str(root / "train"), *small, "--hidden_dims", "16", "8")
    _run("backtest", "--data", str(data), "--model", str(root / "train"), "--output_dir", str(root / "backtest"),
         "--n_random", "5")
    _run("scale-up", "--data", str(data), "--output_dir", str(root / "scaleup"), *small, "--ladder", "8", "16 8")
    _run("ensemble", "--data", str(data), "--output_dir", str(root / "ensemble"), *small, "--hidden_dims", "8",
         "--groups", "price", "volume")
    dev = developing_profile(bars)
    plot_session(bars, dev, -1, root / "profile.png")
    inputs = DemoInputs(
        title="Demo <synthetic>", dataset_note="Four synthetic months with a planted signal.", data_file=data,
        check=check_bars(bars), profile_png=(root / "profile.png").read_bytes(),
        profile_caption="The last session's profile", sessions=dev.sessions.table, train_dir=root / "train",
        backtest_dir=root / "backtest", scaleup_dir=root / "scaleup", ensemble_dir=root / "ensemble",
        stage_times=(("data", 1.5), ("train", 4.25)), notes=("a note for the reader",))
    path = write_demo_report(inputs, root / "out" / "report.html")
    return root, inputs, path, path.read_text(encoding="utf-8")


def _section(page: str, key: str) -> str:
    start = page.index(f'<h2 id="{key}">')
    nxt = page.find("<h2 ", start + 1)
    return page[start: nxt if nxt >= 0 else len(page)]


def _attrs(page: str, name: str) -> list[str]:
    return re.findall(rf'\b{name}="([^"]*)"', page)


def test_every_section_heading_is_present_in_order(demo):
    page = demo[3]
    found = re.findall(r'<h2 id="([^"]+)">([^<]+)</h2>', page)
    assert found == [(k, html.escape(t, quote=False)) for k, t in SECTIONS]
    assert "<title>Demo &lt;synthetic&gt;</title>" in page  # the title is escaped


def test_every_image_is_an_inline_png(demo):
    srcs = _attrs(demo[3], "src")
    # profile, migration, five training curves, equity
    assert len(srcs) == 8
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1], validate=True).startswith(PNG)


def test_page_is_self_contained_and_its_links_resolve(demo):
    root, _, path, page = demo
    assert "<script" not in page.lower()
    for value in _attrs(page, "src") + _attrs(page, "href"):
        assert not value.startswith(("http://", "https://", "//", "file:")), value
    anchors = set(_attrs(page, "id"))
    hrefs = _attrs(page, "href")
    assert {h[1:] for h in hrefs if h.startswith("#")} <= anchors
    files = [h for h in hrefs if not h.startswith("#")]
    assert {Path(unquote(h)).name for h in files} == {"analysis.html", "backtest.html", "scaleup.md", "ensemble.md"}
    for h in files:  # relative to the report's folder, which is not the runs' folder
        assert not os.path.isabs(unquote(h)) and (path.parent / unquote(h)).is_file(), h


def test_file_is_written_with_a_users_file_mode(demo):
    umask = os.umask(0)
    os.umask(umask)
    assert demo[2].stat().st_mode & 0o777 == 0o666 & ~umask
    assert not [p for p in demo[2].parent.iterdir() if p.name != "report.html"]  # no temporary left


def test_verdict_is_the_analysis_reason(demo):
    root, _, _, page = demo
    analysis = analyze_run(root / "train")
    boxes = re.findall(r'<div class="verdict (ready|not-ready)">(.*?)</div>', page, re.S)
    assert len(boxes) == 2  # the summary and the training section
    for cls, body in boxes:
        assert cls == ("ready" if analysis.ready else "not-ready")
        text = re.sub(r"<[^>]+>", "", body.split("</strong>: ", 1)[1])
        assert html.unescape(text) == analysis.reason
    summary = _section(page, "summary")
    accuracy = next(q for q in analysis.quality if q.metric == "Accuracy")
    assert accuracy.value in summary and accuracy.p_value in summary


def test_stats_table_holds_every_strategy_with_its_net_pnl(demo):
    root, _, _, page = demo
    stats = json.loads((root / "backtest" / "stats.json").read_text())
    section = _section(page, "backtest")
    rows = re.findall(r"<tr>(.*?)</tr>", section, re.S)
    assert len(rows) == len(stats) + 1  # header
    for name, s in stats.items():
        row = next(r for r in rows if re.search(rf"<td>(<strong>)?{name}(</strong>)?</td>", r))
        assert f"<td>{s['net_pnl_usd']:,.2f}</td>" in row
        assert f"<td>{s['trades']:,}</td>" in row
    m = stats["model"]
    assert f"deflated Sharpe ratio is {fmt_stat(m['dsr'])} over {m['n_trials']} trials" in section
    assert f"same number of trades and holding times is {fmt_stat(m['p_value_random'])}" in section
    assert f"Sharpe {m['sharpe']:,.2f}" in _section(page, "summary")


def test_test_metrics_scaleup_and_ensemble_tables(demo):
    root, _, _, page = demo
    analysis = analyze_run(root / "train")
    metrics = _section(page, "metrics")
    for q in analysis.quality:
        assert f"<td>{q.metric}</td>" in metrics and html.escape(q.value, quote=False) in metrics
    scaling = _section(page, "scaling")
    scaleup = json.loads((root / "scaleup" / "scaleup.json").read_text())
    for rung in scaleup["rungs"]:
        assert f"<td>{rung['architecture']}</td>" in scaling
    assert f"Winner: <strong>{scaleup['winner']}</strong>" in scaling
    ensemble = json.loads((root / "ensemble" / "ensemble.json").read_text())
    for group, weight in ensemble["weights"].items():
        assert re.search(rf"<td>{group}</td><td>{weight:.3f}</td>", scaling)
    assert "<strong>ensemble</strong>" in scaling


def test_data_next_steps_and_timings(demo):
    root, inputs, _, page = demo
    data = _section(page, "data")
    assert f"{inputs.check.rows:,}" in data and f"<td>{inputs.check.trade_dates:,}</td>" in data
    for day, old, new, jump in inputs.check.rolls:  # January to April holds the March roll
        assert f"<td>{day}</td><td>{old}</td><td>{new}</td><td>{jump:+.2f}</td>" in data
    assert len(inputs.check.rolls) == 1
    profile = _section(page, "profile")
    assert profile.count("<tr>") == 11 and str(inputs.sessions["trade_date"].iloc[-1].date()) in profile
    nxt = _section(page, "next")
    analysis = analyze_run(root / "train")
    assert analysis.recommendations and all(html.escape(r.title, quote=False) in nxt
                                            for r in analysis.recommendations)
    assert "<pre><code>futures-vpoc" in nxt and "← this run" in nxt
    timings = _section(page, "timings")
    assert "<td>4.2</td>" in timings and "<td>5.8</td>" in timings and "a note for the reader" in timings


def test_absent_optional_parts_say_not_run(demo):
    _, inputs, _, _ = demo
    bare = dataclasses.replace(inputs, profile_png=None, backtest_dir=None, scaleup_dir=None, ensemble_dir=None,
                               stage_times=(), notes=(), sessions=inputs.sessions.iloc[:0])
    page = render_demo_report(bare)
    assert [t for _, t in re.findall(r'<h2 id="([^"]+)">([^<]+)</h2>', page)] == [t for _, t in SECTIONS]
    for text in ("Backtest: not run.", "Scale-up: not run.", "Ensemble: not run.", "Profile picture: not run.",
                 "Session table: not run.", "Stage timings: not recorded."):
        assert text in page, text
    assert "Not run: no session table" in _section(page, "migration")
    assert len(_attrs(page, "src")) == 5  # only the training curves are left


def test_broken_parts_are_reported_not_raised(demo, tmp_path):
    _, inputs, _, _ = demo
    (tmp_path / "bt").mkdir()
    (tmp_path / "bt" / "stats.json").write_text("{not json")
    (tmp_path / "su").mkdir()
    (tmp_path / "su" / "scaleup.json").write_text("[1, 2]")
    page = render_demo_report(dataclasses.replace(inputs, train_dir=tmp_path / "absent", backtest_dir=tmp_path / "bt",
                                                  scaleup_dir=tmp_path / "su", ensemble_dir=tmp_path / "none"))
    assert "Backtest could not be read (JSONDecodeError" in page
    assert "Scale-up could not be read (ValueError: scaleup.json holds no JSON object)" in page
    assert "Ensemble could not be read (FileNotFoundError" in page
    assert "could not be read (DataError" in _section(page, "training")
    assert 'class="verdict' not in page and "<script" not in page


def test_migration_is_the_vpoc_change_within_one_contract():
    sessions = pd.DataFrame({"trade_date": pd.to_datetime(["2024-03-12", "2024-03-13", "2024-03-14", "2024-03-15"]),
                             "contract": ["ESH4", "ESH4", "ESM4", "ESM4"], "vpoc": [5100.0, 5102.5, 5160.0, np.nan],
                             "val": [5095.0, 5098.0, 5150.0, np.nan], "vah": [5105.0, 5106.0, 5170.0, np.nan]})
    np.testing.assert_array_equal(_migration_points(sessions), [np.nan, 2.5, np.nan, np.nan])  # no move at a roll
    given = sessions.assign(migration=[np.nan, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(_migration_points(given), [np.nan, 1.0, 2.0, 3.0])
    assert migration_plot(sessions).startswith(PNG)
    assert migration_plot(sessions.iloc[:1]).startswith(PNG)  # one session, nothing to migrate


@pytest.mark.browser
def test_report_renders_cleanly_in_chromium(demo):
    from browser import check_page, require_chromium

    require_chromium()
    result = check_page(demo[2])
    assert result.problems() == []
    assert result.images == 8 and result.height > 3000


def test_next_steps_point_to_the_sections_the_demo_already_ran(demo):
    _, inputs, _, page = demo
    kinds = {r.kind for r in analyze_run(inputs.train_dir).recommendations}
    assert kinds & {"scale-up", "ensemble", "backtest"}  # the fixture's run recommends at least one of them
    if kinds & {"scale-up", "ensemble"}:
        assert "The demo ran a short form of this (two epochs per run)" in page and '<a href="#scaling">' in page
    if "backtest" in kinds:
        assert 'The demo ran this backtest: see <a href="#backtest">Backtest</a>' in page
    bare = render_demo_report(dataclasses.replace(inputs, backtest_dir=None, scaleup_dir=None, ensemble_dir=None))
    assert "The demo ran" not in bare


def test_the_bar_approximation_table_appears_when_trades_exist(demo):
    from dataclasses import replace

    from futures_vpoc.profile.compare import COMPARE_COLUMNS

    _, inputs, _, page = demo
    assert "How far bar-based profiles are from the exact ones" not in page  # no trades: no table
    table = pd.DataFrame([["uniform", 250, 1.0, 4.0, 0.5, 2.0, 0.5, 3.0, 0.42],
                          ["close", 250, 2.0, 9.0, 1.0, 5.0, 1.0, 6.0, 0.18]], columns=list(COMPARE_COLUMNS))
    with_trades = render_demo_report(replace(inputs, compare=table, compare_caption="Exact profiles from 9 trades"))
    profile = _section(with_trades, "profile")
    assert "How far bar-based profiles are from the exact ones" in profile and "Exact profiles from 9 trades" in profile
    assert "<td>uniform</td><td>250</td><td>1.0 / 4.0</td>" in profile and "<td>18.0%</td>" in profile
