"""The backtest comparison as one self-contained HTML page (``backtest.html``).

Rendering only: every number comes from :class:`futures_vpoc.backtest.run.BacktestResults`
(statistics, daily equity, drawdown, monthly returns, trades). Plots are matplotlib Agg PNGs
inlined as base64 ``data:`` URIs; no script, no network.
"""

from __future__ import annotations

import html
import io
import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from futures_vpoc.backtest.run import BacktestResults
from futures_vpoc.backtest.stats import LABELS
from futures_vpoc.report.html import CSS, data_uri

SIZE, DPI = (9.6, 3.6), 100


def _fig():
    fig = Figure(figsize=SIZE, dpi=DPI)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    return fig, ax


def _png(fig) -> bytes:
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _equity_plot(res: BacktestResults) -> bytes:
    fig, ax = _fig()
    for name, r in res.strategies.items():
        d = r.engine.daily_equity
        ax.plot(d.index, d.to_numpy() - res.config.initial_capital, label=name, linewidth=1.2)
    ax.set_ylabel("net P&L [$]")
    ax.legend(fontsize=8, ncol=3)
    return _png(fig)


def _drawdown_plot(res: BacktestResults) -> bytes:
    fig, ax = _fig()
    for name, r in res.strategies.items():
        if len(r.daily_drawdown):
            ax.plot(r.daily_drawdown.index, r.daily_drawdown["drawdown_usd"].to_numpy(), label=name, linewidth=1.0)
    ax.set_ylabel("drawdown [$]")
    ax.legend(fontsize=8, ncol=3)
    return _png(fig)


def _monthly_plot(res: BacktestResults) -> bytes:
    fig, ax = _fig()
    names = list(res.strategies)
    months = sorted({m for r in res.strategies.values() for m in r.monthly.index})
    width = 0.8 / max(len(names), 1)
    x = np.arange(len(months))
    for i, name in enumerate(names):
        m = res.strategies[name].monthly.reindex(months).fillna(0.0).to_numpy()
        ax.bar(x + i * width, m, width, label=name)
    ax.set_xticks(x + 0.4 - width / 2, [str(m) for m in months], rotation=45, fontsize=8)
    ax.set_ylabel("monthly return [% of capital]")
    ax.legend(fontsize=8, ncol=3)
    return _png(fig)


def _trades_plot(res: BacktestResults) -> bytes:
    fig, ax = _fig()
    for name, r in res.strategies.items():
        pnl = r.engine.trades["pnl"].to_numpy()
        if len(pnl):
            ax.hist(pnl, bins=50, histtype="step", label=f"{name} ({len(pnl)})")
    ax.set_xlabel("trade net P&L [$]")
    ax.set_ylabel("trades")
    ax.legend(fontsize=8, ncol=3)
    return _png(fig)


def fmt_stat(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        if math.isinf(v):
            return "∞"
        return f"{v:,.2f}" if abs(v) >= 0.01 or v == 0 else f"{v:.4f}"
    return html.escape(str(v))


def _stats_table(res: BacktestResults) -> str:
    names = list(res.strategies)
    head = "<tr><th>Statistic</th>" + "".join(f"<th>{html.escape(n)}</th>" for n in names) + "</tr>"
    rows = []
    for key, label in LABELS.items():
        cells = "".join(f"<td>{fmt_stat(res.strategies[n].stats.get(key, math.nan))}</td>" for n in names)
        rows.append(f"<tr><td>{html.escape(label)}</td>{cells}</tr>")
        if key == "sharpe":
            ci = "".join(f"<td>[{fmt_stat(res.strategies[n].stats.get('sharpe_ci95_low', math.nan))}, "
                         f"{fmt_stat(res.strategies[n].stats.get('sharpe_ci95_high', math.nan))}]</td>" for n in names)
            rows.append(f"<tr><td>Sharpe 95% block-bootstrap interval</td>{ci}</tr>")
    for key, label in (("psr", "Probabilistic Sharpe ratio (vs 0)"),
                       ("dsr", f"Deflated Sharpe ratio ({res.n_trials} trials)"),
                       ("dsr_benchmark_sharpe", "DSR benchmark Sharpe (expected max. of unskilled trials)"),
                       ("dsr_significant", "Significant (DSR > 0.95)"),
                       ("p_value_random", "p-value vs random signals")):
        cells = "".join(f"<td>{fmt_stat(res.strategies[n].stats.get(key, math.nan))}</td>" for n in names)
        rows.append(f"<tr><td>{html.escape(label)}</td>{cells}</tr>")
    return f"<table class=\"epochs\">{head}{''.join(rows)}</table>"


def _session_rule(c) -> str:
    if c.flat_at_session_end:
        return "every strategy flat at each session end (--flat_at_session_end)"
    if c.flat_session_strategies:
        return "session strategies flat at each session end, the others hold overnight"
    return "session strategies allowed to hold overnight (flat_session_strategies=False)"


def _strategy_list(res: BacktestResults) -> str:
    items = "".join(f"<li><code>{html.escape(n)}</code>: {html.escape(str(r.stats.get('holding', '')))}</li>"
                    for n, r in res.strategies.items())
    return f"<h2>Strategies</h2><ul>{items}</ul>"


def render_backtest_html(res: BacktestResults, title: str = "Backtest") -> str:
    """The whole comparison as one HTML page (equity, drawdown, monthly returns, trades, stats)."""
    c = res.config
    spec = c.contract
    setup = (f"{spec.symbol}: ${spec.multiplier:g} per point, tick {spec.tick:g} point "
             f"(${spec.tick_value:g}); commission + fees ${spec.cost_per_side:.2f} per contract per side; "
             f"slippage {c.slippage_ticks:g} tick(s) per side"
             + (f" + Poisson({c.random_slippage_ticks:g}) ticks" if c.random_slippage_ticks else "")
             + f"; stop {c.stop_ticks:g} / target {c.target_ticks:g} ticks (0 = none); "
             f"{_session_rule(c)}; rolls: {c.roll}; "
             f"initial capital ${c.initial_capital:,.0f}. Signals at a bar's close fill at the next bar's open.")
    rnd = ""
    if len(res.random_sharpes):
        rnd = (f"<p>Random baseline: {len(res.random_sharpes)} seeds with the trade count, holding times and "
               f"sides of <code>{html.escape(str(res.reference))}</code>; the <code>random</code> column is seed 1.</p>")
    figs = [("Equity (net P&L, daily mark to market)", _equity_plot(res)), ("Drawdown", _drawdown_plot(res)),
            ("Monthly returns", _monthly_plot(res)), ("Trade P&L distribution", _trades_plot(res))]
    body = "".join(f'<h2>{html.escape(t)}</h2><img style="width:100%" alt="{html.escape(t)}" src="{data_uri(p)}">'
                   for t, p in figs)
    if res.notes:
        rnd += "<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in res.notes) + "</ul>"
    t = html.escape(title)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{t}</title>\n'
            f"<style>{CSS}</style>\n</head>\n<body>\n<h1>{t}</h1>\n<p>{html.escape(setup)}</p>{rnd}\n"
            f"{_strategy_list(res)}\n<h2>Statistics</h2>{_stats_table(res)}\n{body}\n</body>\n</html>\n")
