"""Study folders: where a study writes, and whether a rerun resumes it (``study.json``).

``scale-up``, ``ensemble``, ``tune`` and ``backtest --walk-forward`` write ``study.json`` (their
settings, canonical JSON, with the package version) into their folder before the first training.
:func:`claim_study` decides, before any slow work and without writing, whether a run of the same
command resumes there (the same settings: finished tasks are reused through their ``done.json``
markers, :mod:`futures_vpoc.ml.executor`), is refused (other settings: one line naming the keys that
differ), or, for a non-empty folder without a study, gets a new ``run_*`` subfolder or is refused.
:func:`write_study` then writes the file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from futures_vpoc.errors import UsageError

STUDY = "study.json"


@dataclass(frozen=True)
class StudyClaim:
    """The folder a study writes to, the text of its ``study.json``, and whether it resumes there."""

    folder: Path
    text: str
    resuming: bool
    note: str | None = None


def study_text(settings: dict) -> str:
    """``study.json``'s text: ``settings`` plus the package version, canonical JSON (sorted keys)."""
    from futures_vpoc import __version__
    from futures_vpoc.ml.rundir import jsonable

    return json.dumps(jsonable({**settings, "version": __version__}), indent=2, sort_keys=True, default=str) + "\n"


def _differing(old_text: str, new_text: str) -> str:
    try:
        old, new = json.loads(old_text), json.loads(new_text)
    except ValueError:
        return "unreadable study.json"
    keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if keys == ["train_config"]:
        a, b = old.get("train_config") or {}, new.get("train_config") or {}
        keys = [f"train_config.{k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    return "differs in " + ", ".join(keys[:6]) if keys else "differs"


def claim_study(folder, settings: dict, what: str, foreign: str = "subfolder") -> StudyClaim:
    """Decide, before any slow work, where a study writes and whether it resumes (writes nothing).

    Parameters
    ----------
    folder : path
        ``--output_dir`` (walk-forward: its ``walkforward_runs``).
    settings : dict
        Everything that must match for finished tasks to be reused (data sha256, ladder/groups/folds,
        training settings); the package version is added.
    what : str
        The study's name for messages (``scale-up``, ``ensemble``, ``walk-forward``).
    foreign : {"subfolder", "refuse"}
        A non-empty folder without ``study.json``: a new ``run_*`` subfolder (scale-up, ensemble:
        today's behaviour of every run) or a usage error (walk-forward).

    Returns
    -------
    StudyClaim
        ``resuming`` when ``folder/study.json`` holds exactly these settings (a rerun: finished
        tasks are reused); then :func:`write_study`.

    Raises
    ------
    UsageError
        ``folder`` is a file, or holds a study of other settings (or of another version).
    """
    from futures_vpoc.ml.rundir import resolve_run_dir

    folder = Path(folder)
    text = study_text(settings)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--output_dir {folder} is a file; give a folder")
    if not folder.is_dir() or not any(folder.iterdir()):
        return StudyClaim(folder, text, False)
    path = folder / STUDY
    if path.is_file():
        try:
            old = path.read_text(encoding="utf-8")
        except OSError:
            old = ""
        if old == text:
            return StudyClaim(folder, text, True)
        raise UsageError(f"{folder} already holds a {what} of other settings (its {STUDY} {_differing(old, text)}); "
                         "rerun with the same settings to resume it, or choose another --output_dir")
    if foreign == "refuse":
        raise UsageError(f"{folder} already holds files but no {STUDY} of this {what} (runs of other settings "
                         "or of an older version); choose another --output_dir")
    sub, note = resolve_run_dir(folder, create=False)
    return StudyClaim(sub, text, False, note)


def write_study(claim: StudyClaim) -> Path:
    """Create the study folder and write its ``study.json`` (atomically); say so when resuming."""
    from futures_vpoc.data.barframe import atomic_write

    claim.folder.mkdir(parents=True, exist_ok=True)
    path = claim.folder / STUDY
    if claim.note:
        print(claim.note, flush=True)
    if not claim.resuming:
        atomic_write(path, lambda tmp: Path(tmp).write_text(claim.text, encoding="utf-8"))
    return path


__all__ = ["STUDY", "StudyClaim", "claim_study", "study_text", "write_study"]
