"""How close a model-relaxed structure is to the reference-relaxed one.

Both structures must hold the same atoms in the same order (a relaxation keeps the order of its
start frame); atom i of one is compared with atom i of the other, displacements taken under the
minimum-image convention of the reference cell.

    soap_similarity  cosine similarity of the two structure-averaged SOAP vectors (dscribe,
                     average="inner", species = those of both structures); 1.0 for identical
                     structures. Settings are the ADAPT authors' (utils/soap_similarity.py in
                     their release: r_cut 5 Å, n_max 8, l_max 6, periodic, averaged, dscribe's
                     default Gaussian width sigma 1.0 Å and GTO radial basis). Averaged SOAP is
                     insensitive: small relaxation differences give values like 0.9999, so
                     tables need several decimals.
    delta_q          ΔQ = sqrt(Σ_i m_i |Δr_i|²), masses in amu (ASE's table, IUPAC 2016),
                     unit amu^1/2·Å: the mass-weighted configuration-coordinate distance.
    rmsd             sqrt(mean_i |Δr_i|²) in Å.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.geometry import find_mic

CELL_TOLERANCE = 1e-3  # Å: cells differing by more than this are refused


@dataclass(frozen=True)
class SoapSettings:
    r_cut: float = 5.0  # Å
    n_max: int = 8
    l_max: int = 6
    periodic: bool = True  # used only when both structures are periodic in all directions
    average: str = "inner"
    sigma: float = 1.0  # Å, Gaussian width of the atomic densities (dscribe's default)
    rbf: str = "gto"


def _check_same_atoms(a: Atoms, b: Atoms) -> None:
    if len(a) != len(b):
        raise ValueError(f"structures differ in atom count: {len(a)} vs {len(b)}")
    za, zb = a.get_atomic_numbers(), b.get_atomic_numbers()
    diff = np.flatnonzero(za != zb)
    if len(diff):
        sa, sb = a.get_chemical_symbols(), b.get_chemical_symbols()
        shown = ", ".join(f"{i}: {sa[i]} vs {sb[i]}" for i in diff[:5])
        more = f" (+{len(diff) - 5} more)" if len(diff) > 5 else ""
        raise ValueError(f"structures differ in species/order at atom {shown}{more}")
    if not np.array_equal(a.pbc, b.pbc):
        raise ValueError(f"structures differ in pbc: {a.pbc.tolist()} vs {b.pbc.tolist()}")
    if np.abs(a.cell.array - b.cell.array).max() > CELL_TOLERANCE:
        raise ValueError(
            f"structures differ in cell (max |Δ| {np.abs(a.cell.array - b.cell.array).max():.3g} Å)"
        )


def _displacements(a: Atoms, b: Atoms) -> np.ndarray:
    """(n, 3) Å: r_a − r_b under the minimum image of b's cell."""
    _check_same_atoms(a, b)
    d = a.positions - b.positions
    if b.pbc.any():
        d, _ = find_mic(d, b.cell, b.pbc)
    return d


def delta_q(a: Atoms, b: Atoms) -> float:
    """ΔQ = sqrt(Σ_i m_i |Δr_i|²) in amu^1/2·Å (minimum image)."""
    d = _displacements(a, b)
    return float(np.sqrt(np.sum(b.get_masses() * np.einsum("ij,ij->i", d, d))))


def rmsd(a: Atoms, b: Atoms) -> float:
    """Root-mean-square displacement in Å (minimum image)."""
    d = _displacements(a, b)
    return float(np.sqrt(np.mean(np.einsum("ij,ij->i", d, d))))


@functools.lru_cache(maxsize=32)
def _soap(species: tuple[str, ...], settings: SoapSettings, periodic: bool):
    from dscribe.descriptors import SOAP

    return SOAP(
        species=list(species),
        r_cut=settings.r_cut,
        n_max=settings.n_max,
        l_max=settings.l_max,
        sigma=settings.sigma,
        rbf=settings.rbf,
        average=settings.average,
        periodic=periodic,
    )


def soap_similarity(a: Atoms, b: Atoms, settings: SoapSettings = SoapSettings()) -> float:
    """Cosine similarity of the structure-averaged SOAP vectors of a and b (1.0 = identical)."""
    _check_same_atoms(a, b)
    species = tuple(sorted(set(a.get_chemical_symbols()) | set(b.get_chemical_symbols())))
    periodic = settings.periodic and bool(a.pbc.all() and b.pbc.all())
    soap = _soap(species, settings, periodic)
    va = np.asarray(soap.create(a), dtype=float).ravel()
    vb = np.asarray(soap.create(b), dtype=float).ravel()
    denom = np.linalg.norm(va) * np.linalg.norm(vb)
    if denom == 0.0:
        return float("nan")
    return float(np.clip(np.dot(va, vb) / denom, -1.0, 1.0))


def compare_structures(
    final: Atoms, reference: Atoms, settings: SoapSettings = SoapSettings()
) -> dict[str, float]:
    """{"soap_similarity", "delta_q" (amu^1/2·Å), "rmsd" (Å)} of a relaxed vs reference structure."""
    return {
        "soap_similarity": soap_similarity(final, reference, settings),
        "delta_q": delta_q(final, reference),
        "rmsd": rmsd(final, reference),
    }
