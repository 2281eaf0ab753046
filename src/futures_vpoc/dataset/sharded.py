"""The training arrays of a partitioned bar dataset, as memory-mapped ``.npy`` shards on disk.

:func:`build_sharded` gives the same :class:`~futures_vpoc.dataset.build.Dataset` as
:func:`~futures_vpoc.dataset.build.build_dataset` of the whole BarFrame (same rows, parts, purge,
kept features, scaler, labels and counts; the X values equal bit for bit), but never holds the
feature table in memory: its ``X_train``, ``X_val``, ``X_test`` (and ``X_test_unscored``) are
read-only-on-disk memmaps (``numpy.load(..., mmap_mode="c")``: pages are read from the file when
touched and dropped by the kernel under memory pressure; a write would stay private to the process).

How, month by month (the same six steps as :mod:`.build`)
    1. **Scan** (stamps, trade dates, then ``close``/``contract``/``trade_date``): the nominal bar
       width over every stamp, the session count check (:func:`~futures_vpoc.dataset.require_sessions`),
       the labels of each month with the first bar of the next month appended (a label never crosses
       a session, and sessions never span two partitions; the appended bar only tells that the data
       reaches past the month, rule 3 of :mod:`futures_vpoc.labels`). Then the window, ``val_start`` and
       ``test_start`` as in the whole build.
    2. **Features**: :func:`futures_vpoc.features.partitioned.build_partitioned` with
       ``train_end = val_start`` (month by month with carried warm-up, equal to the whole build)
       into ``CACHE/features`` (float64 Parquet, deleted at the end).
    3. **Availability** (pass over the feature months): per-feature counts of values on the
       training span; the kept features (:data:`~futures_vpoc.dataset.MIN_FEATURE_COVERAGE`).
    4. **Rows** (pass): the complete-row mask, then the candidate rows, the cut, the purge and the
       label-end backstop, the flat rows: the whole build's own functions on per-bar 1-D arrays.
    5. **Scaler** (pass): the training rows of the kept features are written column-major to
       ``CACHE/train_raw.npy`` (float64, shape (d, n_train)); each column's percentiles are then
       those of one contiguous row (the :class:`~futures_vpoc.dataset.RobustScaler` fit of that
       column alone): exactly the in-memory fit, not a running approximation.
    6. **Shards** (pass): each part's rows scaled, checked finite and cast to float32 into
       ``CACHE/X_{train,val,test,test_unscored}.npy``; ``train_raw.npy`` is deleted.

Memory: about 60 bytes per bar of the whole dataset (stamps, labels, masks: 1-D arrays), one
month's feature table, and one column of the training rows (8 bytes per training row) at a time;
never the (rows, features) table. Disk: the feature months (float64, deleted) and the shards
(float32, 4 bytes per row and kept feature). ``train`` puts the cache in ``RUN/data_cache/``.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.dataset.availability import MIN_FEATURE_COVERAGE, choose_from_shares, require_sessions
from futures_vpoc.dataset.build import (
    Dataset,
    SplitBoundaries,
    _counts,
    _drop_unlabelled,
    _finite32,
    _require_rows,
    _split,
    _time_boundaries,
    _window,
    inference_state,
)
from futures_vpoc.dataset.scaling import RankTransform, RobustScaler
from futures_vpoc.dataset.splits import SplitSpec
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.labels import LabelTable, make_labels

PARTS = ("train", "val", "test")
SHARD_FILES = tuple(f"X_{p}.npy" for p in (*PARTS, "test_unscored"))
"""The shard files a cache holds (float32, shape (n_part, d), C order)."""


@dataclass(frozen=True, eq=False)
class _Scan:
    """Per-bar 1-D facts of the whole dataset (step 1).

    ``stamps`` (UTC bar starts), ``labels`` (every bar's :class:`LabelTable`), ``month_rows``
    (bars per partition, in order), ``contracts`` (the contract codes seen) and ``trade_date``.
    """

    stamps: pd.DatetimeIndex
    labels: LabelTable
    month_rows: tuple
    contracts: tuple
    trade_date: np.ndarray


def _scan_stamps(folder) -> tuple[pd.DatetimeIndex, np.ndarray, list[int]]:
    """Every bar's stamp and trade date, and the bars of each month (non-empty months only)."""
    from futures_vpoc.data.partitioned import iter_partitions

    stamps, dates, rows = [], [], []
    for month in iter_partitions(folder, columns=["trade_date"]):
        if len(month) == 0:
            continue
        stamps.append(pd.DatetimeIndex(month.index).tz_convert("UTC").as_unit("ns").asi8)
        dates.append(pd.DatetimeIndex(month["trade_date"]).as_unit("ns").asi8)
        rows.append(len(month))
    if not rows:
        raise DataError("the dataset holds no bars", file=str(folder), hint="check the dataset")
    index = pd.DatetimeIndex(np.concatenate(stamps).view("datetime64[ns]")).tz_localize("UTC")
    return index, np.concatenate(dates).view("datetime64[ns]"), rows


def _scan(folder, target: str, horizon: int) -> _Scan:
    """Step 1: stamps, the bar width over all of them, each month's labels (next month's first bar appended)."""
    from futures_vpoc.data.barframe import bar_width
    from futures_vpoc.data.partitioned import iter_partitions

    stamps, trade_date, rows = _scan_stamps(folder)
    width = bar_width(stamps)
    frames, contracts = [], set()
    prev = None

    def labels_of(month: pd.DataFrame, after: pd.DataFrame | None) -> pd.DataFrame:
        bars = month if after is None or len(after) == 0 else pd.concat([month, after.iloc[:1]])
        return make_labels(bars, target, horizon, bar_width=width).frame.iloc[:len(month)]

    for month in iter_partitions(folder, columns=["close", "contract", "trade_date"]):
        if len(month) == 0:
            continue
        contracts.update(pd.unique(month["contract"].astype(str)))
        if prev is not None:
            frames.append(labels_of(prev, month))
        prev = month
    frames.append(labels_of(prev, None))
    frame = pd.concat(frames)
    frame.index = stamps
    return _Scan(stamps, LabelTable(frame, target, int(horizon), width), tuple(rows), tuple(sorted(contracts)),
                 trade_date)


def _months(features: Path, names: tuple[str, ...]):
    """The feature months as float64 arrays, shape (bars of the month, d), in time order."""
    from futures_vpoc.data.partitioned import partitions

    for part in partitions(features):
        frame = pd.read_parquet(part.path, engine="pyarrow", columns=list(names))
        yield np.ascontiguousarray(frame.to_numpy(dtype=np.float64))


def _offsets(month_rows) -> np.ndarray:
    return np.r_[0, np.cumsum(month_rows, dtype=np.int64)]


def _coverage(features: Path, names, month_rows, masks: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Step 3: per feature, the rows of each mask (bool, shape (n,)) where it has a value (int64, shape (d,));
    refuses +-inf as the whole build does."""
    counts = {k: np.zeros(len(names), dtype=np.int64) for k in masks}
    starts = _offsets(month_rows)
    for k, X in enumerate(_months(features, names)):
        inf = np.isinf(X).any(axis=0)
        if inf.any():
            bad = [names[i] for i in np.flatnonzero(inf)]
            raise RuntimeError(f"feature(s) {', '.join(bad)} hold +-inf; a feature must be finite or NaN")
        has = ~np.isnan(X)
        for key, mask in masks.items():
            counts[key] += has[mask[starts[k]:starts[k + 1]]].sum(axis=0)
    return counts


def _choose(have: np.ndarray, total: int, names, specs, min_share: float) -> tuple[np.ndarray, dict]:
    """:func:`futures_vpoc.dataset.availability.choose_features` from counts (the same shares and report)."""
    share = have / total if total else np.zeros(len(names))
    return choose_from_shares(share, total, names, specs, min_share)


def _complete(features: Path, names, month_rows, n: int) -> np.ndarray:
    """Step 4: every kept feature has a value, bool, shape (n,)."""
    out = np.empty(n, dtype=bool)
    starts = _offsets(month_rows)
    for k, X in enumerate(_months(features, names)):
        out[starts[k]:starts[k + 1]] = ~np.isnan(X).any(axis=1)
    return out


def _rows_by_month(positions: np.ndarray, starts: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """For each month ``k``: the offset of its first row in ``positions`` (sorted bar positions) and
    its rows' positions within the month."""
    cut = np.searchsorted(positions, starts)
    return [(int(cut[k]), positions[cut[k]:cut[k + 1]] - starts[k]) for k in range(len(starts) - 1)]


def _fit_scaler(features: Path, names, month_rows, train: np.ndarray, cache: Path) -> RobustScaler:
    """Step 5: the RobustScaler of the training rows, column by column from a column-major file."""
    from numpy.lib.format import open_memmap

    path = cache / "train_raw.npy"
    raw = open_memmap(path, mode="w+", dtype=np.float64, shape=(len(names), len(train)))
    by_month = _rows_by_month(train, _offsets(month_rows))
    for (at, local), X in zip(by_month, _months(features, names)):
        raw[:, at:at + len(local)] = X[local].T
    raw.flush()
    state = {k: [] for k in ("center", "scale", "lower", "upper")}
    constant = []
    for j, name in enumerate(names):
        one = RobustScaler().fit(np.asarray(raw[j])[:, None], [name])
        for k in state:
            state[k].append(float(getattr(one, f"{k}_")[0]))
        constant += one.constant_features_
    del raw
    path.unlink()
    template = RobustScaler()
    return RobustScaler.from_dict({**template.to_dict(), **state, "constant_features": constant,
                                   "feature_names": list(names), "n_samples_seen": int(len(train))})


def _write_shards(features: Path, names, month_rows, parts: dict[str, np.ndarray], scaler: RobustScaler,
                  cache: Path) -> dict[str, np.ndarray]:
    """Step 6: each part's rows scaled to float32 into ``CACHE/X_<part>.npy``; returns the memmaps."""
    from numpy.lib.format import open_memmap

    starts = _offsets(month_rows)
    outs = {p: open_memmap(cache / f"X_{p}.npy", mode="w+", dtype=np.float32, shape=(len(idx), len(names)))
            for p, idx in parts.items()}
    plans = {p: _rows_by_month(idx, starts) for p, idx in parts.items()}
    for k, X in enumerate(_months(features, names)):
        for p, plan in plans.items():
            at, local = plan[k]
            if len(local):
                outs[p][at:at + len(local)] = _finite32(scaler.transform(X[local]), f"X_{p}")
    for out in outs.values():
        out.flush()
    del outs
    return {p: np.load(cache / f"X_{p}.npy", mmap_mode="c") for p in parts}


def build_sharded(folder: str | os.PathLike, cache: str | os.PathLike, groups=None, target: str = "direction",
                  horizon: int = 5, split: SplitSpec | None = None, data_fraction: float = 1.0,
                  chunk_size: int | None = None, *, min_coverage: float = MIN_FEATURE_COVERAGE) -> Dataset:
    """The :class:`Dataset` of a bar dataset folder, its X parts memory-mapped from ``cache``.

    Parameters
    ----------
    folder : str or path-like
        A bar dataset (``year=YYYY/month=MM/part.parquet``, :mod:`futures_vpoc.data.partitioned`).
    cache : str or path-like
        Folder for the shards (created; files of an earlier build there are replaced).
    groups, target, horizon, split, data_fraction, chunk_size, min_coverage
        As :func:`futures_vpoc.dataset.build_dataset` (the builder is the partitioned one).

    Returns
    -------
    Dataset
        Equal to ``build_dataset(read_any(folder), ...)``: X parts as numpy memmaps (float32,
        copy-on-write), everything else in memory.

    Raises
    ------
    UsageError, DataError, RuntimeError
        As :func:`~futures_vpoc.dataset.build_dataset` and
        :func:`~futures_vpoc.features.partitioned.build_partitioned`.
    """
    from futures_vpoc.features.partitioned import build_partitioned

    split = split or SplitSpec()
    cache = Path(cache)
    scan = _scan(folder, target, horizon)
    stamps, labels, n = scan.stamps, scan.labels, len(scan.stamps)
    require_sessions(pd.DataFrame({"trade_date": scan.trade_date}), split, horizon, data_fraction)
    purge = split.purge_rows(labels.horizon)
    window = _window(n, data_fraction)
    val_start, test_start = _time_boundaries(stamps, window & labels.known, split)
    cache.mkdir(parents=True, exist_ok=True)
    for name in SHARD_FILES:
        (cache / name).unlink(missing_ok=True)
    built = build_partitioned(folder, cache / "features", groups, train_end=val_start, chunk_size=chunk_size)
    try:
        return _from_features(built, scan, window, (val_start, test_start), purge, cache, groups, min_coverage)
    finally:
        shutil.rmtree(built.out, ignore_errors=True)


def _from_features(built, scan: _Scan, window, starts, purge, cache: Path, groups, min_coverage) -> Dataset:
    """Steps 3-6 on the feature months of ``built`` (a PartitionedFeatures)."""
    stamps, labels, rows_m = scan.stamps, scan.labels, scan.month_rows
    names_all = tuple(s.column for s in built.specs)
    if not names_all:
        raise UsageError("no features selected; name at least one feature group")
    known, labelled = labels.known, labels.labelled
    before = stamps < starts[0]
    masks = {"span": window & known & before, "sparse": window & labelled & before, "window": window}
    have = _coverage(built.out, names_all, rows_m, masks)
    keep, report = _choose(have["span"], int(masks["span"].sum()), names_all, built.specs, min_coverage)
    names = tuple(n for n, k in zip(names_all, keep) if k)
    complete = _complete(built.out, names, rows_m, len(stamps))
    candidate = window & complete & known
    dead_row = np.where(have["window"][keep] > 0, 0.0, np.nan)[None, :]  # what _require_rows reads of X[window]
    _require_rows(candidate & labelled, dead_row, names)
    rows = np.flatnonzero(candidate)
    parts, shares = _split(rows, stamps, labels, purge, starts)
    unscored = rows[parts.test[~labelled[rows][parts.test]]]
    parts, flat = _drop_unlabelled(parts, labelled[rows])
    bounds = SplitBoundaries(stamps[np.argmax(window)], starts[0], starts[1], stamps[-1])
    counts = _counts(window, complete, known, parts, flat)
    counts["label_shares"] = shares
    counts.update(_sparse(have["sparse"][keep], int(masks["sparse"].sum()), names, len(parts.train)))
    positions = {p: rows[getattr(parts, p)] for p in PARTS}
    scaler = _fit_scaler(built.out, names, rows_m, positions["train"], cache)
    if len(unscored):
        positions["test_unscored"] = unscored
    X = _write_shards(built.out, names, rows_m, positions, scaler, cache)
    ds = _assemble(X, positions, names, labels, stamps, scaler, purge, bounds, counts)
    return replace(ds, feature_report=report, inference=_inference(scan, groups, built.context))


def _sparse(have: np.ndarray, total: int, names, n_train: int) -> dict:
    """``_sparse_train`` of :mod:`.build` from counts of values on the labelled training span."""
    if total == 0 or n_train >= 0.25 * total:
        return {}
    share = (total - have) / total  # NaN share, as np.isnan(X[span]).mean(axis=0)
    worst = np.argsort(-share, kind="stable")[:5]
    return {"train_span_rows": total,
            "sparse_features": {names[i]: round(float(share[i]), 4) for i in worst if share[i] > 0}}


def _assemble(X: dict, positions: dict, names, labels: LabelTable, stamps, scaler, purge, bounds,
              counts) -> Dataset:
    """The Dataset around the memmapped X parts (labels, stamps and returns in memory)."""
    fwd = labels.frame["fwd_return"].to_numpy()
    raw_y = labels.frame["label"].to_numpy()
    transform = RankTransform().fit(fwd[positions["train"]]) if labels.target == "rank" else None
    out = {}
    for p in PARTS:
        idx = positions[p]
        out[f"X_{p}"] = X[p]
        y = transform.transform(fwd[idx]) if transform is not None else raw_y[idx]
        out[f"y_{p}"] = _finite32(y, f"y_{p}")
        out[f"t_{p}"] = stamps[idx]
        out[f"fwd_{p}"] = fwd[idx].copy()
    if "test_unscored" in positions:
        out["X_test_unscored"] = X["test_unscored"]
        out["t_test_unscored"] = stamps[positions["test_unscored"]]
    return Dataset(**out, feature_names=names, scaler=scaler, target_transform=transform, target=labels.target,
                   horizon=labels.horizon, purge=purge, boundaries=bounds, counts=counts)


def _inference(scan: _Scan, groups, context) -> dict:
    """:func:`~futures_vpoc.dataset.build.inference_state` of the whole dataset, from the scan."""
    k = len(scan.contracts)
    light = pd.DataFrame({"contract": list(scan.contracts)}, index=scan.stamps[:k])
    state = inference_state(light, groups, context)
    state.update(bar_seconds=float(scan.labels.bar_width.total_seconds()), first_bar=scan.stamps[0].isoformat(),
                 last_bar=scan.stamps[-1].isoformat())
    return state


__all__ = ["SHARD_FILES", "build_sharded"]
