"""Issue 19 (first part): the executor of independent trainings (:mod:`futures_vpoc.ml.executor`).

serial, local (process pool) and ray give the same results in task order; a task whose worker is
killed (SIGKILL) is retried once; a task that always fails ends the study with a one-line error
(exit 2 from the CLI); a rerun into the same folders skips the finished tasks. Walk-forward
(4 folds), scale-up and ensemble under ``local`` equal ``serial``.

The task functions below live at module level so that spawned workers can import them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from futures_vpoc.errors import UsageError
from futures_vpoc.ml.executor import (EXECUTORS, DONE, ExecutorSpec, StudyStats, Task, TaskFailed, executor_session,
                                      run_tasks)

from futures_vpoc.cli.walkforward import _fold_task as _FOLD_TASK  # noqa: E402  (the tests patch the module's)

MARKS = "FUTURES_VPOC_TEST_EXECUTOR_MARKS"


# ---------------------------------------------------------------------------- task functions
def _square(x: int, delay: float = 0.0, log: str | None = None) -> dict:
    time.sleep(delay)
    if log:
        with open(log, "a") as fh:
            fh.write(f"{x}\n")
    print(f"task {x} ran")
    return {"x": x, "square": x * x}


def _killed_once(x: int, marker: str) -> int:
    if not Path(marker).exists():
        Path(marker).write_text("attempt 1")
        os.kill(os.getpid(), signal.SIGKILL)
    return x + 100


def _pid(x: int, delay: float = 0.3) -> int:
    time.sleep(delay)  # long enough that both workers take a task
    return os.getpid()


def _always_killed(x: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return x  # pragma: no cover


def _always_fails(*args, **kwargs):
    raise RuntimeError("planted failure\nsecond line")


def _usage_error(*args, **kwargs):
    raise UsageError("a bad flag")


def _fold_killed_once(bars, fold, cfg, run_dir, purge):
    """Walk-forward's fold task, but fold 1 kills its own worker on its first attempt."""
    marker = Path(os.environ[MARKS]) / f"fold_{fold.index}.killed"
    if fold.index == 1 and not marker.exists():
        marker.write_text("killed")
        os.kill(os.getpid(), signal.SIGKILL)
    return _FOLD_TASK(bars, fold, cfg, run_dir, purge)


def _count_fold(bars, fold, cfg, run_dir, purge):
    """Walk-forward's fold task, counting each run in a file per fold."""
    with open(Path(os.environ[MARKS]) / f"fold_{fold.index}.runs", "a") as fh:
        fh.write("run\n")
    return _FOLD_TASK(bars, fold, cfg, run_dir, purge)


# ---------------------------------------------------------------------------- the executor itself
def test_cli_executor_names_match_the_executor():
    from futures_vpoc.cli.scaleup import EXECUTORS as CLI_EXECUTORS

    assert CLI_EXECUTORS == EXECUTORS


def test_spec_refusals():
    with pytest.raises(UsageError, match="--executor"):
        ExecutorSpec("threads")
    with pytest.raises(UsageError, match="--workers"):
        ExecutorSpec("local", 0)
    with pytest.raises(UsageError, match="--ray-address"):
        ExecutorSpec("local", 2, "auto")
    assert ExecutorSpec("local").n_workers == len(os.sched_getaffinity(0))


@pytest.mark.parametrize("kind", ["serial", "local"])
def test_results_come_in_task_order(kind, capfd):
    # the first task is the slowest: completion order differs from task order
    tasks = [Task(f"t{i}", _square, (i,), {"delay": d}) for i, d in enumerate((1.0, 0.0, 0.2))]
    got = list(run_tasks(tasks, ExecutorSpec(kind, 2)))
    assert [t.key for t, _ in got] == ["t0", "t1", "t2"]
    assert [r["square"] for _, r in got] == [0, 1, 4]
    out = capfd.readouterr().out
    assert out.index("task 0 ran") < out.index("task 1 ran") < out.index("task 2 ran")  # printed in task order


def test_a_killed_worker_is_retried_once_and_the_study_completes(tmp_path):
    stats = StudyStats()
    tasks = [Task("ok", _square, (3,)), Task("killed", _killed_once, (1, str(tmp_path / "marker"))),
             Task("ok2", _square, (4,))]
    got = dict((t.key, r) for t, r in run_tasks(tasks, ExecutorSpec("local", 2), stats=stats))
    assert got == {"ok": {"x": 3, "square": 9}, "killed": 101, "ok2": {"x": 4, "square": 16}}
    assert (tmp_path / "marker").read_text() == "attempt 1"
    assert "killed" in stats.retried and sorted(stats.ran) == ["killed", "ok", "ok2"]


def test_the_largest_tasks_start_first_and_results_keep_task_order(tmp_path):
    # local, one worker: the start order is the submission order (Ray submits in the same order,
    # but its scheduler does not promise to start them so)
    log = tmp_path / "started.txt"
    costs = [1.0, 5.0, 3.0, 5.0]
    tasks = [Task(f"t{i}", _square, (i,), {"log": str(log)}, cost=c) for i, c in enumerate(costs)]
    got = list(run_tasks(tasks, ExecutorSpec("local", 1)))
    assert [t.key for t, _ in got] == ["t0", "t1", "t2", "t3"]
    assert log.read_text().split() == ["1", "3", "2", "0"]  # cost 5, 5 (task order), 3, 1


def test_a_session_reuses_its_workers_across_calls():
    spec = ExecutorSpec("local", 2)
    with executor_session(spec):
        first = {r for _, r in run_tasks([Task(f"a{i}", _pid, (i,)) for i in range(4)], spec)}
        second = {r for _, r in run_tasks([Task(f"b{i}", _pid, (i,)) for i in range(4)], spec)}
    assert os.getpid() not in first and len(first) == 2
    assert second == first  # the same two processes: no pool per call
    without = {r for _, r in run_tasks([Task(f"c{i}", _pid, (i,)) for i in range(2)], spec)}
    assert not without & first  # after the session, a call starts its own pool


def test_a_session_replaces_a_pool_broken_by_a_killed_worker(tmp_path):
    spec, stats = ExecutorSpec("local", 2), StudyStats()
    with executor_session(spec):
        before = {r for _, r in run_tasks([Task(f"a{i}", _pid, (i,)) for i in range(2)], spec)}
        got = dict((t.key, r) for t, r in run_tasks(
            [Task("killed", _killed_once, (1, str(tmp_path / "marker"))), Task("ok", _square, (4,))], spec,
            stats=stats))
        after = {r for _, r in run_tasks([Task(f"b{i}", _pid, (i,)) for i in range(2)], spec)}
    assert got == {"killed": 101, "ok": {"x": 4, "square": 16}} and stats.retried == ["killed"]
    assert len(after) == 2 and not after & before  # the broken pool was replaced by a fresh one


@pytest.mark.parametrize("kind", ["serial", "local"])
def test_a_task_that_always_fails_is_reported_in_one_line(kind):
    tasks = [Task("fine", _square, (2,)), Task("broken", _always_fails)]
    with pytest.raises(TaskFailed) as info:
        list(run_tasks(tasks, ExecutorSpec(kind, 2)))
    text = str(info.value)
    assert "\n" not in text and "task broken failed twice" in text and "planted failure second line" in text
    assert info.value.exit_code == 2


def test_a_task_killed_twice_is_reported():
    with pytest.raises(TaskFailed, match="task doomed failed twice.*worker process died"):
        list(run_tasks([Task("doomed", _always_killed, (1,))], ExecutorSpec("local", 2)))


@pytest.mark.parametrize("kind", ["serial", "local"])
def test_a_usage_error_is_reported_as_it_is(kind):
    with pytest.raises(UsageError, match="^a bad flag$"):
        list(run_tasks([Task("u", _usage_error)], ExecutorSpec(kind, 1)))


@pytest.mark.parametrize("kind", ["serial", "local"])
def test_resume_skips_finished_tasks(kind, tmp_path):
    log = tmp_path / "runs.log"

    def tasks(fp="v1"):
        return [Task(f"t{i}", _square, (i,), {"log": str(log)}, folder=str(tmp_path / f"t{i}"), fingerprint=fp)
                for i in range(4)]

    first = [r for _, r in run_tasks(tasks(), ExecutorSpec(kind, 2))]
    assert sorted(log.read_text().split()) == ["0", "1", "2", "3"]
    assert all((tmp_path / f"t{i}" / DONE).is_file() for i in range(4))
    stats = StudyStats()
    again = [r for _, r in run_tasks(tasks(), ExecutorSpec(kind, 2), stats=stats)]
    assert again == first and stats.ran == [] and len(stats.resumed) == 4
    assert len(log.read_text().split()) == 4  # nothing ran again
    # an interrupted study: two tasks never finished (no marker); only they run again
    for i in (1, 3):
        (tmp_path / f"t{i}" / DONE).unlink()
    stats = StudyStats()
    again = [r for _, r in run_tasks(tasks(), ExecutorSpec(kind, 2), stats=stats)]
    assert again == first and sorted(stats.ran) == ["t1", "t3"] and sorted(stats.resumed) == ["t0", "t2"]
    assert sorted(log.read_text().split()) == ["0", "1", "1", "2", "3", "3"]
    with pytest.raises(UsageError, match="already holds a finished task of other settings"):
        list(run_tasks(tasks("v2"), ExecutorSpec(kind, 2)))


def test_ray_missing_is_a_one_line_usage_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(UsageError) as info:
        list(run_tasks([Task("t", _square, (1,))], ExecutorSpec("ray", 2)))
    assert str(info.value) == "ray is not installed: pip install 'futures-vpoc[ray]'"


def test_parsers_stay_text_only():
    code = ("import sys; from futures_vpoc.cli import build_parser; build_parser(); "
            "bad = [m for m in ('torch', 'ray', 'futures_vpoc.ml.executor') if m in sys.modules]; print(bad)")
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------------------- walk-forward
@pytest.fixture(scope="module")
def wf_file(tmp_path_factory) -> Path:
    """Five months of 5-minute synthetic bars: 4 monthly walk-forward folds that train in seconds."""
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-05-31", seed=3))
    return write_merged(bars.iloc[::5], tmp_path_factory.mktemp("wf") / "bars.parquet")


def _wf_argv(path: Path, out: Path, *extra: str) -> list[str]:
    return ["backtest", "--data", str(path), "--walk-forward", "--output_dir", str(out), "--wf_train_months", "1",
            "--wf_test_months", "1", "--wf_step_months", "1", "--epochs", "1", "--hidden_dims", "8",
            "--batch_size", "512", "--threads", "1", "--device", "cpu", "--n_random", "2", "--features", "price",
            *extra]


def _walkforward(path: Path, out: Path, *extra: str) -> int:
    from futures_vpoc.cli.backtest import add_backtest_parser
    from futures_vpoc.cli.walkforward import cmd_walkforward

    p = argparse.ArgumentParser()
    add_backtest_parser(p.add_subparsers(dest="command"))
    return cmd_walkforward(p.parse_args(_wf_argv(path, out, *extra)))


FOLD_KEYS = ("best_val_loss", "test_accuracy", "test_auc", "test_log_loss", "best_epoch", "epochs_completed")


def _fold_metrics(out: Path) -> list[dict]:
    wf = json.loads((out / "walkforward.json").read_text())
    rows = []
    for rec in wf["folds"]:
        summary = json.loads((Path(rec["run_dir"]) / "summary.json").read_text())
        rows.append({"fold": rec["fold"], "inner_test_accuracy": rec["inner_test_accuracy"],
                     "n_predicted": rec["n_predicted"], **{k: summary.get(k) for k in FOLD_KEYS}})
    return rows


def _assert_same(a, b, tol=1e-9):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float) or isinstance(y[k], float):
                assert x[k] == pytest.approx(y[k], abs=tol, rel=tol), k
            else:
                assert x[k] == y[k], k


def _stats(out: Path) -> dict:
    return {name: {k: v for k, v in s.items() if isinstance(v, (int, float))}
            for name, s in json.loads((out / "stats.json").read_text()).items()}


@pytest.fixture(scope="module")
def wf_serial(wf_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("wf_serial") / "out"
    assert _walkforward(wf_file, out) == 0
    return out


def test_walk_forward_local_equals_serial(wf_file, wf_serial, tmp_path, capsys):
    capsys.readouterr()
    out = tmp_path / "local"
    assert _walkforward(wf_file, out, "--executor", "local", "--workers", "2") == 0
    printed = capsys.readouterr().out
    serial = _fold_metrics(wf_serial)
    assert len(serial) == 4
    _assert_same(_fold_metrics(out), serial)
    assert _stats(out) == _stats(wf_serial)
    assert [line.split(":")[0] for line in printed.splitlines() if line.startswith("fold ")] == \
        [f"fold {k}" for k in range(4)]  # in fold order, whatever finished first


@pytest.mark.slow
def test_walk_forward_ray_equals_serial(wf_file, wf_serial, tmp_path):
    pytest.importorskip("ray")
    out = tmp_path / "ray"
    assert _walkforward(wf_file, out, "--executor", "ray", "--workers", "2") == 0
    _assert_same(_fold_metrics(out), _fold_metrics(wf_serial))
    assert _stats(out) == _stats(wf_serial)


@pytest.mark.slow
def test_walk_forward_fold_killed_is_retried(wf_file, wf_serial, tmp_path, monkeypatch):
    import futures_vpoc.cli.walkforward as wf

    monkeypatch.setenv(MARKS, str(tmp_path))
    monkeypatch.setattr(wf, "_fold_task", _fold_killed_once)
    out = tmp_path / "out"
    assert _walkforward(wf_file, out, "--executor", "local", "--workers", "2") == 0
    assert (tmp_path / "fold_1.killed").is_file()
    _assert_same(_fold_metrics(out), _fold_metrics(wf_serial))


@pytest.mark.parametrize("kind", ["serial", "local"])
def test_walk_forward_always_failing_fold_exits_2(wf_file, tmp_path, monkeypatch, capsys, kind):
    import futures_vpoc.cli.walkforward as wf
    from futures_vpoc.cli import main

    monkeypatch.setattr(wf, "_fold_task", _always_fails)
    rc = main(_wf_argv(wf_file, tmp_path / "out", "--executor", kind, "--workers", "2"))
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and "task fold_00 failed twice" in err and "planted failure" in err
    assert "Traceback" not in err


def test_walk_forward_resume_reruns_only_unfinished_folds(wf_file, wf_serial, tmp_path, monkeypatch):
    import futures_vpoc.cli.walkforward as wf

    monkeypatch.setenv(MARKS, str(tmp_path))
    monkeypatch.setattr(wf, "_fold_task", _count_fold)
    out = tmp_path / "out"
    assert _walkforward(wf_file, out) == 0
    runs = out / wf.RUNS_DIR
    assert [(tmp_path / f"fold_{k}.runs").read_text().count("run") for k in range(4)] == [1, 1, 1, 1]
    # rerun: every fold finished, nothing trains
    assert _walkforward(wf_file, out) == 0
    assert [(tmp_path / f"fold_{k}.runs").read_text().count("run") for k in range(4)] == [1, 1, 1, 1]
    # interrupted in fold 2 (its folder without a done marker): only fold 2 trains again, from a clean folder
    (runs / "fold_02" / DONE).unlink()
    (runs / "fold_02" / "stale.txt").write_text("left by the interrupted attempt")
    assert _walkforward(wf_file, out, "--executor", "local", "--workers", "2") == 0
    assert [(tmp_path / f"fold_{k}.runs").read_text().count("run") for k in range(4)] == [1, 1, 2, 1]
    assert not (runs / "fold_02" / "stale.txt").exists()
    _assert_same(_fold_metrics(out), _fold_metrics(wf_serial))
    assert _stats(out) == _stats(wf_serial)
    # other settings into the same folder: refused, nothing retrained
    with pytest.raises(UsageError, match="already holds"):
        _walkforward(wf_file, out, "--hidden_dims", "4")


# ---------------------------------------------------------------------------- scale-up and ensemble
@pytest.fixture(scope="module")
def small_file(tmp_path_factory) -> Path:
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-01-27", seed=11, signal=5))
    return write_merged(bars, tmp_path_factory.mktemp("small") / "bars.parquet")


TINY = ["--epochs", "2", "--batch_size", "512", "--threads", "1", "--device", "cpu"]


def _rows(doc: list[dict], drop=("run_dir", "samples_per_second")) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in drop} for r in doc]


def _untimed(line: str) -> str:
    """A printed line without what depends on the clock (timestamps, seconds, rates)."""
    line = re.sub(r"\d{8}_\d{6}", "STAMP", line)
    return re.sub(r"[\d,.]+ ?(s\b|samples/s|rows/s)", "TIME", line)


def test_scaleup_local_equals_serial(small_file, tmp_path, capsys):
    from futures_vpoc.cli import main

    docs, printed = {}, {}
    for kind in ("serial", "local"):
        out = tmp_path / kind
        capsys.readouterr()
        assert main(["scale-up", "--data", str(small_file), "--output_dir", str(out), *TINY, "--features", "price",
                     "--ladder", "8", "16 8", "--val_tolerance", "1", "--executor", kind, "--workers", "2"]) == 0
        printed[kind] = [_untimed(line.replace(str(out), "OUT"))
                         for line in capsys.readouterr().out.splitlines() if not line.startswith("analysis of")]
        docs[kind] = json.loads((out / "scaleup.json").read_text())
        assert sorted(p.name for p in out.iterdir()) == ["16-8", "8", "scaleup.json", "scaleup.md", "study.json"]
    _assert_same(_rows(docs["local"]["rungs"]), _rows(docs["serial"]["rungs"]))
    assert docs["local"]["winner"] == docs["serial"]["winner"]
    assert printed["local"] == printed["serial"]


def test_scaleup_local_drops_rungs_past_the_failed_gate(small_file, tmp_path):
    from futures_vpoc.ml.config import TrainConfig
    from futures_vpoc.ml.scaleup import run_scaleup

    from futures_vpoc.cli.scaleup import _dataset
    from futures_vpoc.data.barframe import read_merged

    cfg = TrainConfig(epochs=1, batch_size=512, threads=1, device="cpu", features=("price",))
    data = _dataset(read_merged(small_file), cfg, cfg.features)
    results = {}
    for kind in ("serial", "local"):
        out = tmp_path / kind
        # an absurd learning rate on the first rung: it fails its gate, climbing stops there
        results[kind] = run_scaleup(cfg.replace(output_dir=str(out)), data, out, ((4,), (8,), (16,)),
                                    overrides={0: {"learning_rate": 1e6}}, console=False,
                                    executor=ExecutorSpec(kind, 2))
        assert sorted(p.name for p in out.iterdir()) == sorted(r.arch for r in results[kind].rungs)
    s, p = results["serial"], results["local"]
    assert p.stopped_at == s.stopped_at and p.not_trained == s.not_trained
    _assert_same(_rows([r.row() for r in p.rungs]), _rows([r.row() for r in s.rungs]))


def test_ensemble_local_equals_serial(small_file, tmp_path):
    from futures_vpoc.cli import main

    docs = {}
    for kind in ("serial", "local"):
        out = tmp_path / kind
        assert main(["ensemble", "--data", str(small_file), "--output_dir", str(out), *TINY, "--hidden_dims", "8",
                     "--groups", "price", "volume", "--executor", kind, "--workers", "2"]) == 0
        docs[kind] = json.loads((out / "ensemble.json").read_text())
    s, p = docs["serial"], docs["local"]
    assert p["groups"] == s["groups"] == ["price", "volume"]
    np.testing.assert_allclose([p["weights"][g] for g in s["groups"]], [s["weights"][g] for g in s["groups"]],
                               rtol=0, atol=1e-9)
    _assert_same(_rows(p["members"], ("run_dir", "val", "test")), _rows(s["members"], ("run_dir", "val", "test")))
    for part in ("val", "test"):
        a, b = p["ensemble"][part], s["ensemble"][part]
        for k, v in b.items():
            if isinstance(v, float):
                assert a[k] == pytest.approx(v, abs=1e-9), (part, k)
