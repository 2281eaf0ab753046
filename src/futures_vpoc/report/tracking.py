"""Log finished runs and studies to an MLflow tracking server (``--mlflow URI``).

Everything is read from the run folders after the trainings ended, so the trainings (and their
executor workers) never talk to MLflow, and a tracking failure cannot break a training: it is a
one-line warning and the command's exit status stays its own.

Where (``--mlflow URI``)
    * a folder path (``runs/mlflow``): a local store ``sqlite:///DIR/mlflow.db`` with the
      artefacts under ``DIR/artifacts``. MLflow 3's plain-folder "file store" is in maintenance
      mode and refuses to open unless ``MLFLOW_ALLOW_FILE_STORE=true`` is set, so a folder is
      given a SQLite database instead (``mlflow ui --backend-store-uri sqlite:///DIR/mlflow.db``
      shows it; needs ``sqlalchemy`` and ``alembic``, in the ``mlflow`` extra). A folder that already
      is an MLflow file store (``mlruns``: ``0/meta.yaml`` or ``.trash``) is opened as one
      (``file:`` URI; MLflow 3 then wants ``MLFLOW_ALLOW_FILE_STORE=true``).
    * any tracking URI: ``http://host:5000``, ``sqlite:///path/mlflow.db`` (artefacts beside the
      database, in ``artifacts/``), ``databricks``, ``file:///...`` (MLflow's own rules apply).

What (:func:`log_study`, :func:`log_run`)
    One MLflow run per study (experiment ``futures-vpoc <command>`` unless
    ``--mlflow-experiment NAME``), and one nested child run per rung / member / fold / trial:

    * params: the run's ``config.json`` flattened (nested keys joined by ``.``, lists of plain
      values as space-separated text, e.g. ``hidden_dims = "64 32 16"``);
    * metrics: every finite number of ``summary.json`` (a 2-value interval ``x_ci95`` as
      ``x_ci95_lo`` / ``x_ci95_hi``), and per epoch of ``metrics.jsonl`` the step metrics
      ``epoch.train_loss``, ``epoch.val_loss``, ... with ``step`` = the epoch number;
    * tags: ``data_sha256``, ``run_dir``, ``status`` (``finished``, ``diverged`` or ``pruned``,
      from the summary's ``stop_reason``) and what the study adds (``gate``, ``weight``, ...);
    * artefacts: ``analysis.md``, ``analysis.html``, ``config.json``, ``summary.json`` of each
      run; the study's own report files on the parent run.

``mlflow`` is imported only here and only when ``--mlflow`` is given.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from futures_vpoc.errors import UsageError

MISSING = ("--mlflow needs the mlflow client: pip install 'futures-vpoc[mlflow]' "
           "(or pip install mlflow-skinny sqlalchemy alembic)")
STORE_DB = "mlflow.db"
ARTIFACTS = "artifacts"
RUN_ARTIFACTS = ("analysis.md", "analysis.html", "config.json", "summary.json")
EPOCH_KEYS = ("train_loss", "val_loss", "val_accuracy", "val_auc", "nan_rate", "valid_batch_pct", "lr",
              "grad_norm_mean")
SKIP_PARAMS = ("input_features.names", "resolved", "counts", "argv")
SKIP_METRICS = ("test_statistics",)
MAX_PARAM = 6000  # MLflow 3's limit on a param value, characters
BATCH = 100  # params / metrics per log_batch call
_BAD_KEY = re.compile(r"[^A-Za-z0-9_\-. /]")


def _key(name: str) -> str:
    """A name MLflow accepts as a param, metric or tag key (letters, digits, ``_-. /``; 250 chars)."""
    return _BAD_KEY.sub("_", str(name))[:250]


def add_mlflow_flag(parser) -> None:
    """``--mlflow URI`` and ``--mlflow-experiment NAME`` on an argparse parser or group (text only)."""
    if "--mlflow" in getattr(parser, "_option_string_actions", {}):  # inherited (e.g. from train's parser)
        return
    parser.add_argument("--mlflow", default=None, metavar="URI",
                        help="after the run(s), log params, metrics, tags and report files to MLflow: a folder "
                             "(a local store DIR/mlflow.db, artefacts in DIR/artifacts) or a tracking URI "
                             "(http://host:5000, sqlite:///FILE); a study is one parent run with a nested run "
                             "per training; pip install 'futures-vpoc[mlflow]'")
    parser.add_argument("--mlflow-experiment", "--mlflow_experiment", dest="mlflow_experiment", default=None,
                        metavar="NAME", help="with --mlflow: the experiment (default 'futures-vpoc COMMAND')")


def mlflow_module():
    """``import mlflow``, or a one-line :class:`UsageError` naming the pip command."""
    try:
        import mlflow
    except ImportError:
        raise UsageError(MISSING) from None
    return mlflow


def check_tracking(args) -> None:
    """Before any slow work: when ``--mlflow`` is given, the client must be importable."""
    if getattr(args, "mlflow", None):
        mlflow_module()


def resolve_uri(text: str) -> tuple[str, str | None]:
    """``(tracking URI, artefact location for a new experiment or None)`` for ``--mlflow TEXT``.

    A URI with a scheme (``http:``, ``sqlite:``, ``file:``, ``databricks``...) is used as given; a
    SQLite one keeps new experiments' artefacts in ``artifacts/`` beside its database file. Anything
    else is a folder: ``sqlite:///FOLDER/mlflow.db`` with artefacts in ``FOLDER/artifacts``
    (the folder is created).
    """
    text = str(text).strip()
    if not text:
        raise UsageError("--mlflow: give a folder or a tracking URI")
    if text.startswith("sqlite:///"):
        db = Path(text[len("sqlite:///"):])
        return text, (db.parent.resolve() / ARTIFACTS).as_uri() if str(db) not in ("", ":memory:") else None
    if "://" in text or text in ("databricks",) or text.startswith("databricks"):
        return text, None
    folder = Path(text).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--mlflow {text}: a file, not a folder or a tracking URI")
    if (folder / "0" / "meta.yaml").is_file() or (folder / ".trash").is_dir():  # an MLflow 2 file store (mlruns)
        return folder.as_uri(), None  # MLflow 3 opens it only with MLFLOW_ALLOW_FILE_STORE=true
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / STORE_DB}", (folder / ARTIFACTS).as_uri()


# ---------------------------------------------------------------------------- reading a run folder
def _read_json(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _text(value) -> str:
    if isinstance(value, (list, tuple)) and all(not isinstance(v, (dict, list, tuple)) for v in value):
        return " ".join(str(v) for v in value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def flatten_params(doc: Mapping, prefix: str = "", skip: Sequence[str] = SKIP_PARAMS) -> dict[str, str]:
    """A nested settings dict as MLflow params: ``{"a.b": "text"}``, lists of plain values space-joined.

    ``None`` becomes ``"None"``; values longer than MLflow's limit are cut (with ``...``);
    keys in ``skip`` (full dotted names) are left out.
    """
    out: dict[str, str] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if name in skip:
            continue
        if isinstance(value, Mapping):
            out.update(flatten_params(value, name + ".", skip))
            continue
        text = _text(value)
        out[name] = text if len(text) <= MAX_PARAM else text[:MAX_PARAM - 3] + "..."
    return out


def _finite(value) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def flatten_metrics(doc: Mapping, prefix: str = "", skip: Sequence[str] = SKIP_METRICS) -> dict[str, float]:
    """Every finite number of a summary as ``{key: value}``: nested keys joined by ``.``, a 2-value
    list as ``key_lo`` / ``key_hi``, longer lists as ``key_0``, ``key_1``...; text, None, NaN and
    booleans are left out."""
    out: dict[str, float] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if name in skip:
            continue
        if isinstance(value, Mapping):
            out.update(flatten_metrics(value, name + ".", skip))
        elif isinstance(value, (list, tuple)):
            names = ("_lo", "_hi") if len(value) == 2 else tuple(f"_{i}" for i in range(len(value)))
            for suffix, v in zip(names, value):
                if _finite(v) is not None:
                    out[name + suffix] = _finite(v)
        elif _finite(value) is not None:
            out[name] = _finite(value)
    return out


def epoch_history(run_dir: Path) -> list[tuple[str, float, int]]:
    """``(epoch.KEY, value, epoch)`` for each epoch record of ``metrics.jsonl`` (finite values only)."""
    path = Path(run_dir) / "metrics.jsonl"
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return rows
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict) or "event" in rec or "epoch" not in rec:
            continue
        for key in EPOCH_KEYS:
            v = _finite(rec.get(key))
            if v is not None:
                rows.append((f"epoch.{key}", v, int(rec["epoch"])))
    return rows


def run_status(summary: Mapping) -> str:
    """``finished``, ``diverged`` or ``pruned`` from a summary's ``stop_reason``."""
    reason = str(summary.get("stop_reason") or "")
    return reason if reason in ("diverged", "pruned") else "finished"


@dataclass
class Child:
    """One training of a study: its folder and what the study adds (tags, metrics)."""

    name: str
    run_dir: Path | None
    tags: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------- writing to MLflow
class _Logger:
    """A thin wrapper of :class:`mlflow.MlflowClient` for one experiment."""

    def __init__(self, uri: str, experiment: str) -> None:
        mlflow = mlflow_module()
        self.entities = mlflow.entities
        uri, artifacts = resolve_uri(uri)
        self.client = mlflow.MlflowClient(tracking_uri=uri)
        exp = self.client.get_experiment_by_name(experiment)
        self.experiment_id = exp.experiment_id if exp is not None else \
            self.client.create_experiment(experiment, artifact_location=artifacts)

    def start(self, name: str, parent: str | None = None, tags: Mapping | None = None) -> str:
        tags = {k: str(v) for k, v in (tags or {}).items()}
        if parent is not None:
            tags["mlflow.parentRunId"] = parent
        return self.client.create_run(self.experiment_id, run_name=name, tags=tags).info.run_id

    def log(self, run_id: str, params: Mapping[str, str] = (), metrics: Mapping[str, float] = (),
            steps: Iterable[tuple[str, float, int]] = (), tags: Mapping | None = None) -> None:
        e, now = self.entities, int(time.time() * 1000)
        ps = [e.Param(_key(k), v) for k, v in dict(params).items()]
        ms = [e.Metric(_key(k), float(v), now, 0) for k, v in dict(metrics).items()]
        ms += [e.Metric(_key(k), float(v), now, int(s)) for k, v, s in steps]
        ts = [e.RunTag(_key(k), str(v)[:MAX_PARAM]) for k, v in (tags or {}).items()]
        for i in range(0, max(len(ps), len(ms), len(ts)), BATCH):
            self.client.log_batch(run_id, metrics=ms[i:i + BATCH], params=ps[i:i + BATCH], tags=ts[i:i + BATCH])

    def artifacts(self, run_id: str, paths: Iterable[Path]) -> None:
        for p in paths:
            if Path(p).is_file():
                self.client.log_artifact(run_id, str(p))

    def end(self, run_id: str, ok: bool = True) -> None:
        self.client.set_terminated(run_id, status="FINISHED" if ok else "FAILED")


def _log_run_dir(log: _Logger, run_id: str, run_dir: Path | None, tags: Mapping, metrics: Mapping,
                 sha: str | None) -> None:
    tags = dict(tags)
    if run_dir is None or not Path(run_dir).is_dir():
        log.log(run_id, metrics=metrics, tags={**tags, "status": tags.get("status", "skipped")})
        return
    run_dir = Path(run_dir)
    config = _read_json(run_dir / "config.json")
    summary = _read_json(run_dir / "summary.json")
    tags = {"run_dir": str(run_dir.resolve()), "status": run_status(summary),
            "data_sha256": config.get("data_sha256") or sha or "", **tags}
    log.log(run_id, params=flatten_params(config), metrics={**flatten_metrics(summary), **metrics},
            steps=epoch_history(run_dir), tags=tags)
    log.artifacts(run_id, [run_dir / n for n in RUN_ARTIFACTS])


def log_study(uri: str, experiment: str, name: str, settings: Mapping, children: Sequence[Child],
              artifacts: Iterable[Path] = (), metrics: Mapping | None = None,
              tags: Mapping | None = None) -> str:
    """Log a finished study: one parent run (``settings`` as params, ``metrics``, ``tags``, the
    report files ``artifacts``) and one nested run per child. Returns the parent's run id.

    Raises whatever the MLflow client raises (:func:`track` turns it into a warning).
    """
    log = _Logger(uri, experiment)
    sha = str(settings.get("data_sha256") or "") or None
    parent = log.start(name, tags={"kind": "study"})
    try:
        log.log(parent, params=flatten_params(settings), metrics=flatten_metrics(metrics or {}),
                tags={"data_sha256": sha or "", **dict(tags or {})})
        log.artifacts(parent, artifacts)
        for child in children:
            run_id = log.start(child.name, parent=parent)
            try:
                _log_run_dir(log, run_id, child.run_dir, child.tags, flatten_metrics(child.metrics), sha)
            except Exception:
                log.end(run_id, ok=False)
                raise
            log.end(run_id)
    except Exception:
        log.end(parent, ok=False)
        raise
    log.end(parent)
    return parent


def log_run(uri: str, experiment: str, run_dir: str | os.PathLike, name: str | None = None,
            tags: Mapping | None = None) -> str:
    """Log one finished run folder (``train``) as a single MLflow run; returns its id."""
    log = _Logger(uri, experiment)
    run_dir = Path(run_dir)
    run_id = log.start(name or run_dir.name)
    try:
        _log_run_dir(log, run_id, run_dir, dict(tags or {}), {}, None)
    except Exception:
        log.end(run_id, ok=False)
        raise
    log.end(run_id)
    return run_id


def experiment_name(args, command: str) -> str:
    """``--mlflow-experiment`` or ``futures-vpoc <command>``."""
    return getattr(args, "mlflow_experiment", None) or f"futures-vpoc {command}"


def track(args, command: str, fn, *fn_args, **fn_kwargs) -> str | None:
    """Call ``fn(uri, experiment, *fn_args, **fn_kwargs)`` (:func:`log_study` or :func:`log_run`)
    when ``--mlflow`` was given; print where it went. Any failure is a one-line warning on stderr,
    never an exception: the command's own result stands. Returns the run id, or None."""
    import sys

    uri = getattr(args, "mlflow", None)
    if not uri:
        return None
    experiment = experiment_name(args, command)
    try:
        run_id = fn(uri, experiment, *fn_args, **fn_kwargs)
    except Exception as exc:  # noqa: BLE001 - tracking must never break a finished study
        text = " ".join(str(exc).split())[:300]
        print(f"warning: --mlflow {uri}: logging failed ({type(exc).__name__}: {text}); "
              "the results on disk are complete", file=sys.stderr, flush=True)
        return None
    print(f"mlflow: logged to {uri} (experiment {experiment!r}, run {run_id})", flush=True)
    return run_id


def track_run(args, command: str, run_dir, name: str | None = None) -> str | None:
    """For ``train`` / ``tune``: log one finished run folder when ``--mlflow`` was given (never raises)."""
    return track(args, command, log_run, run_dir, name)


__all__ = ["Child", "add_mlflow_flag", "check_tracking", "epoch_history", "experiment_name", "flatten_metrics",
           "flatten_params", "log_run", "log_study", "mlflow_module", "resolve_uri", "run_status", "track",
           "track_run"]
