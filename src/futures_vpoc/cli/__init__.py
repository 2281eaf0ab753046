"""The command line, the top layer: one module per command group, the demo in :mod:`.demo`.

:mod:`.main` holds the top-level parser and :func:`main` (the ``futures-vpoc`` console script and
``python -m futures_vpoc``); :mod:`.options` the parser class and the flags several commands share.
Each command module registers its parser from text alone and imports its layer only when it runs.
"""

from futures_vpoc.cli.main import build_parser, main
from futures_vpoc.cli.options import Parser

__all__ = ["Parser", "build_parser", "main"]
