"""`adapt-bench`: the command line. It only parses arguments and calls plain functions.

Each package registers its own subcommands (``register(subparsers)``), so this file stays a
table of contents. It names those modules by string and imports them at run time: the entry point
sits above all layers (adapt < baselines < benchmarks < reports, see pyproject.toml). Subcommand modules must import nothing heavy at module level: torch, mace,
mattersim and friends are imported inside the functions that run.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

# (module, function) pairs that add subcommands to the top level / to `train`.
TOP_LEVEL = [
    ("reports.cli", "register"),  # run (the suite, then its report), report
    ("benchmarks.commands", "register"),  # eval, check
    ("benchmarks.data.cli", "register"),  # data generate|import|get|info
    ("baselines.cli", "register"),  # models
]
TRAIN = [
    ("benchmarks.train_commands", "register_train"),  # train adapt-force | adapt-energy | mace
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="adapt-bench",
        description=(
            "Benchmark ADAPT (graph-free Transformer force field) against GNN force fields on "
            "point defects. Units everywhere: Å, eV, eV/Å."
        ),
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-vv: debug)"
    )
    parser.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bars (also: ADAPT_BENCH_NO_PROGRESS=1)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module, func in TOP_LEVEL:
        getattr(importlib.import_module(module), func)(sub)
    train = sub.add_parser("train", help="train a model on a dataset directory")
    train_sub = train.add_subparsers(dest="target", metavar="TARGET", required=True)
    for module, func in TRAIN:
        getattr(importlib.import_module(module), func)(train_sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.no_progress:
        os.environ["ADAPT_BENCH_NO_PROGRESS"] = "1"
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(
            "interrupted; finished work is kept, rerun the same command to resume", file=sys.stderr
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
