"""Reading a run directory: records, non-finite spellings, missing keys, and located errors."""

import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from futures_vpoc.diagnostics.rundata import read_run, to_float
from futures_vpoc.errors import DataError

from test_diagnostics_support import RUNS, copy_run, read_records, write_records


def test_reads_a_fixture_run():
    run = read_run(RUNS / "diverging")
    assert len(run.metrics) == 7 and list(run.metrics.epochs) == list(range(1, 8))
    assert [e.name for e in run.events].count("rollback") == 4
    assert run.events[3].detail == {"lr_from": 10.0, "lr_to": 5.0}
    assert run.setting("hidden_dims") == [64, 32, 16] and run.summary_float("test_p_value") == 0.93
    assert run.predictions is None and any("predictions_test.parquet" in n for n in run.notes)
    assert not run.metrics["val_loss"].flags.writeable


@pytest.mark.parametrize("value, expected", [(None, math.nan), ("NaN", math.nan), ("Infinity", math.inf),
                                             ("-Infinity", -math.inf), (float("nan"), math.nan), (2, 2.0)])
def test_non_finite_spellings(value, expected):
    got = to_float(value)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


def test_null_strings_and_bare_tokens_are_non_finite_and_missing_keys_are_not(tmp_path):
    run_dir = copy_run("healthy", tmp_path)
    records = read_records(run_dir)[:4]
    records[1]["val_loss"] = None
    records[2]["train_loss"] = "Infinity"
    del records[3]["grad_norm_max"]
    write_records(run_dir, records)
    text = (run_dir / "metrics.jsonl").read_text().replace('"val_loss": 0.69', '"val_loss": NaN, "x": 0.69', 1)
    (run_dir / "metrics.jsonl").write_text(text)
    m = read_run(run_dir).metrics
    assert list(m.nonfinite("val_loss")) == [True, True, False, False]
    assert list(m.nonfinite("train_loss")) == [False, False, True, False]
    assert list(m.present["grad_norm_max"]) == [True, True, True, False]
    assert not m.nonfinite("grad_norm_max").any()
    assert any("'grad_norm_max' missing from 1 of 4" in n for n in read_run(run_dir).notes)


@pytest.mark.parametrize("name", ["config.json", "metrics.jsonl", "summary.json"])
def test_a_missing_file_is_named(tmp_path, name):
    run_dir = copy_run("healthy", tmp_path)
    (run_dir / name).unlink()
    with pytest.raises(DataError, match=name):
        read_run(run_dir)


def test_not_a_directory(tmp_path):
    with pytest.raises(DataError, match="not a directory"):
        read_run(tmp_path / "nope")


def test_malformed_json_is_located(tmp_path):
    run_dir = copy_run("healthy", tmp_path)
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    lines[2] = lines[2][:-5]
    (run_dir / "metrics.jsonl").write_text("\n".join(lines))
    with pytest.raises(DataError, match=r"metrics\.jsonl:3: not valid JSON"):
        read_run(run_dir)
    (run_dir / "summary.json").write_text("[1, 2]")
    with pytest.raises(DataError, match=r"summary\.json: expected a JSON object"):
        read_run(run_dir)


def test_records_that_are_neither_epoch_nor_event_and_bad_numbers(tmp_path):
    run_dir = copy_run("healthy", tmp_path)
    records = read_records(run_dir)[:3]
    write_records(run_dir, records + [{"note": "hello"}])
    with pytest.raises(DataError, match=r":4: neither an epoch record"):
        read_run(run_dir)
    records[1]["val_loss"] = "low"
    write_records(run_dir, records)
    with pytest.raises(DataError, match=r":2: column 'val_loss' value 'low': not a number"):
        read_run(run_dir)


def test_a_repeated_epoch_keeps_the_last_record(tmp_path):
    run_dir = copy_run("healthy", tmp_path)
    records = read_records(run_dir)[:3]
    write_records(run_dir, records + [dict(records[2], val_loss=0.5)])
    run = read_run(run_dir)
    assert len(run.metrics) == 3 and run.metrics["val_loss"][2] == 0.5
    assert any("recorded more than once" in n for n in run.notes)


def test_missing_summary_keys_are_noted(tmp_path):
    run_dir = copy_run("healthy", tmp_path)
    summary = json.loads((run_dir / "summary.json").read_text())
    del summary["test_p_value"], summary["n_val"]
    (run_dir / "summary.json").write_text(json.dumps(summary))
    assert any("missing test_p_value, n_val" in n for n in read_run(run_dir).notes)


def test_predictions_are_read_and_checked(tmp_path):
    run_dir = copy_run("healthy", tmp_path)
    table = pa.table({"timestamp": pa.array(np.arange(4), pa.int64()), "probability": [0.4, 0.6, 0.7, 0.2],
                      "label": [0, 1, 1, 1]})
    pq.write_table(table, run_dir / "predictions_test.parquet")
    run = read_run(run_dir)
    assert list(run.predictions.probability) == [0.4, 0.6, 0.7, 0.2] and list(run.predictions.label) == [0, 1, 1, 1]
    pq.write_table(table.drop(["label"]), run_dir / "predictions_test.parquet")
    with pytest.raises(DataError, match="missing column"):
        read_run(run_dir)
    (run_dir / "predictions_test.parquet").write_bytes(b"not parquet")
    with pytest.raises(DataError, match="predictions_test.parquet: cannot read"):
        read_run(run_dir)


def test_trainer_resolved_settings_reach_the_report():
    from futures_vpoc.diagnostics.rundata import _with_resolved

    config = {"device": "auto", "adaptive_loss": True,
              "resolved": {"device": "cpu", "loss": "adaptive_huber", "optimizer": "AdamW", "amp_dtype": "bfloat16"}}
    out = _with_resolved(config)
    assert (out["device"], out["loss"], out["optimizer"], out["precision"]) == ("cpu", "adaptive_huber", "AdamW", "bfloat16")
    assert _with_resolved({"resolved": {"amp_dtype": None}})["precision"] == "fp32"
    assert _with_resolved({"loss": "given"}) == {"loss": "given"}


def test_one_best_epoch_everywhere_the_trainers(tmp_path):
    """Issue 14: the analysis named the trainer's best epoch in one place and the lowest val loss in another.

    The trainer keeps an epoch only when it beats the best by min_delta, so a later epoch with a
    loss lower by less than that is not its best; every part of the analysis now follows the trainer.
    """
    from test_diagnostics_support import patch_json

    from futures_vpoc.diagnostics.analysis import analyze_run

    run_dir = copy_run("healthy", tmp_path)
    records = [r for r in read_records(run_dir) if "event" not in r]
    epochs = [r["epoch"] for r in records]
    chosen = epochs[len(epochs) // 2]
    best_loss = min(r["val_loss"] for r in records)
    for r in records:  # a later epoch beats the chosen one by less than any min_delta would accept
        r["val_loss"] = best_loss if r["epoch"] == chosen else (best_loss - 1e-9 if r["epoch"] == epochs[-1]
                                                                else best_loss + 0.05)
    write_records(run_dir, records)
    patch_json(run_dir / "summary.json", best_epoch=chosen, best_val_loss=best_loss)
    run = read_run(run_dir)
    assert run.metrics.epochs[run.best_index()] == chosen
    analysis = analyze_run(run_dir)
    improvement = next(c for c in analysis.criteria if c.name == "Validation loss improvement")
    assert f"(best, epoch {chosen})" in improvement.measured, improvement.measured
    assert dict(analysis.run_facts)["Best epoch"].startswith(str(chosen))
