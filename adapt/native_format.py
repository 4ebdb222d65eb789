"""The ADAPT authors' native ``.pt`` files <-> labelled ``ase.Atoms``.

Force file: ``torch.save({"X": [tensor(n_i, 13)], "Y": [tensor(n_i, 3)]})``, one list entry per
structure. X columns = the 12 token columns of :mod:`adapt.tokens` (x, y, z Å, column, row,
electronegativity, covalent radius pm, valence electrons, first ionization energy eV, electron
affinity kJ/mol, atomic radius Å, molar volume cm³/mol) + the importance weight (Eq. 12);
Y = forces, eV/Å.

Energy file: ``torch.save({"X": tensor(M, n_max, 12), "Y": tensor(M)})`` (a 2-tuple
``(X, Y)`` is read too): tokens zero-padded to n_max rows (a row of twelve zeros is padding),
energies in eV.

Files are read with ``torch.load(..., weights_only=True)``: they cannot run code.

Elements are recovered from each row's descriptors: the element whose (column, row) match; when
several do (e.g. lanthanides, all group 3 / row 6 in pymatgen) the one nearest in the other seven
descriptors (each scaled by its spread over the table). So the authors' own values (Si's
E_EA 133.6 kJ/mol vs our 134.1) map to the right element.

No cell is stored in these files. ``cell`` may be given (a 3x3 matrix, three lengths, or one
edge length, Å; pbc is set); else it is inferred for a cubic diamond-lattice supercell of
k x k x k conventional cells: k = round((n/8)^(1/3)) from the atom count (so a vacancy or
interstitial or two does not change it) and the lattice constant a = 4 d_nn / sqrt(3) from the
median first-shell distance d_nn (all pairs closer than 1.25x the median nearest-neighbour
distance; the second shell is at 1.63 d_nn), cell = k a I. Such a cell is marked
``atoms.info["cell_inferred"] = True`` (with ``lattice_constant``); a position outside it by
more than 0.5 Å logs a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from adapt.tokens import ElementTable, UnknownElementError, default_table, tokenize

log = logging.getLogger(__name__)
WEIGHT_KEY = "adapt_weight"  # atoms.arrays key of the importance weight column


def _load(path) -> object:
    return torch.load(Path(path), map_location="cpu", weights_only=True)


def recover_symbols(desc: np.ndarray, table: ElementTable | None = None) -> list[str]:
    """Chemical symbols of (n, 9) descriptor rows (token columns 3..11)."""
    table = table or default_table()
    symbols, mat = table.matrix()
    scale = mat.std(0)
    scale[scale == 0] = 1.0
    uniq, inverse = np.unique(
        np.round(np.asarray(desc, dtype=float), 6), axis=0, return_inverse=True
    )
    found = []
    for row in uniq:
        cand = np.flatnonzero(
            (np.round(mat[:, 0]) == round(row[0])) & (np.round(mat[:, 1]) == round(row[1]))
        )
        if len(cand) == 0:
            raise UnknownElementError(
                f"no element in the table has column {row[0]:g}, row {row[1]:g} (descriptors {row.tolist()})"
            )
        dist = np.linalg.norm((mat[cand, 2:] - row[2:]) / scale[2:], axis=1)
        found.append(symbols[cand[int(np.argmin(dist))]])
    return [found[i] for i in np.ravel(inverse)]


def infer_diamond_cell(positions: np.ndarray) -> tuple[np.ndarray, float]:
    """(cell (3, 3), lattice constant a) of a cubic diamond k x k x k supercell (see module)."""
    n = len(positions)
    k = max(1, round((n / 8) ** (1 / 3)))
    d = np.linalg.norm(positions[:, None] - positions[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    nearest = float(np.median(d.min(1)))
    first_shell = d[d < 1.25 * nearest]  # the second shell lies at 1.63 d_nn
    a = 4.0 * float(np.median(first_shell)) / np.sqrt(3.0)
    return np.eye(3) * k * a, a


def _cell(cell, positions: np.ndarray) -> tuple[np.ndarray, dict]:
    if cell is None:
        c, a = infer_diamond_cell(positions)
        L = c[0, 0]
        if np.any(positions < -0.5) or np.any(positions > L + 0.5):
            log.warning("positions reach outside the inferred %.3f Å cubic cell; pass cell=", L)
        return c, {"cell_inferred": True, "lattice_constant": a}
    c = np.asarray(cell, dtype=float)
    if c.ndim == 0:
        c = np.eye(3) * float(c)
    elif c.shape == (3,):
        c = np.diag(c)
    elif c.shape != (3, 3):
        raise ValueError(
            f"cell must be a 3x3 matrix, 3 lengths or one length (Å), got shape {c.shape}"
        )
    return c, {}


def _atoms(x: np.ndarray, cell, table) -> Atoms:
    c, info = _cell(cell, x[:, :3])
    atoms = Atoms(recover_symbols(x[:, 3:12], table), positions=x[:, :3], cell=c, pbc=True)
    atoms.info.update(info)
    return atoms


def read_native_forces(
    path, cell=None, table: ElementTable | None = None, obj: object | None = None
) -> list[Atoms]:
    """Structures of a force file: positions, elements, forces (eV/Å), weights in arrays.
    ``obj``: the file's content when already loaded."""
    obj = _load(path) if obj is None else obj
    try:
        X, Y = obj["X"], obj["Y"]
    except (TypeError, KeyError) as exc:
        raise ValueError(f"{path}: expected a dict with 'X' and 'Y' lists") from exc
    if len(X) != len(Y):
        raise ValueError(f"{path}: {len(X)} X entries but {len(Y)} Y entries")
    out = []
    for i, (x, y) in enumerate(zip(X, Y, strict=True)):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != 13 or y.shape != (len(x), 3):
            raise ValueError(
                f"{path} structure {i}: X {x.shape} / Y {y.shape}, expected (n, 13) / (n, 3)"
            )
        try:
            atoms = _atoms(x, cell, table)
        except UnknownElementError as exc:
            raise ValueError(f"{path} structure {i}: field 'X' (element columns): {exc}") from exc
        atoms.arrays[WEIGHT_KEY] = x[:, 12].copy()
        atoms.info["native_index"] = i
        atoms.calc = SinglePointCalculator(atoms, forces=y)
        out.append(atoms)
    return out


def read_native_energies(path, cell=None, table: ElementTable | None = None) -> list[Atoms]:
    """Structures of an energy file (padding rows dropped), energy (eV) on each."""
    obj = _load(path)
    if isinstance(obj, dict):
        X, Y = obj["X"], obj["Y"]
    elif isinstance(obj, (tuple, list)) and len(obj) == 2:
        X, Y = obj
    else:
        raise ValueError(f"{path}: expected {{'X': (M, n_max, 12), 'Y': (M,)}} or (X, Y)")
    X, Y = np.asarray(X, dtype=np.float64), np.asarray(Y, dtype=np.float64).reshape(-1)
    if X.ndim != 3 or X.shape[2] != 12 or len(Y) != len(X):
        raise ValueError(f"{path}: X {X.shape}, Y {Y.shape}; expected (M, n_max, 12) and (M,)")
    out = []
    for i, (x, e) in enumerate(zip(X, Y, strict=True)):
        x = x[np.any(x != 0, axis=1)]
        atoms = _atoms(x, cell, table)
        atoms.info["native_index"] = i
        atoms.calc = SinglePointCalculator(atoms, energy=float(e))
        out.append(atoms)
    return out


def write_native_forces(
    frames: Sequence[Atoms], path, weights: Sequence[np.ndarray] | None = None, dtype=torch.float32
) -> Path:
    """Write a force file. weights: per-frame (n,) arrays; None -> arrays["adapt_weight"] or 1."""
    X, Y = [], []
    for i, atoms in enumerate(frames):
        n = len(atoms)
        w = weights[i] if weights is not None else atoms.arrays.get(WEIGHT_KEY, np.ones(n))
        x = np.concatenate(
            [tokenize(atoms).astype(np.float64), np.asarray(w, float).reshape(n, 1)], axis=1
        )
        x[:, :3] = atoms.positions  # full precision before the dtype cast
        X.append(torch.as_tensor(x, dtype=dtype))
        Y.append(torch.as_tensor(np.asarray(atoms.get_forces(), dtype=float), dtype=dtype))
    torch.save({"X": X, "Y": Y}, Path(path))
    return Path(path)


def write_native_energies(
    frames: Sequence[Atoms], path, n_max: int = 220, dtype=torch.float32
) -> Path:
    """Write an energy file, tokens zero-padded to n_max rows (more atoms is an error)."""
    from adapt.energy_models import OversizeStructureError

    X = np.zeros((len(frames), n_max, 12))
    Y = np.zeros(len(frames))
    for i, atoms in enumerate(frames):
        if len(atoms) > n_max:
            raise OversizeStructureError(f"frame {i} has {len(atoms)} atoms > n_max={n_max}")
        t = tokenize(atoms).astype(np.float64)
        t[:, :3] = atoms.positions
        X[i, : len(atoms)] = t
        Y[i] = atoms.get_potential_energy()
    torch.save(
        {"X": torch.as_tensor(X, dtype=dtype), "Y": torch.as_tensor(Y, dtype=dtype)}, Path(path)
    )
    return Path(path)
