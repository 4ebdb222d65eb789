"""Model specs -> :class:`~baselines.interface.ForceField` factories.

A spec is ``FAMILY`` or ``FAMILY:ARG``::

    zero                      zero forces, mean training energy per atom (the trivial baseline)
    adapt:RUN_DIR             ADAPT force (+ energy) model trained by `adapt-bench train adapt-*`
    mace:PATH.model           any local MACE model file (retrained or a downloaded foundation model)
    mattersim:1M | 5M | PATH  MatterSim checkpoint by name (mattersim's cache dir) or path
    chgnet[:VERSION]          CHGNet pretrained weights shipped in its wheel
    sevennet[:NAME]           SevenNet pretrained weights shipped in its wheel

Heavy packages are imported only inside the factory. A spec that cannot be loaded here raises
:class:`~baselines.interface.ModelUnavailable` with one line saying why and what to do.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from baselines.interface import ForceField, ModelUnavailable, TrainingData


@dataclass(frozen=True)
class LoadContext:
    """What a factory may use besides its spec argument.

    device:     "cpu" or "cuda[:i]"
    train_data: the dataset whose train split a model was (or is to be) fitted on; the zero
                baseline takes its mean energy per atom from it, other models may use it to
                report the level of theory they are compared against.
    """

    device: str = "cpu"
    train_data: TrainingData | None = None


@dataclass(frozen=True)
class ModelStatus:
    spec: str
    available: bool
    reason: str  # why not, or a short description when available


@dataclass(frozen=True)
class Family:
    name: str
    factory: str  # "module:function(arg: str, ctx: LoadContext) -> ForceField"
    statuses: str  # "module:function() -> list[ModelStatus]"
    usage: str


FAMILIES: dict[str, Family] = {}


def register(family: Family) -> None:
    FAMILIES[family.name] = family


for _fam in (
    Family("zero", "baselines.zero:load", "baselines.zero:statuses", "zero"),
    Family("adapt", "baselines.adapt:load", "baselines.adapt:statuses", "adapt:RUN_DIR"),
    Family("mace", "baselines.mace:load", "baselines.mace:statuses", "mace:PATH.model"),
    Family(
        "mattersim",
        "baselines.mattersim:load",
        "baselines.mattersim:statuses",
        "mattersim:1M|5M|PATH.pth",
    ),
    Family("chgnet", "baselines.chgnet:load", "baselines.chgnet:statuses", "chgnet[:VERSION]"),
    Family("sevennet", "baselines.sevennet:load", "baselines.sevennet:statuses", "sevennet[:NAME]"),
):
    register(_fam)


def _resolve(target: str):
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:  # the wrapper module or its package is missing
        raise ModelUnavailable(f"{target}: cannot import ({exc})") from exc


def parse_spec(spec: str) -> tuple[str, str]:
    """'mace:runs/x.model' -> ('mace', 'runs/x.model'); 'zero' -> ('zero', '')."""
    family, _, arg = spec.strip().partition(":")
    if family not in FAMILIES:
        known = ", ".join(f.usage for f in FAMILIES.values())
        raise ValueError(f"unknown model spec {spec!r}; known: {known}")
    return family, arg


def load_model(spec: str, ctx: LoadContext | None = None) -> ForceField:
    """Build the ForceField a spec names (raises ModelUnavailable with a one-line reason)."""
    family, arg = parse_spec(spec)
    factory = _resolve(FAMILIES[family].factory)
    return factory(arg, ctx or LoadContext())


def model_statuses() -> list[ModelStatus]:
    """Every family's concrete specs here, available or not, with the reason."""
    out: list[ModelStatus] = []
    for fam in FAMILIES.values():
        try:
            out.extend(_resolve(fam.statuses)())
        except ModelUnavailable as exc:
            out.append(ModelStatus(fam.usage, False, str(exc)))
    return out
