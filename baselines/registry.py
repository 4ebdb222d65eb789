"""Model specs -> :class:`~baselines.interface.ForceField`, and every family's declaration.

A spec is ``FAMILY`` or ``FAMILY:ARG``::

    zero                      zero forces, mean training energy per atom (the trivial baseline)
    adapt:RUN_DIR             ADAPT force (+ energy) model trained by `adapt-bench train adapt-*`
    mace:PATH.model           any local MACE model file (retrained or a downloaded foundation model)
    mattersim:1M | 5M | PATH  MatterSim checkpoint by name (mattersim's cache dir) or path
    chgnet[:VERSION]          CHGNet pretrained weights shipped in its wheel
    sevennet[:NAME]           SevenNet pretrained weights shipped in its wheel

Each family is one module ending in ``FAMILY = Family(...)`` (:mod:`baselines.family`), listed
once in :data:`FAMILY_MODULES`. Family modules import heavy packages only inside their loaders and
trainers, so reading a declaration is cheap. A spec that cannot be loaded here raises
:class:`~baselines.interface.ModelUnavailable` with one line saying why and what to do.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from baselines.family import Family, Trainer
from baselines.interface import ForceField, ModelUnavailable, TrainingData

# family name -> the module that declares it (FAMILY = Family(...)); one line per family.
FAMILY_MODULES: dict[str, str] = {
    "adapt": "baselines.adapt",
    "mace": "baselines.mace",
    "mattersim": "baselines.mattersim",
    "chgnet": "baselines.chgnet",
    "sevennet": "baselines.sevennet",
    "zero": "baselines.zero",
}
_DECLARED: dict[str, Family] = {}


@dataclass(frozen=True)
class LoadContext:
    """What a loader may use besides its spec argument.

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


def register(module: str, family: Family | None = None) -> Family:
    """Add a family at run time: its module name (which declares FAMILY), or a Family object
    directly (tests). Returns the declaration."""
    if family is None:
        family = importlib.import_module(module).FAMILY
    FAMILY_MODULES[family.name] = module
    _DECLARED[family.name] = family
    return family


def unregister(name: str) -> None:
    FAMILY_MODULES.pop(name, None)
    _DECLARED.pop(name, None)


def family(name: str) -> Family:
    """The declaration of family ``name`` (imports its module, which imports nothing heavy)."""
    if name not in _DECLARED:
        if name not in FAMILY_MODULES:
            raise KeyError(f"unknown model family {name!r}; known: {', '.join(FAMILY_MODULES)}")
        declared = importlib.import_module(FAMILY_MODULES[name]).FAMILY
        if declared.name != name:
            raise ValueError(
                f"{FAMILY_MODULES[name]} declares family {declared.name!r}, not {name!r}"
            )
        _DECLARED[name] = declared
    return _DECLARED[name]


def families() -> list[Family]:
    return [family(n) for n in FAMILY_MODULES]


def trainer(kind: str) -> tuple[Family, Trainer]:
    """The family and trainer of a train-block kind ("adapt-force", "mace", ...)."""
    for fam in families():
        for t in fam.trainers:
            if t.kind == kind:
                return fam, t
    raise KeyError(kind)


def train_kinds() -> list[str]:
    return [t.kind for fam in families() for t in fam.trainers]


def parse_spec(spec: str) -> tuple[str, str]:
    """'mace:runs/x.model' -> ('mace', 'runs/x.model'); 'zero' -> ('zero', '')."""
    name, _, arg = spec.strip().partition(":")
    if name not in FAMILY_MODULES:
        known = ", ".join(f.usage for f in families())
        raise ValueError(f"unknown model spec {spec!r}; known: {known}")
    return name, arg


def load_model(spec: str, ctx: LoadContext | None = None) -> ForceField:
    """Build the ForceField a spec names (raises ModelUnavailable with a one-line reason)."""
    name, arg = parse_spec(spec)
    return family(name).load(arg, ctx or LoadContext())


def model_statuses() -> list[ModelStatus]:
    """Every family's concrete specs here, available or not, with the reason."""
    out: list[ModelStatus] = []
    for fam in families():
        try:
            out.extend(fam.statuses())
        except ModelUnavailable as exc:
            out.append(ModelStatus(fam.usage, False, str(exc)))
    return out
