"""``futures-vpoc export --model RUN --format onnx --out model.onnx``: a trained model as one ONNX graph.

The graph takes raw feature values (float32, the run's feature order) and returns P(up): the run's
train-only scaler is folded in (:mod:`futures_vpoc.ml.export`). An ensemble folder becomes one graph
over the union of its members' features returning ``sum_k w_k p_k``. Beside the ``.onnx`` go
``<stem>.card.json`` and ``<stem>.card.md``, the model card. The graph is checked with
``onnx.checker`` and against the project's own predictions on 10,000 rows (max |difference| <= 1e-5)
before anything is written; any failure prints one line and exits with status 2, writing nothing.
Needs the ``export`` extra (``pip install 'futures-vpoc[export]'``: onnx, onnxruntime, onnxscript).
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["add_export_parser", "cmd_export"]

FORMATS = ("onnx",)


def add_export_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``export`` subcommand on ``subparsers`` (from ``add_subparsers``)."""
    p = subparsers.add_parser(
        "export", allow_abbrev=False,
        help="export a trained run or ensemble folder as an ONNX graph (scaler folded in) with a model card",
        description="Write a run directory's best.pt (or an ensemble folder's members and weights) as one ONNX "
                    "graph: input 'features' float32 (batch, d) of raw feature values in the card's input order, "
                    "output 'prob' float32 (batch,) = P(up). The training scaler is folded in; feed finite rows "
                    "only (no warm-up rows). Writes OUT, <stem>.card.json and <stem>.card.md after onnx.checker "
                    "and a 10,000-row parity check against the project's own predictions pass.")
    p.add_argument("--model", required=True, metavar="RUN",
                   help="run directory of `futures-vpoc train` (a scale-up rung folder qualifies) or an ensemble "
                        "folder (ensemble.json)")
    p.add_argument("--format", required=True, choices=FORMATS, help="export format (onnx)")
    p.add_argument("--out", required=True, metavar="FILE", help="the graph to write, e.g. model.onnx")
    return p


def cmd_export(args) -> int:
    """Run ``futures-vpoc export``: check the inputs, export, verify, then write the graph and its card."""
    from futures_vpoc.errors import UsageError

    out = Path(args.out)
    if out.is_dir() or args.out.endswith(("/", "\\")):
        raise UsageError(f"--out {args.out} is a directory; give a file name such as model.onnx")
    if out.suffix.lower() != ".onnx":
        raise UsageError(f"--out {args.out} must end in .onnx")
    if out.parent.exists() and not out.parent.is_dir():
        raise UsageError(f"--out {args.out}: {out.parent} is not a directory")

    from futures_vpoc.ml.export import require_onnx

    require_onnx()  # before torch work: the one-line install hint
    from futures_vpoc.ml.export import export_checked, load_source, write_export

    source = load_source(args.model)
    workdir = out.parent if out.parent.is_dir() else None
    exported = export_checked(source, workdir=workdir)
    try:
        onnx_path, card_json, card_md = write_export(exported, out)
    finally:
        exported.tmpdir.cleanup()
    parity = exported.parity
    what = f"ensemble of {len(source.members)}" if source.kind == "ensemble" else "run"
    print(f"export {args.model} ({what}, {len(source.feature_names)} features): wrote {onnx_path}, {card_json}, "
          f"{card_md}; parity max |p_onnx - p_torch| = {parity['max_abs_diff']:.2g} on {parity['rows']:,} rows")
    return 0
