"""Per-element reference energies fitted by least squares on a composition matrix.

E_s ≈ Σ_e c_se μ_e, c_se = number of atoms of element e in structure s, μ_e in eV/atom.
Used by the composition (``zero``) baseline, by MACE's E0s and by the benchmark's
level-of-theory alignment, so the three read the same fit.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping, Sequence

import numpy as np

log = logging.getLogger(__name__)


def composition_matrix(
    symbols_per_frame: Sequence[Sequence[str]], elements: Sequence[str]
) -> np.ndarray:
    """(n_frames, n_elements) atom counts; a symbol outside ``elements`` is a KeyError."""
    col = {e: j for j, e in enumerate(elements)}
    comp = np.zeros((len(symbols_per_frame), len(elements)))
    for i, syms in enumerate(symbols_per_frame):
        for e, c in Counter(syms).items():
            comp[i, col[e]] = c
    return comp


def fit_element_energies(
    symbols_per_frame: Sequence[Sequence[str]], energies: Sequence[float] | np.ndarray
) -> dict[str, float]:
    """μ_e (eV/atom) minimising Σ_s (E_s − Σ_e c_se μ_e)², over frames with a finite energy.

    ValueError when no frame has a finite energy. A rank-deficient composition matrix (e.g.
    every structure is Si63C1) gives numpy's minimum-norm solution and a logged warning: the fit
    is then exact for compositions that are linear combinations of the training ones.
    """
    energies = np.asarray(energies, dtype=float)
    if len(symbols_per_frame) != len(energies):
        raise ValueError(f"{len(symbols_per_frame)} frames but {len(energies)} energies")
    keep = np.flatnonzero(np.isfinite(energies))
    if len(keep) == 0:
        raise ValueError("no finite energies to fit element references on")
    frames = [symbols_per_frame[i] for i in keep]
    elements = sorted({s for syms in frames for s in syms})
    comp = composition_matrix(frames, elements)
    mu, _, rank, _ = np.linalg.lstsq(comp, energies[keep], rcond=None)
    if rank < len(elements):
        log.warning(
            "element references: composition matrix has rank %d for %d elements (%s); "
            "using the minimum-norm solution",
            rank,
            len(elements),
            ",".join(elements),
        )
    return {e: float(m) for e, m in zip(elements, mu, strict=True)}


def composition_energy(symbols: Sequence[str], mu: Mapping[str, float]) -> float:
    """Σ_e c_e μ_e (eV); NaN when an element has no reference energy."""
    counts = Counter(symbols)
    if any(e not in mu for e in counts):
        return float("nan")
    return float(sum(c * mu[e] for e, c in counts.items()))
