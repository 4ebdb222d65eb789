"""The one contract every force field meets (baselines.contract), on every registered family.

The families come from the registry (baselines.registry.FAMILY_MODULES); each declares a tiny,
seeded model (``FAMILY.tiny``): zero fitted on a random-label dataset, ADAPT tiny and MACE tiny
and MatterSim tiny with random weights (the latter two saved in their own formats and loaded
through their specs), CHGNet 0.3.0 pretrained from its wheel. A family without a tiny model
(SevenNet: not installable here) is skipped with its reason. A new family is checked as soon as
it is registered (tests/test_add_a_family.py shows it).

Under a lattice-vector translation the periodic families are invariant; ADAPT is not (it
tokenises raw Cartesian coordinates, no periodic images), which its declaration states.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from baselines import registry
from baselines.contract import CHECKS, ContractError, check_batch, contract_frames
from baselines.interface import ForceField, ModelInfo, Prediction
from benchmarks.testing import random_label_dataset


@pytest.fixture(scope="module", params=list(registry.FAMILY_MODULES))
def case(request, tmp_path_factory):
    fam = registry.family(request.param)
    if fam.tiny is None:
        pytest.skip(f"{fam.name}: declares no tiny model (FAMILY.tiny): {fam.usage}")
    tmp = tmp_path_factory.mktemp(fam.name)
    return fam, fam.tiny(tmp, random_label_dataset(tmp / "ds"))


@pytest.mark.parametrize("check", list(CHECKS))
def test_contract(case, check):
    fam, ff = case
    why = CHECKS[check](ff, fam, contract_frames())
    if why:
        pytest.skip(why)


def test_every_family_module_is_registered():
    """A module under baselines/ that declares FAMILY is in the registry under its name."""
    root = Path(registry.__file__).parent
    declared = {
        f"baselines.{p.stem}"
        for p in root.glob("*.py")
        if re.search(r"^FAMILY = Family\(", p.read_text(), re.M)
    }
    assert declared == set(registry.FAMILY_MODULES.values())
    for name in registry.FAMILY_MODULES:
        assert registry.family(name).name == name


class SwappedAxes(ForceField):
    """Broken on purpose: forces of a batch come back with x and y swapped after the first."""

    info = ModelInfo("swapped", "zero", "zero", 0, "cpu", "float64", "n/a", conservative=False)

    def predict(self, frames, batch_size=None):
        out = []
        for i, a in enumerate(frames):
            f = np.tile(np.arange(3.0), (len(a), 1))
            out.append(Prediction(energy=-1.0 * len(a), forces=f[:, [1, 0, 2]] if i else f))
        return out


def test_the_validator_catches_a_broken_model():
    with pytest.raises(ContractError, match="batched vs one-by-one forces"):
        check_batch(SwappedAxes(), registry.family("zero"), contract_frames())
