"""SevenNet: listed, but unavailable in this environment (decision in docs/dependencies.md).

sevenn (0.13.0, whose wheel ships SevenNet-0 and friends) requires e3nn>=0.5, while every
mace-torch release pins e3nn==0.4.4 and MACE models do not load across that boundary. One
environment cannot hold both, and MACE (the paper's retrained baseline) wins. Running SevenNet
out of process from its own environment is possible but not built; this module says so, with
the command a user would run to check SevenNet by hand.
"""

from __future__ import annotations

import importlib.util

from baselines.family import Family
from baselines.interface import ModelUnavailable
from baselines.registry import LoadContext, ModelStatus

REASON = (
    "not in this environment: sevenn needs e3nn>=0.5 but mace-torch pins e3nn==0.4.4 "
    "(see docs/dependencies.md); to try it apart: python3.11 -m venv .venv-sevennet && "
    ".venv-sevennet/bin/pip install torch==2.13.0 sevenn"
)


def load(arg: str, ctx: LoadContext):
    if importlib.util.find_spec("sevenn") is not None:
        # Someone installed it into this env anyway: it will have upgraded e3nn and broken MACE.
        raise ModelUnavailable(
            "sevennet: sevenn is installed here, but no wrapper is built (it would need "
            "e3nn>=0.5, which breaks MACE); rebuild the environment with scripts/setup.sh"
        )
    raise ModelUnavailable(f"sevennet{':' + arg if arg else ''}: {REASON}")


def statuses() -> list[ModelStatus]:
    return [ModelStatus("sevennet", False, REASON)]


FAMILY = Family(
    name="sevennet",
    usage="sevennet[:NAME]",
    load=load,
    statuses=statuses,
    display="SevenNet",
    origin="pretrained",
    conservative=True,
    packages=("sevenn",),
    tiny=None,  # not installable next to mace-torch (see the module docstring)
)
