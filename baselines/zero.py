"""The trivial baseline the ADAPT paper warns about: zero forces, mean energy per atom.

Late relaxation frames have near-zero forces, so this predictor scores a deceptively small force
MAE there; every table carries it so that a model's numbers can be read against it.
energy = n_atoms * mean over training frames of (E / n_atoms)  [eV]; forces = 0 [eV/Å].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from baselines.family import Family
from baselines.interface import ForceField, ModelInfo, Prediction
from baselines.registry import LoadContext, ModelStatus


class ZeroForceField(ForceField):
    def __init__(self, energy_per_atom: float | None, level_of_theory: str = "n/a"):
        self.energy_per_atom = energy_per_atom
        self.info = ModelInfo(
            name="zero",
            family="zero",
            spec="zero",
            n_params=0 if energy_per_atom is None else 1,
            device="cpu",
            dtype="float64",
            level_of_theory=level_of_theory,
            conservative=False,
            predicts_energy=energy_per_atom is not None,
            extra={"energy_per_atom_eV": energy_per_atom},
        )

    def predict(self, frames: Sequence[Atoms], batch_size: int | None = None) -> list[Prediction]:
        return [
            Prediction(
                energy=None if self.energy_per_atom is None else self.energy_per_atom * len(a),
                forces=np.zeros((len(a), 3)),
            )
            for a in frames
        ]


def load(arg: str, ctx: LoadContext) -> ZeroForceField:
    if arg:
        raise ValueError(f"zero takes no argument (got 'zero:{arg}')")
    if ctx.train_data is None:
        return ZeroForceField(None)
    frames = ctx.train_data.frames("train", "all")
    per_atom = [a.get_potential_energy() / len(a) for a in frames]
    return ZeroForceField(float(np.mean(per_atom)), ctx.train_data.level_of_theory)


def statuses() -> list[ModelStatus]:
    return [ModelStatus("zero", True, "zero forces, mean training energy per atom")]


def _tiny(tmp, data) -> ZeroForceField:
    return load("", LoadContext(train_data=data))


FAMILY = Family(
    name="zero",
    usage="zero",
    load=load,
    statuses=statuses,
    display="zero",
    origin="trained here",  # its one number, the mean energy per atom, comes from the train split
    role="trivial",
    conservative=False,
    tiny=_tiny,
)
