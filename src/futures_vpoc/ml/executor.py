"""Run independent trainings one after another, in a process pool, or on a Ray cluster.

Walk-forward folds, scale-up rungs and ensemble members are independent trainings: each
:class:`Task` trains one run into its own folder and returns a small picklable result.
:func:`run_tasks` runs a list of them with one of three executors and hands the results back **in
task order** (never completion order), so what the caller prints and writes is the same under
every executor:

``serial``
    In this process, one after another (the behaviour before executors existed); output is live.
``local``
    A :class:`concurrent.futures.ProcessPoolExecutor` of ``workers`` processes (default every
    core this process may use: ``os.cpu_count()`` within its CPU affinity) started with ``spawn`` (torch after ``fork`` is unsafe). Each worker limits
    torch and BLAS to ``max(1, cores // workers)`` threads so the workers do not oversubscribe the
    cores. What a task prints is captured in its worker and printed by this process in task order.
``ray``
    ``ray.init(address=ray_address)`` when an address is given, else a local cluster with
    ``num_cpus=workers``; each task is a ``@ray.remote`` call. ``ray`` is imported only here and
    only when chosen (``pip install 'futures-vpoc[ray]'``).

Failures
    A task that raises, or whose worker process dies (SIGKILL, out of memory), is retried once; a
    retry under ``local`` runs alone in a fresh one-worker pool, so a task killed only because a
    neighbour brought the pool down is never charged twice. A task that fails again ends the study
    with :class:`TaskFailed`, a one-line error naming the task and why (exit status 2 from the CLI).
    No task is ever dropped silently.
Resume
    After a task with a ``folder`` succeeds, this process writes ``folder/done.json`` (the task's
    key and fingerprint) and ``folder/done.pkl`` (its result). When the study is run again into
    the same folders, a task whose marker matches is not run again: its stored result is used.
    A marker of another fingerprint (other settings) is a :class:`~futures_vpoc.errors.UsageError`.
Sessions
    A study that calls :func:`run_tasks` many times (``tune``: one call per batch of trials) wraps
    the calls in :func:`executor_session`: under ``local`` the worker processes are started once
    and reused by every call (a pool per call paid the spawn and the imports of torch and this
    package again for each batch); under ``ray`` the cluster is started once.
Reproducibility
    Every task seeds itself (the trainer seeds torch and the model from its config), so a task's
    result does not depend on the executor, nor on which worker ran it, for the same thread count
    (``--threads``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pickle
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from futures_vpoc.errors import FuturesVpocError, UsageError

EXECUTORS: tuple[str, ...] = ("serial", "local", "ray")
DONE = "done.json"
RESULT = "done.pkl"
RETRIES = 1
RAY_MISSING = "ray is not installed: pip install 'futures-vpoc[ray]'"
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS",
                "NUMBA_NUM_THREADS")


class TaskFailed(FuturesVpocError):
    """A task failed on its first attempt and on its retry; the message is one line."""


@dataclass(frozen=True)
class Task:
    """One independent piece of work: ``fn(*args, **kwargs)`` returning a small picklable result.

    Parameters
    ----------
    key : str
        Unique name within the study (``fold_00``, ``128-64-32``, ``price``), used in messages.
    fn : callable
        A module-level (picklable) function.
    args, kwargs
        Its arguments (picklable).
    folder : path, optional
        The task's own folder: ``done.json``/``done.pkl`` are written there after success and read
        on a rerun (resume). None: the task always runs.
    fingerprint : str
        What must match for a stored result to be reused (the settings the task ran with).
    cost : float
        Relative size of the task (e.g. its training rows), used only to order the starts: the
        parallel executors start the largest tasks first (longest-processing-time-first), so the
        small ones fill in at the end instead of one large task running alone. Results still come
        back in task order. Default 0 (starts in task order).
    """

    key: str
    fn: Callable[..., Any]
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    folder: str | os.PathLike | None = None
    fingerprint: str = ""
    cost: float = 0.0


@dataclass(frozen=True)
class ExecutorSpec:
    """Which executor runs a study: ``kind`` (:data:`EXECUTORS`), ``workers`` (None: every core)
    and ``ray_address`` (None: a local Ray cluster)."""

    kind: str = "serial"
    workers: int | None = None
    ray_address: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in EXECUTORS:
            raise UsageError(f"--executor {self.kind!r}: choose one of {', '.join(EXECUTORS)}")
        if self.workers is not None and (isinstance(self.workers, bool) or int(self.workers) < 1):
            raise UsageError(f"--workers {self.workers!r} must be a whole number >= 1")
        if self.ray_address and self.kind != "ray":
            raise UsageError("--ray-address goes with --executor ray")

    @property
    def n_workers(self) -> int:
        """The worker count (every core, :func:`cores`, when not given)."""
        return int(self.workers) if self.workers else cores()

    @classmethod
    def from_args(cls, args) -> "ExecutorSpec":
        """From ``--executor``, ``--workers``, ``--ray-address`` (missing ones: the defaults)."""
        return cls(getattr(args, "executor", None) or "serial", getattr(args, "workers", None),
                   getattr(args, "ray_address", None))


@dataclass
class StudyStats:
    """What :func:`run_tasks` did: tasks run, reused from their folder (resumed), and retried."""

    ran: list[str] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)


def cores() -> int:
    """The cores this process may run on (its CPU affinity, e.g. under ``taskset``), else ``os.cpu_count()``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def threads_per_worker(workers: int) -> int:
    """``max(1, cores() // workers)``: torch/BLAS threads of each of ``workers`` workers."""
    return max(1, cores() // max(1, int(workers)))


# ---------------------------------------------------------------------------- resume markers
def _read_done(task: Task) -> tuple[bool, Any]:
    if task.folder is None:
        return False, None
    folder = Path(task.folder)
    marker = folder / DONE
    if not marker.is_file():
        return False, None
    try:
        doc = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return False, None  # a torn marker: the task runs again
    if doc.get("fingerprint") != task.fingerprint or doc.get("task") != task.key:
        raise UsageError(f"{folder} already holds a finished task of other settings ({doc.get('task')}); "
                         "choose another --output_dir")
    try:
        with open(folder / RESULT, "rb") as fh:
            return True, pickle.load(fh)  # our own file, written by _write_done
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return False, None


def _write_done(task: Task, result: Any) -> None:
    if task.folder is None:
        return
    folder = Path(task.folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in ((RESULT, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)),
                       (DONE, (json.dumps({"task": task.key, "fingerprint": task.fingerprint}) + "\n").encode())):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, folder / name)


def is_done(folder: str | os.PathLike) -> bool:
    """True when ``folder`` holds a finished task's marker (``done.json``)."""
    return (Path(folder) / DONE).is_file()


def clear_unfinished(folder: str | os.PathLike) -> None:
    """Remove a task folder left by an interrupted attempt (no ``done.json``), so it reruns clean."""
    folder = Path(folder)
    if folder.is_dir() and not is_done(folder):
        shutil.rmtree(folder)


# ---------------------------------------------------------------------------- worker side
def _limit_threads(threads: int) -> None:
    for var in _THREAD_VARS:
        os.environ[var] = str(threads)
    import torch

    torch.set_num_threads(threads)


def _worker_init(threads: int) -> None:
    _limit_threads(threads)


def _call_captured(fn, args, kwargs, threads, started_dir, index):
    """Run one task in a worker: mark it started, limit threads, capture what it prints."""
    if started_dir is not None:
        Path(started_dir, f"{index}.started").touch()
    if threads:
        _limit_threads(threads)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        result = fn(*args, **kwargs)
    return result, out.getvalue()


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ---------------------------------------------------------------------------- sessions
class _Session:
    """The process pool an :func:`executor_session` keeps across :func:`run_tasks` calls."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.threads = threads_per_worker(workers)
        self.pool = None

    def get_pool(self):
        """The live pool (started on first use)."""
        if self.pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=mp.get_context("spawn"),
                                            initializer=_worker_init, initargs=(self.threads,))
        return self.pool

    def discard(self) -> None:
        """Shut the pool down (it broke: the next use starts a fresh one)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def close(self) -> None:
        """End of the session: every task has returned, so the idle workers are stopped with SIGTERM
        rather than left to run their interpreter's shutdown (torch, numba: about 1.5 s each, which
        the study would wait for). ``_processes`` is the executor's own table of its workers; when a
        Python version lacks it, the pool is shut down the ordinary way."""
        if self.pool is None:
            return
        workers = list(getattr(self.pool, "_processes", {}).values())
        for proc in workers:
            with contextlib.suppress(Exception):
                proc.terminate()
        self.discard()


_SESSION: _Session | None = None


def _warm_imports(modules: tuple[str, ...]) -> None:
    """Import ``modules`` in a worker (what its first task would import anyway)."""
    import importlib

    for name in modules:
        with contextlib.suppress(Exception):  # a warm-up is an optimisation: the task reports real errors
            importlib.import_module(name)


@contextlib.contextmanager
def executor_session(spec: ExecutorSpec | None, warm: Sequence[str] = ()):
    """Keep the executor's workers alive across the :func:`run_tasks` calls made inside the block.

    ``local``: one pool of ``spec.n_workers`` spawned processes serves every call (its first
    attempts; a retry still runs alone in a fresh one-worker pool); a pool that breaks is replaced.
    With ``warm`` (module names, e.g. the trainer's), the workers are started at once and import
    them while this process goes on with its own preparation (reading the data, planning the
    folds): the 3-4 s a worker spends importing torch and the trainer overlap that work instead of
    delaying the first task.
    ``ray``: ``ray.init`` once (unless Ray is already initialised) and ``ray.shutdown`` at the end.
    ``serial`` or None: nothing. Not re-entrant: an inner session of the same kind is a no-op.
    """
    global _SESSION
    kind = spec.kind if spec is not None else "serial"
    if kind == "local" and _SESSION is None:
        _SESSION = _Session(spec.n_workers)
        if warm:
            pool = _SESSION.get_pool()
            for _ in range(_SESSION.workers):
                pool.submit(_warm_imports, tuple(warm))
        try:
            yield
        finally:
            _SESSION.close()
            _SESSION = None
        return
    if kind == "ray":
        ray = _ray_module()
        started = _ray_init(ray, spec)
        try:
            yield
        finally:
            if started:
                ray.shutdown()
        return
    yield


# ---------------------------------------------------------------------------- drivers
def run_tasks(tasks: Sequence[Task], spec: ExecutorSpec | None = None, *,
              stats: StudyStats | None = None) -> Iterator[tuple[Task, Any]]:
    """Run ``tasks`` with ``spec`` and yield ``(task, result)`` in task order.

    Parameters
    ----------
    tasks : sequence of Task
        Independent tasks (unique keys).
    spec : ExecutorSpec, optional
        Serial when None.
    stats : StudyStats, optional
        Filled with the keys run, resumed and retried.

    Raises
    ------
    TaskFailed
        A task failed twice (its first attempt and its retry); the message names it and why.
    UsageError
        A bad executor setting, ray missing, or a task folder holding another study's result.
    """
    spec = spec or ExecutorSpec()
    stats = stats if stats is not None else StudyStats()
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError(f"task keys must be unique: {keys}")
    done: dict[int, Any] = {}
    todo = []
    for i, task in enumerate(tasks):
        ok, result = _read_done(task)
        if ok:
            done[i] = result
            stats.resumed.append(task.key)
        else:
            todo.append(i)
    if spec.kind == "serial" or not todo:
        yield from _serial(tasks, done, todo, stats)
        return
    driver = _local if spec.kind == "local" else _ray
    yield from driver(tasks, done, todo, stats, spec)


def _largest_first(tasks: Sequence[Task], indices) -> list[int]:
    """``indices`` in start order: largest ``cost`` first, ties in task order (a stable sort)."""
    return sorted(indices, key=lambda i: -float(tasks[i].cost))


def _finish(task: Task, result: Any, stats: StudyStats) -> None:
    _write_done(task, result)
    stats.ran.append(task.key)


def _failed(task: Task, why: str) -> TaskFailed:
    return TaskFailed(f"task {task.key} failed twice (first attempt and retry): {why}")


def _serial(tasks, done, todo, stats) -> Iterator[tuple[Task, Any]]:
    for i, task in enumerate(tasks):
        if i in done:
            yield task, done[i]
            continue
        for attempt in range(RETRIES + 1):
            try:
                result = task.fn(*task.args, **task.kwargs)
                break
            except FuturesVpocError:
                raise  # the user's input: the same on a retry, reported as it is
            except Exception as exc:  # noqa: BLE001 - a failed training is retried once, then reported
                if attempt == RETRIES:
                    raise _failed(task, _one_line(exc)) from exc
                stats.retried.append(task.key)
        _finish(task, result, stats)
        yield task, result


def _emit(text: str) -> None:
    if text:
        sys.stdout.write(text)
        sys.stdout.flush()


def _local(tasks, done, todo, stats, spec) -> Iterator[tuple[Task, Any]]:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    session = _SESSION
    workers = session.workers if session is not None else min(spec.n_workers, len(todo))
    threads = session.threads if session is not None else threads_per_worker(workers)
    ctx = mp.get_context("spawn")
    results: dict[int, tuple[Any, str]] = {}
    errors: dict[int, str] = {}
    attempts = {i: 0 for i in todo}
    next_out = 0

    def ready() -> Iterator[tuple[Task, Any]]:
        nonlocal next_out
        while next_out < len(tasks) and (next_out in done or next_out in results):
            i = next_out
            if i in results:
                result, text = results.pop(i)
                _emit(text)
                done[i] = result
            next_out += 1
            yield tasks[i], done[i]

    with tempfile.TemporaryDirectory(prefix="futures_vpoc_tasks_") as started_dir:
        queue = _largest_first(tasks, todo)
        retry: list[int] = []
        while queue:  # first attempts, in a shared pool; a broken pool is replaced
            pool = session.get_pool() if session is not None else ProcessPoolExecutor(
                max_workers=min(workers, len(queue)), mp_context=ctx, initializer=_worker_init, initargs=(threads,))
            broken = False
            futures = {i: pool.submit(_call_captured, tasks[i].fn, tasks[i].args, tasks[i].kwargs, threads,
                                      started_dir, i) for i in _largest_first(tasks, queue)}
            queue = []
            try:
                for i in sorted(futures):
                    try:
                        results[i] = futures[i].result()
                        _finish(tasks[i], results[i][0], stats)
                    except BrokenProcessPool:
                        broken = True
                        if Path(started_dir, f"{i}.started").exists():
                            attempts[i] += 1
                            errors[i] = "its worker process died (killed by a signal or out of memory)"
                            retry.append(i)
                        else:
                            queue.append(i)  # never started: not an attempt
                    except FuturesVpocError:
                        raise  # the user's input: the same on a retry, reported as it is
                    except Exception as exc:  # noqa: BLE001 - retried once, then reported
                        attempts[i] += 1
                        errors[i] = _one_line(exc)
                        retry.append(i)
                    yield from ready()
            finally:
                if session is None:
                    pool.shutdown(wait=True, cancel_futures=True)
                elif broken or sys.exc_info()[0] is not None:
                    session.discard()  # broken, or left with running tasks: the next call starts afresh
            if queue and len(queue) == len(futures):  # the pool broke before any task started
                raise TaskFailed("the local executor's worker processes died before any task started (a script "
                                 "that runs a study needs `if __name__ == '__main__':`); try --executor serial")
        for i in sorted(retry):  # retries, each alone in a fresh pool (a neighbour cannot kill it)
            stats.retried.append(tasks[i].key)
            pool = ProcessPoolExecutor(max_workers=1, mp_context=ctx, initializer=_worker_init, initargs=(threads,))
            try:
                results[i] = pool.submit(_call_captured, tasks[i].fn, tasks[i].args, tasks[i].kwargs, threads,
                                         None, i).result()
            except FuturesVpocError:
                raise
            except BrokenProcessPool:
                raise _failed(tasks[i], f"{errors[i]}; retry: its worker process died "
                                        "(killed by a signal or out of memory)") from None
            except Exception as exc:  # noqa: BLE001
                raise _failed(tasks[i], _one_line(exc)) from None
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            _finish(tasks[i], results[i][0], stats)
            yield from ready()
    yield from ready()


def _ray_module():
    try:
        import ray
    except ImportError:
        raise UsageError(RAY_MISSING) from None
    return ray


def _ray_init(ray, spec: ExecutorSpec) -> bool:
    """``ray.init`` for ``spec`` unless Ray is initialised already; True when this call started it."""
    if ray.is_initialized():
        return False
    if spec.ray_address:
        ray.init(address=spec.ray_address, log_to_driver=False)
    else:
        ray.init(num_cpus=spec.n_workers, include_dashboard=False, log_to_driver=False)
    return True


def _ray(tasks, done, todo, stats, spec) -> Iterator[tuple[Task, Any]]:
    ray = _ray_module()
    started = _ray_init(ray, spec)
    try:
        threads = threads_per_worker(min(spec.n_workers, len(todo))) if not spec.ray_address else None
        remote = ray.remote(max_retries=0, num_cpus=1)(_call_captured)

        def submit(i):
            t = tasks[i]
            return remote.remote(t.fn, t.args, t.kwargs, threads, None, i)

        refs = {i: submit(i) for i in _largest_first(tasks, todo)}
        for i, task in enumerate(tasks):
            if i in done:
                yield task, done[i]
                continue
            result = text = None
            for attempt in range(RETRIES + 1):
                try:
                    result, text = ray.get(refs[i])
                    break
                except Exception as exc:  # noqa: BLE001 - RayTaskError, WorkerCrashedError, ...
                    if isinstance(getattr(exc, "cause", None), FuturesVpocError):
                        raise exc.cause from None
                    why = _ray_reason(ray, exc)
                    if attempt == RETRIES:
                        raise _failed(task, why) from None
                    stats.retried.append(task.key)
                    refs[i] = submit(i)
            _finish(task, result, stats)
            _emit(text)
            yield task, result
    finally:
        if started:
            ray.shutdown()


def _ray_reason(ray, exc: BaseException) -> str:
    crashed = tuple(getattr(ray.exceptions, n) for n in ("WorkerCrashedError", "NodeDiedError")
                    if hasattr(ray.exceptions, n))
    if crashed and isinstance(exc, crashed):
        return "its worker process died (killed by a signal or out of memory)"
    cause = getattr(exc, "cause", None)
    return _one_line(cause if isinstance(cause, BaseException) else exc)


__all__ = ["EXECUTORS", "ExecutorSpec", "StudyStats", "Task", "TaskFailed", "clear_unfinished",
           "cores", "executor_session", "is_done", "run_tasks", "threads_per_worker"]
