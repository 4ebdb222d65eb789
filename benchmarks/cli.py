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
import re
import sys

# (module, function) pairs that add subcommands to the top level / to `train`.
TOP_LEVEL = [
    ("reports.cli", "register"),  # run (the suite, then its report), report
    ("benchmarks.commands", "register"),  # eval, check
    ("benchmarks.data.cli", "register"),  # data generate|import|get|info
    ("baselines.cli", "register"),  # models
    ("benchmarks.import_commands", "register_import"),  # import-model adapt
]
TRAIN = [
    ("benchmarks.train_commands", "register_train"),  # train adapt-force|adapt-energy|adapt+|mace
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


# Errors that mean "bad input" (a file, an option, a model spec): one line on stderr, exit 2
# (-vv shows the traceback). Every project error class derives from ValueError; ModelUnavailable
# is a RuntimeError; the rest are third-party readers' errors on a file the user named.
INPUT_ERRORS = ("ModelUnavailable", "BadZipFile", "SafetensorError", "XYZError", "UnpicklingError")


def is_input_error(exc: BaseException) -> bool:
    names = {c.__name__ for c in type(exc).__mro__}
    return isinstance(exc, (ValueError, FileNotFoundError)) or bool(names & set(INPUT_ERRORS))


def one_line(exc: BaseException) -> str:
    """The exception's message on one line (first line; type name when there is no message)."""
    text = str(exc).strip()
    if isinstance(exc, KeyError) or not text:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    first = text.splitlines()[0]
    return first if len(first) <= 500 else first[:497] + "..."


# Third-party warnings that say nothing a user can act on (shown again with -v). The e3nn one is
# caused by mace setting TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD on import (`models` and the README say
# what that means for mace: files); ADAPT/ADAPT+ files are always read without pickle.
QUIET_WARNINGS = (
    "Environment variable TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD detected",
    "The TorchScript type system doesn't support instance-level annotations",
    "Mean of empty slice",
    "No tensor product accelerator is enabled",
    "To copy construct from a tensor",
)


def _quiet_warnings() -> None:
    import warnings

    for text in QUIET_WARNINGS:
        warnings.filterwarnings("ignore", message=f".*{re.escape(text)}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # `train --nproc` reruns it
    if not args.verbose:
        _quiet_warnings()
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(args.verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    if args.no_progress:
        os.environ["ADAPT_BENCH_NO_PROGRESS"] = "1"
    try:
        if getattr(args, "json", False) or args.command == "eval":  # stdout: the result only
            from baselines.json_stdout import json_only_stdout

            with json_only_stdout():
                return int(args.func(args) or 0)
        return int(args.func(args) or 0)
    except Exception as exc:
        if args.verbose >= 2 or not is_input_error(exc):
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "interrupted; finished work is kept, rerun the same command to resume", file=sys.stderr
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
