"""Where the real public market data of ``shared/realdata`` lives, for tests that read it.

The folder sits beside the repository (``../shared/realdata``), else at ``/work/shared/realdata``;
``FUTURES_VPOC_REALDATA`` overrides.
It is not copied into the repository (licences differ per file, see its SOURCES.md); a test that
needs it is skipped, saying why, when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_CANDIDATES = (Path(__file__).resolve().parents[1].parent / "shared" / "realdata",  # beside the checkout
               Path("/work/shared/realdata"))  # this team's machines, for a clone made elsewhere
REALDATA = Path(os.environ.get("FUTURES_VPOC_REALDATA", "") or
                next((p for p in _CANDIDATES if p.is_dir()), _CANDIDATES[0]))
LEAN_MINUTE = REALDATA / "lean_es_minute"
CBOE_VIX = REALDATA / "cboe_vix_history.csv"
DATABENTO = REALDATA / "databento"

needs_realdata = pytest.mark.skipif(
    not (LEAN_MINUTE.is_dir() and CBOE_VIX.is_file() and DATABENTO.is_dir()),
    reason=f"real market data not found at {REALDATA} (set FUTURES_VPOC_REALDATA to the shared/realdata folder)")
