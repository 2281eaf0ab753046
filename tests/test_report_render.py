"""The rendered report: the seed's sections in markdown, a self-contained HTML page whose images load,
and ``futures-vpoc analyze`` writing both atomically."""

import argparse
import base64
import io
import re
import shlex
import subprocess
import sys

import matplotlib.image as mpimg
import pytest

from futures_vpoc.cli.analyze import add_analyze_parser, cmd_analyze
from futures_vpoc.report.write import HTML_FILE, MARKDOWN_FILE, write_analysis
from futures_vpoc.diagnostics.analysis import analyze_run
from futures_vpoc.errors import DataError
from futures_vpoc.report.html import render_html
from futures_vpoc.report.markdown import render_markdown
from futures_vpoc.report.plots import render_plots

from test_diagnostics_support import RUNS, check_command, copy_run, registered_subcommands

SEED_SECTIONS = ["Executive Summary", "What Happened: Detailed Analysis", "Command That Ran",
                 "Model Quality Assessment", "Next Run: Recommended Commands", "Success Metrics Checklist",
                 "Next Steps Decision Tree", "Appendix: Epoch by Epoch"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def diverging():
    a = analyze_run(RUNS / "diverging")
    return a, render_markdown(a), render_html(a, render_plots(a.curves))


def _bash_blocks(markdown: str) -> list[list[str]]:
    blocks = re.findall(r"```bash\n(.*?)\n```", markdown, flags=re.S)
    return [shlex.split(block.replace(" \\\n", " ")) for block in blocks]


def test_markdown_has_the_seed_sections_in_order(diverging):
    a, md, _ = diverging
    h2 = [line[3:] for line in md.splitlines() if line.startswith("## ")]
    assert [next(s for s in SEED_SECTIONS if h.startswith(s)) for h in h2] == SEED_SECTIONS
    assert md.startswith("# Training Analysis & Recommendations Report: diverging")
    assert "**❌ NOT READY FOR BACKTESTING**: Training was not stable" in md
    for heading in ("### Training Progression", "### Root-Cause Analysis", "### Training Command Executed",
                    "### Model Configuration", "### Strategy 1: Conservative run (Recommended)"):
        assert heading in md


def test_markdown_reports_numbers_and_tables(diverging):
    a, md, _ = diverging
    assert "- **Epochs 6-7 - collapse**: NaN rate up to 100.0% (epoch 6)" in md
    assert ("| Accuracy | 49.8% | 49.0% - 50.5% | 50.3% (majority class) | 0.93 "
            "| ❌ within the baseline's reach |") in md
    assert "| NaN rate | < 10% in every epoch | worst epoch 100.0% (epoch 6) | ❌ |" in md
    assert "| `--learning_rate` | 10.0 | 0.0001 |" in md
    assert md.count("| 6 | collapse | inf | NaN |") == 1
    assert "**← this run**" in md.split("## Next Steps Decision Tree")[1].splitlines()[2]


def test_every_command_in_the_markdown_is_complete(diverging):
    a, md, _ = diverging
    commands = _bash_blocks(md)
    assert commands[0] == list(a.command)
    assert commands[1:] == [list(r.argv) for r in a.recommendations]
    for argv in commands[1:]:
        check_command(argv)


def test_html_is_self_contained_and_every_image_is_a_png(diverging):
    _, _, page = diverging
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert len(srcs) == 5
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png.startswith(PNG_MAGIC)
        pixels = mpimg.imread(io.BytesIO(png), format="png")
        assert pixels.shape[0] > 200 and pixels.shape[1] > 500
    assert not re.search(r"(src|href)=\"(https?:)?//", page) and "<script" not in page and "<link" not in page
    assert page.count("<table") >= 6 and "<pre><code>futures-vpoc train \\" in page


def test_plots_of_every_fixture_render(tmp_path):
    for name in ("healthy", "no_learning", "overfitting"):
        images = render_plots(analyze_run(RUNS / name).curves)
        assert set(images) == {"loss", "accuracy", "nan", "grad", "lr"}
        assert all(png.startswith(PNG_MAGIC) for png in images.values())


def test_write_analysis_writes_both_files(tmp_path, capsys):
    run = copy_run("overfitting", tmp_path)
    parser = argparse.ArgumentParser()
    add_analyze_parser(parser.add_subparsers(dest="command"))
    assert cmd_analyze(parser.parse_args(["analyze", str(run)])) == 0
    out = capsys.readouterr().out
    assert out.startswith("NOT READY FOR BACKTESTING: Training was stable")
    assert "next: futures-vpoc train" in out
    md = (run / MARKDOWN_FILE).read_text(encoding="utf-8")
    assert md == render_markdown(analyze_run(run))
    assert (run / HTML_FILE).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in run.iterdir()) == sorted(
        ["config.json", "metrics.jsonl", "summary.json", MARKDOWN_FILE, HTML_FILE])  # no temporary left


def test_a_broken_run_writes_nothing(tmp_path):
    run = copy_run("healthy", tmp_path)
    (run / MARKDOWN_FILE).write_text("previous report")
    (run / "summary.json").unlink()
    with pytest.raises(DataError, match="summary.json: file not found"):
        write_analysis(run)
    assert (run / MARKDOWN_FILE).read_text() == "previous report" and not (run / HTML_FILE).exists()


def test_analyze_through_the_cli_exits_2_on_a_missing_run(tmp_path, capsys):
    if "analyze" not in registered_subcommands():
        pytest.skip("`analyze` is not registered in futures_vpoc.cli yet (add_analyze_parser/cmd_analyze)")
    from futures_vpoc.cli import main

    assert main(["analyze", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not a directory" in err


def test_diagnostics_and_report_never_import_torch():
    code = ("import sys, futures_vpoc.cli.analyze, futures_vpoc.report.plots, futures_vpoc.report.html, "
            "futures_vpoc.report.markdown, futures_vpoc.diagnostics.analysis; "
            "sys.exit('torch' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_a_training_objective_other_than_log_loss_gets_its_own_axis():
    """Validation loss is log-loss; an adaptive-Huber train loss on the same axis would invite a false comparison."""
    import dataclasses

    from futures_vpoc.report.plots import loss_figure

    curves = analyze_run(RUNS / "healthy").curves
    assert curves.train_objective == "robust Huber on logits, adaptive delta"  # the fixture's config.json
    huber = loss_figure(curves)
    assert len(huber.axes) == 2 and "robust Huber" in huber.axes[1].get_ylabel()
    assert huber.axes[0].get_ylabel() == "log-loss"
    plain = loss_figure(dataclasses.replace(curves, train_objective="log_loss"))
    assert len(plain.axes) == 1
    labels = plain.axes[0].get_legend_handles_labels()[1]
    assert "train loss" in labels and "validation log-loss" in labels
