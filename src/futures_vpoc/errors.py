"""Errors the user sees.

Every error a user can cause derives from :class:`FuturesVpocError`. The CLI prints its message as
one line on stderr, with no traceback, and exits with status 2 (DESIGN.md section 5).
"""

from __future__ import annotations

EXIT_USAGE = 2


class FuturesVpocError(Exception):
    """Base class of errors caused by the user's input; the CLI exits with status 2."""

    exit_code = EXIT_USAGE


class UsageError(FuturesVpocError):
    """A flag or argument is wrong or missing."""


class DataError(FuturesVpocError):
    """Bad input data, located as precisely as the input allows.

    Parameters
    ----------
    problem : str
        What is wrong, e.g. ``"high < low"``.
    file : str, optional
        Path of the offending file.
    line : int, optional
        1-based line number in that file (header counted), when the file has lines.
    column : str, optional
        Name of the offending column.
    value : object, optional
        The offending value as read.
    hint : str, optional
        What the user can do about it.
    more : int, optional
        How many further rows have the same problem.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        value: object = None,
        hint: str | None = None,
        more: int = 0,
    ) -> None:
        self.problem = problem
        self.file = file
        self.line = line
        self.column = column
        self.value = value
        self.hint = hint
        self.more = more
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file is not None:
            where = str(self.file)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        what = ""
        if self.column is not None:
            what = f"column '{self.column}'"
            if self.value is not None:
                what += f" value {self.value!r}"
            what += ": "
        text = f"{where}{what}{self.problem}"
        if self.more:
            text += f" (and {self.more} more row{'s' if self.more != 1 else ''})"
        if self.hint:
            text += f"; {self.hint}"
        return " ".join(text.split())
