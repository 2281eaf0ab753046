"""Part of section 5 of the demo report: which features the training run kept and which it dropped.

Read from the run's ``summary.json`` (``features_kept``: list of names; ``features_dropped``:
{name: reason}), written by the dataset's availability rule on the training rows. A run without
those keys (an older run) or without the file gives an empty string: nothing is shown.
"""

from __future__ import annotations

from pathlib import Path

from futures_vpoc.report.common import read_json
from futures_vpoc.report.demo_report.pieces import _table


def features_table(train_dir: Path | None) -> str:
    """``<h3>`` and one table, a row per feature: name, kept / dropped, the reason; '' when not recorded."""
    if train_dir is None:
        return ""
    try:
        summary = read_json(Path(train_dir) / "summary.json")
    except (OSError, ValueError):
        return ""
    kept = summary.get("features_kept") if isinstance(summary, dict) else None
    dropped = summary.get("features_dropped") if isinstance(summary, dict) else None
    if not kept and not dropped:
        return ""
    kept = list(kept.items()) if isinstance(kept, dict) else [(str(n), "") for n in (kept or ())]
    dropped = dropped if isinstance(dropped, dict) else {str(n): "" for n in (dropped or ())}
    rows = [(f"`{n}`", "**dropped**", r) for n, r in dropped.items()] + [(f"`{n}`", "kept", r) for n, r in kept]
    lead = (f"<h3>Features the model used</h3><p>The dataset keeps a feature only when it has values on enough "
            f"of the training rows (a long warm-up on a short file, VIX not yet published): {len(kept)} kept, "
            f"{len(dropped)} dropped.</p>")
    return lead + _table(("Feature", "Outcome", "Reason"), rows)


__all__ = ["features_table"]
