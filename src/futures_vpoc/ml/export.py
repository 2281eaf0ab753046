"""ONNX export of a trained run (or an ensemble folder) with its input scaler folded in, and its model card.

The exported graph takes raw feature values and returns the probability of "up":

``features`` float32 (n, d), columns in the card's ``input_order`` (a run's ``feature_names``)
    -> cast to float64, clip to the scaler's training bounds ``[lower, upper]``, ``(x - center) / scale``
    (the train-only :class:`~futures_vpoc.dataset.scaling.RobustScaler`, in float64 as the project
    computes it) -> cast to float32 -> the MLP -> ``sigmoid`` for a ``logit`` output (P(up)), or a clip to
    [0, 1] for a ``rank`` output -> ``prob`` float32 (n,).

An ensemble folder (``ensemble.json`` + ``DIR/<group>`` runs) becomes one graph whose input is the union of
the members' feature names (first member's order, then each new name of the next members in their order)
and whose output is ``sum_k w_k p_k`` with the weights of ``ensemble.json``.

NaN policy: the graph expects finite inputs. A NaN passes the clip unchanged and makes the row's
``prob`` NaN; rows whose features are still warming up (``features.spec.Warmup``) must not be fed, exactly
as the trainer never saw them.

Exporter: ``torch.onnx.export(..., dynamo=True)``, the torch.export-based exporter that is the default
since torch 2.9 (it needs ``onnxscript``; everything runs offline). The TorchScript exporter
(``dynamo=False``) still works in torch 2.13 but warns that it will be removed. Opset
:data:`OPSET`, one dynamic batch axis.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from futures_vpoc import __version__
from futures_vpoc.data.barframe import file_sha256
from futures_vpoc.dataset.scaling import RobustScaler, transform_from_dict
from futures_vpoc.errors import DataError, UsageError
from futures_vpoc.labels import is_binary
from futures_vpoc.ml.checkpoint import load_checkpoint
from futures_vpoc.ml.model import build_model, predict_logits, probabilities

OPSET = 18
INPUT_NAME = "features"
OUTPUT_NAME = "prob"
PARITY_ROWS = 10_000
PARITY_TOLERANCE = 1e-5
CARD_FORMAT = 1
INSTALL_HINT = "pip install 'futures-vpoc[export]'"
SAMPLE_LICENCE = ("bundled real sample `futures-vpoc data sample es-minute`: ES minute bars from QuantConnect "
                  "LEAN (Apache License 2.0; AlgoSeek data) and CBOE VIX history (CBOE's terms of use apply)")


def require_onnx() -> tuple:
    """The ``onnx`` and ``onnxruntime`` modules.

    Raises
    ------
    UsageError
        When either is not installed (with the install hint).
    """
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise UsageError(f"export needs onnx and onnxruntime ({exc.name or exc} is not installed); "
                         f"{INSTALL_HINT}") from None
    return onnx, onnxruntime


@dataclass
class Member:
    """One trained network: its run directory, checkpoint, feature names and ensemble weight."""

    group: str
    run_dir: Path
    payload: dict
    weight: float = 1.0

    @property
    def feature_names(self) -> list[str]:
        """Input columns in the network's order."""
        return list(self.payload["feature_names"])

    @property
    def output(self) -> str:
        """``logit`` (sigmoid gives P(up)) or ``rank`` (clipped to [0, 1])."""
        target = self.payload.get("target") or {}
        out = target.get("output")
        if out in ("logit", "rank"):
            return out
        return "logit" if is_binary(str(target.get("target", "direction"))) else "rank"

    @property
    def scaler(self) -> RobustScaler:
        """The train-only input scaler of the checkpoint."""
        scaler = transform_from_dict((self.payload.get("dataset") or {}).get("scaler"))
        if not isinstance(scaler, RobustScaler) or not hasattr(scaler, "center_"):
            raise DataError("the checkpoint holds no fitted RobustScaler", file=str(self.run_dir / "best.pt"))
        return scaler


@dataclass
class Source:
    """What is exported: one run (``kind == "run"``) or the members of an ensemble folder."""

    kind: str
    path: Path
    members: list[Member]
    ensemble: dict | None = None
    feature_names: list[str] = field(default_factory=list)


def _load_member(run_dir: Path, group: str, weight: float) -> Member:
    best = run_dir / "best.pt"
    if not run_dir.is_dir() or not best.is_file():
        raise DataError("not a run directory (no best.pt)", file=str(run_dir),
                        hint="give a directory written by `futures-vpoc train` or an ensemble folder")
    payload = load_checkpoint(best)
    for key in ("model_spec", "feature_names", "dataset"):
        if key not in payload:
            raise DataError(f"checkpoint lacks '{key}'", file=str(best))
    member = Member(group, run_dir, payload, weight)
    if len(member.feature_names) != int(payload["model_spec"]["input_dim"]):
        raise DataError("checkpoint feature_names do not match the model's input width", file=str(best))
    if len(member.scaler.center_) != len(member.feature_names):
        raise DataError("checkpoint scaler does not match its feature_names", file=str(best))
    return member


def load_source(path) -> Source:
    """The run directory or ensemble folder at ``path``.

    Parameters
    ----------
    path : str or path-like
        A ``futures-vpoc train`` run directory (``best.pt``; a scale-up rung folder qualifies) or an
        ensemble folder (``ensemble.json`` and one run directory per member, ``DIR/<group>``).

    Raises
    ------
    DataError
        Missing directory, no ``best.pt``/``ensemble.json``, an unreadable checkpoint or ensemble file.
    """
    path = Path(path)
    if not path.is_dir():
        raise DataError("no such run directory", file=str(path),
                        hint="give a directory written by `futures-vpoc train` or an ensemble folder")
    spec_file = path / "ensemble.json"
    if spec_file.is_file() and not (path / "best.pt").is_file():
        try:
            spec = json.loads(spec_file.read_text(encoding="utf-8"))
            weights = {str(g): float(w) for g, w in spec["weights"].items()}
            groups = [str(m["group"]) for m in spec["members"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise DataError(f"not a readable ensemble.json ({type(exc).__name__}: {exc})", file=str(spec_file)) from None
        members = []
        for m, group in zip(spec["members"], groups):
            run_dir = path / group  # the folder's own copy first: the folder may have moved
            if not (run_dir / "best.pt").is_file() and m.get("run_dir"):
                run_dir = Path(m["run_dir"])
            if group not in weights or not math.isfinite(weights[group]):
                raise DataError(f"ensemble.json gives no finite weight for member '{group}'", file=str(spec_file))
            members.append(_load_member(run_dir, group, weights[group]))
        if not members:
            raise DataError("ensemble.json lists no members", file=str(spec_file))
        outputs = {m.output for m in members}
        if outputs != {"logit"}:
            raise UsageError("cannot export this ensemble as one graph: its members are not all "
                             "probability (logit) models")
        names: list[str] = []
        for m in members:
            names += [n for n in m.feature_names if n not in names]
        return Source("ensemble", path, members, spec, names)
    member = _load_member(path, "model", 1.0)
    return Source("run", path, [member], None, member.feature_names)


class ScaledModel(nn.Module):
    """The scaler, the MLP and the output link of one run as one module: raw rows -> ``prob``.

    Parameters
    ----------
    member : Member
        The run; its MLP is rebuilt from the checkpoint and put in ``eval()`` mode.
    columns : sequence of int, optional
        Positions of the run's features in a wider input (ensembles); None = the input is exactly
        the run's ``feature_names``.
    """

    def __init__(self, member: Member, columns=None) -> None:
        super().__init__()
        s = member.scaler
        for name, values in (("lower", s.lower_), ("upper", s.upper_), ("center", s.center_), ("scale", s.scale_)):
            self.register_buffer(name, torch.as_tensor(np.asarray(values, dtype=np.float64)))
        self.register_buffer("columns", None if columns is None
                             else torch.as_tensor(np.asarray(columns, dtype=np.int64)))
        self.mlp = build_model(member.payload["model_spec"])
        self.mlp.load_state_dict(member.payload["model"])
        self.mlp.eval()
        self.logit = member.output == "logit"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``prob`` float32 (n,) of raw rows ``x`` float32 (n, d) (feature units; finite)."""
        if self.columns is not None:
            x = torch.index_select(x, 1, self.columns)
        z = (torch.minimum(torch.maximum(x.double(), self.lower), self.upper) - self.center) / self.scale
        out = self.mlp(z.float())
        return torch.sigmoid(out) if self.logit else torch.clamp(out, 0.0, 1.0)


class WeightedEnsemble(nn.Module):
    """``sum_k w_k p_k`` of :class:`ScaledModel` members reading their columns of one input."""

    def __init__(self, source: Source) -> None:
        super().__init__()
        pos = {n: i for i, n in enumerate(source.feature_names)}
        self.members = nn.ModuleList(ScaledModel(m, [pos[n] for n in m.feature_names]) for m in source.members)
        self.weights = [float(m.weight) for m in source.members]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``prob`` float32 (n,) of raw rows ``x`` float32 (n, d_union)."""
        total = None
        for w, m in zip(self.weights, self.members):
            term = m(x) * w
            total = term if total is None else total + term
        return total


def build_module(source: Source) -> nn.Module:
    """The module to export: :class:`ScaledModel` for a run, :class:`WeightedEnsemble` for an ensemble."""
    module = ScaledModel(source.members[0]) if source.kind == "run" else WeightedEnsemble(source)
    return module.eval()


def reference_probabilities(source: Source, X) -> np.ndarray:
    """The project's own prediction path on raw rows, for the parity check.

    Per member: ``RobustScaler.transform`` in float64 -> float32 -> :func:`predict_logits` ->
    :func:`probabilities` (``logit``) or a clip to [0, 1] (``rank``), as the trainer writes
    ``predictions_test.parquet``'s ``prob``; an ensemble sums ``w_k p_k``.

    Parameters
    ----------
    source : Source
    X : array, shape (n, d)
        Raw feature values in ``source.feature_names`` order (feature units, finite).

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
    """
    X = np.asarray(X, dtype=np.float32)
    pos = {n: i for i, n in enumerate(source.feature_names)}
    total = np.zeros(X.shape[0], dtype=np.float64)
    for m in source.members:
        cols = X[:, [pos[n] for n in m.feature_names]]
        scaled = m.scaler.transform(cols.astype(np.float64)).astype(np.float32)
        model = build_model(m.payload["model_spec"])
        model.load_state_dict(m.payload["model"])
        z = predict_logits(model, scaled)
        p = probabilities(z) if m.output == "logit" else np.clip(z, 0.0, 1.0)
        total += m.weight * p
    return total


def parity_rows(source: Source, n: int = PARITY_ROWS, seed: int = 0) -> np.ndarray:
    """Random raw rows spanning every feature's training bounds, and outliers beyond them.

    Per feature, with ``w = max(upper - lower, scale)``: 80 % of the rows uniform on
    ``[lower - w/2, upper + w/2]``, 10 % uniform on ``[lower - 10 w, lower]`` and 10 % on
    ``[upper, upper + 10 w]`` (clipped by the graph), shuffled per column.

    Returns
    -------
    numpy.ndarray of float32, shape (n, d)
    """
    rng = np.random.default_rng(seed)
    lows, highs, widths = {}, {}, {}
    for m in source.members:
        s = m.scaler
        for j, name in enumerate(m.feature_names):
            lows[name], highs[name] = s.lower_[j], s.upper_[j]
            widths[name] = max(s.upper_[j] - s.lower_[j], s.scale_[j], 1e-6)
    cols = []
    for name in source.feature_names:
        lo, hi, w = lows[name], highs[name], widths[name]
        k_in, k_out = int(n * 0.8), (n - int(n * 0.8)) // 2
        k_hi = n - k_in - k_out
        col = np.concatenate([rng.uniform(lo - w / 2, hi + w / 2, k_in), rng.uniform(lo - 10 * w, lo, k_out),
                              rng.uniform(hi, hi + 10 * w, k_hi)])
        cols.append(rng.permutation(col))
    return np.column_stack(cols).astype(np.float32) if cols else np.zeros((n, 0), np.float32)


def _export_graph(module: nn.Module, d: int, path: Path) -> None:
    import logging

    example = torch.zeros(2, d, dtype=torch.float32)
    batch = torch.export.Dim("batch")
    quiet = [logging.getLogger(n) for n in ("torch.onnx", "torch.onnx._internal.exporter._registration")]
    levels = [lg.level for lg in quiet]
    try:
        for lg in quiet:
            lg.setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch-internal deprecation notes, not ours
            program = torch.onnx.export(module, (example,), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                                        opset_version=OPSET, dynamo=True, dynamic_shapes=({0: batch},),
                                        external_data=False, verbose=False, optimize=True)
        program.save(str(path), external_data=False)
    finally:
        for lg, level in zip(quiet, levels):
            lg.setLevel(level)


def onnx_session(path):
    """An onnxruntime ``InferenceSession`` of ``path`` on the CPU (``CPUExecutionProvider``)."""
    _, ort = require_onnx()
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run_onnx(session, X) -> np.ndarray:
    """``prob`` float32 (n,) of raw float32 rows ``X`` (n, d) through an onnxruntime session."""
    return session.run([OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(X, dtype=np.float32)})[0]



@dataclass
class Exported:
    """An exported graph in a temporary folder, checked, with its parity figures."""

    onnx_path: Path
    source: Source
    parity: dict
    tmpdir: tempfile.TemporaryDirectory


def export_checked(source: Source, workdir=None, rows: int = PARITY_ROWS) -> Exported:
    """Export ``source`` to a temporary ``model.onnx``, run ``onnx.checker`` and the parity check.

    Parameters
    ----------
    source : Source
    workdir : path, optional
        Folder for the temporary directory (the output's folder, so the final rename stays on one disk).
    rows : int
        Rows of :func:`parity_rows` compared with :func:`reference_probabilities`.

    Returns
    -------
    Exported
        ``parity``: ``{rows, rows_kind, max_abs_diff, tolerance, passed}``.

    Raises
    ------
    DataError
        When the graph fails the checker or differs from the reference by more than
        :data:`PARITY_TOLERANCE` (nothing is kept).
    """
    onnx, _ = require_onnx()
    tmp = tempfile.TemporaryDirectory(prefix=".export-", dir=workdir)
    try:
        path = Path(tmp.name) / "model.onnx"
        _export_graph(build_module(source), len(source.feature_names), path)
        try:
            onnx.checker.check_model(str(path), full_check=True)
        except Exception as exc:  # noqa: BLE001 - any checker failure stops the export
            raise DataError(f"the exported graph fails onnx.checker ({type(exc).__name__}: {exc})") from None
        X = parity_rows(source, rows)
        p_onnx = run_onnx(onnx_session(path), X).astype(np.float64)
        p_ref = reference_probabilities(source, X)
        diff = float(np.max(np.abs(p_onnx - p_ref))) if rows else 0.0
        parity = {"rows": int(rows), "rows_kind": "random rows spanning each feature's scaler bounds (80%) and "
                  "outliers up to 10 bound widths beyond them (20%), seed 0",
                  "reference": "RobustScaler.transform (float64) -> float32 -> predict_logits -> probabilities "
                               "(the trainer's path)", "max_abs_diff": diff, "tolerance": PARITY_TOLERANCE,
                  "passed": bool(np.isfinite(diff) and diff <= PARITY_TOLERANCE)}
        if not parity["passed"]:
            raise DataError(f"onnxruntime output differs from the model by {diff:.3g} > {PARITY_TOLERANCE:g} "
                            f"on {rows:,} rows; nothing written")
        return Exported(path, source, parity, tmp)
    except BaseException:
        tmp.cleanup()
        raise


# ---------------------------------------------------------------------------------------------- card

def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except ValueError:
        return None


def _registry() -> dict:
    from futures_vpoc.features.registry import all_specs
    from futures_vpoc.features.spec import ALL_GROUPS

    return {s.column: s for s in all_specs(ALL_GROUPS)}


def _features(names: list[str]) -> list[dict]:
    specs = _registry()
    out = []
    for i, name in enumerate(names):
        s = specs.get(name)
        out.append({"index": i, "name": name, "unit": s.unit if s else "unknown (not in the registry)",
                    "description": s.description if s else "unknown (not in the registry)",
                    "group": s.group if s else None, "lag_bars": s.lag if s else None})
    return out


def _sample_frame_equal(path: Path) -> bool:
    """Whether the merged file at ``path`` holds exactly the bundled ``es-minute`` sample's bars."""
    import pandas as pd

    from futures_vpoc.data.samples import load_sample

    try:
        frame = pd.read_parquet(path) if path.suffix == ".parquet" else None
        if frame is None:
            return False
        sample = load_sample("es-minute")
        cols = ["open", "high", "low", "close", "volume"]
        return (len(frame) == len(sample) and frame.index.equals(sample.index)
                and np.allclose(frame[cols].to_numpy(float), sample[cols].to_numpy(float), equal_nan=True))
    except Exception:  # noqa: BLE001 - an unreadable file is simply not recognised
        return False


def training_data(member: Member) -> dict:
    """The training data file, its sha256 and origin/licence as far as the run records them (never guessed)."""
    config = _read_json(member.run_dir / "config.json") or dict(member.payload.get("config") or {})
    name = config.get("data_file") or config.get("data")
    sha = config.get("data_sha256")
    info = {"file": Path(str(name)).name if name else None, "path": str(name) if name else None,
            "sha256": sha or "unknown (not recorded)", "origin": "unknown (not recorded)",
            "licence": "unknown (not recorded)"}
    if name and sha and Path(str(name)).is_file() and file_sha256(name) == sha:
        p = Path(str(name))
        if _sample_frame_equal(p):
            info["origin"] = "bundled real sample (futures-vpoc data sample es-minute)"
            info["licence"] = SAMPLE_LICENCE
    return info


def _metrics(summary: dict | None) -> dict:
    if not summary:
        return {}
    stats = summary.get("test_statistics") or {}
    out = {"method": stats.get("method", summary.get("test_statistics_method")), "level": stats.get("level"),
           "n_rows": stats.get("n", summary.get("n_test")), "n_sessions": stats.get("n_sessions"),
           "effective_n": stats.get("effective_n"), "n_boot": stats.get("n_boot"), "metrics": {}}
    for key, m in (stats.get("metrics") or {}).items():
        out["metrics"][key] = {k: m.get(k) for k in ("value", "ci_low", "ci_high", "baseline", "p_value")}
    if not out["metrics"]:  # an older summary: the flat keys
        for key in ("accuracy", "auc", "log_loss", "brier"):
            if f"test_{key}" in summary:
                ci = summary.get(f"test_{key}_ci95") or [None, None]
                out["metrics"][key] = {"value": summary[f"test_{key}"], "ci_low": ci[0], "ci_high": ci[1],
                                       "baseline": None, "p_value": summary.get("test_p_value") if key == "accuracy"
                                       else None}
    return out


def _label(member: Member) -> dict:
    target = dict(member.payload.get("target") or {})
    thr = target.get("decision_threshold")
    on_prob = None
    if thr is not None:
        on_prob = float(probabilities(np.array([thr]))[0]) if member.output == "logit" else float(thr)
    return {"target": target.get("target"), "horizon_bars": target.get("horizon"),
            "decision_threshold": thr, "decision_threshold_applies_to": "the network's raw output "
            + ("(logit)" if member.output == "logit" else "(rank prediction)"),
            "decision_threshold_on_prob": on_prob, "output": member.output}


def _member_card(member: Member) -> dict:
    summary = _read_json(member.run_dir / "summary.json")
    return {"run_dir": str(member.run_dir), "feature_names": member.feature_names,
            "hidden_dims": list(member.payload["model_spec"].get("hidden_dims", [])),
            "training_period": dict((member.payload.get("dataset") or {}).get("boundaries") or {}),
            "label": _label(member), "test_metrics": _metrics(summary),
            "summary_file": "summary.json" if summary else None,
            "trained_with": dict(member.payload.get("versions") or {}), "training_data": training_data(member),
            "constant_features": list(member.scaler.constant_features_)}


def build_card(exported: Exported, onnx_file: str, onnx_sha256: str) -> dict:
    """The model card (JSON-able): features, input order, preprocessing, training period, label,
    test metrics with intervals, parity, versions, training data and licence."""
    onnx, ort = require_onnx()
    src = exported.source
    card = {"card_format": CARD_FORMAT, "kind": src.kind, "source": str(src.path),
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "onnx": {"file": onnx_file, "sha256": onnx_sha256, "opset": OPSET,
                     "exporter": "torch.onnx.export(dynamo=True) (torch.export-based)",
                     "input": {"name": INPUT_NAME, "dtype": "float32", "shape": ["batch", len(src.feature_names)]},
                     "output": {"name": OUTPUT_NAME, "dtype": "float32", "shape": ["batch"],
                                "meaning": "probability that the forward return over the horizon is > 0"
                                if all(m.output == "logit" for m in src.members)
                                else "rank prediction clipped to [0, 1]"}},
            "input_order": list(src.feature_names),
            "features": _features(src.feature_names),
            "preprocessing": {"scaler_folded_in": True, "scaler": "RobustScaler fit on the training part only",
                              "steps": "float64: clip to [lower, upper] (training 1st/99th percentiles), "
                                       "subtract center (median), divide by scale (IQR); then float32 into the MLP"},
            "nan_policy": "the graph expects finite inputs: NaN gives NaN; do not feed rows whose features are "
                          "still warming up (the trainer dropped them)",
            "parity": exported.parity,
            "versions": {"futures_vpoc": __version__, "torch": str(torch.__version__), "onnx": onnx.__version__,
                         "onnxruntime": ort.__version__}}
    members = [_member_card(m) for m in src.members]
    if src.kind == "run":
        m = members[0]
        card.update({k: m[k] for k in ("hidden_dims", "training_period", "label", "test_metrics", "trained_with",
                                       "training_data", "constant_features")})
    else:
        spec = src.ensemble or {}
        card["ensemble"] = {"combination": "sum_k w_k p_k over the members' P(up)",
                            "weights": {m.group: m.weight for m in src.members},
                            "weights_fit_on": spec.get("weights_fit_on"),
                            "input_order_rule": "union of the members' feature names: the first member's "
                                                "order, then each further member's new names in its order"}
        card["test_metrics"] = _metrics(_ensemble_summary(spec))
        card["members"] = [{"group": m.group, "weight": m.weight, **c} for m, c in zip(src.members, members)]
        card["training_period"] = members[0]["training_period"]
        card["label"] = members[0]["label"]
        card["training_data"] = members[0]["training_data"]
    return card


def _ensemble_summary(spec: dict) -> dict | None:
    test = (spec.get("ensemble") or {}).get("test") or {}
    stats = test.get("statistics")
    return {"test_statistics": stats} if isinstance(stats, dict) and stats.get("metrics") else None


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def card_markdown(card: dict) -> str:
    """The card as markdown (the same facts as the JSON)."""
    o = card["onnx"]
    lines = [f"# Model card: {o['file']}", "",
             f"Exported from `{card['source']}` ({card['kind']}) on {card['created']} with {o['exporter']}, "
             f"opset {o['opset']}. sha256 `{o['sha256']}`.", "",
             f"* Input `{o['input']['name']}`: float32 (batch, {o['input']['shape'][1]}), raw feature values in "
             "the order below (feature units).",
             f"* Output `{o['output']['name']}`: float32 (batch,), {o['output']['meaning']}.",
             f"* Scaler folded in: {card['preprocessing']['scaler']}; {card['preprocessing']['steps']}.",
             f"* NaN policy: {card['nan_policy']}.",
             f"* Parity: max |p_onnx - p_ref| = {card['parity']['max_abs_diff']:.3g} on {card['parity']['rows']:,} "
             f"rows (tolerance {card['parity']['tolerance']:g}; {card['parity']['rows_kind']}; reference "
             f"{card['parity']['reference']}).", ""]
    lab = card.get("label") or {}
    lines += ["## Training", "",
              f"* Period: {json.dumps(card.get('training_period'))}",
              f"* Label: target {lab.get('target')}, horizon {lab.get('horizon_bars')} bars, decision threshold "
              f"{lab.get('decision_threshold')} on {lab.get('decision_threshold_applies_to')} "
              f"(= {_fmt(lab.get('decision_threshold_on_prob'))} on `prob`)"]
    data = card.get("training_data") or {}
    lines += [f"* Data: `{data.get('file')}`, sha256 `{data.get('sha256')}`; origin: {data.get('origin')}; "
              f"licence: {data.get('licence')}", ""]
    if "ensemble" in card:
        e = card["ensemble"]
        lines += ["## Ensemble", "", f"{e['combination']}; input order: {e['input_order_rule']}.", "",
                  "| member | weight | features |", "|---|---|---|"]
        lines += [f"| {m['group']} | {m['weight']:.4g} | {len(m['feature_names'])} |" for m in card["members"]]
        lines.append("")
    tm = card.get("test_metrics") or {}
    lines += ["## Test metrics", ""]
    if tm.get("metrics"):
        lines += [f"{tm.get('method')}, level {tm.get('level')}, {tm.get('n_rows')} rows, "
                  f"{tm.get('n_sessions')} sessions.", "",
                  "| metric | value | interval | baseline | p-value |", "|---|---|---|---|---|"]
        for k, m in tm["metrics"].items():
            lines.append(f"| {k} | {_fmt(m['value'])} | {_fmt(m['ci_low'])} - {_fmt(m['ci_high'])} | "
                         f"{_fmt(m['baseline'])} | {_fmt(m['p_value'])} |")
    else:
        lines.append("not recorded")
    lines += ["", "## Features (input order)", "", "| # | name | unit | description |", "|---|---|---|---|"]
    lines += [f"| {f['index']} | {f['name']} | {f['unit']} | {f['description']} |" for f in card["features"]]
    v = card["versions"]
    lines += ["", "## Versions", "", ", ".join(f"{k} {v[k]}" for k in v), ""]
    return "\n".join(lines)


def write_export(exported: Exported, out: Path) -> tuple[Path, Path, Path]:
    """Move the checked graph to ``out`` and write ``<stem>.card.json`` and ``<stem>.card.md`` beside it.

    The card is built before anything is written; each file is written whole (temporary file +
    rename). Returns the three paths.
    """
    from futures_vpoc.data.barframe import atomic_write

    out = Path(out)
    card = build_card(exported, out.name, file_sha256(exported.onnx_path))
    card_json, card_md = out.with_name(out.stem + ".card.json"), out.with_name(out.stem + ".card.md")
    text_json = json.dumps(card, indent=2, allow_nan=True) + "\n"
    text_md = card_markdown(card)
    data = exported.onnx_path.read_bytes()
    atomic_write(out, lambda tmp: Path(tmp).write_bytes(data))
    atomic_write(card_json, lambda tmp: Path(tmp).write_text(text_json, encoding="utf-8"))
    atomic_write(card_md, lambda tmp: Path(tmp).write_text(text_md, encoding="utf-8"))
    return out, card_json, card_md


__all__ = ["INPUT_NAME", "OPSET", "OUTPUT_NAME", "PARITY_ROWS", "PARITY_TOLERANCE", "Exported", "Member",
           "ScaledModel", "Source", "WeightedEnsemble", "build_card", "build_module", "card_markdown",
           "export_checked", "load_source", "onnx_session", "parity_rows", "reference_probabilities",
           "require_onnx", "run_onnx", "training_data", "write_export"]
