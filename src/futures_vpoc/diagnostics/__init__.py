"""Training analysis of a run directory: phases, root causes, criteria, recommendations, verdict.

Reads only the run's JSON/JSONL/Parquet files (never torch). :func:`analyze_run` returns one
frozen :class:`Analysis`; :mod:`futures_vpoc.report` renders it.
"""

from futures_vpoc.diagnostics.analysis import Analysis, analyze_run
from futures_vpoc.diagnostics.rundata import RunData, read_run

__all__ = ["Analysis", "RunData", "analyze_run", "read_run"]
