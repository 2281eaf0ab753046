"""Acceptance 1, last part: every recommended command runs.

``shrink`` turns a recommended command into one small enough for a test (``--data`` on a small
synthetic file, ``--output_dir`` in a temporary folder, ``--epochs 2``, ``--model`` on a freshly
trained run) and ``test_recommended_commands_run`` runs it through ``futures_vpoc.cli.main``. It
runs each command whose subcommand the real parser registers and skips the others, naming them;
while ``train``, ``scale-up``, ``ensemble`` and ``backtest`` are not registered it skips as a whole,
and it starts running them by itself as each subcommand is wired into ``futures_vpoc.cli``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from futures_vpoc.cli import main
from futures_vpoc.diagnostics.analysis import analyze_run

from test_diagnostics_support import RUN_NAMES, RUNS, registered_subcommands

RUN_COMMANDS = {"train", "scale-up", "ensemble", "backtest"}
TEST_EPOCHS = "2"


def shrink(argv, data: Path, out_dir: Path, model: Path | None = None) -> list[str]:
    """The command's arguments (without the program name) redirected to test data and a test folder."""
    tokens = list(argv[1:])
    for flag, value in (("--data", str(data)), ("--output_dir", str(out_dir)), ("--epochs", TEST_EPOCHS),
                        ("--model", None if model is None else str(model))):
        if flag in tokens and value is not None:
            tokens[tokens.index(flag) + 1] = value
    if argv[1] in ("train", "scale-up", "ensemble"):
        # Speed only: the recommended flags are checked as they are; large batches keep CI short.
        tokens += ["--batch_size", "1024", "--no-use_mixed_precision"]
    return tokens


def _run_dir(out_dir: Path) -> Path:
    """The run directory ``train`` wrote: ``out_dir`` itself or its one subfolder holding config.json."""
    if (out_dir / "config.json").exists():
        return out_dir
    found = sorted(p.parent for p in out_dir.glob("*/config.json"))
    assert len(found) == 1, f"expected one run directory under {out_dir}, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def synth_data(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("analysis_cmds") / "synth.csv"
    assert main(["data", "synth", "--out", str(path), "--start", "2023-01-02", "--end", "2023-02-24",
                 "--signal", "0.5"]) == 0
    return path


@pytest.fixture(scope="module")
def trained_model(tmp_path_factory, synth_data) -> Path:
    out = tmp_path_factory.mktemp("analysis_model") / "model"
    assert main(["train", "--data", str(synth_data), "--output_dir", str(out), "--epochs", "1"]) == 0
    return _run_dir(out)


@pytest.mark.slow
@pytest.mark.parametrize("name", RUN_NAMES)
def test_recommended_commands_run(name, tmp_path, request):
    recs = analyze_run(RUNS / name).recommendations
    registered = registered_subcommands() & RUN_COMMANDS
    runnable = [r for r in recs if r.argv[1] in registered]
    waiting = sorted({r.argv[1] for r in recs} - registered)
    if not runnable:
        pytest.skip(f"subcommand(s) not registered in futures_vpoc.cli yet: {', '.join(waiting)}")
    data = request.getfixturevalue("synth_data")
    for n, rec in enumerate(runnable):
        model = request.getfixturevalue("trained_model") if rec.argv[1] == "backtest" else None
        args = shrink(rec.argv, data, tmp_path / f"out{n}", model)
        assert main(args) == 0, f"recommended command failed: {rec.command}"
    if waiting:
        pytest.skip(f"ran {len(runnable)}; not registered yet: {', '.join(waiting)}")


def test_shrink_redirects_data_output_epochs_and_model(tmp_path):
    rec = analyze_run(RUNS / "healthy").recommendations[0]
    args = shrink(rec.argv, tmp_path / "d.csv", tmp_path / "o", tmp_path / "m")
    assert args[0] == "backtest"
    assert args[args.index("--data") + 1] == str(tmp_path / "d.csv")
    assert args[args.index("--model") + 1] == str(tmp_path / "m")
    ens = shrink(analyze_run(RUNS / "healthy").recommendations[-1].argv, tmp_path / "d.csv", tmp_path / "o")
    assert ens[ens.index("--epochs") + 1] == TEST_EPOCHS and ens[ens.index("--output_dir") + 1] == str(tmp_path / "o")
