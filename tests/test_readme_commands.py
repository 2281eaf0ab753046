"""Every command in the README's code blocks runs: a user who copies one gets what it says.

Each ``futures-vpoc`` line of a ```bash block is parsed by the real parser and then run, in README
order, in a scratch folder holding small inputs at the paths the README names (vendor files in
``DATA/RAW/``, ``DATA/VIX_History.csv``). Only sizes shrink: ``--epochs`` becomes 1, synthetic
markets three months, walk-forward windows two months and one, demos one month without the optional stages.
``make``, ``pip``/``venv`` lines and ``torchrun`` are exercised elsewhere (named below).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import shutil
from pathlib import Path

import pandas as pd
import pytest

from futures_vpoc.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FIXTURES = Path(__file__).resolve().parent / "data"
# Lines run by something other than this test: the Makefile targets by newcomer-check and CI,
# installation lines by hand, torchrun by tests/test_train_processes.py (two real processes).
ELSEWHERE = {"make": "CI / newcomer-check", "python3": "installation", ".venv/bin/pip": "installation",
             "torchrun": "tests/test_train_processes.py::test_torchrun_two_processes_on_cpu"}


def readme_commands(text: str) -> list[tuple[dict, list[str]]]:
    """(environment, argv) of every command in the ```bash blocks, continuation lines joined."""
    out = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            env: dict = {}
            for part in _split_and(words):
                if part and part[0] == "export":
                    key, _, value = part[1].partition("=")
                    env[key] = value
                elif part:
                    out.append((dict(env), part))
    return out


def _split_and(words: list[str]) -> list[list[str]]:
    parts, current = [], []
    for w in words:
        if w == "&&":
            parts.append(current)
            current = []
        else:
            current.append(w)
    return parts + [current]


def _set(argv: list[str], flag: str, value: str) -> list[str]:
    if flag in argv:
        argv = list(argv)
        argv[argv.index(flag) + 1] = value
        return argv
    return argv + [flag, value]


def shrink(argv: list[str]) -> list[str]:
    """The same command on small data: fewer epochs, shorter markets and windows."""
    if "--epochs" in argv:
        argv = _set(argv, "--epochs", "1")
    if argv[:2] == ["data", "synth"] and "--start" in argv:
        start = pd.Timestamp(argv[argv.index("--start") + 1])
        argv = _set(argv, "--end", f"{start + pd.DateOffset(months=3) - pd.Timedelta(days=1):%Y-%m-%d}")
    if "--walk-forward" in argv:  # two months to train (features warm up in the first), one to test
        for flag, months in (("--wf_train_months", "2"), ("--wf_test_months", "1"), ("--wf_step_months", "1")):
            argv = _set(argv, flag, months)
    if argv[0] == "demo":
        argv = argv + ["--months", "1", "--epochs", "1", "--n_random", "3", "--budget_minutes", "0"]
    if argv[0] == "backtest" and "--walk-forward" not in argv:
        argv = _set(argv, "--n_random", "5")
    return argv


def _scratch(tmp: Path) -> None:
    raw = tmp / "DATA" / "RAW"
    raw.mkdir(parents=True)
    for name in ("ES 03-24.Last.txt", "ES 06-24.Last.txt"):
        shutil.copy(FIXTURES / "formats" / "nt_folder" / name, raw / name)
    shutil.copy(FIXTURES / "vix" / "VIX_History_small.csv", tmp / "DATA" / "VIX_History.csv")
    (tmp / "DATA" / "MERGED").mkdir()


def _futures_vpoc(argv: list[str]) -> list[str] | None:
    if argv[0] == "futures-vpoc":
        return argv[1:]
    if argv[:3] == ["python", "-m", "futures_vpoc"]:
        return argv[3:]
    return None


def test_readme_has_the_commands_the_issue_names():
    commands = [_futures_vpoc(a) for _, a in readme_commands(README.read_text())]
    firsts = {tuple(c[:2]) if c[0] == "data" else (c[0],) for c in commands if c}
    for expected in [("data", "synth"), ("data", "merge"), ("data", "check"), ("data", "sample"), ("profile",),
                     ("features",), ("train",), ("analyze",), ("scale-up",), ("ensemble",), ("backtest",), ("demo",)]:
        assert expected in firsts, expected


def test_every_readme_line_is_known():
    for _, argv in readme_commands(README.read_text()):
        sub = _futures_vpoc(argv)
        if sub is None:
            assert argv[0] in ELSEWHERE, f"README command not exercised anywhere: {' '.join(argv)}"
            continue
        build_parser().parse_args(sub)  # a typo in a flag exits here with status 2


def test_torchrun_line_is_exercised_by_the_process_test():
    text = (Path(__file__).parent / "test_train_processes.py").read_text()
    assert "def test_torchrun_two_processes_on_cpu" in text and "--nproc_per_node=2" in text


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path, monkeypatch):
    _scratch(tmp_path)
    monkeypatch.chdir(tmp_path)
    commands = [(env, _futures_vpoc(a)) for env, a in readme_commands(README.read_text())]
    commands = [(env, a) for env, a in commands if a is not None]
    data_first = [c for c in commands if c[1][0] == "data"] + [c for c in commands if c[1][0] != "data"]
    for env, argv in data_first:
        run = shrink(argv)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        if "FILE" in run:
            run = [str(Path("DATA/MERGED/synthetic.csv")) if a == "FILE" else a for a in run]
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            status = main(run)
        assert status == 0, f"futures-vpoc {' '.join(run)} -> {status}\n{buf.getvalue()[-2000:]}"
        for key in env:
            monkeypatch.delenv(key)
    assert (tmp_path / "runs" / "demo" / "report.html").is_file()
    assert os.path.isfile(tmp_path / "TRAINING" / "CONSERVATIVE_V1" / "analysis.html")
    rolling = json.loads((tmp_path / "BACKTEST" / "wf_rolling" / "walkforward.json").read_text())
    assert rolling["window"] == "rolling" and rolling["expanding"] is False


INLINE_RUN_ELSEWHERE = {
    "train --output_dir DIR --resume": "tests/test_train_processes.py (SIGKILL, then --resume)",
}


def test_inline_commands_in_the_prose_parse():
    """`futures-vpoc ...` mentioned inside a sentence: each parses (placeholders filled in) or is run elsewhere."""
    inline = re.findall(r"`(?:futures-vpoc|python -m futures_vpoc) ([^`]+)`", README.read_text())
    assert inline, "the README mentions no inline command"
    for text in inline:
        if text in INLINE_RUN_ELSEWHERE:
            continue
        argv = [{"RUN_DIR": "runs/demo/train", "DIR": "runs/demo/train", "FILE": "data.csv"}.get(w, w)
                for w in shlex.split(text)]
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:  # --help prints and exits 0
            assert exc.code == 0, text
    text = (Path(__file__).parent / "test_train_processes.py").read_text()
    assert "--resume" in text and "SIGKILL" in text
