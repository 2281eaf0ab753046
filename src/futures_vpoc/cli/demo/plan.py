"""What each demo stage needs from the data, checked before it starts, and the closing table.

Every stage after ``features`` checks its needs first and either adapts or is skipped with the
reason printed, kept in the notes and shown in the report and the closing table:

* train (and analyze, scale-up, ensemble, which train too): a train / validation / test split needs
  :func:`futures_vpoc.dataset.min_sessions` sessions. Strategy 1 trains on the last 0.8 of the file
  (``--data_fraction``); when that leaves too few sessions but the whole file has enough, the demo
  uses ``--data_fraction 1`` (noted); when even the whole file is too short, training is skipped.
* backtest: with a trained model, the model against the rules and baselines; without one, the rules
  and baselines alone (``--strategy``) so the file still gets a backtest.
* scale-up and ensemble: run only after a training run and when their time estimate fits
  ``--budget_minutes``; each ensemble member must hold the training split's sessions too.

A refusal the pre-check did not foresee (exit 2 with a data-size message) is recorded as skipped
by ``Demo.stage(..., skippable=True)`` (:mod:`futures_vpoc.cli.demo.runner`).
"""

from __future__ import annotations

import json
import time

from futures_vpoc.cli.demo.runner import Demo

HORIZON = 5  # the label horizon train uses by default [bars]
RULES = ("vpoc_reversion", "vpoc_breakout", "buy_hold", "ma_cross")
REPORT_RESERVE_S = 25.0  # the report and index take about this long on 2 cores (measured ~10 s)


def sessions_of(bars) -> int:
    """Trade dates in the bars."""
    return int(bars["trade_date"].nunique()) if "trade_date" in bars.columns else 0


def split_refusal(bars, data_fraction: float) -> str | None:
    """Why a train / validation / test split of the last ``data_fraction`` of the bars is refused, or None."""
    from futures_vpoc.dataset import SplitSpec, require_sessions
    from futures_vpoc.errors import UsageError

    try:
        require_sessions(bars, SplitSpec(), HORIZON, data_fraction)
    except UsageError as exc:
        return str(exc)
    return None


def plan_training(demo: Demo) -> str | None:
    """Adapt ``--data_fraction`` to the sessions the file has; return why training is skipped, or None."""
    st = demo.state
    if split_refusal(st.bars, 0.8) is None:
        return None
    why = split_refusal(st.bars, 1.0)
    if why is not None:
        return why
    st.data_fraction = "1.0"
    st.notes.append(f"--data_fraction 0.8 became 1.0: the last 0.8 of the file holds too few sessions for a "
                    f"train / validation / test split; the whole file ({sessions_of(st.bars)} trade dates) does.")
    demo.say(st.notes[-1])
    return None


def fits_budget(demo: Demo, name: str, estimate: float) -> bool:
    """True when ``estimate`` [s] fits what is left of ``--budget_minutes``; otherwise record the skip."""
    left = demo.args.budget_minutes * 60.0 - (time.perf_counter() - demo.t0) - REPORT_RESERVE_S
    if estimate <= left:
        return True
    demo.skip(name, f"it would take about {estimate:.0f} s and {max(0.0, left):.0f} s of the "
                    f"{demo.args.budget_minutes:g}-minute budget were left (--budget_minutes)")
    return False


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def summary_lines(demo: Demo) -> list[str]:
    """The closing table: which stages ran or were skipped (and why), accuracy vs baseline, each
    strategy's Sharpe and P&L, the report."""
    st = demo.state
    width = max([12, *(len(name) + 2 for name, _, _ in st.stages)])
    lines = ["", "stage".ljust(width) + "outcome", "-" * 78]
    for name, outcome, why in st.stages:
        lines.append(f"{name}".ljust(width) + (outcome if outcome == "ran" else f"skipped: {_short(why)}"))
    lines += ["", "result".ljust(28) + "value", "-" * 78]
    if st.train_dir is not None and (st.train_dir / "summary.json").is_file():
        s = json.loads((st.train_dir / "summary.json").read_text())
        lo, hi = s.get("test_accuracy_ci95") or (None, None)
        method = s.get("test_statistics_method") or "rows taken as independent"
        lines += ["test accuracy".ljust(28) + f"{_pct(s.get('test_accuracy'))} [{_pct(lo)}, {_pct(hi)}] vs majority "
                  f"baseline {_pct(s.get('test_majority_baseline'))} (p = {s.get('test_p_value', float('nan')):.3g})",
                  "".ljust(28) + f"95% CI and p-value: {method}",
                  "worst NaN rate".ljust(28) + f"{_pct(s.get('nan_rate_max'))} (stop: {s.get('stop_reason')}, "
                  f"{s.get('epochs_completed')} epochs)"]
    else:
        lines.append("test accuracy".ljust(28) + "n/a (no training run)")
    if st.backtest_dir is not None and (st.backtest_dir / "stats.json").is_file():
        stats = json.loads((st.backtest_dir / "stats.json").read_text())
        lines.append("backtest".ljust(28) + "Sharpe".rjust(8) + "net P&L [$]".rjust(16) + "trades".rjust(9))
        for name, row in stats.items():
            sharpe = row.get("sharpe")
            lines.append(f"  {name}".ljust(28) + (f"{sharpe:8.2f}" if sharpe is not None else "     n/a") +
                         f"{row.get('net_pnl_usd') or 0:16,.2f}{row.get('trades') or 0:9d}")
    lines += ["report".ljust(28) + str(st.report), "all runs".ljust(28) + str(st.index),
              "total time".ljust(28) + f"{time.perf_counter() - demo.t0:.0f} s"]
    return lines


def _short(text: str, width: int = 64) -> str:
    text = text.split(" (exit 2, log ")[0]
    return text if len(text) <= width else text[:width - 3] + "..."


__all__ = ["HORIZON", "RULES", "fits_budget", "plan_training", "sessions_of", "split_refusal", "summary_lines"]
