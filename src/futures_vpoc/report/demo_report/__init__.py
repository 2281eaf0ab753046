"""The demo's one-page report (``report.html``): the whole chain on one self-contained page.

Sections, in order: data (span, sessions, rolls, VIX coverage), the volume profile of a sample
session with its developing VPOC, VPOC migration over time, training curves and the analysis
verdict, test metrics against the baselines, the backtest's equity curves against the baselines
with the statistics table and significance, scale-up and ensemble (when they ran), what to run
next, and how long each stage took. Images are ``data:`` URIs; no script, no network.

The report renders what other stages computed (the run directory, ``stats.json``,
``equity.csv``, the session table); it computes no metric of its own. A part that did not run
or cannot be read is one short line in its section, never an error.

Modules, one idea each:

- :mod:`~.inputs`: :class:`DemoInputs`, everything the report shows.
- :mod:`~.pieces`: small HTML pieces every section uses (lead, "not run" line, table, image, link).
- :mod:`~.loaded`: reading what the stages wrote, once per page.
- :mod:`~.summary`: section 1, the verdict and the headline numbers.
- :mod:`~.data`: section 2, span, contracts, rolls and problems of the bars.
- :mod:`~.profile`: section 3, a sample session's volume profile and the session table.
- :mod:`~.migration`: section 4, VPOC migration over time and its plot.
- :mod:`~.training`: section 5, the training verdict, command and curves.
- :mod:`~.metrics`: section 6, the test metrics against the baselines.
- :mod:`~.backtest`: section 7, equity curves, statistics table and significance.
- :mod:`~.scaling`: section 8, scale-up and ensemble.
- :mod:`~.next_steps`: section 9, what to run next and the decision tree.
- :mod:`~.timings`: section 10, stage timings and notes.
- :mod:`~.page`: the section order, the page assembly and the writing of ``report.html``.
"""

from futures_vpoc.report.demo_report.backtest import STAT_COLUMNS, equity_plot
from futures_vpoc.report.demo_report.inputs import MIGRATION_COLUMN, DemoInputs
from futures_vpoc.report.demo_report.migration import _migration_points, migration_plot
from futures_vpoc.report.demo_report.next_steps import DEMO_RAN
from futures_vpoc.report.demo_report.page import SECTIONS, render_demo_report, write_demo_report
from futures_vpoc.report.demo_report.profile import SESSION_COLUMNS

__all__ = ["DEMO_RAN", "MIGRATION_COLUMN", "SECTIONS", "SESSION_COLUMNS", "STAT_COLUMNS", "DemoInputs",
           "_migration_points", "equity_plot", "migration_plot", "render_demo_report", "write_demo_report"]
