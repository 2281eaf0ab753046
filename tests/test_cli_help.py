"""The command line's help tree is the golden one written before the CLI moved (issue 13).

``tests/data/cli/help_tree.txt`` holds every command's ``--help`` at 100 columns, as printed by the
flat ``cli*.py`` modules before they became the ``futures_vpoc.cli`` package; any change of a
command, a flag, a default or a help text shows up here as a diff. Deliberate changes since (issue 14:
the ``evaluate`` command, the ``up_or_not`` target, the session-scoped holding rule of ``backtest``)
were made by regenerating it (``python tests/cli_help_tree.py > tests/data/cli/help_tree.txt``) and
reviewing the diff.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from cli_help_tree import help_tree
from futures_vpoc.cli import main

GOLDEN = Path(__file__).parent / "data" / "cli" / "help_tree.txt"


def test_help_tree_equals_the_golden_file():
    got, want = help_tree(), GOLDEN.read_text(encoding="utf-8")
    # 14 before issue 14 added `evaluate`; issue 17 added `predict`, `replay` and `export`; issue 19 `tune`
    assert got.count("### futures-vpoc") == want.count("### futures-vpoc") == 21
    assert got == want


@pytest.mark.parametrize("argv", [["--help"], ["data", "--help"], ["train", "--help"], ["evaluate", "--help"],
                                  ["predict", "--help"], ["export", "--help"], ["tune", "--help"],
                                  ["--version"]])
def test_help_imports_neither_torch_nor_scipy_nor_the_engines(argv):
    """Issue 13: the parser is text; a command imports its layer only when it runs."""
    code = ("import sys\nfrom futures_vpoc.cli import main\n"
            f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'scipy', 'numba', 'pandas', 'matplotlib', 'optuna', 'mlflow', 'ray') "
            "if m in sys.modules]\n"
            "print('HEAVY=' + ','.join(heavy))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "HEAVY=", run.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(("argv", "hint"), [
    (["train", "--data", "x", "--epoch", "3"], "--epoch (did you mean --epochs?)"),
    (["data", "merge", "--es", "a", "--vix", "b", "--out", "c.csv", "--vixlag", "1"], "(did you mean --vix-lag?)"),
    (["backtest", "--data", "x", "--output_dir", "y", "--thet", "0.1"], "(did you mean --theta?)"),
])
def test_did_you_mean_looks_at_the_command_typed(argv, hint, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and hint in err


@pytest.mark.parametrize("argv", [
    ["backtest", "--data", "x", "--output_dir", "y", "--prints-per-contract", "0.5"],  # a data synth flag
    ["train", "--data", "x", "--ladder", "64"],  # a scale-up flag, not train's
    ["data", "check", "f.csv", "--epochs", "3"],  # a train flag, not data check's
])
def test_no_hint_from_another_command_or_a_far_flag(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err.strip()
    assert exc.value.code == 2 and "unknown flag" in err and "did you mean" not in err


def test_the_parser_text_agrees_with_the_layers():
    """The parser holds a few names as text (so it imports nothing); they must be the layers' own."""
    from futures_vpoc.backtest import strategies
    from futures_vpoc.backtest.engine import ROLL_MODES
    from futures_vpoc.cli.options import ES_FORMATS
    from futures_vpoc.data.formats import FORMATS

    assert ES_FORMATS == FORMATS
    assert strategies.STRATEGIES[0] == "model" and set(strategies.RULE_STRATEGIES) < set(strategies.STRATEGIES)
    assert ROLL_MODES == ("roll", "close")
