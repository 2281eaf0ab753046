"""The training analysis report as markdown (``analysis.md``).

Plots are not embedded here; the markdown names them and points at ``analysis.html``.
"""

from __future__ import annotations

from futures_vpoc.diagnostics.analysis import Analysis
from futures_vpoc.report.blocks import (FAIL, NA, PASS, Block, Bullets, Code, Figures, Heading, Para, Rule, Table,
                                        Verdict)
from futures_vpoc.report.sections import build_document

_BADGES = {PASS: "✅", FAIL: "❌", NA: "➖"}


def _inline(text: str) -> str:
    for mark, emoji in _BADGES.items():
        text = text.replace(mark, emoji)
    return text


def _cell(text: str) -> str:
    return _inline(text).replace("|", "\\|").replace("\n", " ")


def _table(block: Table) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in block.header) + " |",
             "|" + "|".join("---" for _ in block.header) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
    return lines


def _block(block: Block) -> list[str]:
    if isinstance(block, Heading):
        return ["#" * block.level + " " + _inline(block.text)]
    if isinstance(block, Para):
        return [_inline(block.text)]
    if isinstance(block, Verdict):
        return [f"**{_inline(PASS if block.ready else FAIL)} {block.title}**: {_inline(block.text)}"]
    if isinstance(block, Bullets):
        return [(f"{n}. " if block.ordered else "- ") + _inline(item) for n, item in enumerate(block.items, 1)]
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Code):
        return [f"```{block.lang}", *block.lines, "```"]
    if isinstance(block, Figures):
        return ["_Plots in `analysis.html`: " + "; ".join(caption for _, caption in block.items) + "._"]
    if isinstance(block, Rule):
        return ["---"]
    raise TypeError(f"unknown block {block!r}")


def render_markdown(analysis: Analysis) -> str:
    """The whole report as markdown text (ends with a newline)."""
    return "\n\n".join("\n".join(_block(b)) for b in build_document(analysis)) + "\n"
