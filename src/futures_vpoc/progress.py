"""Progress bars for long work, through ``tqdm`` (the ecosystem's convention).

Training epochs, walk-forward folds, scale-up rungs, ensemble members and reads of many bar files
show a bar on an interactive terminal and nothing otherwise (``tqdm``'s ``disable=None``), so logs
and captured output stay clean. Bars go to stderr and vanish when done (``leave=False``); a line
printed while a bar is shown goes through :func:`say`, which lifts the bar out of the way first.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from tqdm import tqdm


def bar(iterable: Iterable | None = None, desc: str = "", total: int | None = None, unit: str = "it",
        stream=None, enabled: bool = True) -> tqdm:
    """A progress bar over ``iterable`` (or one advanced by ``update``) that shows only on a TTY.

    Parameters
    ----------
    iterable : iterable, optional
        What to iterate; None for a bar advanced by ``.update(n)``.
    desc : str
        Label before the bar, e.g. ``"walk-forward folds"``.
    total : int, optional
        Number of items (default ``len(iterable)`` when it has one).
    unit : str
        What one item is (``"fold"``, ``"step"`` ...).
    stream : file, optional
        Where the bar is drawn (default ``sys.stderr``); it shows only when that is a terminal.
    enabled : bool
        False hides it whatever the stream (e.g. on a non-main DDP rank).
    """
    stream = stream or sys.stderr
    return tqdm(iterable, desc=desc, total=total, unit=unit, file=stream, leave=False, dynamic_ncols=True,
                disable=None if enabled else True, mininterval=0.25)


def say(text: str) -> None:
    """Print ``text`` on stdout without tearing a progress bar that is on screen."""
    tqdm.write(text, file=sys.stdout)
    sys.stdout.flush()
