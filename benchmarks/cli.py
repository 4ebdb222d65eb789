"""`adapt-bench`: the command line. It only parses arguments and calls plain functions.

Each package registers its own subcommands (``register(subparsers)``), so this file stays a
table of contents. Subcommand modules must import nothing heavy at module level: torch, mace,
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
    ("benchmarks.commands", "register"),  # run, eval, check
    ("reports.cli", "register"),  # report
    ("benchmarks.data.cli", "register"),  # data generate|import|get|info
    ("baselines.cli", "register"),  # models
    ("adapt.cli", "register_import"),  # import-model adapt
]
TRAIN = [
    ("adapt.cli", "register_train"),  # train adapt-force | adapt-energy
    ("baselines.cli", "register_train"),  # train mace
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
