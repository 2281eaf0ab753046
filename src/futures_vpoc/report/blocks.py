"""A tiny document model shared by the markdown and HTML renderers.

Text may carry three inline marks: ```code```, ``**bold**`` and the status badges ``[[PASS]]``,
``[[FAIL]]`` and ``[[NA]]``. Each renderer turns them into its own syntax.
"""

from __future__ import annotations

from dataclasses import dataclass

PASS, FAIL, NA = "[[PASS]]", "[[FAIL]]", "[[NA]]"


def badge(passed: bool | None) -> str:
    """The badge mark for a pass/fail/unknown status."""
    return NA if passed is None else (PASS if passed else FAIL)


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Verdict:
    """The executive-summary banner."""

    ready: bool
    title: str
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    ordered: bool = False


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Code:
    """A command block: ``lines`` joined by newlines, shown verbatim."""

    lines: tuple[str, ...]
    lang: str = "bash"


@dataclass(frozen=True)
class Figures:
    """Plots, by key of the rendered PNGs, with captions."""

    items: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Rule:
    """A horizontal rule between major sections."""


Block = Heading | Para | Verdict | Bullets | Table | Code | Figures | Rule
