"""The bar-approximation table (how far bar-based profiles land from the exact ones), as text.

Renders :func:`futures_vpoc.profile.compare.compare_bars`'s table; computes nothing.
"""

from __future__ import annotations

import pandas as pd

from futures_vpoc.report.common import num, pct

HEADER = ("Allocation rule", "Sessions", "VPOC median / p95 [ticks]", "VAH median / p95 [ticks]",
          "VAL median / p95 [ticks]", "Sessions with the exact VPOC")


def approximation_rows(table: pd.DataFrame) -> list[tuple[str, ...]]:
    """One row of strings per allocation rule, in :data:`HEADER` order."""
    rows = []
    for r in table.itertuples(index=False):
        rows.append((r.allocation, f"{r.sessions:,}",
                     f"{num(r.vpoc_median_ticks, 1)} / {num(r.vpoc_p95_ticks, 1)}",
                     f"{num(r.vah_median_ticks, 1)} / {num(r.vah_p95_ticks, 1)}",
                     f"{num(r.val_median_ticks, 1)} / {num(r.val_p95_ticks, 1)}",
                     pct(r.exact_vpoc_share)))
    return rows


def approximation_caption(trades: int, sessions: int, tick: float) -> str:
    """What the table compares, in one sentence."""
    return (f"Exact profiles from {trades:,} trades in {sessions:,} session(s) against the profiles of their "
            f"1-minute bars, by allocation rule; distances in ticks of {tick:g} points (median and 95th "
            "percentile over sessions).")


def approximation_markdown(table: pd.DataFrame, exact) -> str:
    """The table as GitHub markdown, with its caption (``exact``: the ExactProfiles compared)."""
    lines = ["### How far bar-based profiles are from the exact ones", "",
             approximation_caption(exact.trades, len(exact.sessions), exact.spec.tick), "",
             "| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in approximation_rows(table)]
    return "\n".join(lines)


__all__ = ["HEADER", "approximation_caption", "approximation_markdown", "approximation_rows"]
