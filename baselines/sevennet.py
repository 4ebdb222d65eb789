"""SevenNet, out of process: its own environment, a worker, the same ForceField interface.

sevenn 0.13.0 (whose wheel ships SevenNet-0 and friends) requires e3nn>=0.5 while mace-torch
pins e3nn==0.4.4, so it cannot live in .venv. ``bash scripts/setup_sevennet.sh`` builds
``.venv-sevennet/`` (torch 2.13.0 + sevenn 0.13.0, nothing else of ours); ``sevennet[:NAME]``
then starts ``baselines/workers/sevennet_worker.py`` with that environment's python and talks
to it through :mod:`baselines.worker_protocol` (:class:`baselines.worker.WorkerForceField`).

NAME: a pretrained model whose checkpoint ships in the wheel (default 7net-0 = SevenNet-0
11Jul2024, trained on MPtrj, PBE/PBE+U) or a checkpoint path. ``ADAPT_BENCH_SEVENNET_PYTHON``
points at another interpreter that has sevenn.
"""

from __future__ import annotations

import os
from pathlib import Path

from baselines.family import Family
from baselines.interface import ModelUnavailable
from baselines.registry import LoadContext, ModelStatus

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "baselines" / "workers" / "sevennet_worker.py"
SETUP = "bash scripts/setup_sevennet.sh"
OFFLINE_NAMES = ("7net-0", "7net-0_22May2024", "7net-l3i5")  # single-fidelity, in the wheel


def python() -> Path:
    """The interpreter of SevenNet's environment (it may not exist)."""
    env = os.environ.get("ADAPT_BENCH_SEVENNET_PYTHON")
    return Path(env) if env else ROOT / ".venv-sevennet" / "bin" / "python"


def _missing() -> str:
    return (
        f"SevenNet runs in its own environment ({python()} not found; sevenn needs e3nn>=0.5, "
        f"mace-torch pins 0.4.4): build it with `{SETUP}` (about a minute from the pip cache)"
    )


def load(arg: str, ctx: LoadContext):
    from baselines.worker import WorkerForceField

    spec = "sevennet" + (f":{arg}" if arg else "")
    if not python().is_file():
        raise ModelUnavailable(f"{spec}: {_missing()}")
    device = "cuda" if str(ctx.device).startswith("cuda") else "cpu"
    return WorkerForceField(python(), WORKER, [arg or "7net-0", device], spec=spec, device=device)


def statuses() -> list[ModelStatus]:
    if not python().is_file():
        return [ModelStatus("sevennet", False, _missing())]
    return [
        ModelStatus(
            f"sevennet:{n}" if n != "7net-0" else "sevennet",
            True,
            f"SevenNet {n} (weights in the sevenn wheel), run in {python().parent.parent.name}",
        )
        for n in OFFLINE_NAMES
    ]


def _tiny(tmp, data):
    """SevenNet-0 from the wheel, in its worker (the contract test needs .venv-sevennet)."""
    return load("", LoadContext())


FAMILY = Family(
    name="sevennet",
    usage="sevennet[:NAME]",
    load=load,
    statuses=statuses,
    display="SevenNet",
    origin="pretrained",
    level_of_theory="PBE/PBE+U (MPtrj)",
    conservative=True,
    packages=(),  # in its own environment; its checkpoint sha256 identifies its predictions
    # the contract test runs on it once `bash scripts/setup_sevennet.sh` has built its environment
    tiny=_tiny if python().is_file() else None,
)
