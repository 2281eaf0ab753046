"""Command-line start-up, whole process: ``futures-vpoc --version``, ``--help`` and ``data check`` on a
small merged file, against a bare ``python -c pass`` in the same run (median of at least 5 runs each).

Budgets (issue 13): ``--version`` and ``--help`` within 0.5 s, ``data check`` on a small file within
1.5 s. The parser is text; only ``data check`` imports the data layer (pandas, the calendar).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import line, median_seconds, scaled_dates

BUDGETS = {"--version": 0.5, "--help": 0.5, "data check": 1.5}
_START, _END = scaled_dates("2024-03-04", "2024-03-15", least_days=7)


def _command() -> list[str]:
    """The console script next to this Python (as a user runs it), else ``python -m futures_vpoc``."""
    script = Path(sys.executable).parent / "futures-vpoc"
    return [str(script)] if script.exists() else [sys.executable, "-m", "futures_vpoc"]


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(repeats: int = 3) -> None:
    repeats = max(5, repeats)
    cli = _command()
    where = Path(tempfile.mkdtemp(prefix="bench_cli_"))
    try:
        small = where / "small.csv"
        _run([*cli, "data", "synth", "--start", _START, "--end", _END, "--out", str(small)])
        rows = sum(1 for _ in small.open()) - 1
        bare = median_seconds(lambda: _run([sys.executable, "-c", "pass"]), repeats)
        print(line("python -c pass (baseline)", 1, bare, "runs/s is 1/seconds"))
        for name, argv in (("--version", ["--version"]), ("--help", ["--help"]),
                           ("data check", ["data", "check", str(small)])):
            seconds = median_seconds(lambda argv=argv: _run([*cli, *argv]), repeats)
            verdict = "ok" if seconds <= BUDGETS[name] else "FAIL"
            count = rows if name == "data check" else 1
            print(line(f"futures-vpoc {name}", count, seconds,
                       f"{seconds / bare:5.1f}x bare python; budget {BUDGETS[name]} s: {verdict}"))
    finally:
        shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
