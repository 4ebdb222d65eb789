"""The composition baseline: zero forces, per-element reference energies fitted on train.

The ADAPT paper warns that late relaxation frames have near-zero forces, so a model predicting
zero forces scores a deceptively small force MAE there; every table carries this row so that a
model's numbers can be read against it. Its energy is the best composition-only guess:
    E = Σ_e n_e μ_e  [eV], μ_e (eV/atom) fitted by least squares on the train split's frames;
    forces = 0 [eV/Å].
A structure with an element absent from the train split gets energy NaN (no reference).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from ase import Atoms

from baselines.composition import composition_energy, fit_element_energies
from baselines.family import Family
from baselines.interface import ForceField, ModelInfo, Prediction
from baselines.registry import LoadContext, ModelStatus


class ZeroForceField(ForceField):
    """``element_energies``: μ_e (eV/atom) per chemical symbol, or None to predict no energy."""

    def __init__(self, element_energies: Mapping[str, float] | None, level_of_theory: str = "n/a"):
        self.element_energies = None if element_energies is None else dict(element_energies)
        self.info = ModelInfo(
            name="zero",
            family="zero",
            spec="zero",
            n_params=0 if element_energies is None else len(element_energies),
            device="cpu",
            dtype="float64",
            level_of_theory=level_of_theory,
            conservative=False,
            predicts_energy=element_energies is not None,
            elements=None if element_energies is None else tuple(sorted(element_energies)),
            extra={"element_energies_eV": self.element_energies},
        )

    def predict(self, frames: Sequence[Atoms], batch_size: int | None = None) -> list[Prediction]:
        mu = self.element_energies
        return [
            Prediction(
                energy=None if mu is None else composition_energy(a.get_chemical_symbols(), mu),
                forces=np.zeros((len(a), 3)),
            )
            for a in frames
        ]


def load(arg: str, ctx: LoadContext) -> ZeroForceField:
    if arg:
        raise ValueError(f"zero takes no argument (got 'zero:{arg}')")
    if ctx.train_data is None:
        return ZeroForceField(None)
    if not ctx.train_data.has("energy"):  # a forces-only dataset: no energy to predict
        return ZeroForceField(None, ctx.train_data.level_of_theory)
    frames = ctx.train_data.frames("train", "all")
    mu = fit_element_energies(
        [a.get_chemical_symbols() for a in frames], [a.get_potential_energy() for a in frames]
    )
    return ZeroForceField(mu, ctx.train_data.level_of_theory)


def statuses() -> list[ModelStatus]:
    return [
        ModelStatus(
            "zero", True, "zero forces, per-element energies fitted on train (least squares)"
        )
    ]


def _tiny(tmp, data) -> ZeroForceField:
    return load("", LoadContext(train_data=data))


FAMILY = Family(
    name="zero",
    usage="zero",
    load=load,
    statuses=statuses,
    display="zero",
    origin="trained here",  # its per-element energies are fitted on the train split
    role="trivial",
    conservative=False,
    tiny=_tiny,
)
