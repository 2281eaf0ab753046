"""Training from a partitioned dataset through memory-mapped shards (issue 19, data larger than memory).

The same bars as one Parquet file (in-memory ``build_dataset``) and as a month-partitioned folder
(``build_sharded``) give the same arrays, splits, scaler, feature report and counts; a short
training run on each gives the same validation loss; ``train --data DIR`` (and ``--resume``) works.
"""

from __future__ import annotations

import json
import re
import shlex

import numpy as np
import pandas as pd
import pytest

from futures_vpoc.cli import Parser
from futures_vpoc.cli.train import CACHE_DIR, add_train_parser, cmd_train
from futures_vpoc.data.barframe import read_merged, write_merged
from futures_vpoc.data.partitioned import write_partitioned
from futures_vpoc.data.synthetic import SynthConfig, synthesize
from futures_vpoc.dataset import build_dataset
from futures_vpoc.dataset.sharded import build_sharded
from futures_vpoc.errors import DataError, UsageError

torch = pytest.importorskip("torch")

from futures_vpoc.ml import distributed as ddp  # noqa: E402
from futures_vpoc.ml.config import TrainConfig  # noqa: E402
from futures_vpoc.ml.epoch import epoch_order, epoch_rows  # noqa: E402
from futures_vpoc.ml.inputs import TrainData, paged_block_rows  # noqa: E402
from futures_vpoc.ml.trainer import Trainer  # noqa: E402

PARTS = ("train", "val", "test")


@pytest.fixture(scope="module")
def same_bars(tmp_path_factory):
    """About 3.5 months of synthetic 1-minute bars (~106,000) as one Parquet file and as a dataset folder."""
    root = tmp_path_factory.mktemp("sharded")
    bars, _ = synthesize(SynthConfig(start="2023-01-02", end="2023-04-20", seed=3))
    write_merged(bars, root / "one.parquet")
    write_partitioned(bars, root / "ds")
    return root


@pytest.fixture(scope="module", params=["direction", "rank"])
def both(request, same_bars):
    """(in-memory Dataset, sharded Dataset) of the same bars; rank also with --data_fraction 0.8."""
    target = request.param
    fraction = 0.8 if target == "rank" else 1.0
    whole = build_dataset(read_merged(same_bars / "one.parquet"), target=target, horizon=5, data_fraction=fraction)
    sharded = build_sharded(same_bars / "ds", same_bars / f"cache_{target}", target=target, horizon=5,
                            data_fraction=fraction)
    return whole, sharded, same_bars / f"cache_{target}"


def test_the_sharded_build_equals_the_in_memory_build(both):
    whole, sharded, cache = both
    for p in PARTS:
        X = getattr(sharded, f"X_{p}")
        assert isinstance(X, np.memmap) and X.dtype == np.float32 and X.filename is not None
        np.testing.assert_array_equal(X, getattr(whole, f"X_{p}"))  # bit for bit: same features, same scaler
        for k in ("y", "fwd"):
            np.testing.assert_array_equal(getattr(sharded, f"{k}_{p}"), getattr(whole, f"{k}_{p}"))
        assert getattr(sharded, f"t_{p}").equals(getattr(whole, f"t_{p}"))
    assert sharded.feature_names == whole.feature_names and len(sharded.feature_names) > 10
    assert sharded.counts == whole.counts and sharded.counts["n_train"] > 30_000
    assert sharded.feature_report == whole.feature_report
    assert sharded.boundaries == whole.boundaries and sharded.purge == whole.purge
    assert sharded.inference == whole.inference
    assert sharded.state_dict() == whole.state_dict()  # scaler (and rank transform) exactly
    a, b = whole.scaler, sharded.scaler
    for k in ("center_", "scale_", "lower_", "upper_"):
        np.testing.assert_allclose(getattr(b, k), getattr(a, k), rtol=1e-12, atol=0)
    if whole.X_test_unscored is not None:
        np.testing.assert_array_equal(sharded.X_test_unscored, whole.X_test_unscored)
        assert sharded.t_test_unscored.equals(whole.t_test_unscored)
    else:
        assert sharded.X_test_unscored is None
    assert {p.name for p in cache.iterdir()} <= {"X_train.npy", "X_val.npy", "X_test.npy", "X_test_unscored.npy"}


def _config(**kw) -> TrainConfig:
    base = dict(epochs=2, batch_size=512, hidden_dims=(16,), warmup_steps=10, learning_rate=0.002, seed=7,
                device="cpu", threads=1, verbose=False)
    return TrainConfig(**{**base, **kw})


def test_training_on_shards_gives_the_in_memory_validation_loss(both):
    whole, sharded, _ = both
    if whole.target != "direction":
        pytest.skip("one target is enough for the training comparison")
    mem = TrainData.from_dataset(whole)
    paged = TrainData.from_dataset(sharded)
    paged = TrainData(**{**{f: getattr(paged, f) for f in paged.__dataclass_fields__},
                         "block_rows": len(paged.X_train)})  # one block: the in-memory order
    assert paged_block_rows(torch.from_numpy(paged.X_train)) == len(paged.X_train)
    assert paged_block_rows(torch.from_numpy(mem.X_train)) is None
    runs = [Trainer(_config(), d, None, console=False).fit() for d in (mem, paged)]
    a, b = (r.summary for r in runs)
    assert a["best_val_loss"] == pytest.approx(b["best_val_loss"], abs=1e-6, rel=0)
    assert a["test_log_loss"] == pytest.approx(b["test_log_loss"], abs=1e-6, rel=0)


def test_block_order_is_a_seeded_permutation_of_whole_blocks():
    n, block = 10_000, 1_024
    order = epoch_order(n, seed=3, epoch=1, block_rows=block)
    assert torch.equal(torch.sort(order).values, torch.arange(n))
    ids = (order // block).tolist()
    runs = [ids[0]] + [b for a, b in zip(ids[:-1], ids[1:]) if b != a]  # each block's rows come together
    assert sorted(runs) == list(range(10))  # every block visited once, as one run
    assert runs != list(range(10))  # in a shuffled order
    assert ids[:block] != sorted(ids[:block]) or order[:50].tolist() != sorted(order[:50].tolist())
    assert torch.equal(order, epoch_order(n, 3, 1, block))
    assert not torch.equal(order, epoch_order(n, 3, 2, block))
    X = torch.arange(n, dtype=torch.float32)[:, None]
    perm_rows, _ = epoch_rows(X, X[:, 0], 3, 1, ddp.DistInfo(), torch.device("cpu"))
    assert torch.equal(perm_rows[:, 0].long(), epoch_order(n, 3, 1, None))  # unpaged: today's order
    assert torch.equal(epoch_order(n, 3, 1, n), epoch_order(n, 3, 1, None))


def test_small_blocks_train_and_visit_every_row(both, monkeypatch):
    """With 8,192-row blocks a paged epoch still takes every training row once, in block order."""
    whole, sharded, _ = both
    if whole.target != "direction":
        pytest.skip("one target is enough")
    base = TrainData.from_dataset(sharded)
    data = TrainData(**{**{f: getattr(base, f) for f in base.__dataclass_fields__}, "block_rows": 8_192})
    seen = []
    import futures_vpoc.ml.epoch as epoch_module

    real = epoch_module.paged_batches

    def spy(X, y, seed, epoch, info, block_rows, batch_size):
        seen.append((block_rows, X.data_ptr() == int(data.X_train.__array_interface__["data"][0])))
        return real(X, y, seed, epoch, info, block_rows, batch_size)

    monkeypatch.setattr(epoch_module, "paged_batches", spy)
    result = Trainer(_config(epochs=1), data, None, console=False).fit()
    assert seen == [(8_192, True)]
    assert np.isfinite(result.summary["best_val_loss"]) and result.summary["n_train"] == len(data.X_train)


def test_check_reads_blocks_and_names_the_first_bad_value():
    X = np.zeros((150_000, 3), dtype=np.float32)
    X[140_000, 2] = np.nan
    X[100_001, 1] = np.inf
    X[149_999, 1] = np.nan
    t = pd.date_range("2024-01-01", periods=len(X), freq="min", tz="UTC")
    ok = np.zeros(10, np.float32), np.zeros(10, np.float32)
    data = TrainData(X, np.zeros(len(X), np.float32), np.zeros((10, 3), np.float32), ok[0],
                     np.zeros((10, 3), np.float32), ok[1], ("a", "b", "c"), t_train=t)
    first = re.escape(t[100_001].isoformat())  # column b is the first column with a bad value; two of them
    with pytest.raises(DataError, match=rf"2 non-finite value\(s\) in the train part \(first at {first}") as exc:
        data.check()
    assert exc.value.column == "b"


def _parse(text):
    top = Parser(prog="futures-vpoc", allow_abbrev=False)
    add_train_parser(top.add_subparsers(dest="command", required=True, parser_class=Parser))
    args = top.parse_args(["train", *shlex.split(text)])
    args.argv = ["train", *shlex.split(text)]
    return args


QUICK = "--epochs 1 --batch_size 512 --hidden_dims 16 --warmup_steps 10 --threads 1 --device cpu"


@pytest.mark.slow
def test_train_cli_reads_a_dataset_folder_and_resumes(same_bars, tmp_path):
    out = tmp_path / "run"
    assert cmd_train(_parse(f"--data {same_bars / 'ds'} --output_dir {out} {QUICK}")) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert len(cfg["data_sha256"]) == 64 and cfg["counts"]["n_train"] > 30_000
    assert {p.name for p in (out / CACHE_DIR).iterdir()} >= {"X_train.npy", "X_val.npy", "X_test.npy"}
    assert np.load(out / CACHE_DIR / "X_train.npy", mmap_mode="r").shape[0] == cfg["counts"]["n_train"]
    assert (out / "summary.json").exists() and (out / "predictions_test.parquet").exists()
    assert cmd_train(_parse(f"--output_dir {out} --resume --epochs 2")) == 0  # the folder again, checked by sha256
    assert json.loads((out / "summary.json").read_text())["epochs_completed"] == 2
    moved = tmp_path / "other"
    write_partitioned(read_merged(same_bars / "one.parquet").iloc[:-1000], moved)
    with pytest.raises(DataError, match="differs from the data the run was trained on"):
        cmd_train(_parse(f"--data {moved} --output_dir {out} --resume --epochs 3"))


def test_train_cli_refuses_a_folder_that_is_no_dataset_and_writes_nothing(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataError, match="no year=YYYY/month=MM"):
        cmd_train(_parse(f"--data {empty} --output_dir {tmp_path / 'r'} {QUICK}"))
    assert not (tmp_path / "r").exists()


def test_a_failed_build_removes_the_new_run_directory(same_bars, tmp_path):
    """The run directory is made before the shards are built; a build that fails takes it away again."""
    short = tmp_path / "short"
    write_partitioned(read_merged(same_bars / "one.parquet").iloc[:3000], short)  # about 2 sessions
    for out in (tmp_path / "r", tmp_path / "r2" / "nested"):
        with pytest.raises(UsageError, match="sessions for train/validation/test"):
            cmd_train(_parse(f"--data {short} --output_dir {out} {QUICK}"))
        assert not out.exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    with pytest.raises(UsageError, match="sessions for train/validation/test"):
        cmd_train(_parse(f"--data {short} --output_dir {busy} {QUICK}"))
    assert [p.name for p in busy.iterdir()] == ["keep.txt"]  # its new run_* subfolder is gone
