"""Generating 1M synthetic one-minute ES bars (about three years of Globex sessions)."""

from __future__ import annotations

import sys

from _common import line, median_seconds, scaled_dates

from futures_vpoc.data.synthetic import SynthConfig, synthesize

_START, _END = scaled_dates("2021-01-04", "2023-12-29", least_days=28)  # at least four weeks
CONFIG = SynthConfig(start=_START, end=_END, seed=11)


def main(repeats: int = 3) -> dict:
    synthesize(SynthConfig(start="2023-01-03", end="2023-01-06"))  # numba compile, not timed
    rows = len(synthesize(CONFIG)[0])
    seconds = median_seconds(lambda: synthesize(CONFIG), repeats)
    print(line(f"synthesize {CONFIG.start}..{CONFIG.end}", rows, seconds, f"({rows:,} bars, median of {repeats})"))
    return {"rows": rows, "seconds": seconds}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
