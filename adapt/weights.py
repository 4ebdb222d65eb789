"""Per-atom importance weights for the force loss (paper Sec. 2.1.2).

Eq. 12 (the paper's choice, ``loss="weighted"``)::

    m_i = prod_{j in D} (1 + λ1 / (|r_i - r_j|² + λ2))

Eq. 13 (footnote 6, ``loss="log"``)::

    w_i = sum_{j in D} ln(1 / (|r_i - r_j|² + λ2))

As written, each Eq. 13 term is negative once |r_i - r_j|² + λ2 > 1 (for every atom when
λ2 >= 1), and a loss weight must be positive, so the loss uses ``w_i - min_k w_k + 1`` per frame (the same
log-decay shape, smallest weight 1). ``loss="mse"`` is m_i = 1.

D is the set of defect positions (Å): defect atoms and vacancy sites (the paper's footnote 5
leaves vacancies out; we include them). Distances |r_i - r_j| use the minimum-image convention
(``ase.geometry.get_distances``) when the frame has a cell and periodic boundaries. With no
defect (a bulk frame) every weight is 1. λ1, λ2 are in Å²; the paper does not give their values,
the defaults (λ1 = 10, λ2 = 1) are ours: weight 11 on a defect atom, ~2.4 on its Si neighbours
at 2.35 Å, ~1.4 at 5 Å, -> 1 far away.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.geometry import get_distances


def squared_distances(atoms: Atoms, points: np.ndarray) -> np.ndarray:
    """(n_atoms, k) squared distances (Å²) from every atom to each point, minimum image if periodic."""
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(points) == 0:
        return np.zeros((len(atoms), 0))
    periodic = bool(np.any(atoms.pbc)) and atoms.cell.rank == 3
    if periodic:
        _, dist = get_distances(atoms.positions, points, cell=atoms.cell, pbc=atoms.pbc)
    else:
        dist = np.linalg.norm(atoms.positions[:, None, :] - points[None, :, :], axis=-1)
    return dist**2


def eq12(d2: np.ndarray, lambda1: float, lambda2: float) -> np.ndarray:
    """Eq. 12 from squared distances (n, k): prod_j (1 + λ1 / (d²_ij + λ2))."""
    return np.prod(1.0 + lambda1 / (d2 + lambda2), axis=1)


def eq13_raw(d2: np.ndarray, lambda2: float) -> np.ndarray:
    """Eq. 13 exactly as printed: sum_j ln(1 / (d²_ij + λ2)) (may be negative)."""
    return np.sum(np.log(1.0 / (d2 + lambda2)), axis=1)


def eq13(d2: np.ndarray, lambda2: float) -> np.ndarray:
    """Eq. 13 shifted to a usable loss weight: w - min(w) + 1 over the frame's atoms."""
    w = eq13_raw(d2, lambda2)
    return w - w.min() + 1.0 if len(w) else w


def importance_weights(
    atoms: Atoms,
    defect_positions: np.ndarray,
    loss: str = "weighted",
    lambda1: float = 10.0,
    lambda2: float = 1.0,
) -> np.ndarray:
    """(n_atoms,) loss weights for one frame under ``loss`` ("weighted" | "log" | "mse")."""
    n = len(atoms)
    if loss == "mse":
        return np.ones(n)
    d2 = squared_distances(atoms, defect_positions)
    if loss == "weighted":
        return eq12(d2, lambda1, lambda2)
    if loss == "log":
        return eq13(d2, lambda2)
    raise ValueError(f"unknown loss {loss!r}; use weighted, log or mse")
