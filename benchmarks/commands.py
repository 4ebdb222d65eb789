"""`adapt-bench eval` and `adapt-bench check`: parse, then call a function."""

from __future__ import annotations

import argparse
import sys

UNITS = "Units: forces eV/Å, energies eV per structure or meV/atom, angles degrees, times seconds."


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="metrics of one model on one dataset",
        description="Score one model (a spec, see `adapt-bench models`) on one dataset "
        "directory: force MAE / RMSE / angle / magnitude errors overall, in the defect region "
        "and the bulk, and per defect kind; energy MAE (raw, and aligned by per-element "
        "references fitted on the train split when the model's level of theory differs). " + UNITS,
    )
    p.add_argument("--model", required=True, help="model spec, e.g. zero, chgnet, adapt:RUN_DIR")
    p.add_argument("--data", required=True, help="dataset directory")
    p.add_argument(
        "--split",
        default="test",
        choices=["test", "val", "train", "all"],
        help="default test (every trajectory when the dataset has no split)",
    )
    p.add_argument(
        "--selection",
        default="early",
        help="frames: early (default: first 20%%, 1..10 per trajectory), early:K, all, final",
    )
    p.add_argument("--out", default=None, help="also write metrics.csv + predictions/ here")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (default cpu)")
    p.add_argument("--batch-size", type=int, default=None, help="frames per predict batch")
    p.add_argument("--json", action="store_true", help="print the metric rows as JSON on stdout")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser(
        "check",
        help="compare a run's metrics with a baseline file (exit 1 on regressions)",
        description="Exit 0 when every baseline metric is within its tolerance (only "
        "regressions count: lower is better for errors, higher for similarities), else 1 with "
        "a table of regressions. --update writes the baseline from the run instead.",
    )
    p.add_argument("results_dir", metavar="RESULTS_DIR")
    p.add_argument("--baseline", required=True, help="baseline JSON or TOML file")
    p.add_argument("--update", action="store_true", help="write the baseline from RESULTS_DIR")
    p.add_argument("--abs-tol", type=float, default=None, help="with --update: default abs tol")
    p.add_argument("--rel-tol", type=float, default=None, help="with --update: default rel tol")
    p.set_defaults(func=cmd_check)


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    from baselines.interface import ModelUnavailable
    from benchmarks.evaluate import evaluate_model, format_rows

    try:
        rows = evaluate_model(
            args.model,
            args.data,
            split=args.split,
            selection=args.selection,
            device=args.device,
            out=args.out,
            batch_size=args.batch_size,
        )
    except ModelUnavailable as exc:
        print(f"adapt-bench eval: {args.model} unavailable: {exc}", file=sys.stderr)
        return 2
    if args.json:
        from adapt.fileio import json_safe

        print(json.dumps(json_safe(rows), indent=1, ensure_ascii=False))
    else:
        print(format_rows(rows))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from benchmarks.check import BaselineError, check, update_baseline

    try:
        if args.update:
            n = update_baseline(args.results_dir, args.baseline, args.abs_tol, args.rel_tol)
            print(f"wrote {args.baseline}: {n} metrics from {args.results_dir}")
            return 0
        ok, table = check(args.results_dir, args.baseline)
    except BaselineError as exc:
        print(f"adapt-bench check: {exc}", file=sys.stderr)
        return 2
    print(table)
    return 0 if ok else 1
