"""The one interface every force field in adapt-bench implements.

ADAPT (``baselines.adapt``) and every baseline (``baselines.*``) subclass :class:`ForceField`.
The runner only ever talks to this interface, so every number in a report is produced the
same way for every model.

Conventions (everywhere at this interface):
    positions, cell: Å (cell rows are lattice vectors, as in ASE)
    energy:          eV per structure (total energy, not per atom)
    forces:          eV/Å, array of shape (n_atoms, 3), rows in the order of ``atoms``
Outputs are plain numpy arrays (detached from autograd); input ``ase.Atoms`` are never mutated.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, PropertyNotImplementedError, all_changes


class TrainingData(Protocol):
    """What a model family may use of a dataset (to train on it, or to read its level of theory).

    ``benchmarks.data.dataset.Dataset`` is one; baselines/ never imports benchmarks/, so trainers
    and loaders receive the dataset object from the harness.
    """

    root: Path
    name: str
    level_of_theory: str
    sha256: str  # content hash: what the trained model depends on

    def records(self, split: str | None = None) -> list: ...  # trajectory records of a split

    def read(self, rec, steps=None) -> list[Atoms]: ...  # labelled frames of one trajectory

    def frames(self, split: str, selection: str) -> list[Atoms]: ...  # every selected frame

    def defect_of(self, rec, first_frame: Atoms | None = None): ...  # .positions(atoms) -> (k, 3) Å

    def has(self, label: str) -> bool: ...  # every frame carries "energy" / "forces"


class ModelUnavailable(RuntimeError):
    """A model spec that cannot be loaded here; the message is one line saying what to do."""


@dataclass(frozen=True)
class ModelInfo:
    """What a model is, for result provenance and report tables."""

    name: str  # display name, e.g. "ADAPT small", "MACE retrained", "CHGNet 0.3.0"
    family: str  # "adapt" | "mace" | "mattersim" | "chgnet" | "sevennet" | "zero"
    spec: str  # the registry spec it was loaded from, e.g. "mace:runs/mace/model.model"
    n_params: int
    device: str  # "cpu" | "cuda" | "cuda:0"
    dtype: str  # "float32" | "float64"
    level_of_theory: str  # of its training data, e.g. "PBE (MPtrj)", "tersoff (LAMMPS SiCGe)"
    conservative: bool  # forces are -dE/dr of the model's own energy
    predicts_energy: bool = True
    predicts_forces: bool = True
    checkpoint: str | None = None  # path of the weights file(s), when there is one
    elements: tuple[str, ...] | None = None  # chemical symbols it can evaluate (None: not stated)
    checkpoint_sha256: str | None = None
    extra: dict = field(default_factory=dict)  # family-specific facts (preset, cutoff, ...)

    def as_dict(self) -> dict:
        """Flat record for tables; ``elements`` as one comma-separated string."""
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["elements"] = None if self.elements is None else ",".join(self.elements)
        return out


@dataclass(frozen=True)
class Prediction:
    """One structure's prediction.

    energy: eV (total), or None when the model predicts no energy.
    forces: (n_atoms, 3) eV/Å, or None when the model predicts no forces.
    flags:  caveats a result table should carry, e.g. ("unseen_cell",) for ADAPT on a cell it
            never saw in training.
    """

    energy: float | None
    forces: np.ndarray | None
    flags: tuple[str, ...] = ()


class ForceField(ABC):
    """A force field the benchmark can drive: batch prediction plus an ASE calculator."""

    info: ModelInfo

    @abstractmethod
    def predict(self, frames: Sequence[Atoms], batch_size: int | None = None) -> list[Prediction]:
        """Energies (eV) and forces (eV/Å) for each frame, in order; frames are not mutated."""

    def calculator(self) -> Calculator:
        """An ASE calculator backed by :meth:`predict` (usable in ASE optimizers)."""
        return ForceFieldCalculator(self)

    def sized_for(self, n_atoms: int) -> tuple[ForceField, str]:
        """The model to time on ``n_atoms``-atom structures, and a note when it is not the
        whole model (ADAPT's energy network pads to max_atoms and refuses larger structures,
        so a scaling sweep times its force network alone). Default: the model itself."""
        return self, ""


class ForceFieldCalculator(Calculator):
    """ASE calculator around any :class:`ForceField`.

    A property the model does not predict raises ASE's ``PropertyNotImplementedError``.
    The latest prediction's flags are kept in ``self.results["flags"]``.
    """

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, forcefield: ForceField, **kwargs):
        super().__init__(**kwargs)
        self.forcefield = forcefield

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        info = self.forcefield.info
        wants_energy = bool({"energy", "free_energy"} & set(properties))
        if wants_energy and not info.predicts_energy:
            raise PropertyNotImplementedError(f"{info.name} predicts no energy")
        if "forces" in properties and not info.predicts_forces:
            raise PropertyNotImplementedError(f"{info.name} predicts no forces")
        (pred,) = self.forcefield.predict([self.atoms])
        self.results = {"flags": pred.flags}
        if pred.energy is not None:
            self.results["energy"] = self.results["free_energy"] = float(pred.energy)
        if pred.forces is not None:
            self.results["forces"] = np.asarray(pred.forces, dtype=float)


class CalculatorForceField(ForceField):
    """A :class:`ForceField` over an existing ASE calculator (MACE, MatterSim, CHGNet, ...).

    Frames are evaluated one by one on copies; subclasses with a real batched path override
    :meth:`predict`.
    """

    def __init__(self, calc: Calculator, info: ModelInfo):
        self._calc = calc
        self.info = info

    def predict(self, frames: Sequence[Atoms], batch_size: int | None = None) -> list[Prediction]:
        out = []
        for atoms in frames:
            work = atoms.copy()  # copy drops any attached calculator; the input stays untouched
            work.calc = self._calc
            energy = float(work.get_potential_energy()) if self.info.predicts_energy else None
            forces = np.array(work.get_forces(), dtype=float) if self.info.predicts_forces else None
            out.append(Prediction(energy=energy, forces=forces))
        return out

    def calculator(self) -> Calculator:
        return self._calc
