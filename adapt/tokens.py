"""Atoms -> ADAPT tokens: the element table and the tokenizer.

Every atom becomes one 12-number token (paper Sec. 2, the same columns and units as the authors'
native ``.pt`` files, see :mod:`adapt.native_format`):

====  =======================  ===========  ==============================================
col   descriptor               unit         source
====  =======================  ===========  ==============================================
0-2   x, y, z                  Å            ``atoms.positions`` (Cartesian, as stored)
3     column (group)           1..18        ``pymatgen Element.group``
4     row (period)             1..6         ``Element.row``
5     electronegativity χ      Pauling      ``Element.X``
6     covalent radius r_cov    pm           ``ase.data.covalent_radii`` (Cordero) x 100
7     valence electrons N_val  count        from ``Element.full_electronic_structure`` (below)
8     first ionization E_ion1  eV           ``Element.ionization_energies[0]``
9     electron affinity E_EA   kJ/mol       ``Element.electron_affinity`` (eV) x 96.4853
10    atomic radius r_atom     Å            ``Element.atomic_radius``
11    molar volume V_mol       cm³/mol      ``Element.molar_volume``
====  =======================  ===========  ==============================================

For Si this gives (14, 3, 1.90, 111, 4, 8.1517, 134.1, 1.10, 12.06); the authors' Si token is
(14, 3, 1.9, 111, 4, 8.1517, 133.6, 1.1, 12.06) (their E_EA comes from another table).

Valence electrons: ``Element.valence`` is *not* a count (it fails for Cr, Mo, Pt, ...), so we count
the electrons outside the preceding noble-gas core, leaving out completely filled inner
subshells below the outermost occupied s shell: f14 always, d10 for main-group elements (groups
1-2 and 13-17). So d-block elements count ns + (n-1)d (Fe 8, Pd 10, Pt 10, Cu 11, Zn 12) and
main-group elements their outer s + p (Si 4, Ga 3, Pb 4, Bi 5); lanthanides count 4f + 5d + 6s
unless 4f is full (Ce 4, Gd 10, Yb 2).

The table covers H-Bi (Z = 1..83) except the noble gases: 78 elements, every one complete. Any
other element is a :class:`UnknownElementError` naming it. A trained model carries its own copy
of the table (:meth:`ElementTable.to_dict`) so that a newer pymatgen never changes its inputs.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np
from ase import Atoms

TABLE_VERSION = "adapt-elements/1"
N_FEATURES = 12
FEATURES = (
    "x",
    "y",
    "z",
    "column",
    "row",
    "electronegativity",
    "covalent_radius_pm",
    "valence_electrons",
    "ionization_energy_eV",
    "electron_affinity_kJmol",
    "atomic_radius_A",
    "molar_volume_cm3mol",
)
DESCRIPTORS = FEATURES[3:]
NOBLE_GASES = (2, 10, 18, 36, 54, 86)
MAX_Z = 83  # Bi
EV_TO_KJ_PER_MOL = 96.485332


class UnknownElementError(ValueError):
    """An element without a complete ADAPT token."""


def valence_electron_count(symbol: str) -> int:
    """Electrons outside the noble-gas core, without filled inner f14 (and, for main-group
    elements, d10) subshells; see the module docstring."""
    from pymatgen.core import Element

    el = Element(symbol)
    z = el.Z
    core_z = max((g for g in NOBLE_GASES if g < z), default=0)
    core = set()
    if core_z:
        core = {(n, sub) for n, sub, _ in Element.from_Z(core_z).full_electronic_structure}
    shells = [(n, sub, occ) for n, sub, occ in el.full_electronic_structure if (n, sub) not in core]
    s_shells = [n for n, sub, _ in shells if sub == "s"]
    outer_s = max(s_shells, default=None)
    main_group = el.group in (1, 2, 13, 14, 15, 16, 17)
    count = 0
    for n, sub, occ in shells:
        full = (sub, occ) == ("f", 14) or ((sub, occ) == ("d", 10) and main_group)
        filled_inner = full and outer_s is not None and n < outer_s
        if not filled_inner:
            count += occ
    return count


def _descriptors(symbol: str, z: int) -> list[float]:
    from ase.data import covalent_radii
    from pymatgen.core import Element

    el = Element(symbol)
    ion = el.ionization_energies[0] if el.ionization_energies else None
    ea = el.electron_affinity
    values = {
        "column": el.group,
        "row": el.row,
        "electronegativity": el.X,
        "covalent_radius_pm": covalent_radii[z] * 100.0,
        "valence_electrons": valence_electron_count(symbol),
        "ionization_energy_eV": ion,
        "electron_affinity_kJmol": None if ea is None else float(ea) * EV_TO_KJ_PER_MOL,
        "atomic_radius_A": el.atomic_radius,
        "molar_volume_cm3mol": el.molar_volume,
    }
    missing = [k for k, v in values.items() if v is None or not math.isfinite(float(v))]
    if missing:
        raise UnknownElementError(f"element {symbol} has no data for {', '.join(missing)}")
    return [float(values[k]) for k in DESCRIPTORS]


@dataclass(frozen=True)
class ElementTable:
    """symbol -> the 9 element descriptors (columns 3..11 of a token), in the units above."""

    version: str
    rows: dict  # symbol -> tuple of 9 floats

    @property
    def symbols(self) -> tuple[str, ...]:
        return tuple(self.rows)

    def descriptors(self, symbol: str) -> np.ndarray:
        try:
            return np.asarray(self.rows[symbol], dtype=np.float64)
        except KeyError:
            raise UnknownElementError(
                f"element {symbol!r} has no ADAPT token: the element table ({self.version}) covers "
                "H-Bi except the noble gases"
            ) from None

    def matrix(self) -> tuple[tuple[str, ...], np.ndarray]:
        """(symbols, (n_elements, 9) array) in table order."""
        return self.symbols, np.array([self.rows[s] for s in self.symbols], dtype=np.float64)

    @property
    def sha256(self) -> str:
        blob = json.dumps({s: [round(v, 8) for v in r] for s, r in self.rows.items()})
        return hashlib.sha256(blob.encode()).hexdigest()

    def to_dict(self) -> dict:
        return {
            "version": self.version,
            "sha256": self.sha256,
            "rows": {s: list(r) for s, r in self.rows.items()},
        }

    @classmethod
    def from_dict(cls, d: dict) -> ElementTable:
        return cls(d["version"], {s: tuple(float(v) for v in r) for s, r in d["rows"].items()})


@functools.cache
def default_table() -> ElementTable:
    """The table built from pymatgen + ASE on this machine (H-Bi, no noble gases)."""
    from ase.data import chemical_symbols

    rows = {}
    for z in range(1, MAX_Z + 1):
        if z in NOBLE_GASES:
            continue
        sym = chemical_symbols[z]
        rows[sym] = tuple(_descriptors(sym, z))
    return ElementTable(TABLE_VERSION, rows)


def tokenize(atoms: Atoms, table: ElementTable | None = None) -> np.ndarray:
    """(n_atoms, 12) float32 tokens of one structure, rows in atom order (units: module table)."""
    table = table or default_table()
    symbols = atoms.get_chemical_symbols()
    out = np.empty((len(atoms), N_FEATURES), dtype=np.float64)
    out[:, :3] = atoms.positions
    cache: dict[str, np.ndarray] = {}
    for i, s in enumerate(symbols):
        if s not in cache:
            cache[s] = table.descriptors(s)
        out[i, 3:] = cache[s]
    return out.astype(np.float32)
