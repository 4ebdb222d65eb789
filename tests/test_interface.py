import numpy as np
import pytest
from ase import Atoms
from ase.calculators.calculator import PropertyNotImplementedError
from ase.calculators.singlepoint import SinglePointCalculator
from ase.optimize import BFGS

from baselines.registry import LoadContext, load_model, model_statuses, parse_spec
from baselines.zero import ZeroForceField
from benchmarks.testing import si_cell


class _TrainFrames:
    """The two things the zero baseline reads from its training dataset."""

    level_of_theory = "hand-made"

    def __init__(self, frames):
        self._frames = frames

    def frames(self, split, selection):
        assert (split, selection) == ("train", "all")
        return self._frames

    def has(self, label):
        return label in ("energy", "forces")


def _labelled(symbols, energy):
    atoms = Atoms(symbols, cell=[9, 9, 9], pbc=True)
    atoms.positions = np.arange(3 * len(atoms), dtype=float).reshape(-1, 3)
    atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=np.ones((len(atoms), 3)))
    return atoms


def test_zero_fits_element_energies_by_least_squares():
    # Si2 -10, SiC -11, C2 -14 eV. Normal equations [[5,1],[1,5]] mu = [-31,-39] give by hand
    # mu_Si = (5*-31 + 39)/24 = -116/24 and mu_C = (5*-39 + 31)/24 = -164/24 eV/atom.
    train = _TrainFrames([_labelled("Si2", -10.0), _labelled("SiC", -11.0), _labelled("C2", -14.0)])
    model = load_model("zero", LoadContext(train_data=train))
    assert model.element_energies == pytest.approx({"Si": -116 / 24, "C": -164 / 24})
    (si3c, ge) = model.predict([_labelled("Si3C", 0.0), _labelled("Ge", 0.0)])
    assert si3c.energy == pytest.approx(3 * -116 / 24 - 164 / 24)
    assert si3c.forces.shape == (4, 3) and not si3c.forces.any()
    assert np.isnan(ge.energy)  # no reference energy for an element absent from train
    assert model.info.level_of_theory == "hand-made" and model.info.n_params == 2


def test_zero_beats_a_mean_per_atom_energy_on_mixed_compositions(random_dataset):
    model = load_model("zero", LoadContext(train_data=random_dataset))
    train = random_dataset.frames("train", "all")
    e = np.array([a.get_potential_energy() for a in train])
    pred = np.array([p.energy for p in model.predict(train)])
    mean = np.mean([a.get_potential_energy() / len(a) for a in train])
    per_atom_mean = np.array([mean * len(a) for a in train])
    assert np.sum((pred - e) ** 2) <= np.sum((per_atom_mean - e) ** 2) + 1e-9
    assert model.info.level_of_theory == random_dataset.level_of_theory


def test_calculator_raises_for_missing_energy():
    atoms = si_cell()
    atoms.calc = ZeroForceField(None).calculator()
    assert atoms.get_forces().shape == (8, 3)
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_potential_energy()


def test_calculator_runs_in_ase_optimizer():
    atoms = si_cell()
    atoms.calc = ZeroForceField({"Si": -4.0, "C": -4.0}).calculator()
    assert BFGS(atoms, logfile=None).run(fmax=0.01, steps=5)
    assert atoms.get_potential_energy() == pytest.approx(-32.0)


def test_unknown_spec_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model spec 'nope'"):
        parse_spec("nope")


def test_statuses_list_zero():
    assert any(s.spec == "zero" and s.available for s in model_statuses())
