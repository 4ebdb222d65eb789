"""`adapt-bench models`."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list model specs usable here, and why others are not")
    p.add_argument("--json", action="store_true", help="print the list as JSON")
    p.set_defaults(func=cmd_models)


def cmd_models(args: argparse.Namespace) -> int:
    import json

    from baselines.registry import model_statuses

    rows = model_statuses()
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], indent=1))
        return 0
    width = max(len(r.spec) for r in rows)
    for r in rows:
        mark = "ok " if r.available else "-- "
        print(f"{mark}{r.spec:<{width}}  {r.reason}")
    return 0
