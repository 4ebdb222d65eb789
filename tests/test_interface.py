import numpy as np
import pytest
from ase.calculators.calculator import PropertyNotImplementedError
from ase.optimize import BFGS

from baselines.registry import LoadContext, load_model, model_statuses, parse_spec
from baselines.zero import ZeroForceField
from benchmarks.testing import si_cell


def test_zero_fits_mean_energy_per_atom(random_dataset):
    model = load_model("zero", LoadContext(train_data=random_dataset))
    train = random_dataset.frames("train", "all")
    mean = np.mean([a.get_potential_energy() / len(a) for a in train])
    (pred,) = model.predict([si_cell(2)])
    assert pred.energy == pytest.approx(64 * mean)
    assert pred.forces.shape == (64, 3) and not pred.forces.any()
    assert model.info.level_of_theory == random_dataset.level_of_theory


def test_calculator_raises_for_missing_energy():
    atoms = si_cell()
    atoms.calc = ZeroForceField(None).calculator()
    assert atoms.get_forces().shape == (8, 3)
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_potential_energy()


def test_calculator_runs_in_ase_optimizer():
    atoms = si_cell()
    atoms.calc = ZeroForceField(-4.0).calculator()
    assert BFGS(atoms, logfile=None).run(fmax=0.01, steps=5)
    assert atoms.get_potential_energy() == pytest.approx(-32.0)


def test_unknown_spec_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model spec 'nope'"):
        parse_spec("nope")


def test_statuses_list_zero():
    assert any(s.spec == "zero" and s.available for s in model_statuses())
