"""The command line's help tree is the golden one written before the CLI moved (issue 13).

``tests/data/cli/help_tree.txt`` holds every command's ``--help`` at 100 columns, as printed by the
flat ``cli*.py`` modules before they became the ``futures_vpoc.cli`` package; any change of a
command, a flag, a default or a help text shows up here as a diff.
"""

from pathlib import Path

from cli_help_tree import help_tree

GOLDEN = Path(__file__).parent / "data" / "cli" / "help_tree.txt"


def test_help_tree_equals_the_golden_file():
    got, want = help_tree(), GOLDEN.read_text(encoding="utf-8")
    assert got.count("### futures-vpoc") == want.count("### futures-vpoc") == 14
    assert got == want
