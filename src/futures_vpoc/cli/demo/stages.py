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

from futures_vpoc.cli.demo.holdout import hold_out_last_month, holdout_stage
from futures_vpoc.cli.demo.plan import RULES, fits_budget, plan_training, summary_lines
from futures_vpoc.cli.demo.runner import ENSEMBLE_GROUPS, PASS_THROUGH, SCALEUP_LADDER, STRATEGY_1, Demo

SYNTH_START = "2023-01-02"
COMPOSITE_SESSIONS = 20
OPTIONAL_EPOCHS = 2
SAMPLE_FILES = {"sp500-daily": "sp500_daily_vix.parquet", "es-minute": "es_minute_2013_vix.parquet"}


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
        st.trades_file = [str(Path(t).resolve()) for t in a.trades] if a.trades else None
        # exit 1 = problems found and listed (the report shows them); the demo goes on with the file
        demo.stage("data", ["data", "check", str(st.data_file)], keep=(r"\S",), ok=(0, 1))
    elif a.dataset in SAMPLE_FILES:
        st.data_file = st.out / "data" / SAMPLE_FILES[a.dataset]
        demo.stage("data", ["data", "sample", a.dataset, "--out", str(st.data_file)], keep=(r"\S",))
    else:
        end = pd.Timestamp(SYNTH_START) + pd.DateOffset(months=a.months) - pd.Timedelta(days=1)
        st.data_file = st.out / "data" / "synthetic_es_vix.parquet"
        st.trades_file = st.out / "data" / "synthetic_trades.parquet"
        demo.stage("data", keep=(r"\S",), argv=["data", "synth", "--out", str(st.data_file), "--start", SYNTH_START,
                            "--end", f"{end:%Y-%m-%d}", "--seed", str(a.seed), "--signal", f"{a.signal:g}",
                            "--trades", str(st.trades_file)])
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
    hold_out_last_month(demo)


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
    if st.trades_file:
        exact_profile_stage(demo)


def exact_profile_stage(demo: Demo) -> None:
    """Exact profiles of the trade prints behind the bars, and how far the bar-based ones are from them."""
    from futures_vpoc.config import ES_TICK_SIZE
    from futures_vpoc.report.trades import approximation_caption

    st = demo.state
    folder = st.out / "profile"
    table, exact = folder / "bar_vs_exact.csv", folder / "exact_sessions.parquet"
    files = st.trades_file if isinstance(st.trades_file, list) else [str(st.trades_file)]
    demo.stage("exact-profile", ["profile", "--trades", *files, "--compare-bars", "--compare-out", str(table),
                                 "--out", str(exact), "--rows", "3"])
    st.compare = pd.read_csv(table)
    sessions = pd.read_parquet(exact)
    st.compare_caption = approximation_caption(int(sessions["trades"].sum()), len(sessions), ES_TICK_SIZE)


def _features_flag(demo: Demo) -> list[str]:
    return ["--features", *demo.state.features] if demo.state.features else []


def features_stage(demo: Demo) -> None:
    """Write the feature table. No group is dropped here: the dataset keeps or drops each feature by
    its availability on the training rows and lists them in the run's ``summary.json``."""
    st = demo.state
    path = st.out / "features" / "features.parquet"
    demo.stage("features", ["features", "--data", str(st.data_file), "--out", str(path), *_features_flag(demo)])


def _epochs(demo: Demo) -> int:
    return demo.args.epochs or (30 if demo.state.daily else 8)


def _strategy_1(demo: Demo, epochs: int, drop_hidden: bool = False) -> list[str]:
    """The seed's Strategy 1 flags; warmup shortened to a fifth of all steps when the data is small."""
    flags = list(STRATEGY_1)
    if drop_hidden:
        i = flags.index("--hidden_dims")
        del flags[i:i + 4]
    train_rows = demo.state.check.rows * float(demo.state.data_fraction) * 0.7  # --data_fraction, 70% train
    steps = int(math.ceil(train_rows / 32)) * epochs
    if steps // 5 < 5000:
        warmup = max(10, steps // 5)
        flags[flags.index("--warmup_steps") + 1] = str(warmup)
        note = (f"--warmup_steps 5000 became {warmup}: about {steps:,} steps in {epochs} epochs, and the warmup "
                "should end well before the last step.")
        if note not in demo.state.notes:
            demo.state.notes.append(note)
    flags[flags.index("--data_fraction") + 1] = demo.state.data_fraction
    return flags + ["--seed", str(demo.args.seed), *_features_flag(demo)]


def train_stage(demo: Demo) -> None:
    """Strategy 1, the seed's conservative command, with the demo's epochs; exit 1 (diverged) goes on."""
    st = demo.state
    why = plan_training(demo)
    if why is not None:
        demo.skip("train", why)
        return
    epochs = _epochs(demo)
    demo.say(f"train: the seed's Strategy 1 (conservative) flags, --epochs {epochs} instead of 50 to fit the demo")
    train_dir = st.out / "train"
    if demo.stage("train", ["train", "--data", str(st.train_file), "--output_dir", str(train_dir),
                            "--epochs", str(epochs), *_strategy_1(demo, epochs)], keep=PASS_THROUGH, ok=(0, 1),
                  skippable=True) is None:
        return
    st.train_dir = train_dir
    summary = json.loads((st.train_dir / "summary.json").read_text())
    st.epoch_seconds = float(summary["train_seconds"]) / max(1, int(summary["epochs_completed"]))
    st.prep_seconds = max(0.0, st.times[-1][1] - float(summary["train_seconds"]))


def analyze_stage(demo: Demo) -> None:
    if demo.state.train_dir is None:
        demo.skip("analyze", "no training run to analyse")
        return
    demo.stage("analyze", ["analyze", str(demo.state.train_dir)])


DEMO_THETA = 0.02
"""The demo's model dead band: a side is taken only when P(up) is at least 2 points from even. A model
that learned nothing sits within a fraction of a point of its base rate (sd 0.002 on a signal-free
market), so it stays flat instead of trading the sign of its intercept; the planted signal spreads
the probabilities by several points (sd about 0.06), so it trades both sides."""


def backtest_stage(demo: Demo) -> None:
    """The model against the rules and baselines; without a model, the rules and baselines alone."""
    st = demo.state
    what = ["--model", str(st.train_dir), "--theta", f"{DEMO_THETA:g}"] if st.train_dir else ["--strategy", *RULES]
    if st.train_dir is None:
        st.notes.append("backtest: no trained model, so only the VPOC rules and the baselines were backtested.")
        demo.say(st.notes[-1])
    folder = st.out / "backtest"
    if demo.stage("backtest", ["backtest", "--data", str(st.train_file), *what, "--output_dir", str(folder),
                               "--n_random", str(demo.args.n_random)], skippable=True) is not None:
        st.backtest_dir = folder


def optional_stages(demo: Demo) -> None:
    """The seed's Strategies 2 and 3 in short form, each after a training run and when its time
    estimate fits the budget; a data-size refusal is recorded as skipped."""
    st, epochs = demo.state, OPTIONAL_EPOCHS
    if st.train_dir is None:
        for name in ("scale-up", "ensemble"):
            demo.skip(name, "no training run (the file is too short to split), so nothing to scale or combine")
        return
    # Estimates: the 128-64-32 rung costs about 1.5x the 64-32-16 epoch, an ensemble member about 0.8x;
    # every run rebuilds the dataset (prep_seconds).
    if fits_budget(demo, "scale-up", 2.5 * epochs * st.epoch_seconds + 2 * st.prep_seconds):
        folder = st.out / "scaleup"
        if demo.stage("scale-up", ["scale-up", "--data", str(st.train_file), "--output_dir", str(folder),
                                   "--ladder", *SCALEUP_LADDER, "--epochs", str(epochs),
                                   *_strategy_1(demo, epochs, drop_hidden=True)], keep=("scale-up: winner",),
                      skippable=True) is not None:
            st.scaleup_dir = folder
    members = len(ENSEMBLE_GROUPS)
    if fits_budget(demo, "ensemble", members * (0.8 * epochs * st.epoch_seconds + 2 * st.prep_seconds)):
        folder = st.out / "ensemble"
        flags = _strategy_1(demo, epochs, drop_hidden=True)
        if "--features" in flags:
            del flags[flags.index("--features"):]
        if demo.stage("ensemble", ["ensemble", "--data", str(st.train_file), "--output_dir", str(folder),
                                   "--groups", *ENSEMBLE_GROUPS, "--epochs", str(epochs), *flags],
                      keep=("ensemble: weights", "ensemble: member"), skippable=True) is not None:
            st.ensemble_dir = folder


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
    if a.dataset == "es-minute":
        return ("futures-vpoc demo: real ES 1-minute bars and VIX (14 dates of 2013)",
                f"Real E-mini S&P 500 futures 1-minute trade bars from QuantConnect LEAN's repository (Apache-2.0; "
                f"LEAN's futures data come from AlgoSeek): the 14 UTC dates LEAN ships between 2013-10-06 and "
                f"2013-12-20, not consecutive ({st.check.trade_dates} trade dates, several of them partial, "
                f"{st.check.rows:,} bars), across the ESZ3 -> ESH4 roll, with CBOE's daily VIX as of the previous "
                "close. This is enough to run every stage on real futures data and to look at real volume "
                "profiles, and nothing more: with about 14 sessions the test part is one or two sessions, so the "
                "accuracy is not statistically meaningful (its interval is wide and the rows are far from "
                "independent), features with long warm-ups are dropped, and the backtest is an illustration "
                "of the mechanics, not evidence of an edge. Use years of minute data for any conclusion.")
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
                        scaleup_dir=st.scaleup_dir, ensemble_dir=st.ensemble_dir, holdout_dir=st.holdout_dir,
                        stage_times=tuple(st.times), compare=st.compare, compare_caption=st.compare_caption,
                        notes=tuple(st.notes), stages=tuple(st.stages))
    st.report = write_demo_report(inputs, st.out / "report.html")
    root = st.out.resolve().parent
    index = write_runs_index(root if root != Path.cwd().resolve() else st.out)
    st.index = index.relative_to(Path.cwd().resolve()) if index.is_relative_to(Path.cwd().resolve()) else index
    st.times.append(("report", time.perf_counter() - started))
    st.stages.append(("report", "ran", f"{st.times[-1][1]:.1f} s"))
    demo.say(f"report: wrote {st.report} and {st.index}")
    return st.report


def run_all(demo: Demo) -> None:
    """Every stage in order, then the closing table."""
    for stage in (data_stage, profile_stage, features_stage, train_stage, analyze_stage, backtest_stage,
                  holdout_stage, optional_stages, report_stage):
        stage(demo)
    print("\n".join(summary_lines(demo)), flush=True)


__all__ = ["run_all", "summary_lines"]
