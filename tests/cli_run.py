"""``run(*argv)``: the command line in process, its exit status also when argparse exits (usage errors)."""

from __future__ import annotations

from futures_vpoc.cli import main


def run(*argv) -> int:
    """``futures-vpoc ARGV`` in this process; arguments may be paths. Returns the exit status."""
    try:
        return main([str(a) for a in argv])
    except SystemExit as exc:  # argparse
        return int(exc.code)
