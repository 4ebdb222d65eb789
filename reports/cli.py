"""`adapt-bench report RESULTS_DIR`: redraw report.md, report.html and figures/ from result files."""

from __future__ import annotations

import argparse
import sys


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report",
        help="write report.md + report.html (and figures/*.png) for a results directory",
        description=(
            "Draw the report of a results directory written by `adapt-bench run`: accuracy "
            "tables (forces eV/Å, energies eV), relaxations, timing, figures. Reads result files "
            "only; no model or dataset is loaded. Writes RESULTS_DIR/report.md, "
            "RESULTS_DIR/report.html and RESULTS_DIR/figures/*.png, replacing older ones."
        ),
    )
    p.add_argument(
        "results_dir", metavar="RESULTS_DIR", help="directory holding run.json and metrics.csv"
    )
    p.set_defaults(func=cmd_report)


def cmd_report(args: argparse.Namespace) -> int:
    from reports.render import ResultsError, write_report

    try:
        md, page = write_report(args.results_dir)
    except ResultsError as exc:
        print(f"adapt-bench report: error: {exc}", file=sys.stderr)
        return 2
    print(md)
    print(page)
    return 0
