"""The contract every force field meets, as reusable checks (tests/test_model_contract.py runs
them on every registered family's tiny model; run them on a new wrapper the same way).

    info           ModelInfo is complete and agrees with the family's declaration
    batch          a batch equals smaller batches and one-by-one calls; empty in, empty out
    not_mutated    predict leaves its input Atoms untouched (positions, cell, info, calculator)
    sizes          a 1-atom and a 216-atom cell in one batch (periodic models: F = 0 on 1 atom)
    translation    a lattice-vector translation: periodic models invariant, others not
    calculator     the ASE calculator gives what predict gives
    gradient       conservative models: forces = -dE/dx by central differences

Each check takes (ForceField, Family) and raises :class:`ContractError` (an AssertionError) on
a violation, or returns a string saying why it does not apply.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator

from adapt.fileio import file_sha256
from adapt.testing import si_cell
from baselines.family import Family
from baselines.interface import ForceField, Prediction

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


class ContractError(AssertionError):
    """A force field breaks the interface contract; the message says which rule and where."""


def _require(ok: bool, msg: str) -> None:
    if not ok:
        raise ContractError(msg)


def rattled(atoms: Atoms, seed: int, scale: float = 0.05) -> Atoms:
    atoms = atoms.copy()
    atoms.positions += np.random.default_rng(seed).normal(scale=scale, size=atoms.positions.shape)
    return atoms


def contract_frames() -> list[Atoms]:
    """Mixed sizes in one batch: 8, 216 (the paper's supercell), 1 and 64 atoms, labelled like
    dataset frames (a SinglePointCalculator and info keys), so non-mutation covers those too."""
    out = [
        rattled(si_cell(1), 1),
        rattled(si_cell(3), 2),
        bulk("Si", "sc", a=2.6),  # 1 atom, periodic; neighbours only through images
        rattled(si_cell(2), 3),
    ]
    for i, a in enumerate(out):
        a.calc = SinglePointCalculator(a, energy=-1.0, forces=np.zeros((len(a), 3)))
        a.info.update(traj_id=f"t{i}", step=i)
    return out


def check_prediction(pred: Prediction, atoms: Atoms, ff: ForceField) -> None:
    _require(isinstance(pred, Prediction), f"predict returned {type(pred).__name__}")
    if ff.info.predicts_energy:
        _require(
            type(pred.energy) is float and np.isfinite(pred.energy),
            f"energy {pred.energy!r}: expected a finite float (eV)",
        )
    else:
        _require(pred.energy is None, "info.predicts_energy is False but an energy came back")
    f = pred.forces
    _require(isinstance(f, np.ndarray) and f.dtype == np.float64, "forces: float64 ndarray")
    _require(f.shape == (len(atoms), 3), f"forces shape {f.shape}, expected ({len(atoms)}, 3)")
    _require(bool(np.all(np.isfinite(f))), "forces contain NaN/inf")
    _require(
        isinstance(pred.flags, tuple) and all(isinstance(x, str) for x in pred.flags),
        f"flags {pred.flags!r}: expected a tuple of words",
    )


def _close(a, b, atol: float, rtol: float = 0.0, what: str = "") -> None:
    try:
        np.testing.assert_allclose(a, b, atol=atol, rtol=rtol)
    except AssertionError as exc:
        raise ContractError(f"{what}: {exc}") from None


def check_info(ff: ForceField, fam: Family, frames: list[Atoms]) -> str | None:
    info = ff.info
    _require(info.family == fam.name, f"info.family {info.family!r} != family {fam.name!r}")
    _require(isinstance(info.n_params, int) and info.n_params >= 0, "n_params: int >= 0")
    _require(info.dtype in ("float32", "float64"), f"dtype {info.dtype!r}")
    _require(isinstance(info.conservative, bool) and bool(info.level_of_theory), "info fields")
    if fam.conservative is not None:
        _require(info.conservative == fam.conservative, "info.conservative != family's")
    if fam.level_of_theory is not None:
        _require(info.level_of_theory == fam.level_of_theory, "level_of_theory != family's")
    if info.checkpoint and Path(info.checkpoint).is_file():  # weights in one file
        _require(info.checkpoint_sha256 == file_sha256(info.checkpoint), "checkpoint_sha256")
    return None


def check_batch(ff: ForceField, fam: Family, frames: list[Atoms]) -> str | None:
    batch = ff.predict(frames)
    small = ff.predict(frames, batch_size=2)
    singles = [ff.predict([a])[0] for a in frames]
    _require(len(batch) == len(small) == len(singles) == len(frames), "one prediction per frame")
    atol, rtol = BATCH_ATOL[ff.info.dtype], BATCH_RTOL[ff.info.dtype]
    for a, b, c, s in zip(frames, batch, small, singles, strict=True):
        check_prediction(b, a, ff)
        for other in (c, s):
            _close(b.forces, other.forces, atol, rtol, "batched vs one-by-one forces")
            if ff.info.predicts_energy:
                _close(b.energy, other.energy, atol, rtol, "batched vs one-by-one energy")
            _require(b.flags == other.flags, "flags differ between batch sizes")
    _require(ff.predict([]) == [], "predict([]) must return []")
    return None


def check_not_mutated(ff: ForceField, fam: Family, frames: list[Atoms]) -> str | None:
    def state(a: Atoms):
        return (
            a.positions.copy(),
            a.numbers.copy(),
            a.cell.array.copy(),
            a.pbc.copy(),
            copy.deepcopy(a.info),
            a.calc,
            copy.deepcopy(a.calc.results),
            sorted(a.arrays),
        )

    before = [state(a) for a in frames]
    ff.predict(frames)
    for a, (pos, num, cell, pbc, info, calc, results, arrays) in zip(frames, before, strict=True):
        for now, then, what in ((a.positions, pos, "positions"), (a.numbers, num, "numbers")):
            _require(np.array_equal(now, then), f"predict changed {what}")
        _require(np.array_equal(a.cell.array, cell) and np.array_equal(a.pbc, pbc), "cell/pbc")
        _require(a.info == info and a.calc is calc, "predict changed atoms.info or atoms.calc")
        _require(a.calc.results.keys() == results.keys(), "predict changed calc.results")
        for k in results:
            _require(np.array_equal(a.calc.results[k], results[k]), f"calc.results[{k!r}]")
        _require(sorted(a.arrays) == arrays, "predict added or removed per-atom arrays")
    return None


def check_sizes(ff: ForceField, fam: Family, frames: list[Atoms]) -> str | None:
    big, one = frames[1], frames[2]
    pred_big, pred_one = ff.predict([big, one])
    check_prediction(pred_big, big, ff)
    check_prediction(pred_one, one, ff)
    if fam.periodic:
        _close(pred_one.forces, 0.0, SYMMETRY_ATOL[ff.info.dtype], what="1-atom cell forces")
    return None


def check_translation(ff: ForceField, fam: Family, frames: list[Atoms]) -> str | None:
    atoms = frames[3]  # 64 atoms
    shifted = atoms.copy()
    shifted.positions += atoms.cell[0] - atoms.cell[2]
    ref, moved = ff.predict([atoms, shifted])
    if fam.periodic:
        atol = TRANSLATION_ATOL[ff.info.dtype]
        _close(moved.forces, ref.forces, atol, what="forces after a lattice translation")
        if ff.info.predicts_energy:
            _close(moved.energy, ref.energy, atol * len(atoms), what="energy after translation")
    else:  # e.g. ADAPT: raw Cartesian coordinates, no periodic images
        _require(
            not np.allclose(moved.forces, ref.forces, atol=1e-6),
            "family declares periodic=False but its forces are translation invariant",
        )
        _require(moved.flags == ref.flags, "flags changed with a translation in the same cell")
    return None


def check_calculator(ff: ForceField, fam: Family, frames: list[Atoms]) -> str | None:
    atoms = frames[0].copy()
    atoms.calc = ff.calculator()
    (pred,) = ff.predict([frames[0]])
    atol = BATCH_ATOL[ff.info.dtype]
    _close(atoms.get_forces(), pred.forces, atol, what="calculator vs predict forces")
    if ff.info.predicts_energy:
        _close(atoms.get_potential_energy(), pred.energy, atol, what="calculator energy")
    return None


def check_gradient(ff: ForceField, fam: Family, frames: list[Atoms]) -> str | None:
    """Central finite differences of the model's energy vs its forces (conservative models)."""
    if not ff.info.conservative:
        return f"{ff.info.name}: forces are not -dE/dr by construction (info.conservative)"
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
    _require(atol > 0, "forces are all zero: the gradient check would be vacuous")
    for n, (i, k) in enumerate(components):
        fd = -(energies[2 * n] - energies[2 * n + 1]) / (2 * h)
        _close(fd, pred.forces[i, k], atol, what=f"-dE/dx vs force, atom {i} axis {k}")
    return None


CHECKS: dict[str, Callable[[ForceField, Family, list[Atoms]], str | None]] = {
    "info": check_info,
    "batch": check_batch,
    "not_mutated": check_not_mutated,
    "sizes": check_sizes,
    "translation": check_translation,
    "calculator": check_calculator,
    "gradient": check_gradient,
}


def validate(ff: ForceField, fam: Family) -> dict[str, str]:
    """Run every check; {check: "ok" or why it does not apply}. Raises ContractError."""
    out = {}
    for name, check in CHECKS.items():
        why = check(ff, fam, contract_frames())
        out[name] = why or "ok"
    return out
