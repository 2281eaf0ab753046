"""Issue 19: ``scale-up`` and ``ensemble`` interrupted mid-way resume into the same ``--output_dir``.

The study claims its folder with ``study.json``; each finished rung/member leaves a done marker. A
rerun of the same command trains only what had not finished, and its result equals an
uninterrupted run's; other settings into a folder holding a study are refused; a non-empty folder
without ``study.json`` still gets a new ``run_*`` subfolder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import futures_vpoc.ml.ensemble as ens
import futures_vpoc.ml.scaleup as su
from futures_vpoc.cli import main
from futures_vpoc.ml.executor import DONE

TINY = ["--epochs", "1", "--batch_size", "512", "--threads", "1", "--device", "cpu"]
LADDER = ["--ladder", "4", "8", "16", "--val_tolerance", "1"]  # tolerance 1: every stable rung passes
GROUPS = ["--groups", "price", "volume", "--hidden_dims", "4"]
REAL = {"_train_rung": su._train_rung, "_train_member": ens._train_member}


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> Path:
    from futures_vpoc.data.barframe import write_merged
    from futures_vpoc.data.synthetic import SynthConfig, synthesize

    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-01-27", seed=11, signal=5))
    return write_merged(bars, tmp_path_factory.mktemp("resume_data") / "bars.parquet")


def _scaleup(data: Path, out: Path, *extra: str) -> int:
    return main(["scale-up", "--data", str(data), "--output_dir", str(out), *TINY, "--features", "price",
                 *LADDER, *extra])


def _ensemble(data: Path, out: Path, *extra: str) -> int:
    return main(["ensemble", "--data", str(data), "--output_dir", str(out), *TINY, *GROUPS, *extra])


def _counting(monkeypatch, module, name: str, fail_on: str | None = None) -> list[str]:
    """Wrap ``module.name`` (a rung's or member's executor task) to record what trains; with
    ``fail_on`` that rung/member raises (an interrupted study: retried once, then the study ends)."""
    real, calls = REAL[name], []

    def wrapped(cfg, *args, **kwargs):
        key = su.arch_name(cfg.hidden_dims) if module is su else cfg.features[0]
        calls.append(key)
        if key == fail_on:
            raise RuntimeError(f"planted interruption in {key}")
        return real(cfg, *args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)
    return calls


def _same(a, b, tol=1e-9) -> None:
    """Equal JSON documents, floats to ``tol``; run folders and timings left out."""
    if isinstance(a, dict):
        keys = {k for k in a if k not in ("run_dir", "samples_per_second", "winner_run_dir")}
        assert keys == {k for k in b if k not in ("run_dir", "samples_per_second", "winner_run_dir")}
        for k in keys:
            _same(a[k], b[k], tol)
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y, tol)
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, abs=tol, rel=tol)
    else:
        assert a == b


@pytest.fixture(scope="module")
def scaleup_whole(data_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("scaleup_whole") / "out"
    assert _scaleup(data_file, out) == 0
    return out


def test_scaleup_interrupted_resumes_only_unfinished_rungs(data_file, scaleup_whole, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    calls = _counting(monkeypatch, su, "_train_rung", fail_on="8")
    assert _scaleup(data_file, out) == 2  # rung 2 fails its attempt and its retry: the study ends
    assert calls == ["4", "8", "8"]
    assert (out / "study.json").is_file() and (out / "4" / DONE).is_file()
    assert not (out / "8" / DONE).exists() and not (out / "16").exists()
    (out / "8").mkdir(exist_ok=True)  # a real interruption leaves a partial folder behind
    (out / "8" / "stale.txt").write_text("left by the interrupted attempt")
    capsys.readouterr()

    calls = _counting(monkeypatch, su, "_train_rung")
    assert _scaleup(data_file, out) == 0
    assert calls == ["8", "16"]  # rung 1 is read from its marker, never trained again
    printed = capsys.readouterr().out
    assert "scale-up: resumed 1 of 3 (4 finished before, not trained again)" in printed
    assert not (out / "8" / "stale.txt").exists()  # the interrupted rung retrained from a clean folder
    assert (out / "4" / "analysis.md").is_file() and (out / "16" / DONE).is_file()
    _same(json.loads((out / "scaleup.json").read_text()), json.loads((scaleup_whole / "scaleup.json").read_text()))

    # a finished study run again: nothing trains, the same table
    calls = _counting(monkeypatch, su, "_train_rung")
    assert _scaleup(data_file, out, "--executor", "local", "--workers", "2") == 0
    assert calls == [] and "resumed 3 of 3" in capsys.readouterr().out
    _same(json.loads((out / "scaleup.json").read_text()), json.loads((scaleup_whole / "scaleup.json").read_text()))


def test_scaleup_other_settings_are_refused(data_file, scaleup_whole, capsys):
    before = sorted(p.name for p in scaleup_whole.rglob("*"))
    capsys.readouterr()
    assert _scaleup(data_file, scaleup_whole, "--learning_rate", "0.01") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "already holds a scale-up of other settings" in err and "train_config.learning_rate" in err
    assert main(["scale-up", "--data", str(data_file), "--output_dir", str(scaleup_whole), *TINY, "--features",
                 "price", "--ladder", "4", "8", "--val_tolerance", "1"]) == 2
    assert "differs in ladder" in capsys.readouterr().err
    assert sorted(p.name for p in scaleup_whole.rglob("*")) == before  # nothing written


def test_scaleup_into_a_folder_without_a_study_gets_a_subfolder(data_file, tmp_path, capsys):
    out = tmp_path / "busy"
    out.mkdir()
    (out / "notes.txt").write_text("not a study")
    capsys.readouterr()
    assert main(["scale-up", "--data", str(data_file), "--output_dir", str(out), *TINY, "--features", "price",
                 "--ladder", "4"]) == 0
    subs = [p for p in out.iterdir() if p.is_dir()]
    assert len(subs) == 1 and subs[0].name.startswith("run_")
    assert (subs[0] / "study.json").is_file() and (subs[0] / "scaleup.json").is_file()
    assert not (out / "study.json").exists()
    assert f"this run writes to {subs[0]}" in capsys.readouterr().out


def test_ensemble_interrupted_resumes_only_unfinished_members(data_file, tmp_path, monkeypatch, capsys):
    whole = tmp_path / "whole"
    assert _ensemble(data_file, whole) == 0
    out = tmp_path / "out"
    calls = _counting(monkeypatch, ens, "_train_member", fail_on="volume")
    assert _ensemble(data_file, out) == 2
    assert calls == ["price", "volume", "volume"]
    assert (out / "price" / DONE).is_file() and not (out / "volume" / DONE).exists()
    capsys.readouterr()

    calls = _counting(monkeypatch, ens, "_train_member")
    assert _ensemble(data_file, out) == 0
    assert calls == ["volume"]
    assert "ensemble: resumed 1 of 2 (price finished before, not trained again)" in capsys.readouterr().out
    _same(json.loads((out / "ensemble.json").read_text()), json.loads((whole / "ensemble.json").read_text()))

    # other settings (another group list) into the same folder: refused, nothing trained
    calls = _counting(monkeypatch, ens, "_train_member")
    assert _ensemble(data_file, out, "--groups", "price", "volatility") == 2
    assert calls == [] and "already holds a ensemble of other settings" in capsys.readouterr().err


def test_claim_study_rules(tmp_path):
    from futures_vpoc.cli.study import claim_study, write_study
    from futures_vpoc.errors import UsageError

    settings = {"data_sha256": "abc", "ladder": ["4"], "train_config": {"epochs": 1}}
    fresh = claim_study(tmp_path / "new", settings, "scale-up")
    assert fresh.folder == tmp_path / "new" and not fresh.resuming and not fresh.folder.exists()
    write_study(fresh)
    again = claim_study(tmp_path / "new", settings, "scale-up")
    assert again.resuming and again.folder == fresh.folder
    (tmp_path / "new" / "4").mkdir()
    with pytest.raises(UsageError, match=r"differs in train_config\.epochs"):
        claim_study(tmp_path / "new", {**settings, "train_config": {"epochs": 2}}, "scale-up")
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "fold_00").mkdir()
    with pytest.raises(UsageError, match="already holds files but no study.json"):
        claim_study(tmp_path / "runs", settings, "walk-forward", foreign="refuse")
    (tmp_path / "f").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        claim_study(tmp_path / "f", settings, "scale-up")
