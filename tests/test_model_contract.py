"""The one contract every force field in adapt-bench meets, run over every model available in CI.

Models: zero (fitted on a random-label dataset), ADAPT tiny (random weights), MACE tiny (random
weights, float64, loaded through ``mace:PATH``), MatterSim tiny (random weights saved in mattersim's
own format, loaded through ``mattersim:PATH``) and CHGNet 0.3.0 (pretrained, from its wheel).

Expected behaviour under a lattice-vector translation (every atom moved by a lattice vector, the
same periodic crystal): the GNNs (MACE, MatterSim, CHGNet) and zero are invariant. ADAPT is NOT:
it tokenises raw Cartesian coordinates and has no notion of periodic images, so its forces change
(the cell is unchanged, so its flags, e.g. ``unseen_cell``, stay the same).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from adapt.fileio import file_sha256
from baselines.interface import ForceField, Prediction
from baselines.registry import LoadContext, load_model
from benchmarks.data.dataset import labelled
from benchmarks.testing import random_label_dataset, si_cell

# Named tolerances (eV, eV/Å). Batched and one-by-one runs sum in different orders, so float32
# models agree to float32 rounding only.
BATCH_ATOL = {"float64": 1e-9, "float32": 2e-4}
BATCH_RTOL = {"float64": 1e-12, "float32": 1e-6}
# Central differences: step (Å), and tolerance on -dE/dx vs the model's force relative to the
# frame's largest force component. float32 energies carry ~1e-7 relative rounding, which a 0.02 Å
# difference quotient turns into ~1% of the force; a sign, unit or per-atom/total energy slip, or
# forces in the wrong atom order, are off by far more than 3%.
FD_STEP = {"float64": 1e-4, "float32": 1e-2}
FD_RTOL = {"float64": 1e-6, "float32": 3e-2}
# A 1-atom periodic cell: every atom sits on an inversion centre, so periodic models give F = 0.
SYMMETRY_ATOL = {"float64": 1e-9, "float32": 1e-4}
# Invariance under a lattice-vector translation (float32 positions lose digits when shifted).
TRANSLATION_ATOL = {"float64": 1e-8, "float32": 5e-4}


@dataclass(frozen=True)
class Case:
    model: ForceField
    periodic: bool  # invariant under lattice-vector translations (GNNs, zero); not ADAPT


MODELS = ["zero", "adapt", "mace", "mattersim", "chgnet"]


def _build(name: str, tmp) -> Case:
    if name == "zero":
        ds = random_label_dataset(tmp / "ds")
        return Case(load_model("zero", LoadContext(train_data=ds)), periodic=True)
    if name == "adapt":
        try:
            from baselines.testing import tiny_adapt_forcefield
        except ImportError as exc:
            pytest.skip(f"ADAPT tiny model not importable (baselines.testing): {exc}")
        return Case(tiny_adapt_forcefield(seed=0, energy=True), periodic=False)
    if name == "mace":
        from baselines.testing import tiny_mace_model

        path = tiny_mace_model(tmp / "mace" / "tiny.model", seed=0, dtype="float64")
        return Case(load_model(f"mace:{path}"), periodic=True)
    if name == "mattersim":
        from baselines.testing import tiny_mattersim_checkpoint

        path = tiny_mattersim_checkpoint(tmp / "mattersim" / "tiny.pth", seed=0)
        return Case(load_model(f"mattersim:{path}"), periodic=True)
    if name == "chgnet":
        return Case(load_model("chgnet"), periodic=True)
    raise AssertionError(name)


@pytest.fixture(scope="module", params=MODELS)
def case(request, tmp_path_factory) -> Case:
    return _build(request.param, tmp_path_factory.mktemp(request.param))


def rattled(atoms: Atoms, seed: int, scale: float = 0.05) -> Atoms:
    atoms = atoms.copy()
    atoms.positions += np.random.default_rng(seed).normal(scale=scale, size=atoms.positions.shape)
    return atoms


def one_atom_cell() -> Atoms:
    return bulk("Si", "sc", a=2.6)  # 1 atom, periodic; neighbours only through images


@pytest.fixture(scope="module")
def frames() -> list[Atoms]:
    """Mixed sizes in one batch: 8, 216 (the paper's supercell), 1 and 64 atoms; labelled like
    dataset frames (a SinglePointCalculator and info keys), so non-mutation covers those too."""
    out = [rattled(si_cell(1), 1), rattled(si_cell(3), 2), one_atom_cell(), rattled(si_cell(2), 3)]
    return [
        labelled(a, energy=-1.0, forces=np.zeros((len(a), 3)), traj_id=f"t{i}", step=i)
        for i, a in enumerate(out)
    ]


def check_prediction(pred: Prediction, atoms: Atoms, ff: ForceField) -> None:
    assert isinstance(pred, Prediction)
    if ff.info.predicts_energy:
        assert type(pred.energy) is float and np.isfinite(pred.energy)
    else:
        assert pred.energy is None
    assert isinstance(pred.forces, np.ndarray)
    assert pred.forces.dtype == np.float64
    assert pred.forces.shape == (len(atoms), 3)
    assert np.all(np.isfinite(pred.forces))
    assert isinstance(pred.flags, tuple) and all(isinstance(f, str) for f in pred.flags)


def test_info_describes_the_model(case):
    info = case.model.info
    assert info.family in MODELS
    assert isinstance(info.n_params, int) and info.n_params >= 0
    assert info.dtype in ("float32", "float64")
    assert info.device == "cpu"
    assert isinstance(info.conservative, bool) and info.level_of_theory
    if info.family in ("mace", "mattersim", "chgnet"):  # weights in one file
        assert Path(info.checkpoint).is_file()
        assert info.checkpoint_sha256 == file_sha256(info.checkpoint)


def test_batch_equals_one_by_one(case, frames):
    ff = case.model
    batch = ff.predict(frames)
    small_batches = ff.predict(frames, batch_size=2)
    singles = [ff.predict([a])[0] for a in frames]
    assert len(batch) == len(small_batches) == len(singles) == len(frames)
    atol, rtol = BATCH_ATOL[ff.info.dtype], BATCH_RTOL[ff.info.dtype]
    for a, b, c, s in zip(frames, batch, small_batches, singles, strict=True):
        check_prediction(b, a, ff)
        for other in (c, s):
            np.testing.assert_allclose(b.forces, other.forces, atol=atol, rtol=rtol)
            if ff.info.predicts_energy:
                assert b.energy == pytest.approx(other.energy, abs=atol, rel=rtol)
            assert b.flags == other.flags
    assert ff.predict([]) == []


def test_inputs_not_mutated(case, frames):
    before = [
        (
            a.positions.copy(),
            a.numbers.copy(),
            a.cell.array.copy(),
            a.pbc.copy(),
            copy.deepcopy(a.info),
            a.calc,
            copy.deepcopy(a.calc.results),
            sorted(a.arrays),
        )
        for a in frames
    ]
    case.model.predict(frames)
    for a, (pos, num, cell, pbc, info, calc, results, arrays) in zip(frames, before, strict=True):
        np.testing.assert_array_equal(a.positions, pos)
        np.testing.assert_array_equal(a.numbers, num)
        np.testing.assert_array_equal(a.cell.array, cell)
        np.testing.assert_array_equal(a.pbc, pbc)
        assert a.info == info
        assert a.calc is calc
        assert a.calc.results.keys() == results.keys()
        for k in results:
            np.testing.assert_array_equal(a.calc.results[k], results[k])
        assert sorted(a.arrays) == arrays


def test_one_atom_and_216_atom_cells(case, frames):
    ff = case.model
    big, one = frames[1], frames[2]
    assert len(big) == 216 and len(one) == 1
    pred_big, pred_one = ff.predict([big, one])
    check_prediction(pred_big, big, ff)
    check_prediction(pred_one, one, ff)
    if case.periodic:
        np.testing.assert_allclose(pred_one.forces, 0.0, atol=SYMMETRY_ATOL[ff.info.dtype])


def test_lattice_vector_translation(case, frames):
    ff = case.model
    atoms = frames[3]  # 64 atoms
    shifted = atoms.copy()
    shifted.positions += atoms.cell[0] - atoms.cell[2]
    ref, moved = ff.predict([atoms, shifted])
    if case.periodic:
        atol = TRANSLATION_ATOL[ff.info.dtype]
        np.testing.assert_allclose(moved.forces, ref.forces, atol=atol)
        if ff.info.predicts_energy:
            assert moved.energy == pytest.approx(ref.energy, abs=atol * len(atoms))
    else:  # ADAPT: raw Cartesian coordinates, no periodic images (see module docstring)
        assert not np.allclose(moved.forces, ref.forces, atol=1e-6)
        assert moved.flags == ref.flags


def test_calculator_matches_predict(case, frames):
    ff = case.model
    atoms = frames[0].copy()
    atoms.calc = ff.calculator()
    (pred,) = ff.predict([frames[0]])
    atol = BATCH_ATOL[ff.info.dtype]
    np.testing.assert_allclose(atoms.get_forces(), pred.forces, atol=atol)
    if ff.info.predicts_energy:
        assert atoms.get_potential_energy() == pytest.approx(pred.energy, abs=atol)


def test_forces_are_minus_energy_gradient(case):
    """Central finite differences of the model's energy vs its forces (conservative models)."""
    ff = case.model
    if not ff.info.conservative:
        pytest.skip(f"{ff.info.name}: forces are not -dE/dr by construction (info.conservative)")
    atoms = rattled(si_cell(1), 7, scale=0.1)
    h = FD_STEP[ff.info.dtype]
    components = [(0, 0), (1, 2), (3, 1), (6, 0)]  # (atom, axis); atom 0 is the C dopant
    displaced = []
    for i, k in components:
        for sign in (+1, -1):
            a = atoms.copy()
            a.positions[i, k] += sign * h
            displaced.append(a)
    energies = [p.energy for p in ff.predict(displaced)]
    (pred,) = ff.predict([atoms])
    atol = FD_RTOL[ff.info.dtype] * np.abs(pred.forces).max()
    assert atol > 0, "forces are all zero: the check would be vacuous"
    for n, (i, k) in enumerate(components):
        fd = -(energies[2 * n] - energies[2 * n + 1]) / (2 * h)
        assert fd == pytest.approx(pred.forces[i, k], abs=atol), (i, k)
