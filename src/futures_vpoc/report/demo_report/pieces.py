"""Small HTML pieces every section of the demo report uses.

The lead paragraph, the "not run" line, tables through the analysis report's renderer, inline
images, links that check their target exists, and bar widths or gaps in words.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from futures_vpoc.report.blocks import Table
from futures_vpoc.report.common import esc, href
from futures_vpoc.report.html import data_uri, render_block


def _lead(text: str) -> str:
    return f'<p class="lead">{esc(text)}</p>'


def _not_run(text: str) -> str:
    return f'<p class="notrun">{esc(text)}</p>'


def _table(header, rows, numeric: bool = False) -> str:
    """A table through the analysis report's renderer; cells are text (``code``/**bold** marks)."""
    body = render_block(Table(tuple(header), tuple(tuple(str(c) for c in r) for r in rows)), {})
    return f'<div class="num">{body}</div>' if numeric else body


def _img(png: bytes, alt: str) -> str:
    return f'<img class="wide" src="{data_uri(png)}" alt="{html.escape(alt)}">'


def _link(target: Path, base: Path | None, text: str) -> str:
    if not Path(target).is_file():
        return _not_run(f"{Path(target).name} was not written.")
    return f'<p><a href="{href(target, base)}">{esc(text)}</a></p>'


def _duration(td: pd.Timedelta) -> str:
    """A bar width or gap as ``1 min``, ``4 h`` or ``1 day``."""
    seconds = pd.Timedelta(td).total_seconds()
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            n = int(seconds // size)
            return f"{n} {unit}" + ("s" if unit == "day" and n != 1 else "")
    return f"{seconds:g} s"
