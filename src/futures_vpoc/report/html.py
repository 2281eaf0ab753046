"""The training analysis report as one self-contained HTML page (``analysis.html``).

Inline CSS, plots as ``data:image/png;base64`` URIs, no script and no network access.
"""

from __future__ import annotations

import base64
import html
import re
from typing import Mapping

from futures_vpoc.diagnostics.analysis import Analysis
from futures_vpoc.report.blocks import (FAIL, NA, PASS, Block, Bullets, Code, Figures, Heading, Para, Rule, Table,
                                        Verdict)
from futures_vpoc.report.sections import build_document

CSS = """
body{font:15px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1f2328;max-width:1100px;
margin:24px auto;padding:0 24px;background:#fff}
h1{font-size:26px;border-bottom:2px solid #d0d7de;padding-bottom:8px}
h2{font-size:21px;margin-top:32px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:17px;margin-top:24px} h4{font-size:15px;margin:18px 0 4px}
code{font:13px/1.4 ui-monospace,Menlo,Consolas,monospace;background:#f3f4f6;padding:1px 4px;border-radius:4px}
pre{background:#0d1117;color:#e6edf3;padding:12px 16px;border-radius:6px;overflow-x:auto}
pre code{background:none;color:inherit;padding:0}
table{border-collapse:collapse;margin:10px 0;font-size:13.5px}
th,td{border:1px solid #d0d7de;padding:4px 9px;text-align:left;vertical-align:top}
th{background:#f6f8fa} tr:nth-child(even) td{background:#fbfcfd}
table.epochs td{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px;text-align:right}
.verdict{border-radius:8px;padding:12px 16px;margin:12px 0;font-size:16px}
.verdict.ready{background:#e6f4ea;border:1px solid #34a853}
.verdict.not-ready{background:#fdecea;border:1px solid #d93025}
.badge{display:inline-block;font-size:11.5px;font-weight:700;padding:1px 7px;border-radius:10px;color:#fff}
.badge.pass{background:#1a7f37} .badge.fail{background:#cf222e} .badge.na{background:#6e7781}
figure{margin:14px 0;display:inline-block;width:49%;vertical-align:top}
figure img{width:100%;border:1px solid #d0d7de;border-radius:4px}
figcaption{font-size:12.5px;color:#57606a}
hr{border:0;border-top:1px solid #d0d7de;margin:28px 0}
"""

_BADGES = {PASS: '<span class="badge pass">PASS</span>', FAIL: '<span class="badge fail">FAIL</span>',
           NA: '<span class="badge na">N/A</span>'}


def inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    for mark, span in _BADGES.items():
        out = out.replace(mark, span)
    return out


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _table(block: Table) -> str:
    epochs = ' class="epochs"' if block.header and block.header[0] == "epoch" else ""
    head = "".join(f"<th>{inline(h)}</th>" for h in block.header)
    body = "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>" for row in block.rows)
    return f"<table{epochs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figures(block: Figures, images: Mapping[str, bytes]) -> str:
    parts = []
    for key, caption in block.items:
        if key in images:
            parts.append(f'<figure><img src="{data_uri(images[key])}" alt="{html.escape(caption)}">'
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
    return "\n".join(parts)


def render_block(block: Block, images: Mapping[str, bytes]) -> str:
    if isinstance(block, Heading):
        return f"<h{block.level}>{inline(block.text)}</h{block.level}>"
    if isinstance(block, Para):
        return f"<p>{inline(block.text)}</p>"
    if isinstance(block, Verdict):
        cls = "ready" if block.ready else "not-ready"
        mark = _BADGES[PASS if block.ready else FAIL]
        return (f'<div class="verdict {cls}">{mark} <strong>{html.escape(block.title)}</strong>: '
                f"{inline(block.text)}</div>")
    if isinstance(block, Bullets):
        tag = "ol" if block.ordered else "ul"
        return f"<{tag}>" + "".join(f"<li>{inline(i)}</li>" for i in block.items) + f"</{tag}>"
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Code):
        return f"<pre><code>{html.escape(chr(10).join(block.lines), quote=False)}</code></pre>"
    if isinstance(block, Figures):
        return _figures(block, images)
    if isinstance(block, Rule):
        return "<hr>"
    raise TypeError(f"unknown block {block!r}")


def render_html(analysis: Analysis, images: Mapping[str, bytes]) -> str:
    """The whole report as one HTML page.

    Parameters
    ----------
    analysis : Analysis
    images : Mapping[str, bytes]
        PNG bytes by figure key (``loss``, ``accuracy``, ``nan``, ``grad``, ``lr``), from
        :func:`futures_vpoc.report.plots.render_plots`; missing keys are left out.
    """
    title = html.escape(f"Training analysis: {analysis.run_dir.name}")
    body = "\n".join(render_block(b, images) for b in build_document(analysis))
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")
