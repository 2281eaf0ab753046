"""A trained model as a frozen whole: what ``predict``, ``replay`` and ``backtest --model`` apply to new bars.

Everything comes from the run directory; the training file is never read again.

* a ``train`` run or a scale-up rung (``DIR/128-64-32``): ``model.npz`` (:mod:`.frozen`, written
  when the run finishes, read without torch) holds the weights, the feature names in input order,
  the scaler fit on the training rows and the ``inference`` state of
  :func:`futures_vpoc.dataset.build.inference_state` (feature groups, the frozen feature context
  with the GARCH and regime fits, bar width, the training file's first and last bar, contract
  roots); ``predictions_test.parquet``'s metadata holds the training facts
  ``evaluate`` needs (majority class, base rate, threshold);
* a scale-up folder (``scaleup.json``): its winner rung;
* an ensemble folder (``ensemble.json``): every member's run directory (``DIR/<group>``) and the
  weights fit on validation.

The training period of a run is ``[first_bar, test_start)``: the bars the scaler, the fits, the
weights and the early stopping saw (training and validation parts). Bars from ``test_start`` on are
out of sample.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from futures_vpoc.errors import DataError

HINT = "--model takes a directory written by `futures-vpoc train`, `scale-up` (or one rung) or `ensemble`"


@dataclass(frozen=True, eq=False)
class Member:
    """One trained network with everything needed to prepare its inputs.

    Attributes
    ----------
    run_dir : pathlib.Path
    layers : tuple of (numpy.ndarray, numpy.ndarray)
        ``(W, b)`` of every Linear layer, float64 (from the float32 weights), hidden layers then the
        head: :class:`futures_vpoc.ml.model.MLP` without torch.
    feature_names : tuple of str
        Input columns in order (feature table column names).
    scaler : futures_vpoc.dataset.scaling.RobustScaler
    target : str
    horizon : int
        Label horizon, bars.
    threshold : float
        Decision threshold on ``prob`` (0.5; the rank target: the training rank of a zero return).
    inference : dict
        :func:`futures_vpoc.dataset.build.inference_state`.
    boundaries : dict of str to pandas.Timestamp
        ``window_start, val_start, test_start, end`` (UTC).
    """

    run_dir: Path
    layers: tuple
    feature_names: tuple[str, ...]
    scaler: object
    target: str
    horizon: int
    threshold: float
    inference: dict
    boundaries: dict

    @property
    def binary(self) -> bool:
        """The output is a logit of P(up) (``direction``, ``up_or_not``), not a rank."""
        return self.target != "rank"

    def scale(self, X: np.ndarray) -> np.ndarray:
        """Raw feature rows (n, d) -> the network's float32 inputs, as float64.

        The scaler's own formula (:meth:`futures_vpoc.dataset.scaling.RobustScaler.transform`:
        clip to the training bounds, centre, divide, in float64) without its per-call checks, which
        cost more than the arithmetic on one row (``replay``); then the float32 rounding the network
        saw in training.
        """
        sc = self.scaler
        return ((np.clip(X, sc.lower_, sc.upper_) - sc.center_) / sc.scale_).astype(np.float32).astype(np.float64)

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Raw outputs (logits, or the predicted rank) of scaled rows ``x`` (n, d), float64 (n,).

        The float32 weights are evaluated in float64 (Linear -> ReLU ..., Linear: the network of
        :class:`futures_vpoc.ml.model.MLP` in ``eval()`` mode, where dropout does nothing): one row
        or a million give the same value to ~1e-15, which is what lets ``replay`` (a row per bar)
        equal ``predict`` (all rows at once). Against the float32 network the difference is float32
        rounding (~1e-7 in P(up)).
        """
        h = np.asarray(x, dtype=np.float64)
        *hidden, (w_out, b_out) = self.layers
        for w, b in hidden:
            h = np.maximum(h @ w.T + b, 0.0)
        return (h @ w_out.T)[:, 0] + b_out[0]


@dataclass(frozen=True, eq=False)
class Bundle:
    """A model to apply: one member, or several mixed by weights (an ensemble).

    Attributes
    ----------
    path : pathlib.Path
        The ``--model`` folder.
    kind : {"run", "ensemble"}
    members : tuple of Member
    weights : numpy.ndarray of float64, shape (k,)
        Non-negative, summing to 1 (``[1.0]`` for a run).
    names : tuple of str
        Member names (the ensemble's groups; the run folder's name).
    facts : dict
        The training facts of the folder's ``predictions_test.parquet`` (horizon, target,
        majority class, base rate, threshold, ...); ``{}`` when it has none.
    note : str or None
        How the folder was resolved (a scale-up folder's winner).
    """

    path: Path
    kind: str
    members: tuple[Member, ...]
    weights: np.ndarray
    names: tuple[str, ...]
    facts: dict = field(default_factory=dict)
    note: str | None = None

    @property
    def first(self) -> Member:
        return self.members[0]

    @property
    def horizon(self) -> int:
        return self.first.horizon

    @property
    def target(self) -> str:
        return self.first.target

    @property
    def threshold(self) -> float:
        return self.first.threshold

    @property
    def first_bar(self) -> pd.Timestamp:
        """First bar of the training file (UTC)."""
        return min(pd.Timestamp(m.inference["first_bar"]) for m in self.members)

    @property
    def test_start(self) -> pd.Timestamp:
        """First bar after the training and validation parts (UTC): out of sample from here on."""
        return max(m.boundaries["test_start"] for m in self.members)

    def training_period(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """``(first_bar, test_start)``: the half-open span whose bars the model learned from."""
        return self.first_bar, self.test_start


def load_bundle(path) -> Bundle:
    """The model of a run, scale-up or ensemble folder.

    Raises
    ------
    DataError
        Not such a folder, a missing or unreadable ``best.pt``, a run trained before models were
        frozen for prediction, or ensemble members that disagree on the target or horizon.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DataError("not a folder", file=str(folder), hint=HINT)
    if (folder / "model.npz").exists() or (folder / "best.pt").exists():
        member = load_member(folder)
        return Bundle(folder, "run", (member,), np.ones(1), (folder.name,), _facts(folder))
    if (folder / "ensemble.json").is_file():
        return _ensemble(folder)
    if (folder / "scaleup.json").is_file():
        doc = _json(folder / "scaleup.json")
        if not doc.get("winner"):
            raise DataError("the scale-up has no winner (every rung failed its gate)", file=str(folder / "scaleup.json"),
                            hint="give one rung's folder, e.g. --model DIR/64-32-16")
        inner = load_bundle(folder / str(doc["winner"]))
        return Bundle(folder, inner.kind, inner.members, inner.weights, inner.names, inner.facts,
                      f"scale-up folder: its winner {doc['winner']}")
    raise DataError("no model.npz, ensemble.json or scaleup.json in it", file=str(folder), hint=HINT)


def load_member(run_dir: Path) -> Member:
    """One run directory's network, scaler and inference state (from ``model.npz``, torch-free)."""
    from futures_vpoc.dataset.scaling import transform_from_dict
    from futures_vpoc.ml.frozen import FILE, load_frozen

    path = run_dir / FILE
    meta, layers, scaler_state = load_frozen(path)
    inference = meta.get("inference")
    if not inference or not inference.get("groups"):
        raise DataError("this model holds no feature context (inference state)", file=str(path),
                        hint="train it again with this version")
    try:
        scaler = transform_from_dict(scaler_state)
        bounds = {k: pd.Timestamp(v) for k, v in meta["boundaries"].items()}
        target = meta["target"]
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"incomplete model file ({type(exc).__name__}: {exc})", file=str(path)) from None
    names = tuple(meta["feature_names"])
    threshold = 0.5 if target["target"] != "rank" else float(target.get("decision_threshold", 0.5))
    return Member(run_dir, tuple(layers), names, scaler, str(target["target"]), int(target["horizon"]), threshold,
                  dict(inference), bounds)


def _ensemble(folder: Path) -> Bundle:
    doc = _json(folder / "ensemble.json")
    weights = doc.get("weights") or {}
    groups = [str(g) for g in doc.get("groups") or [] if float(weights.get(g, 0.0)) > 0.0]
    if not groups:
        raise DataError("no member with a positive weight", file=str(folder / "ensemble.json"), hint=HINT)
    members = tuple(load_member(_member_dir(folder, doc, g)) for g in groups)
    if len({(m.target, m.horizon) for m in members}) != 1:
        raise DataError("ensemble members differ in target or horizon", file=str(folder / "ensemble.json"))
    w = np.array([float(weights[g]) for g in groups])
    return Bundle(folder, "ensemble", members, w / w.sum(), tuple(groups), _facts(folder))


def _member_dir(folder: Path, doc: dict, group: str) -> Path:
    """A member's run directory: ``DIR/<group>``, else the path ``ensemble.json`` recorded."""
    local = folder / group
    if (local / "model.npz").exists():
        return local
    recorded = next((m.get("run_dir") for m in doc.get("members", []) if m.get("group") == group), None)
    if recorded and (Path(recorded) / "model.npz").exists():
        return Path(recorded)
    return local  # load_member reports the missing model.npz there


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"not readable JSON ({type(exc).__name__})", file=str(path)) from None


def _facts(folder: Path) -> dict:
    """Training facts from the folder's predictions file metadata ({} without one)."""
    path = folder / "predictions_test.parquet"
    if not path.is_file():
        return {}
    import pyarrow.parquet as pq

    from futures_vpoc.evaluation.predictions import METADATA_KEY

    try:
        raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    except (OSError, ValueError):
        return {}
    return json.loads(raw) if raw else {}


__all__ = ["Bundle", "Member", "load_bundle", "load_member"]
