"""The machinery of ``futures-vpoc demo``: run one subcommand as a timed stage with its output logged.

``Demo.stage`` runs the argv through the injected ``run`` (``futures_vpoc.cli.main``) with stdout
going to ``DIR/logs/NN_stage.log``; lines starting with one of ``keep`` are echoed, indented, to
the console, so training shows its epochs while the rest stays in the log. stderr goes to the log too.

Skipped, not failed: a stage run with ``skippable=True`` whose subcommand returns 2 (a UsageError)
with a last log line ``futures-vpoc: error: MESSAGE`` where MESSAGE matches :data:`TOO_SHORT` (the
data-size refusals: too few sessions, rows, usable members, an empty part, every feature dropped) is
recorded as skipped with that line, and the demo goes on. Any other status, or a status-2 error
about something else (a bad flag, a bad file), still stops the demo: real bugs stay visible.
"""

from __future__ import annotations

import contextlib
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

MARKER = "demo.json"
OWN_ENTRIES = ("data", "profile", "features", "train", "backtest", "scaleup", "ensemble", "logs",
               "report.html", MARKER)
STRATEGY_1 = ("--batch_size", "32", "--learning_rate", "0.00005", "--hidden_dims", "64", "32", "16",
              "--dropout_rate", "0.3", "--weight_decay", "0.001", "--warmup_steps", "5000",
              "--gradient_clip_value", "5.0", "--early_stopping_patience", "25", "--use_mixed_precision",
              "--data_fraction", "0.8", "--chunk_size", "25000", "--adaptive_loss", "--verbose")
SCALEUP_LADDER = ("64 32 16", "128 64 32")
ENSEMBLE_GROUPS = ("price", "volume", "volatility")
TOO_SHORT = re.compile(r"needs? (?:\u2265|>=|at least) ?\d+ (?:sessions|rows|usable members)|usable member|"
                       r"empty (?:validation|training|test) part|every feature would be dropped|no bars to backtest|"
                       r"too (?:few|short)", re.IGNORECASE)
"""Messages of the exit-2 errors that mean "this data is too short for the stage" (see the module doc)."""
ERROR_PREFIX = "futures-vpoc: error: "
PASS_THROUGH = (r"epoch \d+/\d+ ", "test accuracy", "analysis:", "completed", "stopped", "diverged")


@dataclass
class DemoState:
    """What the stages produced so far (paths under the demo folder) and their wall times [s]."""

    out: Path
    data_file: Path | None = None
    train_file: Path | None = None  # what the training stages read: data_file less a held-out last month
    holdout_start: object = None  # first bar of the held-out month (pandas.Timestamp, UTC)
    holdout_reason: str = ""  # why no month is held out ("" when one is)
    holdout_history_from: object = None  # first trade date of the held-out month's file (its warm-up)
    holdout_dir: Path | None = None  # predict / replay / evaluate / backtest of the held-out month
    bars: object = None  # the BarFrame, read once after the data stage
    check: object = None  # its futures_vpoc.data.check.CheckReport
    daily: bool = False  # bars of a day or more: profiles become daily-bar composites
    features: tuple[str, ...] = ()  # feature groups when not all apply (empty = all)
    sessions_file: Path | None = None
    sessions: object = None  # the per-session profile table
    profile_png: Path | None = None
    profile_caption: str = ""
    trades_file: Path | None = None  # the prints behind the bars, when there are any
    compare: object = None  # the bar-approximation table of the exact-profile stage
    compare_caption: str = ""
    train_dir: Path | None = None
    backtest_dir: Path | None = None
    scaleup_dir: Path | None = None
    ensemble_dir: Path | None = None
    report: Path | None = None
    index: Path | None = None
    data_fraction: str = "0.8"  # Strategy 1's --data_fraction, raised to 1 when 0.8 leaves too few sessions
    epoch_seconds: float = 0.0  # training wall time per epoch [s]
    prep_seconds: float = 0.0  # the train stage's time outside its epochs (reading, features) [s]
    times: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    stages: list = field(default_factory=list)  # (stage, "ran" | "skipped", reason) in order


class _Tee:
    """A text stream writing everything to a log, and to the console the lines that start with a
    match of one of the regular expressions ``keep``."""

    def __init__(self, log, console, keep: tuple[str, ...]):
        self.log, self.console, self._line = log, console, ""
        self.keep = re.compile("|".join(f"(?:{k})" for k in keep)) if keep else None

    def write(self, text: str) -> int:
        self.log.write(text)
        self._line += text
        while "\n" in self._line:
            line, self._line = self._line.split("\n", 1)
            if self.keep is not None and self.keep.match(line.lstrip()):
                self.console.write("        " + line + "\n")
                self.console.flush()
        return len(text)

    def flush(self) -> None:
        self.log.flush()
        self.console.flush()

    def isatty(self) -> bool:
        return False


class Demo:
    """Runs the stages in order through ``run`` (``futures_vpoc.cli.main``), timing each."""

    def __init__(self, args, run: Callable[[list[str]], int]):
        self.args, self.run_cli, self.t0 = args, run, time.perf_counter()
        self.state = DemoState(out=Path(args.output_dir))
        self.count = 0

    def say(self, message: str) -> None:
        print(f"[{time.perf_counter() - self.t0:6.1f}s] {message}", flush=True)

    def skip(self, name: str, reason: str) -> None:
        """Record stage ``name`` as skipped: printed, kept in the notes and the closing table."""
        self.state.stages.append((name, "skipped", reason))
        self.state.notes.append(f"{name} skipped: {reason}")
        self.say(f"{name} skipped: {reason}")

    def stage(self, name: str, argv: list[str], keep: tuple[str, ...] = (), ok=(0,),
              skippable: bool = False) -> int | None:
        """Run one subcommand with its output in ``logs/NN_name.log``; raise on a bad exit status.

        ``keep``: regular expressions; output lines that start with a match are echoed to the console.
        ``skippable``: a data-size refusal (see the module doc) is recorded as skipped and None returned.
        """
        self.count += 1
        log_path = self.state.out / "logs" / f"{self.count:02d}_{name}.log"
        self.say(f"{name}: futures-vpoc {' '.join(_quote(a) for a in argv)}")
        started = time.perf_counter()
        with open(log_path, "w", encoding="utf-8") as log:
            log.write("$ futures-vpoc " + " ".join(_quote(a) for a in argv) + "\n")
            console = sys.__stdout__ if sys.stdout is None else sys.stdout
            errors = sys.__stderr__ if sys.stderr is None else sys.stderr
            with contextlib.redirect_stdout(_Tee(log, console, keep)), \
                    contextlib.redirect_stderr(_Tee(log, errors, (ERROR_PREFIX,) if not skippable else ())):
                status = self.run_cli(argv)
        seconds = time.perf_counter() - started
        self.state.times.append((name, seconds))
        if status not in ok:
            error = too_short(status, log_path)
            if skippable and error is not None:
                self.skip(name, f"{error} (exit 2, log {log_path})")
                return None
            raise StageFailed(name, status, log_path)
        self.state.stages.append((name, "ran", f"{seconds:.1f} s"))
        self.say(f"{name}: done in {seconds:.1f}s (log {log_path})")
        return status


class StageFailed(Exception):
    """A stage's subcommand ended with a status the demo cannot go on from."""

    def __init__(self, name: str, status: int, log: Path):
        super().__init__(f"stage {name} failed with exit status {status}; see {log}")
        self.status = status


def too_short(status: int, log_path: Path) -> str | None:
    """The error message when a stage refused its data for being too short (exit 2, :data:`TOO_SHORT`), else None."""
    if status != 2:
        return None
    text = Path(log_path).read_text(encoding="utf-8", errors="replace")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[-1].startswith(ERROR_PREFIX):
        return None
    message = lines[-1][len(ERROR_PREFIX):]
    return message if TOO_SHORT.search(message) else None


def _quote(arg: str) -> str:
    return f"'{arg}'" if (" " in arg or not arg) else arg


__all__ = ["Demo", "DemoState", "StageFailed", "TOO_SHORT", "too_short"]
