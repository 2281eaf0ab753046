"""``index.html`` of a runs folder: every run at any depth, newest first, links that resolve."""

from __future__ import annotations

import contextlib
import html
import io
import json
import os
import re
import shutil
from urllib.parse import unquote

import pytest

from futures_vpoc.cli import main
from futures_vpoc.data.barframe import write_merged
from futures_vpoc.data.check import check_bars
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.diagnostics.analysis import analyze_run
from futures_vpoc.profile import developing_profile
from futures_vpoc.report.demo_report import DemoInputs, write_demo_report
from futures_vpoc.report.runs_index import KINDS, find_runs, render_runs_index, write_runs_index


def _run(*argv: str) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(list(argv)) == 0, argv


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A runs folder holding one of each kind, nested runs, a corrupt run and a hidden one."""
    base = tmp_path_factory.mktemp("runs_index")
    root = base / "runs"
    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-02-28", signal=3))
    data = base / "bars.parquet"
    write_merged(bars, data)
    small = ("--epochs", "1", "--batch_size", "512")
    _run("train", "--data", str(data), "--output_dir", str(root / "train a"), *small, "--hidden_dims", "16", "8")
    _run("backtest", "--data", str(data), "--model", str(root / "train a"), "--output_dir",
         str(root / "nested" / "deeper" / "bt"), "--n_random", "5")
    _run("scale-up", "--data", str(data), "--output_dir", str(root / "su"), *small, "--ladder", "8")
    _run("ensemble", "--data", str(data), "--output_dir", str(root / "ens"), *small, "--hidden_dims", "8",
         "--groups", "price", "volume")
    old = root / "old"  # a copy written "earlier", without its analysis pages
    shutil.copytree(root / "train a", old)
    for f in old.glob("futures_vpoc_*.log"):
        f.rename(old / "futures_vpoc_20200101_120000.log")
    (old / "analysis.html").unlink()
    broken = root / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    (broken / "summary.json").write_text("{}")
    shutil.copytree(root / "train a", root / ".hidden" / "run")
    inputs = DemoInputs(title="Demo & friends", dataset_note="two months", data_file=data, check=check_bars(bars),
                        profile_png=None, profile_caption="", sessions=developing_profile(bars).sessions.table,
                        train_dir=root / "train a", backtest_dir=root / "nested" / "deeper" / "bt")
    write_demo_report(inputs, root / "demo" / "report.html")
    index = write_runs_index(root)
    return root, index, index.read_text(encoding="utf-8")


def _rows(page: str, kind: str) -> list[str]:
    start = page.index(f'<h2 id="{kind}">')
    end = page.find("<h2 ", start + 1)
    return re.findall(r"<tr><td>(.*?)</tr>", page[start: end if end >= 0 else len(page)], re.S)


def _row(page: str, kind: str, name: str) -> str:
    return next(r for r in _rows(page, kind) if re.match(rf"(<a [^>]*>)?{re.escape(name)}\b", r))


def test_index_lists_every_run_once_by_kind(runs):
    root, index, page = runs
    assert index == root / "index.html"
    names = {kind: [re.sub(r"<[^>]+>", "", r.split("</td>")[0]).split(" (no ")[0] for r in _rows(page, kind)]
             for kind, _, _ in KINDS}
    assert sorted(names["training"]) == ["broken", "ens/price", "ens/volume", "old", "su/8", "train a"]
    assert names["backtest"] == ["nested/deeper/bt"]
    assert names["scale-up"] == ["su"] and names["ensemble"] == ["ens"] and names["demo"] == ["demo"]
    assert ".hidden" not in page
    for kind, title, _ in KINDS:
        assert f'<h2 id="{kind}">{title} ({len(names[kind])})</h2>' in page


def test_links_are_relative_and_resolve_from_the_index(runs):
    root, _, page = runs
    assert "<script" not in page.lower() and "<img" not in page
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert sorted(unquote(h) for h in hrefs) == [  # every run but `old` (no analysis.html) and `broken`
        "demo/report.html", "ens/ensemble.md", "ens/price/analysis.html", "ens/volume/analysis.html",
        "nested/deeper/bt/backtest.html", "su/8/analysis.html", "su/scaleup.md", "train a/analysis.html"]
    for href in hrefs:
        assert not href.startswith(("http://", "https://", "//", "file:", "/")), href
        assert (root / unquote(href)).is_file(), href
    assert 'href="train%20a/analysis.html"' in page
    assert "old <small>(no analysis.html)</small>" in page


def test_corrupt_run_is_listed_as_unreadable(runs):
    row = _row(runs[2], "training", "broken")
    assert "unreadable:" in row and "config.json" in row and "not valid JSON" in row


def test_newest_first(runs):
    root, _, page = runs
    found = find_runs(root)
    assert [r.when for r in found] == sorted((r.when for r in found), reverse=True)
    training = [r.split("</td>")[0] for r in _rows(page, "training")]
    assert "old" in training[-1]  # its log file name says 2020-01-01 12:00:00
    assert "<td>2020-01-01 12:00:00</td>" in _row(page, "training", "old")


def test_training_row_shows_the_analysis(runs):
    root, _, page = runs
    a = analyze_run(root / "train a")
    row = _row(page, "training", "train a")
    facts, model = dict(a.run_facts), dict(a.model_config)
    assert a.verdict in row and ("PASS" if a.ready else "FAIL") in row
    accuracy = next(q for q in a.quality if q.metric == "Accuracy")
    assert accuracy.value in row and accuracy.p_value in row
    summary = json.loads((root / "train a" / "summary.json").read_text())
    assert f"{summary['param_count']:,} parameters" in row and model["Architecture"] in row
    for key in ("Epochs completed", "Stop reason", "Worst NaN rate / fewest valid batches"):
        assert f"<td>{html.escape(facts[key], quote=False)}</td>" in row


def test_backtest_scaleup_ensemble_and_demo_rows(runs):
    root, _, page = runs
    stats = json.loads((root / "nested" / "deeper" / "bt" / "stats.json").read_text())
    row = _row(page, "backtest", "nested/deeper/bt")
    net = stats["model"]["net_pnl_usd"]
    assert f"<td>{stats['model']['sharpe']:,.2f}</td>" in row
    assert f"<td>{'-' if net < 0 else ''}${abs(net):,.2f}</td>" in row
    best = max(stats, key=lambda n: stats[n]["sharpe"])
    assert f"<td>{best} ({stats[best]['sharpe']:,.2f}," in row
    scaleup = json.loads((root / "su" / "scaleup.json").read_text())
    win = scaleup["rungs"][0]
    assert f"<td>{scaleup['winner']}</td>" in _row(page, "scale-up", "su")
    assert f"{100 * win['test_accuracy']:.1f}%" in _row(page, "scale-up", "su")
    ensemble = json.loads((root / "ens" / "ensemble.json").read_text())
    assert f"{100 * ensemble['ensemble']['test']['accuracy']:.1f}%" in _row(page, "ensemble", "ens")
    assert "<td>Demo &amp; friends</td>" in _row(page, "demo", "demo")


def test_empty_folder_and_file_mode(tmp_path):
    page = render_runs_index(tmp_path)
    assert page.count("None found.") == len(KINDS)
    umask = os.umask(0)
    os.umask(umask)
    assert write_runs_index(tmp_path).stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]
