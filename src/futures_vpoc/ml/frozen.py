"""``model.npz``: the finished model of a run as plain arrays, what ``predict`` and ``replay`` read.

Written once at the end of a run (:meth:`futures_vpoc.ml.trainer.Trainer` after the best epoch's
weights are restored: the weights that made ``predictions_test.parquet``), through a temporary file
and a rename. ``best.pt`` stays the training checkpoint (optimizer, history, resumption); this file
holds only what applying the model needs, readable by numpy alone (``allow_pickle=False``), so a
prediction does not pay for importing torch (~1.7 s of a 5 s budget for 1M bars).

Arrays: ``w0, b0, ..., w<k>, b<k>`` (float32, each Linear layer's weight (out, in) and bias (out,),
hidden layers then the head), ``scaler_center, scaler_scale, scaler_lower, scaler_upper``
(float64, (d,)), and ``meta``: a JSON string with ``format``, ``feature_names``, ``target``
(``target, horizon, decision_threshold``), ``inference``
(:func:`futures_vpoc.dataset.build.inference_state`), ``boundaries`` (ISO-8601 UTC), ``layers``
(how many Linear layers) and ``scaler`` (its hyper-parameters).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from futures_vpoc.errors import DataError

FILE = "model.npz"
FORMAT = 1
_SCALER = ("center", "scale", "lower", "upper")


def save_frozen(path: Path, model, feature_names, target: dict, dataset_state: dict) -> Path:
    """Write ``model.npz`` for ``model`` (an :class:`futures_vpoc.ml.model.MLP`) and its dataset state.

    Parameters
    ----------
    path : pathlib.Path
    model : MLP
        The finished network (its ``hidden`` Linear layers and ``head``).
    feature_names : sequence of str
        Input columns in order.
    target : dict
        ``{"target", "horizon", "decision_threshold"}``.
    dataset_state : dict
        :meth:`futures_vpoc.dataset.Dataset.state_dict` (scaler, boundaries, inference).
    """
    from futures_vpoc.data.barframe import atomic_write

    arrays = {}
    linears = [*model.hidden, model.head]
    for i, lin in enumerate(linears):
        arrays[f"w{i}"] = lin.weight.detach().cpu().float().numpy()
        arrays[f"b{i}"] = lin.bias.detach().cpu().float().numpy()
    scaler = dataset_state["scaler"]
    for key in _SCALER:
        arrays[f"scaler_{key}"] = np.asarray(scaler[key], dtype=np.float64)
    meta = {"format": FORMAT, "feature_names": list(feature_names), "target": dict(target),
            "inference": dataset_state.get("inference") or {}, "boundaries": dataset_state["boundaries"],
            "layers": len(linears), "scaler": {k: v for k, v in scaler.items() if k not in _SCALER}}
    arrays["meta"] = np.array(json.dumps(meta))

    def write(tmp):
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    atomic_write(Path(path), write)
    return Path(path)


def load_frozen(path: Path) -> tuple[dict, list[tuple[np.ndarray, np.ndarray]], dict]:
    """``(meta, layers, scaler_state)`` of a ``model.npz``.

    ``layers``: ``(W, b)`` float64 per Linear layer; ``scaler_state``: a
    :meth:`futures_vpoc.dataset.scaling.RobustScaler.to_dict` dict.

    Raises
    ------
    DataError
        A missing, truncated or foreign file.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError("file not found", file=str(path),
                        hint="a run writes model.npz when it finishes; train again with this version")
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if meta.get("format") != FORMAT:
                raise ValueError(f"format {meta.get('format')!r}")
            layers = [(z[f"w{i}"].astype(np.float64), z[f"b{i}"].astype(np.float64)) for i in range(meta["layers"])]
            scaler = dict(meta["scaler"], **{k: z[f"scaler_{k}"].tolist() for k in _SCALER})
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's problem
        raise DataError(f"not a readable model file ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})",
                        file=str(path)) from None
    return meta, layers, scaler


__all__ = ["FILE", "FORMAT", "load_frozen", "save_frozen"]
