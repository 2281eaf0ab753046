"""DESIGN.md section 1: the layering is checked by import-linter as part of the test run."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "import-linter is not installed (make installs it from requirements.lock)"
    run = subprocess.run([exe, "--config", str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "broken" in run.stdout.lower() or "kept" in run.stdout.lower()


def test_the_package_root_holds_only_what_every_layer_shares():
    """Issue 13: no command-line module at the root; each layer in its folder."""
    root = ROOT / "src" / "futures_vpoc"
    modules = sorted(p.name for p in root.glob("*.py"))
    assert modules == ["__init__.py", "__main__.py", "calendar.py", "config.py", "errors.py", "labels.py", "lazy.py", "progress.py"]
    assert (root / "cli" / "main.py").is_file() and (root / "cli" / "demo" / "stages.py").is_file()

