"""The full help tree of ``futures-vpoc``: every command's ``--help`` text, in one string.

Used by ``tests/test_cli_help.py`` against the golden file ``tests/data/cli/help_tree.txt``, which
was written by this module from the command line as it stood before the CLI moved into the
``futures_vpoc.cli`` package (issue 13). Run ``python tests/cli_help_tree.py > tests/data/cli/help_tree.txt``
to rewrite it after a deliberate change of a flag or a help text.

Help is rendered at a fixed width (``COLUMNS=100``) so the text does not depend on the terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os

from futures_vpoc.cli import build_parser, main

WIDTH = "100"


def _help_of(path: list[str]) -> str:
    """What ``futures-vpoc PATH... --help`` prints on stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        main([*path, "--help"])
    return out.getvalue()


def _subcommands(path: list[str]) -> list[str]:
    """Names of the subcommands directly under ``futures-vpoc PATH...`` (empty for a leaf)."""
    parser = build_parser()
    for name in path:
        parser = _children(parser)[name]
    return list(_children(parser))


def _children(parser: argparse.ArgumentParser) -> dict:
    """A parser's subcommand parsers by name, in the order they were added (argparse keeps them
    in the choices of its one ``_SubParsersAction``; there is no public accessor)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def help_tree() -> str:
    """Every command's help, depth first, each under a ``### futures-vpoc PATH`` heading."""
    previous = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = WIDTH
    try:
        parts, todo = [], [[]]
        while todo:
            path = todo.pop(0)
            text = _help_of(path)
            parts.append(f"### futures-vpoc {' '.join(path)}".rstrip() + "\n" + text)
            todo.extend([*path, name] for name in _subcommands(path))
        return "\n".join(parts)
    finally:
        if previous is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = previous


if __name__ == "__main__":
    print(help_tree(), end="")
