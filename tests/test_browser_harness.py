"""The headless-Chromium page check (tests/browser.py) on small pages, then on real reports."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser import BrowserError, check_page, require_chromium

from futures_vpoc.cli import main
from futures_vpoc.report.write import write_analysis

FIXTURES = Path(__file__).parent / "data" / "run_fixtures"

# A 1x1 opaque red PNG.
RED_DOT = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8Dw"
           "HwAFBQIAX8jx0gAAAABJRU5ErkJggg==")


@pytest.fixture
def chromium():
    return require_chromium()


def page(tmp_path, body, name="page.html"):
    path = tmp_path / name
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>t</title></head>"
                    f"<body>{body}</body></html>", encoding="utf-8")
    return path


def assert_clean(result):
    assert result.problems() == []
    assert result.images > 0


@pytest.mark.browser
def test_good_page_has_no_problems(tmp_path, chromium):
    result = check_page(page(tmp_path, f"<h1>Report</h1><img alt='dot' width=40 height=40 src='{RED_DOT}'>"))
    assert result.console_errors == []
    assert result.images == 1
    assert result.broken_images == []
    assert not result.blank
    assert result.screenshot.startswith(b"\x89PNG")
    assert (result.width, result.height) == (1280, 900)


@pytest.mark.browser
def test_broken_images_are_reported(tmp_path, chromium):
    result = check_page(page(tmp_path, "<p>x</p><img alt='bad data' src='data:image/png;base64,AAAA'>"
                                       "<img alt='missing' src='nope.png'>"))
    assert result.images == 2
    assert [b.split(" | ")[0] for b in result.broken_images] == ["bad data", "missing"]
    # The missing file is also a failed resource load in the browser log.
    assert any("nope.png" in e for e in result.console_errors)


@pytest.mark.browser
def test_console_errors_and_exceptions_are_reported(tmp_path, chromium):
    result = check_page(page(tmp_path, "<p>x</p><script>console.log('fine'); console.error('boom');"
                                       "throw new Error('kaput')</script>"))
    assert result.console_errors[0] == "console.error: boom"
    assert any("kaput" in e for e in result.console_errors[1:])
    assert len(result.console_errors) == 2


@pytest.mark.browser
def test_empty_white_page_is_blank(tmp_path, chromium):
    result = check_page(page(tmp_path, ""))
    assert result.blank
    assert result.images == 0
    assert result.problems() == ["screenshot is blank"]


@pytest.mark.browser
def test_missing_page_raises(tmp_path, chromium):
    with pytest.raises(BrowserError, match="navigation"):
        check_page(tmp_path / "absent.html", timeout=30)


@pytest.mark.browser
def test_analysis_html_renders_cleanly(tmp_path, chromium):
    run = tmp_path / "run"
    shutil.copytree(FIXTURES / "healthy", run)
    write_analysis(run)
    assert_clean(check_page(run / "analysis.html"))


@pytest.mark.browser
@pytest.mark.slow
def test_backtest_html_renders_cleanly(tmp_path, chromium):
    bars, out = tmp_path / "bars.parquet", tmp_path / "bt"
    main(["data", "synth", "--out", str(bars), "--start", "2023-01-02", "--end", "2023-02-28"])
    main(["backtest", "--data", str(bars), "--strategy", "buy_hold", "ma_cross", "vpoc_reversion",
          "--output_dir", str(out)])
    result = check_page(out / "backtest.html")
    assert_clean(result)
    assert result.height > 900                 # the whole page, not just the first screen


def test_missing_chromium_fails_under_ci_and_skips_elsewhere(monkeypatch):
    monkeypatch.setenv("CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run"):
        require_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="not found"):
        require_chromium()
