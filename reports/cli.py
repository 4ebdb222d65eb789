"""`adapt-bench run` (run a suite, then draw its report) and `adapt-bench report RESULTS_DIR`
(redraw report.md, report.html and figures/ from result files).

``run`` lives here, at the top of the layers, because it is the one command that uses both
benchmarks/ (the runner) and reports/ (the report).
"""

from __future__ import annotations

import argparse
import sys

from benchmarks.commands import UNITS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run",
        help="run a benchmark suite (default: quick) into a results directory",
        description="Train (cached) and evaluate every model of a suite on its datasets: "
        "metrics, relaxations, timing, then the report. Finished work is cached in OUT/.cache: "
        "a rerun skips it and an interrupted run resumes. " + UNITS,
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--suite", default=None, help="built-in suite: quick (default) or paper")
    which.add_argument(
        "--config",
        default=None,
        help="a suite TOML file (example with comments: benchmarks/suites/quick.toml)",
    )
    p.add_argument("--out", default=None, help="results directory (default: results/<suite>)")
    p.add_argument("--device", default=None, help="cpu | cuda | cuda:N (default: the suite's)")
    p.add_argument(
        "--models",
        default=None,
        help="comma-separated model names or specs: run only these (a spec not in the suite "
        "is added, e.g. --models zero,chgnet,mace:my.model)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan; train and run nothing")
    p.set_defaults(func=cmd_run)

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


def cmd_run(args: argparse.Namespace) -> int:
    from benchmarks.plan import describe_plan
    from benchmarks.runner import run_suite
    from benchmarks.suite import SuiteError, load_suite

    try:
        suite = load_suite(args.config or args.suite or "quick")
        if args.device:
            suite = suite.with_device(args.device)
        if args.models:
            suite = suite.with_models([m.strip() for m in args.models.split(",") if m.strip()])
        if args.dry_run:
            print(describe_plan(suite))
            return 0
        out = args.out or f"results/{suite.name}"
        _sigterm_interrupts()
        summary = run_suite(suite, out)
        report = _report(summary)
    except SuiteError as exc:
        print(f"adapt-bench run: {exc}", file=sys.stderr)
        return 2
    print(
        f"results: {summary.out}  ({summary.wall_s:.0f} s; {len(summary.computed)} steps run, "
        f"{len(summary.cached)} cached, {len(summary.failed)} failed)"
    )
    if report:
        print(f"report:  {report[0]}  {report[1]}")
    for name, err in summary.failed:
        print(f"FAILED {name}: {err}", file=sys.stderr)
    return 0 if summary.ok else 1


def _sigterm_interrupts() -> None:
    """SIGTERM (a job scheduler's stop) ends the run like Ctrl-C: tables written, run.json
    marked interrupted, finished steps kept for the resume."""
    import signal
    import threading

    def stop(signum, frame):
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)


def _report(summary) -> tuple | None:
    """report.md + report.html from the result files; a failure is listed in the summary, not
    raised (the results are complete; `adapt-bench report OUT` redraws it)."""
    import logging

    from benchmarks.models import one_line
    from reports.render import write_report

    try:
        return write_report(summary.out)
    except Exception as exc:  # noqa: BLE001 - the results stand without the report
        summary.failed.append(("report", one_line(f"{type(exc).__name__}: {exc}")))
        logging.getLogger(__name__).error(
            "report failed (%s: %s); rerun `adapt-bench report %s`",
            type(exc).__name__,
            exc,
            summary.out,
        )
        return None
