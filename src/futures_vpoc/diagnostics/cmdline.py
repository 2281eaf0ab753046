"""The run's own command line as editable flag groups, and commands rebuilt from it.

A run records its exact command line in ``config.json`` as ``argv``. The recommended commands
start from it (so every flag the user gave, in the spelling they gave it, is kept) and change only
the flags a rule names. When ``argv`` is absent the command is rebuilt from the resolved settings
with the seed's flag names.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

PROG = "futures-vpoc"

SEED_TRAIN_FLAGS = ("--data", "--output_dir", "--epochs", "--batch_size", "--learning_rate", "--hidden_dims",
                    "--dropout_rate", "--weight_decay", "--warmup_steps", "--gradient_clip_value",
                    "--early_stopping_patience", "--use_mixed_precision", "--data_fraction", "--chunk_size",
                    "--adaptive_loss", "--verbose")
"""The flags of the seed's training commands, in the seed's order."""

TRAIN_EXTRA_FLAGS = ("--seed", "--target", "--horizon", "--features", "--device", "--resume", "--tensorboard")
"""Further ``train`` flags (the robust-trainer issue)."""

_CONFIG_KEYS = {"--data": ("data", "data_path")}
_FLAG = re.compile(r"^--?[A-Za-z]")


def format_number(value: float | int) -> str:
    """A setting as command-line text: ints as is, floats positional (0.00005, 2.0)."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError("booleans are flags, not values")
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return np.format_float_positional(float(value), trim="0")


@dataclass
class FlagList:
    """Ordered ``(flag, values)`` groups of one subcommand's arguments (mutable while a command is built)."""

    groups: list[tuple[str, list[str]]]

    @classmethod
    def parse(cls, tokens: Sequence[str]) -> "FlagList":
        """Group tokens: each flag with the values that follow it; ``--flag=value`` is split."""
        groups: list[tuple[str, list[str]]] = []
        for token in tokens:
            if _FLAG.match(token):
                flag, eq, value = token.partition("=")
                groups.append((flag, [value] if eq else []))
            elif groups:
                groups[-1][1].append(token)
        return cls(groups)

    def get(self, flag: str) -> list[str] | None:
        """The values of ``flag`` (last occurrence), None when absent."""
        for name, values in reversed(self.groups):
            if name == flag:
                return list(values)
        return None

    def replace(self, flag: str, *values: str) -> None:
        """Set ``flag`` to ``values`` at its position (appended when absent); no values makes it a switch."""
        for i, (name, _) in enumerate(self.groups):
            if name == flag:
                self.groups[i] = (flag, list(values))
                self.groups = [g for k, g in enumerate(self.groups) if k <= i or g[0] != flag]
                return
        self.groups.append((flag, list(values)))

    def drop(self, *flags: str) -> None:
        """Remove every occurrence of ``flags``."""
        self.groups = [g for g in self.groups if g[0] not in flags]

    def copy(self) -> "FlagList":
        return FlagList([(f, list(v)) for f, v in self.groups])

    def tokens(self) -> list[str]:
        return [t for flag, values in self.groups for t in (flag, *values)]


def _from_config(config: Mapping[str, Any]) -> list[str]:
    tokens: list[str] = []
    for flag in SEED_TRAIN_FLAGS + TRAIN_EXTRA_FLAGS[:-2]:
        keys = _CONFIG_KEYS.get(flag, (flag[2:],))
        value = next((config[k] for k in keys if config.get(k) is not None), None)
        if value is None or value is False:
            continue
        if value is True:
            tokens.append(flag)
        elif isinstance(value, (list, tuple)):
            tokens += [flag, *(format_number(v) if isinstance(v, (int, float)) else str(v) for v in value)]
        else:
            tokens += [flag, format_number(value) if isinstance(value, (int, float)) else str(value)]
    return tokens


def train_command(config: Mapping[str, Any]) -> tuple[tuple[str, ...], FlagList, bool]:
    """The command that ran, its ``train`` arguments, and whether it came from ``argv``.

    Returns
    -------
    argv : tuple of str
        The exact recorded command line, or one rebuilt from the settings (``futures-vpoc train ...``).
    flags : FlagList
        The arguments after ``train``, without ``--resume``.
    recorded : bool
        True when ``argv`` was recorded in ``config.json``.
    """
    argv = config.get("argv")
    if isinstance(argv, (list, tuple)) and "train" in argv and all(isinstance(t, str) for t in argv):
        at = list(argv).index("train")
        flags = FlagList.parse(argv[at + 1:])
        recorded = True
        # A trainer that recorded only its own arguments gets the program name back in front.
        argv = tuple(argv) if at > 0 else (PROG, *argv)
    else:
        flags = FlagList.parse(_from_config(config))
        recorded = False
        argv = (PROG, "train", *flags.tokens())
    flags.drop("--resume")
    return argv, flags, recorded


def join(argv: Sequence[str]) -> str:
    """One shell line (shlex quoting)."""
    return shlex.join(list(argv))
