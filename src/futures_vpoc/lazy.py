"""Package attributes imported on first use (PEP 562), so importing a package costs nothing.

A layer's ``__init__`` names its public API (``from futures_vpoc.ml import Trainer`` keeps
working), but importing ``futures_vpoc.ml.config`` for the trainer's defaults must not import
torch through ``futures_vpoc.ml.trainer``. The command line builds its parser from such small
modules (``ml.config``, ``features.spec``, ``profile.spec``, ``backtest.spec``) and starts at once.
The standard library has ``importlib.util.LazyLoader`` for whole modules, not for the names a
package re-exports; this is that missing piece, in a dozen lines.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose names live in its submodules.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : dict of str to str
        Public name -> submodule (relative to ``package``) that defines it.

    Returns
    -------
    (getattr, dir)
        Assign them to the package's ``__getattr__`` and ``__dir__``. A name is imported the first
        time it is asked for and then cached in the package, so later lookups are plain.
    """

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(exports))

    return __getattr__, __dir__
