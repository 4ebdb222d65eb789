"""ASE frames -> ADAPT+ padded batches, length-bucketed batch plans, and per-element references.

A frame becomes an :class:`Item` (numpy arrays, one structure); :func:`collate` pads a list of
items into tensors with :func:`adapt.batching.pad` (the project's one padding function).
Padding rows hold species 0, position 0, force 0, weight 0 and ``valid`` False.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from ase import Atoms

from adapt.batching import pad
from adapt.tokens import ElementTable


@dataclass
class Item:
    """One structure: species (n,) table rows, pos (n, 3) Å, cell (3, 3) Å, pbc (3,) bool, and
    the labels forces (n, 3) eV/Å, energy eV, weights (n,) force-loss weights (NaN if unlabelled)."""

    species: np.ndarray
    pos: np.ndarray
    cell: np.ndarray
    pbc: np.ndarray
    forces: np.ndarray
    energy: float
    weights: np.ndarray

    def __len__(self) -> int:
        return len(self.species)


def species_rows(atoms: Atoms, table: ElementTable) -> np.ndarray:
    """(n,) long: each atom's row in ``table`` (an unknown element is UnknownElementError)."""
    index = {s: k for k, s in enumerate(table.symbols)}
    rows = []
    for s in atoms.get_chemical_symbols():
        if s not in index:
            table.descriptors(s)  # raises the table's UnknownElementError naming the element
        rows.append(index[s])
    return np.asarray(rows, dtype=np.int64)


def to_item(
    atoms: Atoms, table: ElementTable, weights: np.ndarray | None = None, labels: bool = True
) -> Item:
    """An :class:`Item`; with ``labels``, energy and forces from ``atoms.calc`` (NaN if absent)."""
    n = len(atoms)
    energy, forces = float("nan"), np.full((n, 3), np.nan)
    if labels and atoms.calc is not None and "forces" in atoms.calc.results:
        forces = np.asarray(atoms.get_forces(apply_constraint=False), dtype=np.float64)
        energy = float(atoms.get_potential_energy())
    return Item(
        species=species_rows(atoms, table),
        pos=np.asarray(atoms.positions, dtype=np.float64),
        cell=np.asarray(atoms.cell[:], dtype=np.float64),
        pbc=np.asarray(atoms.pbc, dtype=bool),
        forces=forces,
        energy=energy,
        weights=np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64),
    )


def collate(items: list[Item], device="cpu", dtype=torch.float32) -> dict[str, torch.Tensor]:
    """Padded batch: species (B, N), pos (B, N, 3), cell (B, 3, 3), pbc (B, 3), valid (B, N),
    forces (B, N, 3), energy (B,), weights (B, N), n_atoms (B,)."""
    species, valid = pad([it.species for it in items], dtype=torch.long)
    batch = {
        "species": species,
        "valid": valid,
        "pos": pad([it.pos for it in items], dtype=dtype)[0],
        "forces": pad([it.forces for it in items], dtype=dtype)[0],
        "weights": pad([it.weights for it in items], dtype=dtype)[0],
        "cell": torch.as_tensor(np.stack([it.cell for it in items]), dtype=dtype),
        "pbc": torch.as_tensor(np.stack([it.pbc for it in items])),
        "energy": torch.as_tensor([it.energy for it in items], dtype=torch.float64),
        "n_atoms": torch.as_tensor([len(it) for it in items]),
    }
    return {k: v.to(device) for k, v in batch.items()}


def batch_plan(sizes, max_batch_atoms: int, rng: np.random.Generator | None = None) -> list:
    """Lists of item indices: items sorted by size (shuffled within equal sizes when ``rng`` is
    given), cut so that len(batch) x its largest size <= max_batch_atoms (at least one item),
    batch order shuffled by ``rng``."""
    sizes = np.asarray(sizes)
    tiebreak = rng.permutation(len(sizes)) if rng is not None else np.arange(len(sizes))
    order = np.lexsort((tiebreak, sizes))
    batches, cur, cur_max = [], [], 0
    for idx in order:
        n = int(sizes[idx])
        if cur and max(cur_max, n) * (len(cur) + 1) > max_batch_atoms:
            batches.append(cur)
            cur, cur_max = [], 0
        cur.append(int(idx))
        cur_max = max(cur_max, n)
    if cur:
        batches.append(cur)
    if rng is not None:
        batches = [batches[k] for k in rng.permutation(len(batches))]
    return batches


def fit_element_refs(items: list[Item], n_elements: int) -> np.ndarray:
    """(n_elements,) eV: least-squares per-element energies E ≈ Σ_Z n_Z e_Z over ``items``
    (minimum-norm solution; elements absent from ``items`` get 0)."""
    counts = np.zeros((len(items), n_elements))
    for r, it in enumerate(items):
        np.add.at(counts[r], it.species, 1.0)
    energy = np.array([it.energy for it in items])
    seen = counts.sum(0) > 0
    refs = np.zeros(n_elements)
    refs[seen] = np.linalg.lstsq(counts[:, seen], energy, rcond=None)[0]
    return refs
