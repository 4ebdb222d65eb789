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
                     tables show 1 − similarity.
    soap_similarity_defect
                     the defect region's local agreement: per-atom SOAP vectors (same settings,
                     not averaged), cosine similarity of atom i in one structure with atom i in
                     the other, averaged over the atoms within DEFECT_RADIUS (4.2 Å, minimum
                     image) of a defect site or vacancy in the reference structure. Local
                     environments away from the defect barely move in a relaxation and dilute
                     the global average; here they are left out. What it can separate, and why
                     the authors' settings are kept: docs/relaxation-soap.md.
    delta_q          ΔQ = sqrt(Σ_i m_i |Δr_i|²), masses in amu (ASE's table, IUPAC 2016),
                     unit amu^1/2·Å: the mass-weighted configuration-coordinate distance.
    rmsd             sqrt(mean_i |Δr_i|²) in Å.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from ase import Atoms
from ase.geometry import find_mic

if TYPE_CHECKING:
    from benchmarks.data.dataset import Defect

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
def _soap(species: tuple[str, ...], settings: SoapSettings, periodic: bool, average: str = ""):
    from dscribe.descriptors import SOAP

    return SOAP(
        species=list(species),
        r_cut=settings.r_cut,
        n_max=settings.n_max,
        l_max=settings.l_max,
        sigma=settings.sigma,
        rbf=settings.rbf,
        average=average or settings.average,
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


def local_soap_similarity(
    a: Atoms, b: Atoms, mask: np.ndarray, settings: SoapSettings = SoapSettings()
) -> float:
    """Mean over atoms i with ``mask[i]`` of the cosine similarity of atom i's SOAP vector in
    a and in b (per-atom SOAP, settings as for :func:`soap_similarity`); NaN for an empty mask."""
    _check_same_atoms(a, b)
    idx = np.flatnonzero(np.asarray(mask, dtype=bool))
    if len(idx) == 0:
        return float("nan")
    species = tuple(sorted(set(a.get_chemical_symbols())))
    periodic = settings.periodic and bool(a.pbc.all() and b.pbc.all())
    soap = _soap(species, settings, periodic, "off")
    pa = np.asarray(soap.create(a, centers=idx.tolist()), dtype=float).reshape(len(idx), -1)
    pb = np.asarray(soap.create(b, centers=idx.tolist()), dtype=float).reshape(len(idx), -1)
    na, nb = np.linalg.norm(pa, axis=1), np.linalg.norm(pb, axis=1)
    ok = (na > 0) & (nb > 0)
    if not ok.any():
        return float("nan")
    cos = np.einsum("ij,ij->i", pa[ok], pb[ok]) / (na[ok] * nb[ok])
    return float(np.mean(np.clip(cos, -1.0, 1.0)))


def compare_structures(
    final: Atoms,
    reference: Atoms,
    settings: SoapSettings = SoapSettings(),
    defect: Defect | None = None,
) -> dict[str, float]:
    """{"soap_similarity", "soap_similarity_defect", "delta_q" (amu^1/2·Å), "rmsd" (Å)} of a
    relaxed vs reference structure; the defect-region similarity is NaN without ``defect``
    (or when it has no sites)."""
    from benchmarks.metrics import defect_region_mask

    region = math.nan
    if defect is not None:
        region = local_soap_similarity(
            final, reference, defect_region_mask(reference, defect), settings
        )
    return {
        "soap_similarity": soap_similarity(final, reference, settings),
        "soap_similarity_defect": region,
        "delta_q": delta_q(final, reference),
        "rmsd": rmsd(final, reference),
    }
