"""`adapt-bench train ... --nproc N`: rerun the same command in N torchrun processes, and join
the job inside each of them.

:func:`relaunch` (in the first process) starts ``python -m torch.distributed.run --standalone
--nproc_per_node N -m benchmarks.cli <the same arguments>`` and waits for it; each of those
processes finds torchrun's WORLD_SIZE/RANK/LOCAL_RANK and trains as one rank
(:func:`joined`, :mod:`adapt.distributed`). Several nodes: run torchrun yourself on each node
(README "Multi-GPU training"); ``--nproc`` is then ignored.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import subprocess
import sys
from pathlib import Path


def without_nproc(argv: list[str]) -> list[str]:
    """``argv`` without ``--nproc N`` / ``--nproc=N``."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--nproc":
            skip = True
        elif not a.startswith("--nproc="):
            out.append(a)
    return out


def relaunch(args: argparse.Namespace) -> int | None:
    """With ``--nproc N`` > 1 outside torchrun: run this command in N processes on this node and
    return torchrun's exit code; None means "train in this process"."""
    n = getattr(args, "nproc", 1)
    if n <= 1 or "WORLD_SIZE" in os.environ:
        return None
    root = str(Path(__file__).resolve().parents[1])  # the children import this same code
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={n}",
        "-m",
        "benchmarks.cli",
        *without_nproc(args.argv),
    ]
    return subprocess.run(cmd, env=env, check=False).returncode


@contextlib.contextmanager
def joined(device: str):
    """This process's :class:`adapt.distributed.Dist` (LOCAL outside torchrun); the process
    group is destroyed on exit."""
    from adapt.distributed import from_env, shutdown

    dist = from_env(device)
    if not dist.is_main:  # one copy of the log: rank 0's (warnings still come from every rank)
        logging.getLogger().setLevel(max(logging.getLogger().level, logging.WARNING))
    try:
        yield dist
    finally:
        if dist.active:
            shutdown()
