"""Issue 19, tracking: ``--mlflow URI`` logs a finished study (parent run, one nested run per rung,
member or fold) from its run folders; read back with ``mlflow.MlflowClient``.

One local store (a folder: ``sqlite:///DIR/mlflow.db``) serves the whole module: creating its
tables takes seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from futures_vpoc.cli import main
from futures_vpoc.errors import UsageError
from futures_vpoc.report import tracking as T

TINY = ["--epochs", "2", "--batch_size", "512", "--threads", "1", "--device", "cpu"]
RUN_FILES = {"analysis.md", "analysis.html", "config.json", "summary.json"}


# ---------------------------------------------------------------------------- no MLflow needed
def test_flatten_params_and_metrics():
    config = {"learning_rate": 1e-4, "hidden_dims": [64, 32, 16], "features": ["price"], "chunk_size": None,
              "resolved": {"device": "cpu"}, "versions": {"torch": "2"}, "input_features": {"names": ["a"], "count": 1}}
    params = T.flatten_params(config)
    assert params["learning_rate"] == "0.0001" and params["hidden_dims"] == "64 32 16"
    assert params["chunk_size"] == "None" and params["versions.torch"] == "2" and params["input_features.count"] == "1"
    assert "resolved.device" not in params and "input_features.names" not in params
    assert T.flatten_params({"x": "y" * 10000})["x"].endswith("...") and len(T.flatten_params({"x": "y" * 10000})["x"]) == 6000
    summary = {"best_val_loss": 0.69, "test_accuracy_ci95": [0.4, 0.6], "epochs_completed": 3, "stop_reason": "x",
               "test_auc": float("nan"), "flag": True, "test_statistics": {"n": 5}, "nested": {"a": 1.5}}
    assert T.flatten_metrics(summary) == {"best_val_loss": 0.69, "test_accuracy_ci95_lo": 0.4,
                                          "test_accuracy_ci95_hi": 0.6, "epochs_completed": 3.0, "nested.a": 1.5}


def test_uri_of_a_folder_is_a_local_sqlite_store(tmp_path):
    uri, artifacts = T.resolve_uri(str(tmp_path / "store"))
    assert uri == f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    assert artifacts == (tmp_path / "store" / "artifacts").as_uri() and (tmp_path / "store").is_dir()
    assert T.resolve_uri("http://localhost:5000") == ("http://localhost:5000", None)
    db = tmp_path / "x" / "m.db"
    assert T.resolve_uri(f"sqlite:///{db}") == (f"sqlite:///{db}", (tmp_path / "x" / "artifacts").as_uri())
    (tmp_path / "mlruns" / "0").mkdir(parents=True)
    (tmp_path / "mlruns" / "0" / "meta.yaml").write_text("name: Default\n")  # an existing MLflow file store
    assert T.resolve_uri(str(tmp_path / "mlruns")) == ((tmp_path / "mlruns").as_uri(), None)
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="a file"):
        T.resolve_uri(str(tmp_path / "file"))


def test_flag_is_added_once():
    p = argparse.ArgumentParser()
    T.add_mlflow_flag(p)
    T.add_mlflow_flag(p)  # inherited from train's parser: not added again (argparse would refuse)
    args = p.parse_args(["--mlflow", "runs/mlflow", "--mlflow-experiment", "mine"])
    assert args.mlflow == "runs/mlflow" and T.experiment_name(args, "scale-up") == "mine"
    assert T.experiment_name(p.parse_args([]), "scale-up") == "futures-vpoc scale-up"


def test_missing_mlflow_is_a_one_line_usage_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow -> ImportError
    with pytest.raises(UsageError) as info:
        T.check_tracking(argparse.Namespace(mlflow="x"))
    assert str(info.value) == T.MISSING and "pip install" in T.MISSING
    T.check_tracking(argparse.Namespace(mlflow=None))  # no flag: never imported
    data = tmp_path / "missing.csv"
    data.write_text("")
    out = tmp_path / "out"
    assert main(["scale-up", "--data", str(data), "--output_dir", str(out), "--mlflow", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"futures-vpoc: error: {T.MISSING}" and not out.exists()


def test_a_tracking_failure_is_a_warning(capsys):
    def broken(uri, experiment):
        raise ConnectionError("no server\nat all")

    assert T.track(argparse.Namespace(mlflow="http://nowhere:5000"), "scale-up", broken) is None
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("warning: --mlflow http://nowhere:5000: logging failed")
    assert "ConnectionError: no server at all" in err
    assert T.track(argparse.Namespace(mlflow=None), "scale-up", broken) is None


# ---------------------------------------------------------------------------- with MLflow
@pytest.fixture(scope="module")
def mlflow():
    return pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-01-27", seed=11, signal=5))
    return write_merged(bars, tmp_path_factory.mktemp("tracking_data") / "bars.parquet")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mlflow") / "store"


def _client(mlflow, store: Path):
    return mlflow.MlflowClient(f"sqlite:///{store / 'mlflow.db'}")


def _study_runs(client, experiment: str):
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None, experiment
    runs = client.search_runs([exp.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    parent = parents[0]
    children = {r.info.run_name: r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}
    assert len(children) == len(runs) - 1
    return parent, children


def _artifacts(client, run) -> set[str]:
    return {a.path for a in client.list_artifacts(run.info.run_id)}


def _check_child(client, child, run_dir: Path, sha: str, epochs: int) -> None:
    """A nested run holds its run folder's config (params), summary (metrics), history, tags and files."""
    config = json.loads((run_dir / "config.json").read_text())
    summary = json.loads((run_dir / "summary.json").read_text())
    p, m, t = child.data.params, child.data.metrics, child.data.tags
    assert p["hidden_dims"] == " ".join(str(d) for d in config["hidden_dims"])
    assert float(p["learning_rate"]) == config["learning_rate"] and p["seed"] == str(config["seed"])
    for key in ("best_val_loss", "test_accuracy", "test_auc", "param_count", "epochs_completed"):
        assert m[key] == pytest.approx(summary[key], rel=1e-12), key
    assert m["test_accuracy_ci95_lo"] == pytest.approx(summary["test_accuracy_ci95"][0], rel=1e-12)
    history = client.get_metric_history(child.info.run_id, "epoch.val_loss")
    assert [h.step for h in sorted(history, key=lambda h: h.step)] == list(range(1, epochs + 1))
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    val = [r["val_loss"] for r in records if "event" not in r]
    assert [h.value for h in sorted(history, key=lambda h: h.step)] == pytest.approx(val, rel=1e-12)
    assert t["data_sha256"] == sha and t["status"] == "finished" and Path(t["run_dir"]) == run_dir.resolve()
    assert RUN_FILES <= _artifacts(client, child)
    assert child.info.status == "FINISHED"


def test_scaleup_is_one_parent_run_with_a_child_per_rung(mlflow, data_file, store, tmp_path, capsys):
    from futures_vpoc.data.barframe import file_sha256

    out = tmp_path / "su"
    assert main(["scale-up", "--data", str(data_file), "--output_dir", str(out), *TINY, "--features", "price",
                 "--ladder", "4", "8", "--val_tolerance", "1", "--mlflow", str(store)]) == 0
    assert f"mlflow: logged to {store}" in capsys.readouterr().out
    client = _client(mlflow, store)
    parent, children = _study_runs(client, "futures-vpoc scale-up")
    doc = json.loads((out / "scaleup.json").read_text())
    assert sorted(children) == ["4", "8"] == sorted(r["architecture"] for r in doc["rungs"])
    sha = file_sha256(data_file)
    for row in doc["rungs"]:
        child = children[row["architecture"]]
        _check_child(client, child, Path(row["run_dir"]), sha, epochs=2)
        assert child.data.tags["gate"] == row["gate"]
    assert {"scaleup.md", "scaleup.json", "study.json"} <= _artifacts(client, parent)
    assert parent.data.params["ladder"] == "4 8" and parent.data.params["train_config.epochs"] == "2"
    assert parent.data.tags["winner"] == doc["winner"] and parent.data.tags["data_sha256"] == sha
    winner = next(r for r in doc["rungs"] if r["architecture"] == doc["winner"])
    assert parent.data.metrics["winner_best_val_loss"] == pytest.approx(winner["best_val_loss"], rel=1e-12)


def test_ensemble_is_one_parent_run_with_a_child_per_member(mlflow, data_file, store, tmp_path):
    out = tmp_path / "ens"
    assert main(["ensemble", "--data", str(data_file), "--output_dir", str(out), *TINY, "--hidden_dims", "4",
                 "--groups", "price", "volume", "--mlflow", str(store), "--mlflow-experiment", "ens-test"]) == 0
    client = _client(mlflow, store)
    parent, children = _study_runs(client, "ens-test")
    doc = json.loads((out / "ensemble.json").read_text())
    assert sorted(children) == ["price", "volume"]
    from futures_vpoc.data.barframe import file_sha256

    for member in doc["members"]:
        child = children[member["group"]]
        _check_child(client, child, Path(member["run_dir"]), file_sha256(data_file), epochs=2)
        assert child.data.metrics["weight"] == pytest.approx(doc["weights"][member["group"]], abs=1e-12)
        assert child.data.metrics["member_test.accuracy"] == pytest.approx(member["test"]["accuracy"], rel=1e-12)
    m = parent.data.metrics
    assert m["test.accuracy"] == pytest.approx(doc["ensemble"]["test"]["accuracy"], rel=1e-12)
    assert m["val.log_loss"] == pytest.approx(doc["ensemble"]["val"]["log_loss"], rel=1e-12)
    assert {"ensemble.md", "ensemble.json", "study.json", "predictions_test.parquet"} <= _artifacts(client, parent)


def test_walk_forward_is_one_parent_run_with_a_child_per_fold(mlflow, store, tmp_path_factory, tmp_path):
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-03-31", seed=3))
    data = write_merged(bars.iloc[::5], tmp_path_factory.mktemp("wf_tracking") / "bars.parquet")
    out = tmp_path / "wf"
    assert main(["backtest", "--data", str(data), "--walk-forward", "--output_dir", str(out), "--wf_train_months",
                 "1", "--wf_test_months", "1", "--wf_step_months", "1", "--epochs", "1", "--hidden_dims", "4",
                 "--batch_size", "512", "--threads", "1", "--device", "cpu", "--n_random", "2", "--features",
                 "price", "--mlflow", str(store)]) == 0
    client = _client(mlflow, store)
    parent, children = _study_runs(client, "futures-vpoc backtest --walk-forward")
    wf = json.loads((out / "walkforward.json").read_text())
    assert sorted(children) == [f"fold_{r['fold']:02d}" for r in wf["folds"]] and len(children) >= 2
    for rec in wf["folds"]:
        child = children[f"fold_{rec['fold']:02d}"]
        summary = json.loads((Path(rec["run_dir"]) / "summary.json").read_text())
        assert child.data.metrics["best_val_loss"] == pytest.approx(summary["best_val_loss"], rel=1e-12)
        assert child.data.metrics["n_predicted"] == rec["n_predicted"] and child.data.tags["fold"] == str(rec["fold"])
        assert RUN_FILES - {"analysis.md", "analysis.html"} <= _artifacts(client, child)
    stats = json.loads((out / "stats.json").read_text())
    assert parent.data.metrics["model.net_pnl_usd"] == pytest.approx(stats["model"]["net_pnl_usd"], rel=1e-12)
    assert {"walkforward.json", "stats.json", "study.json"} <= _artifacts(client, parent)


def test_a_study_whose_logging_fails_still_succeeds(data_file, tmp_path, monkeypatch, capsys):
    def unreachable(*args, **kwargs):
        raise ConnectionError("tracking server unreachable")

    monkeypatch.setattr(T, "log_study", unreachable)
    out = tmp_path / "su"
    assert main(["scale-up", "--data", str(data_file), "--output_dir", str(out), "--epochs", "1", "--batch_size",
                 "512", "--threads", "1", "--device", "cpu", "--features", "price", "--ladder", "4",
                 "--mlflow", "http://127.0.0.1:9"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["warning: --mlflow http://127.0.0.1:9: logging failed (ConnectionError: tracking server "
                   "unreachable); the results on disk are complete"]
    assert (out / "scaleup.json").is_file() and (out / "4" / "done.json").is_file()


def test_plain_backtest_refuses_mlflow(tmp_path, capsys):
    assert main(["backtest", "--data", str(tmp_path / "x.csv"), "--strategy", "buy_hold", "--output_dir",
                 str(tmp_path / "o"), "--mlflow", str(tmp_path / "s")]) == 2
    assert "--mlflow logs the trainings of --walk-forward" in capsys.readouterr().err
    assert not (tmp_path / "o").exists() and not (tmp_path / "s").exists()


def test_train_is_one_run_with_its_folder(mlflow, data_file, store, tmp_path, capsys):
    from futures_vpoc.data.barframe import file_sha256

    out = tmp_path / "run"
    assert main(["train", "--data", str(data_file), "--output_dir", str(out), *TINY, "--features", "price",
                 "--hidden_dims", "4", "--mlflow", str(store), "--mlflow-experiment", "train-test"]) == 0
    assert f"mlflow: logged to {store}" in capsys.readouterr().out
    client = _client(mlflow, store)
    exp = client.get_experiment_by_name("train-test")
    (run,) = client.search_runs([exp.experiment_id])
    summary = json.loads((out / "summary.json").read_text())
    assert run.data.metrics["best_val_loss"] == pytest.approx(summary["best_val_loss"], rel=1e-12)
    assert run.data.params["hidden_dims"] == "4"
    assert run.data.tags["run_dir"] and Path(run.data.tags["run_dir"]) == out.resolve()
    assert RUN_FILES <= _artifacts(client, run)
    config = json.loads((out / "config.json").read_text())
    assert run.data.tags["data_sha256"] == config.get("data_sha256", "") == file_sha256(data_file)


@pytest.mark.slow
def test_tune_is_one_parent_run_with_a_child_per_trial_and_best(mlflow, data_file, store, tmp_path):
    pytest.importorskip("optuna")
    out = tmp_path / "tune"
    assert main(["tune", "--data", str(data_file), "--output_dir", str(out), "--trials", "3", *TINY,
                 "--features", "price", "--no-baselines", "--mlflow", str(store)]) == 0
    client = _client(mlflow, store)
    parent, children = _study_runs(client, "futures-vpoc tune")
    doc = json.loads((out / "tune.json").read_text())
    assert sorted(children) == ["best", "trial_000", "trial_001", "trial_002"]
    for rec in doc["trial_records"]:
        child = children[f"trial_{rec['number']:03d}"]
        assert child.data.metrics["best_val_loss"] == pytest.approx(rec["best_val_loss"], rel=1e-12)
        assert child.data.tags["status"] == rec["state"]
    assert parent.data.metrics["trials"] == 3
    assert parent.data.tags["best_trial"] == str(doc["best"]["number"])
    assert children["best"].data.tags["test_evaluated"] == "once"
    assert {"tune.md", "trials.csv", "best_command.txt", "study.json"} <= _artifacts(client, parent)
