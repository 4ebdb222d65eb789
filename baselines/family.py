"""A model family: everything the harness knows about one kind of model, in one declaration.

Each family module (``baselines/zero.py``, ``baselines/mace.py``, ...) ends with
``FAMILY = Family(...)``; ``baselines/registry.py`` lists the modules, one line each. The harness
(benchmarks/) reads families only through the registry: how to load a spec, what is available
here, how to train one from a suite's train block, which packages and columns identify and
describe its models, and how the report groups them. Nothing outside the family module
branches on a family's name.

Add a family: write ``baselines/NAME.py`` with ``load``, ``statuses`` and ``FAMILY``, add one
line to ``baselines.registry.FAMILY_MODULES`` (or call ``baselines.registry.register``), and give
it a ``tiny`` factory: ``tests/test_model_contract.py`` then checks it like every other family.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ORIGINS = ("trained here", "pretrained", "either")
ROLES = ("subject", "baseline", "trivial")


@dataclass(frozen=True)
class TrainedJob:
    """One finished train job as the family's ``spec_for`` and columns see it."""

    kind: str  # the train-block kind, e.g. "adapt-force"
    preset: str
    options: Mapping[str, Any]  # the job's overrides (trainer keyword arguments)
    output: Path  # what the trainer returned (a checkpoint directory, a .model file)


@dataclass(frozen=True)
class Trainer:
    """One kind of train block a family offers (``train.<kind> = { preset = ..., ... }``).

    train(data, out, *, preset, epochs, device, seed, progress, **options) -> Path
        train (or resume, or find finished) on ``data``'s train/val split into ``out``; returns
        the output the family's ``spec_for`` turns into a spec. ``data``: a
        :class:`baselines.interface.TrainingData`.
    presets   the preset names it knows (a suite job without one asks for "tiny")
    check(preset, options)  raise ValueError for an option it does not take (light: no torch)
    done(out, preset, epochs) -> bool   the output in ``out`` is complete (trainer would return)
    epoch_log(output) -> Path  the file with per-epoch wall times (benchmarks.timers reads it)
    packages  distributions whose versions change what it trains (cache key of the job)
    """

    kind: str
    presets: tuple[str, ...]
    train: Callable[..., Path]
    check: Callable[[str, Mapping[str, Any]], None]
    done: Callable[[Path, str, int | None], bool]
    epoch_log: Callable[[Path], Path]
    packages: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReportColumn:
    """An extra models.csv column a family fills for its models (e.g. ADAPT's ablations).

    value(jobs, options) -> value or None; ``jobs`` are the entry's :class:`TrainedJob`s (empty for
    a spec entry), ``options`` all their overrides merged. ``groups``: fill it only for suite
    entries of these report groups (empty: every entry of the family).
    """

    name: str
    label: str
    value: Callable[[tuple[TrainedJob, ...], Mapping[str, Any]], Any]
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Family:
    """One model family.

    name        the spec prefix: ``NAME`` or ``NAME:ARG``
    usage       the spec form shown to users, e.g. ``mace:PATH.model``
    load        (arg, LoadContext) -> ForceField; raises ModelUnavailable with a one-line reason
    statuses    () -> [ModelStatus]: the concrete specs usable here, and why others are not
    display     how a trained suite entry is named by default ("MACE" -> "MACE tiny")
    origin      "trained here" (on the benchmark's train split), "pretrained", or "either"
                (a suite train block or group other than ``foundation`` -> trained here)
    role        "subject" (the models under study: listed first), "baseline", or "trivial"
                (a reference such as zero forces: listed last)
    level_of_theory  fixed level of theory of a pretrained family (None: its training data's)
    conservative     forces = -dE/dx (None: depends on the model; see ModelInfo.conservative)
    periodic    predictions are invariant under lattice-vector translations (ADAPT's are not)
    packages    distributions whose versions identify its predictions (cache keys)
    trainers    the train-block kinds it offers; a train block uses one family's trainers only
    spec_for    (jobs: tuple[TrainedJob, ...], root: Path) -> spec of the trained model
    columns     extra models.csv columns (shown by the report's family tables)
    tiny        (tmp: Path, data: TrainingData) -> ForceField: a tiny seeded model for the
                contract test (None: the test says why it is skipped)
    """

    name: str
    usage: str
    load: Callable
    statuses: Callable
    display: str = ""
    origin: str = "either"
    role: str = "baseline"
    level_of_theory: str | None = None
    conservative: bool | None = None
    periodic: bool = True
    packages: tuple[str, ...] = ()
    trainers: tuple[Trainer, ...] = ()
    spec_for: Callable[[tuple[TrainedJob, ...], Path], str] | None = None
    columns: tuple[ReportColumn, ...] = field(default=())
    tiny: Callable | None = None

    def __post_init__(self):
        if self.origin not in ORIGINS:
            raise ValueError(f"family {self.name}: origin {self.origin!r} not in {ORIGINS}")
        if self.role not in ROLES:
            raise ValueError(f"family {self.name}: role {self.role!r} not in {ROLES}")
        if self.trainers and self.spec_for is None:
            raise ValueError(f"family {self.name}: trainers need spec_for")

    def origin_of(self, trained: bool, group: str) -> str:
        """'trained here' or 'pretrained' for one suite entry of this family."""
        if trained:
            return "trained here"
        if self.origin != "either":
            return self.origin
        return "pretrained" if group == "foundation" else "trained here"
