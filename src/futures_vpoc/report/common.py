"""Small pieces shared by the demo report and the runs index: escaping, links, number formats.

Formatting only: every figure comes from a file a stage wrote (``summary.json``, ``stats.json``)
or from the analysis; nothing here computes a metric.
"""

from __future__ import annotations

import html
import json
import math
import os
from pathlib import Path
from urllib.parse import quote

import numpy as np

from futures_vpoc.diagnostics.quality import QualityRow
from futures_vpoc.report.backtest_html import fmt_stat

EXTRA_CSS = """
nav{font-size:13.5px;color:#57606a} nav a{margin-right:10px}
.lead{color:#424a53;font-style:italic}
.summary{border:1px solid #d0d7de;border-radius:8px;padding:4px 16px 8px;background:#f6f8fa}
.num td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
img.wide{width:100%;border:1px solid #d0d7de;border-radius:4px}
.notrun{color:#6e7781}
"""


def esc(text) -> str:
    return html.escape(str(text), quote=False)


def href(target: Path, base: Path | None) -> str:
    """A relative, URL-quoted link from folder ``base`` (None: the working directory) to ``target``."""
    rel = os.path.relpath(Path(target).resolve(), Path(base or Path.cwd()).resolve())
    return quote(Path(rel).as_posix())


def num(value, digits: int = 2) -> str:
    """A number with thousands separators; ``n/a`` for None/NaN/non-numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return "n/a"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    return f"{value:,.{digits}f}" if math.isfinite(value) else "n/a"


def pct(fraction, digits: int = 1) -> str:
    """A fraction in [0, 1] as a percentage; ``n/a`` when missing or not finite."""
    return "n/a" if not isinstance(fraction, (int, float)) or not math.isfinite(fraction) else \
        f"{100 * fraction:.{digits}f}%"


def read_json(path: Path) -> dict:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{Path(path).name} holds no JSON object")
    return data


def baseline_text(q: QualityRow) -> str:
    """The accuracy row's baseline without its ``(majority class)`` label."""
    return (q.baseline or "n/a").replace(" (majority class)", "")


def stat_text(s: dict, key: str) -> str:
    """One statistic of ``stats.json`` as the backtest page writes it (missing or null: ``n/a``)."""
    value = s.get(key)
    return fmt_stat(math.nan if value is None else value)


def usd(value) -> str:
    """Dollars with sign and thousands separators (``-$15,476.50``); ``n/a`` when missing."""
    text = num(value, 2)
    return text if text == "n/a" else ("-$" + text[1:] if text.startswith("-") else "$" + text)


def accuracy_vs_majority(d: dict, acc: str, ci: str, base: str) -> str:
    lo, hi = (d.get(ci) or (None, None))[:2]
    return f"{pct(d.get(acc))} [{pct(lo)}, {pct(hi)}] vs {pct(d.get(base))}"
