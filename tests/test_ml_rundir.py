"""Run directories never overwrite a run; metrics lines are valid JSON; the progress bar and DDP helpers."""

import datetime as dt
import io
import json
import math

import pytest
import torch

from futures_vpoc.errors import UsageError
from futures_vpoc.ml.distributed import DistInfo, from_env, shard
from futures_vpoc.ml.rundir import MetricsLog, Progress, jsonable, read_metrics, resolve_run_dir, write_json

NOW = dt.datetime(2025, 11, 1, 16, 46, 35)


def test_new_or_empty_folder_is_used_as_is(tmp_path):
    assert resolve_run_dir(tmp_path / "a" / "b", now=NOW) == (tmp_path / "a" / "b", None)
    assert (tmp_path / "a" / "b").is_dir()
    assert resolve_run_dir(tmp_path / "a" / "b", now=NOW)[0] == tmp_path / "a" / "b"  # still empty


def test_a_folder_with_anything_in_it_gets_a_timestamped_subfolder(tmp_path):
    (tmp_path / "summary.json").write_text("{}")
    first, note = resolve_run_dir(tmp_path, now=NOW)
    assert first == tmp_path / "run_20251101_164635" and first.is_dir() and "already holds files" in note
    second, _ = resolve_run_dir(tmp_path, now=NOW)
    assert second == tmp_path / "run_20251101_164635_2"
    probe, _ = resolve_run_dir(tmp_path, now=NOW, create=False)
    assert probe == tmp_path / "run_20251101_164635_3" and not probe.exists()
    assert (tmp_path / "summary.json").read_text() == "{}"


def test_refusals(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        resolve_run_dir(f)
    with pytest.raises(UsageError, match="no last.pt"):
        resolve_run_dir(tmp_path, resume=True)
    (tmp_path / "last.pt").write_bytes(b"")
    assert resolve_run_dir(tmp_path, resume=True) == (tmp_path, None)


def test_json_without_nan(tmp_path):
    assert jsonable({"a": math.nan, "b": (1, math.inf), "c": torch.tensor(2.5), "d": [torch.tensor([1, 2])]}) == {
        "a": None, "b": [1, None], "c": 2.5, "d": [[1, 2]]}
    log = MetricsLog(tmp_path / "metrics.jsonl")
    log.append({"epoch": 1, "val_loss": math.nan})
    log.append({"event": "rollback", "epoch": 1, "step": 7, "detail": "x"})
    epochs, events = read_metrics(tmp_path / "metrics.jsonl")
    assert epochs == [{"epoch": 1, "val_loss": None}] and events[0]["step"] == 7
    log.rewrite(epochs)
    assert read_metrics(tmp_path / "metrics.jsonl") == (epochs, [])
    write_json(tmp_path / "s.json", {"x": math.nan})
    assert json.loads((tmp_path / "s.json").read_text()) == {"x": None}
    MetricsLog(tmp_path / "other.jsonl", enabled=False).append({"epoch": 1})
    assert not (tmp_path / "other.jsonl").exists()


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal():
    """The epoch bar is tqdm's (issue 13): drawn on a terminal, silent on a pipe, cleared before a log line."""
    tty = FakeTTY()
    bar = Progress(tty, interval=0.0)
    bar.update(2, 30, 50, 100, 0.6931, 0.0, 0.42, 2e-4)
    text = tty.getvalue()
    assert text.startswith("\r") and "epoch 2/30" in text and "50/100" in text and "nan 0.0%" in text
    assert "|g| 0.42" in text and "lr 2.00e-04" in text
    drawn = len(tty.getvalue())
    bar.clear()
    cleared = tty.getvalue()[drawn:]
    assert cleared.startswith("\r") and cleared.endswith("\r") and cleared.strip() == ""
    bar.update(3, 30, 1, 100, 0.6, 0.0, 0.4, 2e-4)  # a new epoch gets a new bar
    assert "epoch 3/30" in tty.getvalue()[drawn:]
    bar.close()
    pipe = io.StringIO()
    quiet = Progress(pipe, interval=0.0)
    quiet.update(1, 1, 1, 1, 0.1, 0.0, 0.1, 1e-3)
    quiet.clear()
    quiet.close()
    assert not quiet.active and pipe.getvalue() == ""


def test_progress_helpers_are_quiet_off_a_terminal(capsys):
    from futures_vpoc import progress

    pipe, tty = io.StringIO(), FakeTTY()
    assert list(progress.bar(range(3), desc="folds", stream=pipe)) == [0, 1, 2] and pipe.getvalue() == ""
    assert list(progress.bar(range(3), desc="folds", stream=tty)) == [0, 1, 2] and "folds" in tty.getvalue()
    hidden = FakeTTY()
    assert list(progress.bar(range(2), stream=hidden, enabled=False)) == [0, 1] and hidden.getvalue() == ""
    progress.say("fold 1: done")
    assert capsys.readouterr().out == "fold 1: done\n"


def test_dist_info_and_sharding():
    assert from_env({}) == DistInfo()
    info = from_env({"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "1"})
    assert info == DistInfo(1, 2, 1) and info.enabled and not info.is_main
    perm = torch.tensor([5, 3, 8, 1, 0, 9, 2])
    a, b = shard(perm, DistInfo(0, 2, 0)), shard(perm, DistInfo(1, 2, 1))
    assert a.tolist() == [5, 8, 0] and b.tolist() == [3, 1, 9]  # equal lengths, disjoint, drop_last
    assert shard(perm, DistInfo()).tolist() == perm.tolist()
