"""What ``futures-vpoc tune`` writes: ``trials.csv``, ``tune.json``, ``best_command.txt``, ``tune.md``.

Renders the study's records; computes nothing but the best command line (:func:`best_command`),
which names every flag the user fixed and every searched flag's chosen value, so that
``futures-vpoc train`` run with it trains the best trial's configuration.
"""

from __future__ import annotations

import csv
import io
import shlex
from pathlib import Path

from futures_vpoc.ml.config import field_names

NOT_IN_COMMAND = ("data", "output_dir", "resume")
RETRAIN_DIR = "retrain"


def _flag_tokens(name: str, value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bool):
        return [f"--{name}" if value else f"--no-{name}"]
    if isinstance(value, (tuple, list)):
        return [f"--{name}", *(str(v) for v in value)]
    return [f"--{name}", repr(value) if isinstance(value, float) else str(value)]


def best_command(config, shown: set[str] | frozenset[str], out: Path) -> str:
    """``futures-vpoc train ...`` for ``config``, naming the flags in ``shown`` (the fixed flags and
    the searched ones) and writing to ``out/retrain``; floats in full precision (``repr``).

    Parameters
    ----------
    config : futures_vpoc.ml.config.TrainConfig
        The best trial's configuration (fixed flags, defaults and the chosen values).
    shown : set of str
        TrainConfig field names to write.
    out : Path
        The study folder.
    """
    tokens = ["futures-vpoc", "train", "--data", str(config.data), "--output_dir", str(Path(out) / RETRAIN_DIR)]
    for name in field_names():
        if name in shown and name not in NOT_IN_COMMAND:
            tokens += _flag_tokens(name, getattr(config, name))
    return shlex.join(tokens)


def _fmt(value) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def trials_csv(records: list[dict], names: list[str]) -> str:
    """One row per trial: number, state, best_val_loss, best_epoch, epochs, stop_reason, seconds,
    the searched params (``names``) and ``val_losses`` (space-separated, one per epoch)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["number", "state", "best_val_loss", "best_epoch", "epochs", "stop_reason", "seconds", *names,
                "val_losses"])
    for r in records:
        w.writerow([r["number"], r["state"], "" if r["best_val_loss"] is None else repr(r["best_val_loss"]),
                    "" if r["best_epoch"] is None else r["best_epoch"], len(r["values"]), r["stop_reason"],
                    f"{r['seconds']:.3f}", *(r["params"].get(n, "") for n in names),
                    " ".join(repr(v) for v in r["values"])])
    return buf.getvalue()


TEST_KEYS = ("test_accuracy", "test_majority_baseline", "test_p_value", "test_auc", "test_log_loss", "test_brier",
             "n_test")


def tune_markdown(doc: dict) -> str:
    """``tune.md``: settings, the trial table, the best command, the test metrics, the backtest line."""
    names = doc["searched"]
    lines = [f"# Hyper-parameter search: {Path(doc['data']).name}", "",
             f"{doc['trials']} trials (Optuna TPE, seed {doc['seed']}, batches of {doc['batch_trials']}, "
             f"executor {doc['executor']}); median pruning on validation loss per epoch after "
             f"{doc['prune']['warmup_epochs']} epochs once {doc['prune']['startup_trials']} trials completed.",
             f"Searched: {', '.join(names)}. Fixed: {', '.join(doc['fixed']) or 'none'}.",
             "Every trial saw the training and validation periods only; the test period was withheld.", "",
             "| trial | state | best val loss | epochs | " + " | ".join(names) + " |",
             "|---:|---|---:|---:|" + "---|" * len(names)]
    for r in doc["trial_records"]:
        mark = " **best**" if r["number"] == doc["best"]["number"] else ""
        lines.append(f"| {r['number']}{mark} | {r['state']} | {_fmt(r['best_val_loss'])} | {len(r['values'])} | "
                     + " | ".join(_fmt(r["params"].get(n)) for n in names) + " |")
    test = doc["test"]
    lines += ["", "## Best configuration", "", f"Trial {doc['best']['number']}, validation loss "
              f"{_fmt(doc['best']['best_val_loss'])}; retrained into `{doc['best_dir']}` "
              f"(validation loss there {_fmt(test.get('best_val_loss'))}).", "", "```", doc["best_command"], "```", "",
              "## Test period", "", f"**test evaluated once, after {doc['trials']} trials**", "",
              "| metric | value |", "|---|---:|"]
    lines += [f"| {k} | {_fmt(test.get(k))} |" for k in TEST_KEYS]
    lines += ["", f"backtest it: `{doc['backtest_command']}`", ""]
    return "\n".join(lines)


def write_report(out: Path, doc: dict) -> list[Path]:
    """Write ``trials.csv``, ``tune.json``, ``best_command.txt`` and ``tune.md`` into ``out``."""
    from futures_vpoc.data.barframe import atomic_write
    from futures_vpoc.ml.rundir import write_json

    out = Path(out)
    texts = {"trials.csv": trials_csv(doc["trial_records"], doc["searched"]),
             "best_command.txt": doc["best_command"] + "\n", "tune.md": tune_markdown(doc)}
    paths = []
    for name, text in texts.items():
        atomic_write(out / name, lambda tmp, text=text: Path(tmp).write_text(text, encoding="utf-8"))
        paths.append(out / name)
    write_json(out / "tune.json", doc)
    return [out / "tune.md", out / "trials.csv", out / "tune.json", out / "best_command.txt"]


__all__ = ["RETRAIN_DIR", "best_command", "trials_csv", "tune_markdown", "write_report"]
