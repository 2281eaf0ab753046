"""The stages of ``futures-vpoc demo`` (see :mod:`futures_vpoc.cli.demo`) and its closing table.

Each stage runs the subcommand a user would type through ``Demo.stage``; what the report needs
in memory (the bars, their check, the session table, the sample-session picture) is read back from
the files those commands wrote or computed once here.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pandas as pd

from futures_vpoc.cli.demo.runner import ENSEMBLE_GROUPS, PASS_THROUGH, SCALEUP_LADDER, STRATEGY_1, Demo

SYNTH_START = "2023-01-02"
COMPOSITE_SESSIONS = 20
REPORT_RESERVE_S = 25.0  # the report and index take about this long on 2 cores (measured ~10 s)
OPTIONAL_EPOCHS = 2


def _is_daily(check) -> bool:
    return check.width >= pd.Timedelta(hours=20)


def _width(width: pd.Timedelta) -> str:
    minutes = width / pd.Timedelta(minutes=1)
    return f"{minutes / 1440:g} day" if minutes >= 1440 else f"{minutes:g} minute"


def _is_futures(bars: pd.DataFrame) -> bool:
    from futures_vpoc.data.contracts import parse_contract

    try:
        parse_contract(str(bars["contract"].iloc[0]))
    except ValueError:
        return False
    return True


def data_stage(demo: Demo) -> None:
    """Write (or check) the merged file, then read it once for the report."""
    from futures_vpoc.data.barframe import read_merged
    from futures_vpoc.data.check import check_bars

    a, st = demo.args, demo.state
    if a.data:
        st.data_file = Path(a.data).resolve()
        # exit 1 = problems found and listed (the report shows them); the demo goes on with the file
        demo.stage("data", ["data", "check", str(st.data_file)], keep=(r"\S",), ok=(0, 1))
    elif a.dataset == "sp500-daily":
        st.data_file = st.out / "data" / "sp500_daily_vix.parquet"
        demo.stage("data", ["data", "sample", "sp500-daily", "--out", str(st.data_file)], keep=(r"\S",))
    else:
        end = pd.Timestamp(SYNTH_START) + pd.DateOffset(months=a.months) - pd.Timedelta(days=1)
        st.data_file = st.out / "data" / "synthetic_es_vix.parquet"
        demo.stage("data", keep=(r"\S",), argv=["data", "synth", "--out", str(st.data_file), "--start", SYNTH_START,
                            "--end", f"{end:%Y-%m-%d}", "--seed", str(a.seed), "--signal", f"{a.signal:g}"])
    st.bars = read_merged(st.data_file)
    st.check = check_bars(st.bars)
    st.daily = _is_daily(st.check)
    demo.say(f"data: {st.check.rows:,} bars of {_width(st.check.width)}, {st.check.trade_dates:,} trade dates, "
             f"{len(st.check.rolls)} rolls, VIX on {st.check.vix_pct:.1f}% of bars")
    if not _is_futures(st.bars):
        from futures_vpoc.features.spec import GROUPS

        st.features = tuple(g for g in GROUPS if g != "calendar")
        st.notes.append(f"'{st.bars['contract'].iloc[0]}' is not a futures contract: the calendar group "
                        "(days to the roll) does not apply, so the model uses " + ", ".join(st.features) + ".")


def profile_stage(demo: Demo) -> None:
    """Session table, developing values and the sample-session picture (a composite on daily bars)."""
    st = demo.state
    folder = st.out / "profile"
    st.sessions_file, st.profile_png = folder / "sessions.parquet", folder / "sample_session.png"
    demo.stage("profile", ["profile", "--data", str(st.data_file), "--out", str(st.sessions_file),
                           "--developing", str(folder / "developing.parquet"), "--plot", str(st.profile_png),
                           "--rows", "5"])
    st.sessions = pd.read_parquet(st.sessions_file)
    if st.daily:
        from futures_vpoc.profile import session_profiles
        from futures_vpoc.profile.plot import plot_composite

        st.profile_png = folder / f"composite_{COMPOSITE_SESSIONS}_sessions.png"
        plot_composite(st.bars, session_profiles(st.bars), COMPOSITE_SESSIONS, st.profile_png)
        st.profile_caption = (f"Daily bars: each session is one bar, so the picture is the composite profile of "
                              f"the last {COMPOSITE_SESSIONS} daily bars (each bar's volume spread evenly over its "
                              "range), with the rolling composite VPOC and value area as they stood each day.")
    else:
        row = st.sessions.iloc[-1]
        st.profile_caption = (f"The last session ({row['contract']}, trade date {pd.Timestamp(row['trade_date']):%Y-%m-%d}"
                              "): candles with RTH shaded, the developing VPOC and value area as each bar closed, "
                              "and the finished volume histogram.")


def _features_flag(demo: Demo) -> list[str]:
    return ["--features", *demo.state.features] if demo.state.features else []


def features_stage(demo: Demo) -> None:
    """Write the feature table; leave out a group that exists on under half of the bars (noted)."""
    st = demo.state
    path = st.out / "features" / "features.parquet"
    demo.stage("features", ["features", "--data", str(st.data_file), "--out", str(path), *_features_flag(demo)])
    sparse = sparse_groups(pd.read_parquet(path))
    if sparse:
        from futures_vpoc.features.spec import GROUPS

        kept = tuple(g for g in (st.features or GROUPS) if g not in sparse)
        st.features = kept
        st.notes.append("Left out of the model: " + "; ".join(
            f"the {g} group, which has values on only {share:.0%} of the bars" for g, share in sparse.items()) +
            ". A row needs every feature, so keeping it would drop most of the history "
            f"(the model uses {', '.join(kept)}).")
        demo.say(st.notes[-1])


def sparse_groups(table: pd.DataFrame, least: float = 0.5) -> dict[str, float]:
    """Feature groups whose columns are all finite on fewer than ``least`` of the rows.

    Parameters
    ----------
    table : pandas.DataFrame
        The feature table (columns ``<group>_<name>``; others are ignored).
    least : float
        Smallest share of rows, in [0, 1].

    Returns
    -------
    dict
        Group -> share of rows with every column of the group finite, for the sparse groups only.
    """
    from futures_vpoc.features.spec import GROUPS

    out = {}
    for group in GROUPS:
        cols = [c for c in table.columns if c.startswith(group + "_")]
        if cols:
            share = float(table[cols].notna().all(axis=1).mean())
            if share < least:
                out[group] = share
    return out


def _epochs(demo: Demo) -> int:
    return demo.args.epochs or (30 if demo.state.daily else 8)


def _strategy_1(demo: Demo, epochs: int, drop_hidden: bool = False) -> list[str]:
    """The seed's Strategy 1 flags; warmup shortened to a fifth of all steps when the data is small."""
    flags = list(STRATEGY_1)
    if drop_hidden:
        i = flags.index("--hidden_dims")
        del flags[i:i + 4]
    train_rows = demo.state.check.rows * 0.8 * 0.7  # --data_fraction 0.8, 70% train (estimate)
    steps = int(math.ceil(train_rows / 32)) * epochs
    if steps // 5 < 5000:
        warmup = max(10, steps // 5)
        flags[flags.index("--warmup_steps") + 1] = str(warmup)
        note = (f"--warmup_steps 5000 became {warmup}: about {steps:,} steps in {epochs} epochs, and the warmup "
                "should end well before the last step.")
        if note not in demo.state.notes:
            demo.state.notes.append(note)
    return flags + ["--seed", str(demo.args.seed), *_features_flag(demo)]


def train_stage(demo: Demo) -> None:
    """Strategy 1, the seed's conservative command, with the demo's epochs; exit 1 (diverged) goes on."""
    st = demo.state
    st.train_dir = st.out / "train"
    epochs = _epochs(demo)
    demo.say(f"train: the seed's Strategy 1 (conservative) flags, --epochs {epochs} instead of 50 to fit the demo")
    demo.stage("train", ["train", "--data", str(st.data_file), "--output_dir", str(st.train_dir),
                         "--epochs", str(epochs), *_strategy_1(demo, epochs)], keep=PASS_THROUGH, ok=(0, 1))
    summary = json.loads((st.train_dir / "summary.json").read_text())
    st.epoch_seconds = float(summary["train_seconds"]) / max(1, int(summary["epochs_completed"]))
    st.prep_seconds = max(0.0, st.times[-1][1] - float(summary["train_seconds"]))


def analyze_stage(demo: Demo) -> None:
    demo.stage("analyze", ["analyze", str(demo.state.train_dir)], )


DEMO_THETA = 0.02
"""The demo's model dead band: a side is taken only when P(up) is at least 2 points from even. A model
that learned nothing sits within a fraction of a point of its base rate (sd 0.002 on a signal-free
market), so it stays flat instead of trading the sign of its intercept; the planted signal spreads
the probabilities by several points (sd about 0.06), so it trades both sides."""


def backtest_stage(demo: Demo) -> None:
    st = demo.state
    st.backtest_dir = st.out / "backtest"
    demo.stage("backtest", ["backtest", "--data", str(st.data_file), "--model", str(st.train_dir),
                            "--output_dir", str(st.backtest_dir), "--n_random", str(demo.args.n_random),
                            "--theta", f"{DEMO_THETA:g}"])


def _fits(demo: Demo, name: str, estimate: float) -> bool:
    left = demo.args.budget_minutes * 60.0 - (time.perf_counter() - demo.t0) - REPORT_RESERVE_S
    if estimate <= left:
        return True
    demo.state.notes.append(f"{name} skipped: it would take about {estimate:.0f} s and {max(0.0, left):.0f} s "
                            f"of the {demo.args.budget_minutes:g}-minute budget were left (--budget_minutes).")
    demo.say(demo.state.notes[-1])
    return False


def optional_stages(demo: Demo) -> None:
    """The seed's Strategies 2 and 3 in short form, each when its time estimate fits the budget."""
    st, epochs = demo.state, OPTIONAL_EPOCHS
    # Estimates: the 128-64-32 rung costs about 1.5x the 64-32-16 epoch, an ensemble member about 0.8x;
    # every run rebuilds the dataset (prep_seconds).
    if _fits(demo, "scale-up", 2.5 * epochs * st.epoch_seconds + 2 * st.prep_seconds):
        st.scaleup_dir = st.out / "scaleup"
        demo.stage("scale-up", ["scale-up", "--data", str(st.data_file), "--output_dir", str(st.scaleup_dir),
                                "--ladder", *SCALEUP_LADDER, "--epochs", str(epochs),
                                *_strategy_1(demo, epochs, drop_hidden=True)], keep=("scale-up: winner",))
    members = len(ENSEMBLE_GROUPS)
    if _fits(demo, "ensemble", members * (0.8 * epochs * st.epoch_seconds + st.prep_seconds)):
        st.ensemble_dir = st.out / "ensemble"
        flags = _strategy_1(demo, epochs, drop_hidden=True)
        if "--features" in flags:
            del flags[flags.index("--features"):]
        demo.stage("ensemble", ["ensemble", "--data", str(st.data_file), "--output_dir", str(st.ensemble_dir),
                                "--groups", *ENSEMBLE_GROUPS, "--epochs", str(epochs), *flags],
                   keep=("ensemble: weights",))


def _title(demo: Demo) -> tuple[str, str]:
    a, st = demo.args, demo.state
    if a.data:
        return (f"futures-vpoc demo: {Path(a.data).name}",
                f"Your merged file {st.data_file}. Every figure below comes from it.")
    if a.dataset == "sp500-daily":
        return ("futures-vpoc demo: real daily S&P 500 and VIX",
                "Real S&P 500 index daily bars 1999-2018 with the daily VIX from 2014 (shipped inside the `arch` "
                "package), VIX as of the previous close. With daily bars every session is a single bar, so the "
                "volume-profile features are daily-bar profiles and the picture is a daily-bar composite; "
                "minute data shows what the profiles are made for. The model's rows start when VIX starts.")
    return (f"futures-vpoc demo: synthetic ES + VIX (signal {a.signal:g})",
            f"A synthetic E-mini S&P 500 market: {a.months} months of 1-minute bars on the real CME Globex calendar "
            f"(quarterly contracts, calendar rolls, halts, holidays) with a daily VIX that tracks realised "
            f"volatility. A modest pull toward the developing session VPOC is planted (--signal {a.signal:g}; 0 means "
            "nothing is predictable), so a working system should find a small edge, and the baselines show whether "
            "it survives costs.")


def report_stage(demo: Demo) -> Path:
    """Write ``report.html`` and the runs folder's ``index.html``."""
    from futures_vpoc.report.demo_report import DemoInputs, write_demo_report
    from futures_vpoc.report.runs_index import write_runs_index

    st = demo.state
    started = time.perf_counter()
    title, note = _title(demo)
    inputs = DemoInputs(title=title, dataset_note=note, data_file=st.data_file, check=st.check,
                        profile_png=Path(st.profile_png).read_bytes(), profile_caption=st.profile_caption,
                        sessions=st.sessions, train_dir=st.train_dir, backtest_dir=st.backtest_dir,
                        scaleup_dir=st.scaleup_dir, ensemble_dir=st.ensemble_dir, stage_times=tuple(st.times),
                        notes=tuple(st.notes))
    st.report = write_demo_report(inputs, st.out / "report.html")
    root = st.out.resolve().parent
    index = write_runs_index(root if root != Path.cwd().resolve() else st.out)
    st.index = index.relative_to(Path.cwd().resolve()) if index.is_relative_to(Path.cwd().resolve()) else index
    st.times.append(("report", time.perf_counter() - started))
    demo.say(f"report: wrote {st.report} and {st.index}")
    return st.report


def _pct(x) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def summary_lines(demo: Demo) -> list[str]:
    """The closing table: accuracy vs baseline, NaN rate, each strategy's Sharpe and P&L, the report."""
    st = demo.state
    s = json.loads((st.train_dir / "summary.json").read_text())
    lo, hi = s.get("test_accuracy_ci95") or (None, None)
    method = s.get("test_statistics_method") or "rows taken as independent"
    lines = ["", "result".ljust(28) + "value", "-" * 78,
             "test accuracy".ljust(28) + f"{_pct(s.get('test_accuracy'))} [{_pct(lo)}, {_pct(hi)}] vs majority "
             f"baseline {_pct(s.get('test_majority_baseline'))} (p = {s.get('test_p_value', float('nan')):.3g})",
             "".ljust(28) + f"95% CI and p-value: {method}",
             "worst NaN rate".ljust(28) + f"{_pct(s.get('nan_rate_max'))} (stop: {s.get('stop_reason')}, "
             f"{s.get('epochs_completed')} epochs)"]
    if st.backtest_dir is not None:
        stats = json.loads((st.backtest_dir / "stats.json").read_text())
        lines.append("backtest".ljust(28) + "Sharpe".rjust(8) + "net P&L [$]".rjust(16) + "trades".rjust(9))
        for name, row in stats.items():
            sharpe = row.get("sharpe")
            lines.append(f"  {name}".ljust(28) + (f"{sharpe:8.2f}" if sharpe is not None else "     n/a") +
                         f"{row.get('net_pnl_usd') or 0:16,.2f}{row.get('trades') or 0:9d}")
    lines += ["report".ljust(28) + str(st.report), "all runs".ljust(28) + str(st.index),
              "total time".ljust(28) + f"{time.perf_counter() - demo.t0:.0f} s"]
    return lines


def run_all(demo: Demo) -> None:
    """Every stage in order, then the closing table."""
    for stage in (data_stage, profile_stage, features_stage, train_stage, analyze_stage, backtest_stage,
                  optional_stages, report_stage):
        stage(demo)
    print("\n".join(summary_lines(demo)), flush=True)


__all__ = ["run_all", "summary_lines"]
