"""The top-level parser and :func:`main`: ``futures-vpoc <command> ...`` and ``python -m futures_vpoc``.

Parse -> options -> one call per subcommand. The parser is text: registering a command imports
only :mod:`futures_vpoc.cli` modules and the small constant modules of the layers (``ml.config``,
``features.spec``, ``profile.spec``, ``backtest.spec``), never torch, scipy or numba, so
``--help`` and ``--version`` start at once; a command imports its layer when it runs
(:data:`HANDLERS`). User errors (bad flags, bad data) print one line on stderr and exit with
status 2; nothing already written is damaged (outputs are written whole through a temporary
file, and only after every check passed).
"""

from __future__ import annotations

import importlib
import sys

from futures_vpoc import __version__
from futures_vpoc.cli.analyze import add_analyze_parser
from futures_vpoc.cli.backtest import add_backtest_parser
from futures_vpoc.cli.data import add_data_parser
from futures_vpoc.cli.demo import add_demo_parser
from futures_vpoc.cli.evaluate import add_evaluate_parser
from futures_vpoc.cli.export import add_export_parser
from futures_vpoc.cli.features import add_features_parser
from futures_vpoc.cli.options import Parser
from futures_vpoc.cli.predict import add_predict_parser, add_replay_parser
from futures_vpoc.cli.profile import add_profile_parser
from futures_vpoc.cli.scaleup import add_ensemble_parser, add_scaleup_parser
from futures_vpoc.cli.ticks import add_ticks_parser
from futures_vpoc.cli.train import add_train_parser
from futures_vpoc.cli.tune import add_tune_parser
from futures_vpoc.errors import FuturesVpocError

HANDLERS = {
    "data": ("futures_vpoc.cli.data", None),
    "ticks": ("futures_vpoc.cli.ticks", None),
    "profile": ("futures_vpoc.cli.profile", "cmd_profile"),
    "features": ("futures_vpoc.cli.features", "cmd_features"),
    "train": ("futures_vpoc.cli.train", "cmd_train"),
    "scale-up": ("futures_vpoc.cli.scaleup", "cmd_scaleup"),
    "ensemble": ("futures_vpoc.cli.scaleup", "cmd_ensemble"),
    "tune": ("futures_vpoc.cli.tune", "cmd_tune"),
    "evaluate": ("futures_vpoc.cli.evaluate", "cmd_evaluate"),
    "export": ("futures_vpoc.cli.export", "cmd_export"),
    "predict": ("futures_vpoc.cli.predict", "cmd_predict"),
    "replay": ("futures_vpoc.cli.predict", "cmd_replay"),
    "analyze": ("futures_vpoc.cli.analyze", "cmd_analyze"),
    "backtest": ("futures_vpoc.cli.backtest", "cmd_backtest"),
    "walk-forward": ("futures_vpoc.cli.walkforward", "cmd_walkforward"),
    "demo": ("futures_vpoc.cli.demo", "cmd_demo"),
}
"""Command -> (module, handler): imported only when that command runs (``data`` and ``ticks`` look
their subcommand up in the module's ``COMMANDS``; ``backtest --walk-forward`` runs ``walk-forward``)."""


def build_parser() -> Parser:
    """The full command-line parser."""
    top = Parser(prog="futures-vpoc", allow_abbrev=False,
                 description="ES futures + VIX: volume profiles, features, robust training, analysis, backtests.")
    top.add_argument("--version", action="version", version=f"futures-vpoc {__version__}")
    sub = top.add_subparsers(dest="command", required=True)
    add_data_parser(sub)
    add_ticks_parser(sub)
    add_profile_parser(sub)
    add_features_parser(sub)
    add_train_parser(sub)
    add_scaleup_parser(sub)  # copies the train flags: must follow add_train_parser
    add_ensemble_parser(sub)
    add_tune_parser(sub)  # copies the train flags too
    add_evaluate_parser(sub)
    add_export_parser(sub)
    add_predict_parser(sub)
    add_replay_parser(sub)
    add_analyze_parser(sub)
    add_backtest_parser(sub)
    add_demo_parser(sub)
    return top


def _handler(args):
    command = "walk-forward" if args.command == "backtest" and args.walk_forward else args.command
    module_name, name = HANDLERS[command]
    module = importlib.import_module(module_name)
    if command == "data":
        return module.COMMANDS[args.data_command]
    if command == "ticks":
        return module.COMMANDS[args.ticks_command]
    if command == "demo":
        return lambda parsed: module.cmd_demo(parsed, main)
    return getattr(module, name)


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    args.argv = list(argv) if argv is not None else sys.argv[1:]  # the exact command, for run records
    handler = _handler(args)
    try:
        return handler(args)
    except FuturesVpocError as exc:
        print(f"futures-vpoc: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("futures-vpoc: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
