"""Section 7 of the demo report, the backtest: equity curves, statistics table and significance.

Read from the backtest's ``stats.json`` and ``equity.csv``, with a link to its own
``backtest.html``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from futures_vpoc.backtest.stats import LABELS
from futures_vpoc.report.common import esc, stat_text
from futures_vpoc.report.demo_report.inputs import DemoInputs
from futures_vpoc.report.demo_report.loaded import _Loaded
from futures_vpoc.report.demo_report.pieces import _img, _lead, _link, _not_run, _table
from futures_vpoc.report.plots import figure_png, new_figure


STAT_COLUMNS = ("net_pnl_usd", "costs_usd", "trades", "sharpe", "max_drawdown_pct", "psr", "dsr", "p_value_random")


def equity_plot(equity: pd.DataFrame) -> bytes:
    """PNG: equity [$] of every strategy per trade date, the ``model`` column drawn thick on top."""
    fig, ax = new_figure((9.6, 3.8))
    for name in equity.columns:
        model = name == "model"
        ax.plot(equity.index, equity[name].to_numpy(float), label=name, linewidth=2.4 if model else 1.0,
                color="#111111" if model else None, alpha=1.0 if model else 0.85, zorder=5 if model else 2)
    ax.set_ylabel("equity [$]")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.legend(fontsize=8, ncol=min(len(equity.columns), 6), loc="upper left")
    return figure_png(fig)


def _stats_rows(stats: dict) -> list[list[str]]:
    rows = []
    for name, s in stats.items():
        if not isinstance(s, dict):
            continue
        cells = [stat_text(s, k) for k in STAT_COLUMNS]
        lo, hi = stat_text(s, "sharpe_ci95_low"), stat_text(s, "sharpe_ci95_high")
        ci = "n/a" if "n/a" in (lo, hi) else f"[{lo}, {hi}]"
        cells.insert(4, ci)
        rows.append([f"**{name}**" if name == "model" else name, *cells])
    return rows


def _significance(stats: dict) -> str:
    m = stats.get("model")
    if not isinstance(m, dict):
        return "No model strategy in stats.json, so there is no significance to report."
    verdict = ("significant: the Sharpe ratio survives the deflation for the strategies tried"
               if m.get("dsr_significant") else "not significant: the Sharpe ratio can be luck given the "
               "strategies tried")
    return (f"The model's deflated Sharpe ratio is {stat_text(m, 'dsr')} over {stat_text(m, 'n_trials')} "
            f"trials (significant above 0.95), so it is {verdict}. Its p-value against random signals with the "
            f"same number of trades and holding times is {stat_text(m, 'p_value_random')} (the share of random seeds "
            "doing at least as well).")


def _holding(stats: dict) -> str:
    """Which strategies were flat at each session end and which held overnight (``stats.json``)."""
    groups = {True: [], False: []}
    for name, s in stats.items():
        if isinstance(s, dict) and isinstance(s.get("flat_at_session_end"), bool):
            groups[s["flat_at_session_end"]].append(name)
    parts = []
    if groups[True]:
        parts.append("flat at each session end, so no trade spans the daily break or a weekend: "
                     + ", ".join(groups[True]))
    if groups[False]:
        parts.append("hold positions overnight and over weekends: " + ", ".join(groups[False]))
    return f"<p>{esc('Holding rules: ' + '; '.join(parts) + '.')}</p>" if parts else ""


def _backtest(inputs: DemoInputs, got: _Loaded) -> str:
    out = [_lead("The model's signals traded as ES futures with commissions and slippage (a signal at a bar's "
                 "close fills at the next bar's open), next to simple rule-based and naive strategies on the "
                 "same test period.")]
    if got.stats is None:
        return "".join(out) + _not_run(got.backtest_error or "Backtest: not run.")
    if got.equity is not None and len(got.equity):
        out.append(_img(equity_plot(got.equity), "Equity of every strategy"))
    header = ["Strategy"] + [LABELS.get(k, k) for k in STAT_COLUMNS]
    header.insert(5, "Sharpe 95% interval")
    header[-3:] = ["PSR (vs 0)", "DSR", "p vs random"]
    out += [_table(header, _stats_rows(got.stats), numeric=True), _holding(got.stats),
            f"<p>{esc(_significance(got.stats))}</p>",
            _link(Path(inputs.backtest_dir) / "backtest.html", inputs.report_dir,
                  "The full backtest report: drawdowns, monthly returns, trades (backtest.html)")]
    return "".join(out)
