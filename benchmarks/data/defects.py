"""Point defects in a diamond-Si host: builders, a catalogue, and an automatic detector.

Geometry of the conventional diamond cell (lattice constant a, atoms at fcc + {0, ¼(1,1,1)}):

    T  tetrahedral interstitial sites   fcc + ½(1,1,1) and fcc + ¾(1,1,1); 4 atoms at √3a/4
    H  hexagonal interstitial sites     midpoints of neighbouring T sites, fcc + ⅛(5,5,5) and
                                        its three partners; 6 atoms at √11a/8
    split  a <110> dumbbell: two atoms share one lattice site, ±``SPLIT_HALF`` Å along a
           randomly chosen <110> direction

A :class:`DefectSpec` names one configuration (e.g. ``C_Si+C_i(T1)``: C on the centre site and a C
interstitial in the nearest shell of T sites around it); :func:`build_defect` makes it in a host
supercell and returns the exact :class:`~benchmarks.data.dataset.Defect` (sites are atom indices
in the returned structure; vacancies are Cartesian positions).

:func:`detect_defects` locates defects in any structure (used for imported data and by ADAPT's
defect-weighted loss when a dataset has no sites).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from ase import Atoms
from ase.build import bulk
from ase.geometry import get_distances
from ase.neighborlist import neighbor_list

from benchmarks.data.dataset import Defect

SI_A = 5.431  # Å, diamond Si lattice constant (experiment; Tersoff Si(D) and SW minimise near it)
SPLIT_HALF = 1.1  # Å, half the initial separation of a <110> split dumbbell
SPLIT_ROOM = 2.1  # Å, host atoms closer than this to a new dumbbell atom are pushed out to it
SHELL_TOL = 0.05  # Å, distances closer than this form one shell of candidate sites


def host_supercell(k: int, a: float = SI_A, host: str = "Si") -> Atoms:
    """Diamond host: k x k x k conventional cells (8 k^3 atoms), pbc, cubic cell of side k a."""
    return bulk(host, "diamond", a=a, cubic=True).repeat(k)


def _fcc_points(k: int) -> np.ndarray:
    """Fractional (in units of the conventional cell) fcc lattice points of a k^3 supercell."""
    base = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]])
    grid = np.stack(np.meshgrid(*[np.arange(k)] * 3, indexing="ij"), -1).reshape(-1, 3)
    return (grid[:, None, :] + base[None]).reshape(-1, 3)


def interstitial_sites(host: Atoms, site: str, a: float) -> np.ndarray:
    """(m, 3) Å: every T or H interstitial site of a pristine cubic diamond supercell."""
    k = round(host.cell.lengths()[0] / a)
    if site == "T":
        offsets = np.array([[0.5, 0.5, 0.5], [0.75, 0.75, 0.75]])
    elif site == "H":
        offsets = np.array([[5, 5, 5], [3, 3, 5], [3, 5, 3], [5, 3, 3]]) / 8.0
    else:
        raise ValueError(f"unknown interstitial site {site!r}; use T or H")
    frac = (_fcc_points(k)[:, None, :] + offsets[None]).reshape(-1, 3) / k
    return (frac % 1.0) @ np.asarray(host.cell)


def _shells(origin: np.ndarray, points: np.ndarray, atoms: Atoms) -> list[np.ndarray]:
    """Indices of ``points`` grouped into shells of equal min-image distance from ``origin``."""
    _, d = get_distances(origin[None], points, cell=atoms.cell, pbc=atoms.pbc)
    d = d[0]
    order = np.argsort(d, kind="stable")
    shells: list[list[int]] = []
    last = -1.0
    for i in order:
        if d[i] < 0.3:  # the origin itself
            continue
        if not shells or d[i] - last > SHELL_TOL:
            shells.append([])
            last = d[i]
        shells[-1].append(int(i))
    return [np.array(s) for s in shells]


def _neighbours(atoms: Atoms, i: int, n: int) -> np.ndarray:
    """Indices of the n nearest neighbours of atom i (minimum image)."""
    _, d = get_distances(atoms.positions[i][None], atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    d = d[0].copy()
    d[i] = np.inf
    return np.argsort(d, kind="stable")[:n]


def _directions_110() -> np.ndarray:
    v = np.array([[1, 1, 0], [1, -1, 0], [1, 0, 1], [1, 0, -1], [0, 1, 1], [0, 1, -1]], float)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _make_room(atoms: Atoms, movers: list[int], r_min: float = SPLIT_ROOM) -> None:
    """Push other atoms radially away from ``movers`` until they are at least r_min Å away."""
    others = np.array([j for j in range(len(atoms)) if j not in movers])
    for m in movers:
        vec, d = get_distances(atoms.positions[m][None], atoms.positions[others], atoms.cell, True)
        close = np.flatnonzero(d[0] < r_min)
        for k in close:
            j = others[k]
            atoms.positions[j] += vec[0, k] / d[0, k] * (r_min - d[0, k])


@dataclass(frozen=True)
class DefectSpec:
    """One defect configuration around a centre lattice site.

    sub:           species put on the centre site (None: keep the host atom)
    vacancy:       remove the centre site's atom (a vacancy there)
    divacancy:     also remove one nearest neighbour of the centre
    interstitial:  species of an added atom (None: none)
    site:          where it goes: "T" / "H" (a site of shell ``shell`` around the centre) or
                   "split" (a <110> dumbbell with the centre atom)
    shell:         1 = nearest shell of T/H sites around the centre, 2 = next, ...
    """

    name: str
    kind: str
    sub: str | None = None
    vacancy: bool = False
    divacancy: bool = False
    interstitial: str | None = None
    site: str = "T"
    shell: int = 1

    @property
    def species(self) -> set[str]:
        return {s for s in (self.sub, self.interstitial) if s}


def catalogue(dopants: tuple[str, ...] = ("C", "Ge"), host: str = "Si") -> list[DefectSpec]:
    """Every configuration the generator draws from, simple ones first, then complexes.

    Simple: vacancy, self-interstitials (T, H, <110> split), and for each dopant X: X_Si,
    X_i at T and H, and the X-Si <110> split. Complexes: substitutional-interstitial pairs
    X_Si + Y_i (Y = X or the host) with Y in the first or second T shell, the first H shell, or a
    (X-Y) split on the site; plus intrinsic ones: divacancy and vacancy-interstitial pairs.
    """
    h = host
    out = [
        DefectSpec(f"V_{h}", "vacancy", vacancy=True),
        DefectSpec(f"{h}_i(T)", "self_interstitial", interstitial=h, site="T"),
        DefectSpec(f"{h}_i(H)", "self_interstitial", interstitial=h, site="H"),
        DefectSpec(f"{h}_i(split)", "self_interstitial", interstitial=h, site="split"),
    ]
    for x in dopants:
        out += [
            DefectSpec(f"{x}_{h}", "substitutional", sub=x),
            DefectSpec(f"{x}_i(T)", "interstitial", interstitial=x, site="T"),
            DefectSpec(f"{x}_i(H)", "interstitial", interstitial=x, site="H"),
            DefectSpec(f"{x}-{h}(split)", "interstitial", interstitial=x, site="split"),
        ]
    for x in dopants:
        for y in (x, h):
            out += [
                DefectSpec(f"{x}_{h}+{y}_i(T1)", "complex", sub=x, interstitial=y, site="T"),
                DefectSpec(
                    f"{x}_{h}+{y}_i(T2)", "complex", sub=x, interstitial=y, site="T", shell=2
                ),
                DefectSpec(f"{x}_{h}+{y}_i(H1)", "complex", sub=x, interstitial=y, site="H"),
            ]
        out.append(
            DefectSpec(f"({x}-{x})_{h}(split)", "complex", sub=x, interstitial=x, site="split")
        )
    out += [
        DefectSpec(f"V_{h}+V_{h}", "complex", vacancy=True, divacancy=True),
        DefectSpec(f"V_{h}+{h}_i(T2)", "complex", vacancy=True, interstitial=h, site="T", shell=2),
        DefectSpec(f"V_{h}+{h}_i(T3)", "complex", vacancy=True, interstitial=h, site="T", shell=3),
        DefectSpec(f"V_{h}+{h}_i(H2)", "complex", vacancy=True, interstitial=h, site="H", shell=2),
    ]
    return out


def centre_site(host: Atoms) -> int:
    """Index of the host atom closest to the cell centre (ties: lowest index)."""
    centre = np.asarray(host.cell).sum(axis=0) / 2
    return int(np.argmin(np.linalg.norm(host.positions - centre, axis=1)))


def build_defect(
    host: Atoms,
    spec: DefectSpec,
    rng: np.random.Generator,
    a: float = SI_A,
    centre: int | None = None,
) -> tuple[Atoms, Defect]:
    """The defect ``spec`` made around host atom ``centre`` (default: the most central one).

    Random choices (which site of a shell, which <110> orientation, which neighbour of a
    divacancy) come from ``rng``. Returns the new structure and its exact Defect.
    """
    atoms = host.copy()
    c = centre_site(host) if centre is None else centre
    origin = atoms.positions[c].copy()
    foreign_sites: list[int] = []
    added: list[int] = []
    remove: list[int] = []
    if spec.sub:
        atoms.symbols[c] = spec.sub
        foreign_sites.append(c)
    if spec.interstitial:
        if spec.site == "split":
            axis = _directions_110()[rng.integers(6)] * rng.choice([-1.0, 1.0])
            atoms.positions[c] = origin + SPLIT_HALF * axis
            pos = origin - SPLIT_HALF * axis
            if c not in foreign_sites:
                foreign_sites.append(c)  # the host atom of the dumbbell is part of the defect
        else:
            points = interstitial_sites(host, spec.site, a)
            shells = _shells(origin, points, atoms)
            members = shells[spec.shell - 1]
            pos = points[members[rng.integers(len(members))]]
        atoms.append(spec.interstitial)
        atoms.positions[-1] = pos
        added.append(len(atoms) - 1)
        if spec.site == "split":
            _make_room(atoms, [c, len(atoms) - 1])
    vacancies: list[np.ndarray] = []
    if spec.vacancy:
        remove.append(c)
        vacancies.append(origin)
        if spec.divacancy:
            nb = _neighbours(host, c, 4)
            j = int(nb[rng.integers(4)])
            remove.append(j)
            vacancies.append(host.positions[j].copy())
    sites = [i for i in foreign_sites + added if i not in remove]
    keep = np.array([i for i in range(len(atoms)) if i not in set(remove)])
    new_index = {int(old): new for new, old in enumerate(keep)}
    out = atoms[keep]
    defect = Defect(
        kind=spec.kind,
        species=tuple(sorted(s for s in spec.species if s != host.get_chemical_symbols()[0])),
        sites=tuple(sorted(new_index[i] for i in sites)),
        vacancy_positions=tuple(tuple(map(float, v)) for v in vacancies),
    )
    return out, defect


# --------------------------------------------------------------------------- detection


@dataclass(frozen=True)
class HostShells:
    """Neighbour shells of a host's bulk crystal (from ``ase.build.bulk(host)``)."""

    d1: float  # Å, first-neighbour distance
    d2: float  # Å, second-neighbour distance
    cutoff: float  # Å, (d1 + d2) / 2: the bond cutoff used for coordination
    coordination: int  # neighbours within cutoff in the perfect crystal
    volume_per_atom: float  # Å^3


@lru_cache(maxsize=16)
def host_shells(host: str = "Si") -> HostShells:
    """First two neighbour distances of ``host``'s reference crystal and the derived cutoff."""
    cell = bulk(host) * (3, 3, 3)
    _, d = get_distances(cell.positions[:1], cell.positions, cell=cell.cell, pbc=True)
    d = np.unique(np.round(d[0][d[0] > 1e-6], 4))
    d1 = float(d[0])
    d2 = float(d[d > d1 * 1.05][0])
    cutoff = 0.5 * (d1 + d2)
    z = int(coordination(cell, cutoff)[0])
    return HostShells(d1, d2, cutoff, z, cell.get_volume() / len(cell))


def coordination(atoms: Atoms, cutoff: float) -> np.ndarray:
    """(n,) number of neighbours of each atom within ``cutoff`` Å (ASE neighbour list, min image)."""
    i = neighbor_list("i", atoms, cutoff)
    return np.bincount(i, minlength=len(atoms))


def detect_defects(atoms: Atoms, host: str = "Si", reference: Atoms | None = None) -> Defect:
    """Locate point defects in ``atoms`` (a supercell of ``host`` with defects).

    Without ``reference`` (coordination rule): defect sites are atoms of a foreign species plus
    atoms whose coordination differs from the host's bulk coordination, counting neighbours
    within the cutoff halfway between the host's first and second neighbour shells (Si: 3.10 Å,
    bulk coordination 4). Vacancies show up as under-coordinated neighbours, interstitials as
    over-coordinated atoms. The kind comes from the atom balance: lattice sites are estimated
    as cell volume / host volume per atom (rescaled by the median bond length), so
    n_atoms - n_sites = -1 is a vacancy (its position estimated as the centroid of the
    under-coordinated atoms), +1 an interstitial, 0 with one foreign atom a substitutional.

    With ``reference`` (a defect-free host supercell with the same cell): every reference site
    is matched one-to-one to the nearest atom within d1/2 (minimum image); unmatched sites are
    vacancies, unmatched atoms interstitials, matched atoms of another species substitutionals.
    """
    sh = host_shells(host)
    symbols = np.array(atoms.get_chemical_symbols())
    if reference is not None:
        return _detect_by_reference(atoms, reference, sh)
    foreign = np.flatnonzero(symbols != host)
    z = coordination(atoms, sh.cutoff)
    odd = np.flatnonzero(z != sh.coordination)
    sites = tuple(sorted(set(foreign.tolist()) | set(odd.tolist())))
    i, d = neighbor_list("id", atoms, sh.cutoff)
    scale = float(np.median(d)) / sh.d1 if len(d) else 1.0
    n_sites = round(atoms.get_volume() / (sh.volume_per_atom * scale**3))
    delta = len(atoms) - n_sites
    nf = len(foreign)
    vacancies: tuple = ()
    if not sites:
        kind = "bulk"
    elif delta == 0 and nf == 0:  # stoichiometric: a Frenkel pair if both signs of miscount
        both = (z < sh.coordination).any() and (z > sh.coordination).any()
        kind = "complex" if both else "unknown"
    elif delta == 0 and nf == 1:
        kind = "substitutional"
    elif delta == -1 and nf == 0:
        kind = "vacancy"
    elif delta == 1 and nf == 0:
        kind = "self_interstitial"
    elif delta == 1 and nf == 1:
        kind = "interstitial"
    else:
        kind = "complex"
    if delta == -1:
        under = np.flatnonzero(z < sh.coordination)
        if len(under):
            rel = atoms.positions[under] - atoms.positions[under[0]]
            rel, _ = _min_image(rel, atoms)
            vacancies = (tuple(map(float, atoms.positions[under[0]] + rel.mean(axis=0))),)
    species = tuple(sorted(set(symbols[foreign].tolist())))
    return Defect(kind=kind, species=species, sites=sites, vacancy_positions=vacancies)


def _min_image(vectors: np.ndarray, atoms: Atoms) -> tuple[np.ndarray, np.ndarray]:
    from ase.geometry import find_mic

    return find_mic(vectors, atoms.cell, atoms.pbc)


def _detect_by_reference(atoms: Atoms, reference: Atoms, sh: HostShells) -> Defect:
    if not np.allclose(atoms.cell, reference.cell, atol=1e-3):
        raise ValueError("detect_defects: reference must have the same cell as the structure")
    _, d = get_distances(reference.positions, atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    pairs = np.argwhere(d < 0.5 * sh.d1)
    pairs = pairs[np.argsort(d[pairs[:, 0], pairs[:, 1]], kind="stable")]
    site_of: dict[int, int] = {}
    used_sites: set[int] = set()
    for s, j in pairs:
        if s in used_sites or j in site_of:
            continue
        site_of[int(j)] = int(s)
        used_sites.add(int(s))
    ref_symbols = reference.get_chemical_symbols()
    symbols = atoms.get_chemical_symbols()
    vac = [s for s in range(len(reference)) if s not in used_sites]
    inter = [j for j in range(len(atoms)) if j not in site_of]
    subs = [j for j, s in site_of.items() if symbols[j] != ref_symbols[s]]
    host = ref_symbols[0]
    counts = (len(vac), len(inter), len(subs))
    if counts == (0, 0, 0):
        kind = "bulk"
    elif counts == (1, 0, 0):
        kind = "vacancy"
    elif counts == (0, 1, 0):
        kind = "self_interstitial" if symbols[inter[0]] == host else "interstitial"
    elif counts == (0, 0, 1):
        kind = "substitutional"
    else:
        kind = "complex"
    species = tuple(sorted({symbols[j] for j in inter + subs} - {host}))
    return Defect(
        kind=kind,
        species=species,
        sites=tuple(sorted(inter + subs)),
        vacancy_positions=tuple(tuple(map(float, reference.positions[s])) for s in vac),
    )


def resolve_defect(atoms: Atoms | None, defect: Defect | None = None, host: str | None = None):
    """The :class:`Defect` to weight a trajectory by (ADAPT's defect-weighted loss).

    ``defect`` itself (a trajectory's manifest entry) when it names any site or vacancy, else what
    :func:`detect_defects` finds in ``atoms`` (foreign species, and atoms whose coordination
    differs from the host's bulk coordination, which catches vacancies and interstitials). Pass a
    trajectory's first frame: sites are atom indices and stay valid for its later frames.
    """
    if defect is not None and (defect.sites or defect.vacancy_positions):
        return defect
    return detect_defects(atoms, host or "Si")
