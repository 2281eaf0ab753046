"""``futures-vpoc export --format onnx``: the graph passes the checker, matches the project's own
predictions within 1e-5 on 10,000 rows, takes any batch size, carries a truthful model card, and bad
input exits with status 2 writing nothing. One tiny run (and a second for an ensemble) per module."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

import onnx  # noqa: E402

from cli_run import run  # noqa: E402
from futures_vpoc.ml.export import (  # noqa: E402
    PARITY_TOLERANCE, load_source, onnx_session, parity_rows, reference_probabilities, run_onnx)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    data = root / "synth.parquet"
    assert run("data", "synth", "--out", data, "--start", "2023-01-02", "--end", "2023-02-28", "--seed", 3) == 0
    common = ["--data", data, "--epochs", 1, "--hidden_dims", 16, 8, "--no-baselines", "--seed", 1]
    assert run("train", *common, "--output_dir", root / "run") == 0
    assert run("train", *common, "--features", "volume", "--output_dir", root / "ens" / "volume") == 0
    return root


@pytest.fixture(scope="module")
def exported(runs):
    out = runs / "out" / "model.onnx"
    assert run("export", "--model", runs / "run", "--format", "onnx", "--out", out) == 0
    return out


def test_graph_passes_the_checker_and_has_the_named_dynamic_io(exported):
    model = onnx.load(str(exported))
    onnx.checker.check_model(model, full_check=True)
    (inp,), (out,) = model.graph.input, model.graph.output
    assert (inp.name, out.name) == ("features", "prob")
    assert inp.type.tensor_type.shape.dim[0].dim_param  # symbolic batch axis
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT


def test_onnxruntime_matches_the_project_path_on_10000_rows(runs, exported):
    source = load_source(runs / "run")
    X = parity_rows(source, 10_000, seed=5)
    p = run_onnx(onnx_session(exported), X)
    assert p.shape == (10_000,) and p.dtype == np.float32
    assert np.max(np.abs(p - reference_probabilities(source, X))) <= PARITY_TOLERANCE
    assert ((p >= 0) & (p <= 1)).all()


def test_the_reference_is_the_trainers_own_prediction_path(runs):
    """``reference_probabilities`` equals scaler.transform -> checkpoint.predict -> sigmoid."""
    from futures_vpoc.dataset.scaling import transform_from_dict
    from futures_vpoc.ml.checkpoint import load_checkpoint, predict
    from futures_vpoc.ml.model import probabilities

    source = load_source(runs / "run")
    X = parity_rows(source, 500, seed=2)
    payload = load_checkpoint(runs / "run" / "best.pt")
    scaled = transform_from_dict(payload["dataset"]["scaler"]).transform(X.astype(np.float64))
    np.testing.assert_allclose(reference_probabilities(source, X), probabilities(predict(payload, scaled)),
                               rtol=0, atol=1e-12)


def test_batch_axis_is_dynamic(runs, exported):
    source = load_source(runs / "run")
    session = onnx_session(exported)
    X = parity_rows(source, 10_000, seed=7)
    one = run_onnx(session, X[:1])
    full = run_onnx(session, X)
    assert one.shape == (1,) and full.shape == (10_000,)
    assert abs(float(one[0]) - float(full[0])) <= 1e-6


def test_card_is_consistent_with_summary_and_checkpoint(runs, exported):
    card = json.loads(exported.with_name("model.card.json").read_text())
    md = exported.with_name("model.card.md").read_text()
    summary = json.loads((runs / "run" / "summary.json").read_text())
    config = json.loads((runs / "run" / "config.json").read_text())
    payload = torch.load(runs / "run" / "best.pt", weights_only=True)
    assert card["input_order"] == list(payload["feature_names"])
    assert [f["name"] for f in card["features"]] == card["input_order"]
    assert all(f["unit"] and f["description"] and "unknown" not in f["unit"] for f in card["features"])
    assert card["preprocessing"]["scaler_folded_in"] is True
    assert card["training_period"] == payload["dataset"]["boundaries"]
    assert card["label"]["target"] == payload["target"]["target"] == summary["target"]
    assert card["label"]["horizon_bars"] == payload["target"]["horizon"] == summary["horizon"]
    assert card["label"]["decision_threshold"] == payload["target"]["decision_threshold"]
    metrics = summary["test_statistics"]["metrics"]
    assert set(card["test_metrics"]["metrics"]) == set(metrics)
    for key, m in metrics.items():
        for part in ("value", "ci_low", "ci_high", "p_value"):
            assert card["test_metrics"]["metrics"][key][part] == m[part]
    assert card["test_metrics"]["metrics"]["accuracy"]["value"] == summary["test_accuracy"]
    assert set(card["versions"]) == {"futures_vpoc", "torch", "onnx", "onnxruntime"}
    assert card["training_data"]["file"] == "synth.parquet"
    assert card["training_data"]["sha256"] == config["data_sha256"]
    assert card["training_data"]["licence"] == "unknown (not recorded)"  # never guessed
    assert card["parity"]["rows"] == 10_000 and card["parity"]["max_abs_diff"] <= PARITY_TOLERANCE
    assert f"{card['parity']['max_abs_diff']:.3g}" in md and "## Test metrics" in md


def _nothing_written(folder):
    return not folder.exists() or not any(folder.iterdir())


@pytest.mark.parametrize("case", ["missing_dir", "not_a_run", "corrupt", "bad_format", "out_is_dir",
                                  "no_onnx"])
def test_bad_input_exits_2_and_writes_nothing(runs, tmp_path, monkeypatch, capsys, case):
    model = runs / "run"
    out_dir = tmp_path / "out"
    out = out_dir / "m.onnx"
    fmt = "onnx"
    if case == "missing_dir":
        model = tmp_path / "nope"
    elif case == "not_a_run":
        model = tmp_path / "empty"
        model.mkdir()
    elif case == "corrupt":
        model = tmp_path / "corrupt"
        shutil.copytree(runs / "run", model)
        (model / "best.pt").write_bytes(b"not a checkpoint")
    elif case == "bad_format":
        fmt = "tflite"
    elif case == "out_is_dir":
        out_dir.mkdir()
        out = out_dir
    elif case == "no_onnx":
        monkeypatch.setitem(sys.modules, "onnxruntime", None)
    capsys.readouterr()
    assert run("export", "--model", model, "--format", fmt, "--out", out) == 2
    err = capsys.readouterr().err.strip()
    assert err and len(err.splitlines()) == 1
    if case == "no_onnx":
        assert "pip install 'futures-vpoc[export]'" in err
    assert _nothing_written(out_dir)


def test_ensemble_folder_exports_one_weighted_graph(runs, tmp_path):
    ens = runs / "ens"
    shutil.copytree(runs / "run", ens / "price", dirs_exist_ok=True)
    spec = {"groups": ["price", "volume"], "weights": {"price": 0.3, "volume": 0.7},
            "weights_fit_on": "hand-made for the test",
            "members": [{"group": "price", "run_dir": str(ens / "price")},
                        {"group": "volume", "run_dir": str(ens / "volume")}]}
    (ens / "ensemble.json").write_text(json.dumps(spec))
    out = tmp_path / "ens.onnx"
    assert run("export", "--model", ens, "--format", "onnx", "--out", out) == 0
    source = load_source(ens)
    names_a = source.members[0].feature_names
    names_b = source.members[1].feature_names
    assert source.feature_names == names_a + [n for n in names_b if n not in names_a]
    X = parity_rows(source, 10_000, seed=3)
    p = run_onnx(onnx_session(out), X)
    assert np.max(np.abs(p - reference_probabilities(source, X))) <= PARITY_TOLERANCE
    # the weighted sum of the two members' own graphs' inputs
    single = load_source(runs / "run")
    cols = [source.feature_names.index(n) for n in single.feature_names]
    p_a = reference_probabilities(single, X[:, cols])
    assert not np.allclose(p, p_a)
    card = json.loads((tmp_path / "ens.card.json").read_text())
    assert card["kind"] == "ensemble" and card["input_order"] == source.feature_names
    assert card["ensemble"]["weights"] == {"price": 0.3, "volume": 0.7}
    assert [m["group"] for m in card["members"]] == ["price", "volume"]
