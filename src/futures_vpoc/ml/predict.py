"""Apply a frozen model (:mod:`.bundle`) to a merged bar file: ``futures-vpoc predict``.

The run's own feature groups are built on the new bars with the run's frozen feature context (the
GARCH and regime fits of its training part: nothing is fit on the new bars), the kept features
are taken in the run's input order, scaled by the run's scaler and fed to its network; an
ensemble mixes its members' P(up) with its validation weights on the bars where every member has
a prediction.

One output row per bar of the file from ``start`` on (every bar without it). A bar whose features
are not all known yet (warming up, no VIX published yet, a window restarting at a roll) has no
prediction: ``prob`` NaN, ``decision`` 0 and no label, so it is neither traded nor scored. There
are no fill values: the model never sees a made-up input.

Bars before ``start`` only warm the features up. The file must hold the history each feature
declares (``FeatureSpec.warmup``) before ``start``; features whose window keeps growing after
their first value (``up_to``) use less history than in training until the file holds that much.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.ml.bundle import Bundle, Member


@dataclass(frozen=True, eq=False)
class PredictionTable:
    """Predictions of a model on a bar file.

    Attributes
    ----------
    frame : pandas.DataFrame
        Columns ``timestamp`` (bar start, UTC), ``trade_date``, ``contract``, ``prob`` (P(up);
        rank target: the predicted rank clipped to [0, 1]; NaN without a prediction),
        ``decision`` (+1 / -1 / 0 at the run's threshold; 0 without a prediction), ``label`` (0/1
        up, NaN where the file lacks the horizon's bars, the horizon is flat under ``direction``,
        or there is no prediction), ``fwd_return`` (fraction, NaN where unknown),
        ``in_training`` (the bar lies in the run's training period), then ``logit`` (binary
        target) or ``prediction`` (rank), and ``prob_<member>`` for an ensemble.
    facts : dict
        The training facts for ``evaluate`` plus ``model``, ``kind``, ``training_period``,
        ``start``, ``out_of_sample``.
    notes : list of str
        What the user should know (bars without a prediction, a scale-up's winner ...).
    """

    frame: pd.DataFrame
    facts: dict
    notes: list[str] = field(default_factory=list)


def check_fit(bundle: Bundle, bars: pd.DataFrame, source: str) -> None:
    """Refuse bars the model cannot be applied to: another bar width or contract root.

    Raises
    ------
    DataError
        With ``source`` (the file) and what the run expects.
    """
    from futures_vpoc.data.barframe import bar_width
    from futures_vpoc.data.contracts import split_code

    if len(bars) == 0:
        raise DataError("no bars", file=source)
    want = float(bundle.first.inference["bar_seconds"])
    got = float(bar_width(pd.DatetimeIndex(bars.index)).total_seconds())
    if got != want:
        raise DataError(f"bars are {_width(got)} wide; the model was trained on {_width(want)} bars", file=source,
                        hint="predict on a file of the training bar width")
    roots = set(bundle.first.inference.get("roots") or [])
    codes = pd.unique(bars["contract"].astype(str))
    other = sorted({(split_code(c) or (c,))[0] for c in codes} - roots)
    if roots and other:
        raise DataError(f"contract root {', '.join(other)} is not the model's ({', '.join(sorted(roots))})",
                        file=source, column="contract", hint="a model predicts the market it was trained on")


def _width(seconds: float) -> str:
    if seconds % 86400 == 0:
        return f"{seconds / 86400:g}-day"
    if seconds % 60 == 0:
        return f"{seconds / 60:g}-minute"
    return f"{seconds:g}-second"


def member_columns(member: Member, specs, source: str) -> np.ndarray:
    """Positions (d,) int64 of the member's inputs, in its order, among the built ``specs``.

    Raises
    ------
    DataError
        A feature the model uses that this version does not compute.
    """
    built = {spec.column: j for j, spec in enumerate(specs)}
    missing = [n for n in member.feature_names if n not in built]
    if missing:
        raise DataError(f"this version computes no feature {', '.join(missing)} that the model uses", file=source,
                        hint="predict with the futures-vpoc version that trained the model")
    return np.array([built[n] for n in member.feature_names], dtype=np.int64)


class MemberPass:
    """One member's predictions, gathered block by block of the feature table.

    Parameters
    ----------
    member : Member
    cols : numpy.ndarray of int64, shape (d,)
        The member's inputs among the block's columns (:func:`member_columns`).
    out : numpy.ndarray of bool, shape (n,)
        The bars to predict.

    Attributes
    ----------
    raw, prob : numpy.ndarray of float64, shape (n,)
        Outputs and P(up); NaN where not predicted (not in ``out`` or an input still unknown).
    seen : numpy.ndarray of bool, shape (d,)
        Inputs with a value on some bar to predict.
    first_missing : numpy.ndarray of bool, shape (d,)
        Inputs without a value on the first bar to predict.
    """

    def __init__(self, member: Member, cols: np.ndarray, out: np.ndarray):
        self.member, self.cols, self.out = member, cols, out
        self.raw, self.prob = np.full(len(out), np.nan), np.full(len(out), np.nan)
        self.seen, self.first_missing = np.zeros(len(cols), bool), np.zeros(len(cols), bool)
        self.first = int(np.argmax(out))

    def take(self, a: int, b: int, block: np.ndarray) -> None:
        """Predict rows ``a:b`` from their feature values ``block`` (b - a, D), column-major."""
        want = self.out[a:b]
        complete, seen = scan_rows(block, self.cols, want)
        self.seen |= seen
        if a <= self.first < b:
            self.first_missing = ~np.isfinite(block[self.first - a, self.cols])
        rows = want & complete
        if rows.any():
            z, p = member_outputs(self.member, block, rows, self.cols)
            self.raw[a:b][rows], self.prob[a:b][rows] = z, p


CHUNK_ROWS = 4096
"""Rows scaled and evaluated at once. Temporaries of a few MB are reused by the allocator; at 65,536
rows (30 MB each) every one came fresh from the OS and its page faults tripled the time (1.5 s
against 0.5 s for 1M bars x 58 features, measured)."""


def member_outputs(member: Member, X: np.ndarray, rows: np.ndarray | None = None,
                   cols: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Raw outputs (logit, or predicted rank) and ``prob`` of rows ``X[rows][:, cols]`` (raw features, complete).

    The network runs in float64 (:meth:`Member.forward`), so a row's value does not depend on how
    many rows are evaluated with it; the rows go through in slices of :data:`CHUNK_ROWS` bars.

    Parameters
    ----------
    X : numpy.ndarray of float64, shape (n, D)
    rows : numpy.ndarray of bool, shape (n,), optional
        The rows to evaluate (default all); every one finite.
    cols : numpy.ndarray of int64, optional
        The member's input columns of ``X`` in order (default all).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Outputs and P(up) of the chosen rows, in row order, float64.
    """
    rows = np.ones(len(X), bool) if rows is None else rows
    cols = np.arange(X.shape[1]) if cols is None else cols
    z = np.empty(int(rows.sum()))
    at = 0
    for a in range(0, len(X), CHUNK_ROWS):
        keep = rows[a:a + CHUNK_ROWS]
        if keep.any():
            block = X[a:a + CHUNK_ROWS][:, cols]  # a slice, then the member's columns: contiguous reads
            part = member.forward(member.scale(block if keep.all() else block[keep]))
            z[at:at + len(part)] = part
            at += len(part)
    return z, to_prob(z, member.binary)


def scan_rows(X: np.ndarray, cols: np.ndarray, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One pass over the member's input columns: which rows are complete, and which inputs have a
    value on some row to predict.

    Column by column: the feature table is column-major, so each column is one contiguous read.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        ``complete`` (n,) bool, ``seen`` (d,) bool.
    """
    complete, seen = np.ones(len(X), bool), np.zeros(len(cols), bool)
    every, some = bool(out.all()), bool(out.any())
    for j, c in enumerate(cols):
        finite = np.isfinite(X[:, c])
        complete &= finite
        seen[j] = some and (finite.any() if every else finite[out].any())
    return complete, seen


def to_prob(z: np.ndarray, binary: bool) -> np.ndarray:
    """P(up) of raw outputs: the sigmoid of a logit, or a predicted rank clipped to [0, 1]."""
    from scipy.special import expit

    return expit(z) if binary else np.clip(z, 0.0, 1.0)


def _check_warmup(member: Member, seen: np.ndarray, first_missing: np.ndarray, start_given: bool,
                  source: str) -> None:
    """Refuse a file on which an input has no value on any bar to predict, or (with ``--start``)
    whose history before ``start`` is shorter than a feature's declared warm-up."""
    from futures_vpoc.features.registry import all_specs
    from futures_vpoc.features.spec import ALL_GROUPS

    warm = {s.column: str(s.warmup) for s in all_specs(ALL_GROUPS)}
    empty = [n for n, s in zip(member.feature_names, seen) if not s]
    if empty:
        raise DataError(f"feature {empty[0]} (warm-up {warm.get(empty[0], '?')}) has no value on any bar to predict"
                        + (f" ({len(empty) - 1} more)" if len(empty) > 1 else ""), file=source,
                        hint="give a file with more history before the bars to predict (and VIX for vix features)")
    if start_given and first_missing.any():
        name = member.feature_names[int(np.flatnonzero(first_missing)[0])]
        raise DataError(f"feature {name} (warm-up {warm.get(name, '?')}) has no value yet at the first bar to "
                        f"predict", file=source, hint="give a file with more bars before --start")


def predict_bars(bundle: Bundle, bars: pd.DataFrame, *, start=None, allow_overlap: bool = False,
                 source: str = "--data") -> PredictionTable:
    """The model's prediction for every bar from ``start`` on.

    Parameters
    ----------
    bundle : Bundle
    bars : pandas.DataFrame
        A BarFrame (:func:`futures_vpoc.data.barframe.read_merged`).
    start : str or pandas.Timestamp, optional
        First bar to predict (UTC; a date means its 00:00 UTC); earlier bars only warm features up.
    allow_overlap : bool
        Predict bars inside the run's training period too (flagged ``in_training``); refused otherwise.
    source : str
        The file's name for messages.

    Raises
    ------
    DataError
        Bars the model cannot take (:func:`check_fit`), too little history, or bars in the
        training period without ``allow_overlap``.
    """
    check_fit(bundle, bars, source)
    out, in_training, overlap = plan_rows(bundle, bars, start, allow_overlap, source)
    history = bool(out.any() and not out[0])  # --start after the first bar: the bars before it are the warm-up
    passes = _member_passes(bundle, bars, out, source)
    for m in passes:
        _check_warmup(m.member, m.seen, m.first_missing, history, source)
    probs, raws = [m.prob for m in passes], [m.raw for m in passes]
    P = np.column_stack(probs)
    prob = np.where(np.isfinite(P).all(axis=1), P @ bundle.weights, np.nan)
    frame = _frame(bundle, bars, prob, raws, P, in_training)
    return PredictionTable(frame.loc[out].reset_index(drop=True), _facts(bundle, start, overlap.any()),
                           _notes(bundle, prob[out], overlap))


def _member_passes(bundle: Bundle, bars: pd.DataFrame, out: np.ndarray, source: str) -> list[MemberPass]:
    """Every member's predictions; members with the same feature groups and context share one
    block-by-block build of the features (:func:`futures_vpoc.features.feature_blocks`)."""
    from threadpoolctl import threadpool_limits

    from futures_vpoc.features import feature_blocks
    from futures_vpoc.features.common import Context

    passes: dict[int, MemberPass] = {}
    shared: dict[tuple, list[int]] = {}
    for i, member in enumerate(bundle.members):
        inf = member.inference
        shared.setdefault((tuple(inf["groups"]), repr(inf.get("context"))), []).append(i)
    for indices in shared.values():
        inf = bundle.members[indices[0]].inference
        context = Context.from_dict(inf["context"]) if inf.get("context") else None
        built = feature_blocks(bars, groups=list(inf["groups"]), context=context)
        group = [MemberPass(bundle.members[i], member_columns(bundle.members[i], built.specs, source), out)
                 for i in indices]
        # one BLAS thread: the products are small (4,096 rows x tens of inputs), and a second thread
        # costs more in hand-offs than it computes (measured 4x slower on a busy 2-core machine)
        with threadpool_limits(1, user_api="blas"):
            for a, b, block in built.blocks:
                for m in group:
                    m.take(a, b, block)
        passes.update(zip(indices, group))
    return [passes[i] for i in range(len(bundle.members))]


def plan_rows(bundle: Bundle, bars: pd.DataFrame, start, allow_overlap: bool,
              source: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Masks (n,) of the bars to predict (from ``start``), of the bars in the training period, and
    of both; refuses the overlap without ``allow_overlap``.

    Raises
    ------
    UsageError
        ``start`` after the last bar.
    DataError
        Bars to predict in the training period without ``allow_overlap``.
    """
    stamps = pd.DatetimeIndex(bars.index)
    out = np.ones(len(bars), bool) if start is None else np.asarray(stamps >= _utc(start))
    if not out.any():
        raise UsageError("no bar to predict: --start lies after the file's last bar")
    first_bar, test_start = bundle.training_period()
    in_training = np.asarray((stamps >= first_bar) & (stamps < test_start))
    overlap = in_training & out
    if overlap.any() and not allow_overlap:
        at = stamps[overlap]
        raise DataError(f"{int(overlap.sum()):,} bars ({at[0]} .. {at[-1]}) lie in the model's training period "
                        f"({first_bar} .. {test_start}, training and validation)", file=source,
                        hint=f"predict from --start {test_start.isoformat()} or pass --allow-overlap")
    return out, in_training, overlap


def _utc(value) -> pd.Timestamp:
    from futures_vpoc.features.fit import as_utc

    return as_utc(value, "--start")


def _frame(bundle: Bundle, bars: pd.DataFrame, prob: np.ndarray, raws: list, P: np.ndarray,
           in_training: np.ndarray) -> pd.DataFrame:
    from futures_vpoc.labels import make_labels

    labels = make_labels(bars, bundle.target, bundle.horizon).frame
    fwd = labels["fwd_return"].to_numpy(np.float64)
    label = labels["label"].to_numpy(np.float64) if bundle.target != "rank" else np.where(
        np.isfinite(fwd), (fwd > 0).astype(np.float64), np.nan)
    has = np.isfinite(prob)
    frame = pd.DataFrame({
        "timestamp": pd.DatetimeIndex(bars.index),
        "trade_date": bars["trade_date"].to_numpy(),
        "contract": bars["contract"].astype(str).array,  # kept as pandas strings: no round trip through objects
        "prob": prob,
        "decision": decisions(prob, bundle.threshold),
        "label": np.where(has, label, np.nan),
        "fwd_return": fwd,
        "in_training": in_training,
    })
    if bundle.kind == "run":
        frame["logit" if bundle.first.binary else "prediction"] = raws[0]
    else:
        for name, column in zip(bundle.names, P.T):
            frame[f"prob_{name}"] = column
    return frame


def decisions(prob: np.ndarray, threshold: float) -> np.ndarray:
    """+1 above ``threshold``, -1 below, 0 at it or without a prediction (NaN), int8."""
    p = np.asarray(prob, dtype=np.float64)
    return np.where(np.isfinite(p), np.sign(np.nan_to_num(p - threshold)), 0).astype(np.int8)


def _facts(bundle: Bundle, start, overlap: bool) -> dict:
    first_bar, test_start = bundle.training_period()
    facts = dict(bundle.facts)
    facts.update(horizon=bundle.horizon, target=bundle.target, threshold=bundle.threshold,
                 probabilistic=bundle.target != "rank", model=str(bundle.path), kind=bundle.kind,
                 training_period=[first_bar.isoformat(), test_start.isoformat()],
                 start=None if start is None else _utc(start).isoformat(), out_of_sample=not overlap)
    return facts


def _notes(bundle: Bundle, prob: np.ndarray, overlap: np.ndarray) -> list[str]:
    notes = [bundle.note] if bundle.note else []
    missing = int((~np.isfinite(prob)).sum())
    if missing:
        notes.append(f"{missing:,} of {len(prob):,} bars have no prediction (features warming up or inputs "
                     "missing there): prob NaN, decision 0, never scored")
    if overlap.any():
        notes.append(f"{int(overlap.sum()):,} bars lie in the model's training period: flagged in_training "
                     "(in-sample, their statistics say nothing about new data)")
    return notes


__all__ = ["PredictionTable", "check_fit", "decisions", "MemberPass", "member_columns", "member_outputs", "plan_rows", "predict_bars",
           "scan_rows", "to_prob"]
