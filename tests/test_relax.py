"""Relaxation outcomes: converged, not_converged, exploded, error; forces-only mode."""

import math
from collections.abc import Sequence

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT
from ase.geometry import find_mic

from baselines.interface import ForceField, ModelInfo, Prediction
from benchmarks.relax import OUTCOMES, RelaxSettings, relax
from benchmarks.testing import si_cell


class Harmonic(Calculator):
    """Springs (k eV/Å²) tying every atom to its site in ``ref`` (minimum image)."""

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, ref: Atoms, k: float = 5.0):
        super().__init__()
        self.ref, self.k = ref, k

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        d, _ = find_mic(self.atoms.positions - self.ref.positions, self.ref.cell, True)
        e = 0.5 * self.k * float((d**2).sum())
        self.results = {"energy": e, "free_energy": e, "forces": -self.k * d}


class Pull(Calculator):
    """Atoms 0 and 1 attract with a constant force of ``c`` eV/Å (energy c·d)."""

    implemented_properties = ["energy", "forces"]

    def __init__(self, c: float = 5.0):
        super().__init__()
        self.c = c

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        d = self.atoms.get_distance(0, 1, mic=True, vector=True)
        u = d / np.linalg.norm(d)
        f = np.zeros((len(self.atoms), 3))
        f[0], f[1] = self.c * u, -self.c * u
        self.results = {"energy": self.c * float(np.linalg.norm(d)), "forces": f}


class Huge(Calculator):
    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results = {"energy": 0.0, "forces": np.full((len(self.atoms), 3), 1e3)}


class Raises(Calculator):
    implemented_properties = ["energy", "forces"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        raise RuntimeError("model blew a fuse")


class HarmonicForcesOnly(ForceField):
    """A ForceField with forces and no energy (like ADAPT's force model alone)."""

    def __init__(self, ref: Atoms, k: float = 5.0):
        self.ref, self.k, self.calls = ref, k, 0
        self.info = ModelInfo(
            name="harmonic-forces", family="test", spec="test", n_params=0, device="cpu",
            dtype="float64", level_of_theory="n/a", conservative=False, predicts_energy=False,
        )  # fmt: skip

    def predict(self, frames: Sequence[Atoms], batch_size=None):
        out = []
        for a in frames:
            self.calls += 1
            d, _ = find_mic(a.positions - self.ref.positions, self.ref.cell, True)
            out.append(Prediction(energy=None, forces=-self.k * d))
        return out


@pytest.fixture
def start():
    ref = si_cell(1)
    atoms = ref.copy()
    atoms.rattle(0.05, seed=1)
    return ref, atoms


def test_converged_harmonic_and_input_untouched(start):
    ref, atoms = start
    before = atoms.positions.copy()
    res = relax(atoms, Harmonic(ref))
    assert res.outcome == "converged" and res.outcome in OUTCOMES
    assert 0 < res.steps < 300 and res.final_fmax <= 0.01 and res.wall_s > 0
    np.testing.assert_array_equal(atoms.positions, before)
    assert atoms.calc is None and res.atoms.calc is None
    assert np.abs(res.atoms.positions - ref.positions).max() < 0.01


@pytest.mark.parametrize("optimizer", ["BFGS", "LBFGS", "fire"])
def test_optimizers_selectable(start, optimizer):
    ref, atoms = start
    res = relax(atoms, Harmonic(ref), RelaxSettings(optimizer=optimizer))
    assert res.outcome == "converged"


def test_converged_emt_tiny_metal():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    atoms.rattle(0.05, seed=2)
    res = relax(atoms, EMT(), RelaxSettings(fmax=0.01, max_steps=300))
    assert res.outcome == "converged" and res.final_fmax <= 0.01


def test_not_converged_step_cap(start):
    ref, atoms = start
    res = relax(atoms, Harmonic(ref), RelaxSettings(max_steps=2))
    assert res.outcome == "not_converged" and res.steps == 2 and res.final_fmax > 0.01


def test_exploded_atoms_too_close():
    atoms = Atoms("Si2", positions=[[0, 0, 0], [2.35, 0, 0]], cell=[10, 10, 10], pbc=True)
    res = relax(atoms, Pull(), RelaxSettings(max_steps=100))
    assert res.outcome == "exploded" and "min_distance" in res.message
    assert res.atoms.get_distance(0, 1, mic=True) < 0.5


def test_exploded_huge_forces(start):
    _, atoms = start
    res = relax(atoms, Huge())
    assert res.outcome == "exploded" and res.steps == 0 and "max_force" in res.message


def test_error_outcome_keeps_message(start):
    _, atoms = start
    res = relax(atoms, Raises())
    assert res.outcome == "error" and "model blew a fuse" in res.message
    assert math.isnan(res.final_fmax)


def test_forces_only_relaxation_never_asks_for_energy(start):
    ref, atoms = start
    ff = HarmonicForcesOnly(ref)
    # with energy queries on, ASE's optimizer log asks for an energy the model does not have
    res = relax(atoms, ff.calculator(), use_energy=True)
    assert res.outcome == "error" and "PropertyNotImplementedError" in res.message
    ff.calls = 0
    res = relax(atoms, ff.calculator(), use_energy=False)
    assert res.outcome == "converged" and res.final_fmax <= 0.01
    assert ff.calls == res.steps + 1  # one force call per structure, none for energies


def test_settings_validated():
    with pytest.raises(ValueError, match="optimizer"):
        RelaxSettings(optimizer="MDMin")
    assert RelaxSettings().as_dict()["fmax"] == 0.01
