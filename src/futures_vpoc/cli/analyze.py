"""``futures-vpoc analyze RUN_DIR``: the training analysis report of a run directory.

Reads ``config.json``, ``metrics.jsonl``, ``summary.json`` (and ``predictions_test.parquet`` when
present) and writes ``analysis.md`` and the self-contained ``analysis.html`` into the run directory,
each whole through a temporary file. :func:`write_analysis` is the plain function behind it; the
end of ``train`` calls the same function from :mod:`futures_vpoc.report.write`.
"""

from __future__ import annotations

import argparse

__all__ = ["add_analyze_parser", "cmd_analyze"]


def add_analyze_parser(subparsers) -> argparse.ArgumentParser:
    """Register the ``analyze`` subcommand on ``subparsers`` (from ``add_subparsers``)."""
    p = subparsers.add_parser(
        "analyze", allow_abbrev=False,
        help="training analysis report of a run: verdict, phases, root causes, next commands",
        description="Write RUN_DIR/analysis.md and RUN_DIR/analysis.html from the run's config.json, "
                    "metrics.jsonl and summary.json.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="the directory `futures-vpoc train` wrote")
    return p


def cmd_analyze(args) -> int:
    """Run ``futures-vpoc analyze``; prints the verdict, the first recommended command and the files."""
    from futures_vpoc.report.write import HTML_FILE, MARKDOWN_FILE, write_analysis

    analysis = write_analysis(args.run_dir)
    print(f"{analysis.verdict.upper()}: {analysis.reason}")
    if analysis.recommendations:
        print(f"next: {analysis.recommendations[0].command}")
    print(f"wrote {analysis.run_dir / MARKDOWN_FILE} and {analysis.run_dir / HTML_FILE}")
    return 0
