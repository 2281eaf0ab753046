"""The seed's Strategy 2, gradual scale-up, automated: a ladder of architectures, each gated.

Each rung of the ladder is trained as a normal run (the same data, the same settings, only
``hidden_dims`` changes) into ``DIR/<arch>`` (``arch`` like ``128-64-32``). After each run two gates
decide whether to climb on:

* **stability**: the run did not stop as diverged, its worst epoch NaN rate is below
  :data:`MAX_NAN_RATE` (the seed's 10 %), its worst share of valid batches is at least
  :data:`MIN_VALID_BATCH_PCT` and it has a finite best validation loss;
* **validation improvement**: its best validation loss is below the previous rung's, by any amount
  (``val_tolerance = 0``, the default). ``val_tolerance = t`` relaxes this to
  ``best < previous + t * |previous|`` (``t = 1`` effectively keeps only the stability gate).

The first rung that fails a gate is reported and climbing stops there. The winner is the passing
rung with the lowest best validation loss; the test metrics are reported in the table but never
used to choose. :func:`write_scaleup_report` writes ``scaleup.json`` and ``scaleup.md``.

Every rung is one :func:`futures_vpoc.ml.executor.run_tasks` task (serial: one at a time, so
climbing stops before a rung past a failed gate trains). With ``resumable=True`` (the CLI) each rung
trains into ``DIR/<arch>`` and leaves resume markers there, so a rerun of an interrupted study
trains only the rungs that had not finished.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping, Sequence

from futures_vpoc import progress
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.ml.config import TrainConfig
from futures_vpoc.ml.executor import ExecutorSpec, StudyStats, Task, clear_unfinished, run_tasks
from futures_vpoc.ml.inputs import TrainData
from futures_vpoc.ml.rundir import jsonable, resolve_run_dir, write_json

LADDER: tuple[tuple[int, ...], ...] = ((64, 32, 16), (128, 64, 32), (256, 128, 64), (512, 256, 128, 64))
"""The seed's ladder, smallest first (``futures_vpoc.diagnostics.recommend.LADDER`` is the same)."""

MAX_NAN_RATE = 0.10
MIN_VALID_BATCH_PCT = 90.0


def arch_name(dims: Sequence[int]) -> str:
    """``(128, 64, 32)`` -> ``"128-64-32"`` (the rung's folder name)."""
    return "-".join(str(int(d)) for d in dims)


def parse_rung(text: str) -> tuple[int, ...]:
    """One rung from ``"64 32 16"``, ``"64-32-16"`` or ``"64,32,16"``."""
    words = str(text).replace(",", " ").replace("-", " ").split()
    try:
        dims = tuple(int(w) for w in words)
    except ValueError:
        raise UsageError(f"--ladder {text!r}: give layer widths like '64 32 16'") from None
    if not dims or any(d < 1 for d in dims):
        raise UsageError(f"--ladder {text!r}: give one or more layer widths >= 1, like '64 32 16'")
    return dims


def parse_ladder(texts: Sequence[str] | None) -> tuple[tuple[int, ...], ...]:
    """The ladder from ``--ladder`` words (default :data:`LADDER`); duplicates refused."""
    if not texts:
        return LADDER
    ladder = tuple(parse_rung(t) for t in texts)
    names = [arch_name(r) for r in ladder]
    if len(set(names)) != len(names):
        raise UsageError(f"--ladder names a rung twice: {' | '.join(names)}")
    return ladder


@dataclass
class Rung:
    """One trained rung: its run directory, its summary and the gate's verdict."""

    arch: str
    hidden_dims: tuple[int, ...]
    run_dir: Path | None
    summary: dict
    passed: bool = False
    reasons: list[str] = field(default_factory=list)

    def row(self) -> dict:
        s = self.summary
        return {"architecture": self.arch, "hidden_dims": list(self.hidden_dims),
                "run_dir": str(self.run_dir) if self.run_dir else None,
                "parameters": s.get("param_count"), "epochs": s.get("epochs_completed"),
                "stop_reason": s.get("stop_reason"), "nan_rate_max": s.get("nan_rate_max"),
                "valid_batch_pct_min": s.get("valid_batch_pct_min"), "best_val_loss": s.get("best_val_loss"),
                "best_epoch": s.get("best_epoch"), "test_accuracy": s.get("test_accuracy"),
                "test_accuracy_ci95": s.get("test_accuracy_ci95"),
                "test_majority_baseline": s.get("test_majority_baseline"), "test_auc": s.get("test_auc"),
                "samples_per_second": s.get("samples_per_second"),
                "features_kept": s.get("features_kept"), "features_dropped": s.get("features_dropped"),
                "gate": "pass" if self.passed else "fail", "gate_reasons": list(self.reasons)}


@dataclass
class ScaleUpResult:
    """Every rung trained (the last one may have failed its gate), the winner, and what was skipped."""

    out_dir: Path
    rungs: list[Rung]
    ladder: tuple[tuple[int, ...], ...]
    val_tolerance: float
    winner: Rung | None
    stopped_at: str | None
    not_trained: list[str]
    resumed: list[str] = field(default_factory=list)
    """Rungs whose stored result was reused (not trained again); not part of ``scaleup.json``."""

    def to_dict(self) -> dict:
        return jsonable({
            "ladder": [arch_name(r) for r in self.ladder],
            "gates": {"max_nan_rate": MAX_NAN_RATE, "min_valid_batch_pct": MIN_VALID_BATCH_PCT,
                      "not_diverged": True, "val_tolerance": self.val_tolerance},
            "rungs": [r.row() for r in self.rungs],
            "winner": self.winner.arch if self.winner else None,
            "winner_run_dir": str(self.winner.run_dir) if self.winner and self.winner.run_dir else None,
            "chosen_by": "best validation loss among the rungs that passed their gates (never test)",
            "stopped_at": self.stopped_at,
            "not_trained": self.not_trained,
        })


def stability_reasons(summary: dict) -> list[str]:
    """Why a run fails the stability gate (empty when it passes)."""
    reasons = []
    if summary.get("stop_reason") == "diverged":
        reasons.append("diverged")
    nan = summary.get("nan_rate_max")
    if nan is None or not nan < MAX_NAN_RATE:
        reasons.append(f"worst NaN rate {_pct(nan)} >= {MAX_NAN_RATE:.0%}")
    valid = summary.get("valid_batch_pct_min")
    if valid is None or not valid >= MIN_VALID_BATCH_PCT:
        reasons.append(f"valid batches {_num(valid, '.1f')}% < {MIN_VALID_BATCH_PCT:g}%")
    best = summary.get("best_val_loss")
    if best is None or not math.isfinite(best):
        reasons.append("no finite validation loss")
    return reasons


def improvement_reason(best: float | None, previous: float | None, tolerance: float) -> str | None:
    """Why ``best`` fails the validation gate against the previous rung's ``previous`` (None: passes)."""
    if previous is None or best is None:
        return None
    limit = previous + tolerance * abs(previous)
    if best < limit:
        return None
    if tolerance:
        return (f"best validation loss {best:.6f} not below {limit:.6f} "
                f"(previous {previous:.6f} + {tolerance:g} x |previous|)")
    return f"best validation loss {best:.6f} not below the previous rung's {previous:.6f}"


def run_scaleup(config: TrainConfig, data: TrainData, out_dir: str | Path,
                ladder: Sequence[Sequence[int]] = LADDER, *, val_tolerance: float = 0.0,
                meta: dict | None = None, console: bool = True,
                overrides: Mapping[int, Mapping] | None = None,
                batch_hooks: Mapping[int, Callable] | None = None,
                after_run: Callable[[Path], None] | None = None,
                executor: ExecutorSpec | None = None, resumable: bool = False) -> ScaleUpResult:
    """Train the ladder on ``data``, smallest first, stopping at the first rung that fails a gate.

    Parameters
    ----------
    config : TrainConfig
        Settings of every rung (``hidden_dims`` and ``output_dir`` are replaced per rung).
    data : TrainData
        The same rows for every rung.
    out_dir : path
        The scale-up folder (``DIR/<arch>`` per rung, ``scaleup.json``/``scaleup.md`` beside them).
    ladder : sequence of width tuples
    val_tolerance : float
        Relaxation of the validation-improvement gate (module docstring); >= 0.
    meta : dict, optional
        Extra facts for each run's ``config.json``.
    overrides : mapping of rung index to config changes, optional
        Per-rung :meth:`TrainConfig.replace` changes (tests: an absurd learning rate on one rung).
    batch_hooks : mapping of rung index to ``hook(step, x) -> x``, optional
        Per-rung trainer batch hooks (fault injection in tests).
    after_run : callable, optional
        Called with each rung's run directory after it is written (the CLI writes its analysis).
    executor : ExecutorSpec, optional
        Serial (None, the default): the rungs train one after another and climbing stops at the
        first failed gate. ``local`` or ``ray``: every rung trains at once
        (:func:`futures_vpoc.ml.executor.run_tasks`, ``batch_hooks`` must then be picklable), then
        the gates are applied in ladder order exactly as in serial; the folders of the rungs past
        the stopping rung (which serial would not have trained) are removed, so the result, the
        printed lines and the files written are those of the serial run.
    resumable : bool
        False (default): each rung gets a fresh folder (``DIR/<arch>``, or a ``run_*`` subfolder of
        it when that holds files). True (the CLI, which claims ``DIR`` for this study): rung ``k``
        trains into ``DIR/<arch>`` and leaves ``done.json``/``done.pkl`` there when it finishes
        (:func:`futures_vpoc.ml.executor.run_tasks`); a rerun reuses a rung whose marker matches its
        settings (listed in ``result.resumed``), retrains one without a marker from a clean folder,
        and refuses one of other settings (UsageError). Rung names must then be unique.
    """
    if not (val_tolerance >= 0 and math.isfinite(val_tolerance)):
        raise UsageError(f"--val_tolerance {val_tolerance!r} must be a finite number >= 0")
    if config.resume:
        raise UsageError("scale-up does not resume with --resume; run the same command into the same --output_dir")
    ladder = tuple(tuple(int(d) for d in r) for r in ladder)
    if not ladder:
        raise UsageError("--ladder: give at least one rung")
    names = [arch_name(r) for r in ladder]
    if resumable and len(set(names)) != len(names):
        raise UsageError(f"--ladder names a rung twice: {' | '.join(names)}")
    out = Path(out_dir)
    study = _Study(config, data, out, ladder, meta, console, overrides, batch_hooks, resumable)
    stats = StudyStats()
    if executor is not None and executor.kind != "serial":
        outcomes = run_tasks([study.task(i) for i in range(len(ladder))], executor, stats=stats)
    else:  # one rung at a time, so climbing stops before a rung past a failed gate is trained
        outcomes = (pair for i in range(len(ladder)) for pair in run_tasks([study.task(i)], None, stats=stats))
    rungs: list[Rung] = []
    previous: float | None = None
    stopped_at = None
    for i, (task, (run_dir, summary, skipped)) in enumerate(
            progress.bar(outcomes, desc="scale-up rungs", unit="rung", total=len(ladder), enabled=console)):
        arch, dims = names[i], ladder[i]
        if stopped_at is not None:  # trained at once by a parallel executor; serial would not have
            shutil.rmtree(run_dir, ignore_errors=True)
            continue
        if task.key in stats.resumed and console:
            progress.say(f"scale-up: rung {i + 1}/{len(ladder)}: {arch}: finished before, not trained again")
        if skipped is not None:
            rungs.append(Rung(arch, dims, Path(run_dir), {}, False, [f"skipped: {skipped}"]))
            if console:
                progress.say(f"scale-up: {arch}: skipped: {skipped}")
            stopped_at = arch
            if executor is None or executor.kind == "serial":
                break
            continue
        if after_run is not None:
            after_run(Path(run_dir))
        rung = _gated(Rung(arch, dims, Path(run_dir), dict(summary)), previous, val_tolerance, console)
        rungs.append(rung)
        if not rung.passed:
            stopped_at = arch
            if executor is None or executor.kind == "serial":
                break
            continue
        previous = rung.summary["best_val_loss"]
    result = _result(out, rungs, ladder, val_tolerance, stopped_at)
    result.resumed = [k for k in stats.resumed if k in {r.arch for r in rungs}]
    return result


@dataclass
class _Study:
    """What every rung task shares; :meth:`task` builds rung ``i``'s executor task."""

    config: TrainConfig
    data: TrainData
    out: Path
    ladder: tuple
    meta: dict | None
    console: bool
    overrides: Mapping | None
    batch_hooks: Mapping | None
    resumable: bool

    def task(self, i: int) -> Task:
        """Rung ``i``: folder ``out/<arch>`` with resume markers when resumable, else a fresh folder
        (:func:`futures_vpoc.ml.rundir.resolve_run_dir`, resolved now: a repeated arch gets a subfolder)."""
        dims = self.ladder[i]
        arch = arch_name(dims)
        if self.resumable:
            run_dir, note = self.out / arch, None
        else:
            run_dir, note = resolve_run_dir(self.out / arch)
        cfg = self.config.replace(hidden_dims=dims, output_dir=str(run_dir), baselines=False,  # the train run has them
                                  **dict((self.overrides or {}).get(i, {})))
        meta = {**(self.meta or {}), "scaleup": {"rung": i, "arch": arch}}
        args = (cfg, self.data, str(run_dir), meta, (self.batch_hooks or {}).get(i), self.console, i,
                len(self.ladder), arch, note, self.resumable)
        if not self.resumable:  # keys are unique within a study: a repeated arch is told apart by its index
            seen = [arch_name(r) for r in self.ladder[:i]]
            return Task(f"{arch}#{i}" if arch in seen else arch, _train_rung, args)
        return Task(arch, _train_rung, args, folder=str(run_dir), fingerprint=task_fingerprint(cfg, meta))


def task_fingerprint(cfg: TrainConfig, meta: Mapping | None) -> str:
    """What a stored rung or member result must match to be reused on a rerun: its training settings,
    the data file's sha256 and the study's facts about it (rung index, group), as canonical JSON."""
    doc = {"config": cfg.to_dict(), "data_sha256": (meta or {}).get("data_sha256"),
           **{k: v for k, v in (meta or {}).items() if k in ("scaleup", "ensemble")}}
    return json.dumps(jsonable(doc), sort_keys=True, default=str)


def _result(out, rungs: list[Rung], ladder, val_tolerance, stopped_at) -> ScaleUpResult:
    """The study's result: the winner is the passed rung of least validation loss (never test)."""
    passed = [r for r in rungs if r.passed]
    winner = min(passed, key=lambda r: r.summary["best_val_loss"]) if passed else None
    trained = {r.arch for r in rungs}
    return ScaleUpResult(out, rungs, ladder, float(val_tolerance), winner, stopped_at,
                         [arch_name(r) for r in ladder if arch_name(r) not in trained])


def _gated(rung: Rung, previous, val_tolerance: float, console: bool) -> Rung:
    """``rung`` with its gate applied: stable, and better than ``previous`` (the last passed rung's
    best validation loss, None for the first) by more than ``val_tolerance``; says it on the console."""
    rung.reasons = stability_reasons(rung.summary)
    if not rung.reasons:
        why = improvement_reason(rung.summary.get("best_val_loss"), previous, val_tolerance)
        if why:
            rung.reasons.append(why)
    rung.passed = not rung.reasons
    if console:
        progress.say(f"scale-up: {rung.arch}: gate {'pass' if rung.passed else 'FAIL: ' + '; '.join(rung.reasons)}")
    return rung


def _train_rung(cfg: TrainConfig, data: TrainData, run_dir: str, meta: dict, batch_hook, console: bool,
                i: int, n: int, arch: str, note: str | None,
                fresh: bool = False) -> tuple[str, dict | None, str | None]:
    """One rung as an executor task: ``(run_dir, summary, None)`` or ``(run_dir, None, why skipped)``.
    ``fresh``: first remove what an interrupted attempt left in ``run_dir`` (no ``done.json``)."""
    from futures_vpoc.ml.trainer import Trainer

    if fresh:
        clear_unfinished(run_dir)
    if note and console:
        progress.say(note)
    if console:
        progress.say(f"scale-up: rung {i + 1}/{n}: {arch}")
    try:
        result = Trainer(cfg, data, Path(run_dir), meta=meta, batch_hook=batch_hook, console=console).fit()
    except (UsageError, DataError) as exc:  # a rung that cannot train is reported, never a crash
        return run_dir, None, str(exc)
    return str(result.run_dir) if result.run_dir is not None else run_dir, dict(result.summary), None


def _num(v, fmt: str) -> str:
    return "n/a" if v is None or (isinstance(v, float) and not math.isfinite(v)) else format(v, fmt)


def _pct(v) -> str:
    return "n/a" if v is None else f"{v:.2%}"


def scaleup_markdown(result: ScaleUpResult) -> str:
    """The comparison table and the verdict, as Markdown."""
    lines = ["# Gradual scale-up", "",
             f"Ladder: {' -> '.join(arch_name(r) for r in result.ladder)}. Gates: not diverged, worst NaN rate "
             f"< {MAX_NAN_RATE:.0%}, valid batches >= {MIN_VALID_BATCH_PCT:g}%, best validation loss below the "
             "previous rung's" + (f" (tolerance {result.val_tolerance:g} x |previous|)" if result.val_tolerance
                                  else " (by any amount)") + ".", "",
             "| architecture | parameters | epochs | worst NaN rate | best val loss | test accuracy [95% CI] "
             "| samples/s | gate |",
             "|---|---:|---:|---:|---:|---|---:|---|"]
    for r in result.rungs:
        s = r.summary
        ci = s.get("test_accuracy_ci95") or [None, None]
        acc = (f"{_num(s.get('test_accuracy'), '.4f')} [{_num(ci[0], '.4f')}, {_num(ci[1], '.4f')}]")
        gate = "pass" if r.passed else "FAIL: " + "; ".join(r.reasons)
        name = f"**{r.arch}** (winner)" if r is result.winner else r.arch
        lines.append(f"| {name} | {_num(s.get('param_count'), ',')} | {_num(s.get('epochs_completed'), 'd')} "
                     f"| {_pct(s.get('nan_rate_max'))} | {_num(s.get('best_val_loss'), '.6f')} | {acc} "
                     f"| {_num(s.get('samples_per_second'), ',.0f')} | {gate} |")
    lines.append("")
    if result.winner:
        lines.append(f"**Winner: {result.winner.arch}** (best validation loss "
                     f"{result.winner.summary['best_val_loss']:.6f}; chosen by validation, never by test), "
                     f"run directory `{result.winner.run_dir}`.")
    else:
        lines.append("**No winner**: no rung passed its gates.")
    if result.stopped_at:
        lines.append(f"\nClimbing stopped at {result.stopped_at}: it failed a gate.")
    else:
        lines.append("\nEvery rung of the ladder passed its gates.")
    if result.not_trained:
        lines.append(f"Not trained: {', '.join(result.not_trained)}.")
    return "\n".join(lines) + "\n"


def write_scaleup_report(result: ScaleUpResult) -> tuple[Path, Path]:
    """Write ``scaleup.json`` and ``scaleup.md`` into the scale-up folder."""
    from futures_vpoc.data.barframe import atomic_write

    out = Path(result.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "scaleup.json", result.to_dict())
    text = scaleup_markdown(result)
    atomic_write(out / "scaleup.md", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return out / "scaleup.json", out / "scaleup.md"


__all__ = ["LADDER", "MAX_NAN_RATE", "MIN_VALID_BATCH_PCT", "Rung", "ScaleUpResult", "arch_name",
           "improvement_reason", "parse_ladder", "parse_rung", "run_scaleup", "scaleup_markdown",
           "stability_reasons", "write_scaleup_report"]
