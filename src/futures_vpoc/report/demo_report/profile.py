"""Section 3 of the demo report: the volume profile of a sample session and the session table.

The picture is the one the profile stage drew; the table is the last sessions of the session
table, in index points.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from futures_vpoc.report.common import esc, num
from futures_vpoc.report.demo_report.inputs import DemoInputs
from futures_vpoc.report.demo_report.pieces import _img, _lead, _not_run, _table
from futures_vpoc.report.trades import HEADER as COMPARE_HEADER
from futures_vpoc.report.trades import approximation_rows


SESSION_COLUMNS = (("trade_date", "Trade date"), ("contract", "Contract"), ("vpoc", "VPOC"), ("val", "VAL"),
                   ("vah", "VAH"), ("va_width", "VA width [points]"), ("volume", "Volume"))


def _cell(value, digits: int = 2) -> str:
    if isinstance(value, pd.Timestamp):
        return str(value.date())
    if isinstance(value, (float, np.floating)):
        return num(float(value), digits)
    return str(value)


def _session_table(sessions: pd.DataFrame, n: int = 10) -> str:
    cols = [(k, label) for k, label in SESSION_COLUMNS if k in sessions.columns]
    digits = [0 if k == "volume" else 2 for k, _ in cols]
    rows = [[_cell(v, d) for v, d in zip(row, digits)]
            for row in sessions[[k for k, _ in cols]].tail(n).itertuples(index=False)]
    return _table([label for _, label in cols], rows, numeric=True)


def _profile(inputs: DemoInputs) -> str:
    out = [_lead("A volume profile stacks the day's traded volume by price. The VPOC is the price with the most "
                 "volume; the value area (VAL to VAH) holds 70% of it. Both build up bar by bar during the "
                 "session (the developing VPOC).")]
    if inputs.profile_png:
        out.append(f'<figure style="width:100%">{_img(inputs.profile_png, inputs.profile_caption)}'
                   f"<figcaption>{esc(inputs.profile_caption)}</figcaption></figure>")
    else:
        out.append(_not_run("Profile picture: not run."))
    s = inputs.sessions
    if s is None or len(s) == 0:
        out.append(_not_run("Session table: not run."))
    else:
        out += [f"<h3>The last {min(10, len(s))} of {len(s):,} sessions [index points]</h3>", _session_table(s)]
    if inputs.compare is not None:
        out += ["<h3>How far bar-based profiles are from the exact ones</h3>", _lead(inputs.compare_caption),
                _table(COMPARE_HEADER, approximation_rows(inputs.compare), numeric=True)]
    return "".join(out)
