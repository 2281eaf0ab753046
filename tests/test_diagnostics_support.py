"""Helpers for the diagnostics and report tests: fixture runs, edits to them, command checks.

The fixture runs in ``tests/data/run_fixtures`` are hand-made text files (config.json, metrics.jsonl,
summary.json); each config.json says in ``_fixture`` what the run stands for.

``check_command`` is the hook that decides how a recommended command is validated: with the
project's real parser (``futures_vpoc.cli.build_parser``) when the subcommand is registered there,
otherwise against the flags the subcommand is specified to accept (the seed's training flags, the
robust-trainer issue's extras, and ``--ladder``/``--groups``/the backtest flags of issues 6 and 7).
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from futures_vpoc.cli import build_parser

RUNS = Path(__file__).parent / "data" / "run_fixtures"
RUN_NAMES = ("healthy", "diverging", "no_learning", "overfitting")

SEED_TRAIN_FLAGS = {"--data", "--output_dir", "--epochs", "--batch_size", "--learning_rate", "--hidden_dims",
                    "--dropout_rate", "--weight_decay", "--warmup_steps", "--gradient_clip_value",
                    "--early_stopping_patience", "--use_mixed_precision", "--data_fraction", "--chunk_size",
                    "--adaptive_loss", "--verbose"}
TRAIN_FLAGS = SEED_TRAIN_FLAGS | {"--seed", "--target", "--horizon", "--features", "--device", "--tensorboard"}
SPECIFIED_FLAGS = {
    "train": TRAIN_FLAGS,
    "scale-up": (TRAIN_FLAGS - {"--hidden_dims"}) | {"--ladder"},
    "ensemble": (TRAIN_FLAGS - {"--features"}) | {"--groups"},
    "backtest": {"--data", "--model", "--strategy", "--output_dir", "--walk-forward"},
}
SWITCHES = {"--use_mixed_precision", "--adaptive_loss", "--verbose", "--walk-forward"}
INT_FLAGS = {"--epochs", "--batch_size", "--warmup_steps", "--early_stopping_patience", "--chunk_size", "--seed",
             "--horizon"}
FLOAT_FLAGS = {"--learning_rate", "--dropout_rate", "--weight_decay", "--gradient_clip_value", "--data_fraction"}
GROUPS = {"price", "volume", "volatility", "profile", "vix", "calendar", "technical"}


def copy_run(name: str, tmp_path: Path) -> Path:
    """A writable copy of a fixture run."""
    dest = tmp_path / name
    shutil.copytree(RUNS / name, dest)
    return dest


def patch_json(path: Path, drop=(), **updates) -> None:
    """Update (and drop keys of) a JSON object file in place."""
    data = json.loads(path.read_text())
    for key in drop:
        data.pop(key, None)
    data.update(updates)
    path.write_text(json.dumps(data))


def read_records(run: Path) -> list[dict]:
    return [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line.strip()]


def write_records(run: Path, records: list[dict]) -> None:
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n")


def registered_subcommands() -> set[str]:
    """Subcommands the real parser knows today."""
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


def _check_value(flag: str, values: list[str]) -> None:
    if flag in SWITCHES:
        assert not values, f"{flag} is a switch but got {values}"
        return
    assert values, f"{flag} needs a value"
    if flag in INT_FLAGS:
        assert len(values) == 1 and int(values[0]) >= 0, (flag, values)
    elif flag in FLOAT_FLAGS:
        assert len(values) == 1 and float(values[0]) >= 0, (flag, values)
    elif flag == "--hidden_dims":
        assert all(int(v) > 0 for v in values), values
    elif flag == "--ladder":
        assert all(rung.split() and all(int(w) > 0 for w in rung.split()) for rung in values), values
    elif flag == "--groups":
        assert set(values) <= GROUPS and len(values) >= 2, values
    elif flag == "--features":
        assert set(values) <= GROUPS, values
    else:
        assert len(values) == 1, (flag, values)


def check_command(argv: tuple[str, ...] | list[str]) -> None:
    """Assert a recommended command is complete and valid (see the module docstring)."""
    assert argv[0] == "futures-vpoc", argv
    sub, rest = argv[1], list(argv[2:])
    if sub in registered_subcommands():
        try:
            build_parser().parse_args([sub, *rest])
        except SystemExit as exc:  # argparse exits on a bad command line
            raise AssertionError(f"the real parser rejects {argv}") from exc
        return
    assert sub in SPECIFIED_FLAGS, f"unknown subcommand {sub}"
    seen: dict[str, list[str]] = {}
    flag = None
    for token in rest:
        if token.startswith("--"):
            assert token not in seen, f"{token} given twice"
            assert token in SPECIFIED_FLAGS[sub], f"{sub} does not take {token}"
            flag, seen[token] = token, []
        else:
            assert flag is not None, f"stray value {token!r}"
            seen[flag].append(token)
    for name, values in seen.items():
        _check_value(name, values)
    assert "--data" in seen and "--output_dir" in seen, f"{sub} needs --data and --output_dir"
