"""Tokens of the ``released`` variant and the authors' element data.

Layouts (``adapt.released_config``):

* ``descriptors12``: (n, 12) = x, y, z (Å) + the 9 descriptors of an :class:`ElementTable`
  (column/group, row/period, χ, r_cov pm, N_val, E_ion1 eV, E_EA kJ/mol, r_atom Å, V_mol
  cm³/mol), the columns of the authors' paper-era ``.pt`` files; their 13th column (the per-atom
  loss weight) is not a model input.
* ``z``: (n, 4 + k) = x, y, z (Å), Z, then the k per-atom arrays named in ``extra_properties``
  (``atoms.arrays[name]``, each flattened to its columns), in that order: what their extxyz
  converter builds (``data/xyz_extxyz_converter.py`` at 57711d2: ``pos`` then Z, then every
  other numeric per-atom property in Properties order, forces left out).

``released_elements.json`` (next to this module) is the authors' ``utils/build_atomic_table.py``
as data: standard atomic weights and the (period, group) -> Z grid. The released repository has
no text table of the 9 descriptors; :func:`table_from_native` rebuilds it from one of their
``.pt`` data files (rows recognised by their own (period, group) grid).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from adapt.tokens import ElementTable, tokenize

DATA = Path(__file__).with_name("released_elements.json")
NATIVE_TABLE_VERSION = "adapt-released-native/1"


@functools.cache
def element_data() -> dict:
    return json.loads(DATA.read_text())


def atomic_number(period: float, group: float) -> int | None:
    """Z at (period, group) of the authors' grid; None where it has no element."""
    if not (float(period).is_integer() and float(group).is_integer()):
        return None
    return (
        element_data()["atomic_number_by_period_group"]
        .get(str(int(period)), {})
        .get(str(int(group)))
    )


def z_tokens(atoms: Atoms, extra_properties: tuple[str, ...] = ()) -> np.ndarray:
    """(n, 4 + k) float32: x, y, z (Å), Z, then the named per-atom arrays."""
    cols = [atoms.positions, atoms.numbers[:, None].astype(float)]
    for name in extra_properties:
        if name not in atoms.arrays:
            raise KeyError(
                f"structure {atoms.get_chemical_formula()} has no per-atom property {name!r} "
                f"(has {sorted(atoms.arrays)}); the model's token layout needs it"
            )
        cols.append(np.asarray(atoms.arrays[name], dtype=float).reshape(len(atoms), -1))
    return np.concatenate(cols, axis=1).astype(np.float32)


def released_tokens(atoms: Atoms, cfg, table: ElementTable | None) -> np.ndarray:
    """Tokens of ``atoms`` in the layout of ``cfg`` (a Released*Config)."""
    if cfg.token_layout == "z":
        return z_tokens(atoms, tuple(cfg.extra_properties))
    return tokenize(atoms, table)


def table_from_native(x_list, source: str = "") -> ElementTable:
    """The 9-descriptor rows found in the authors' (n_i, 12 or 13) token tensors.

    Each row's element is the Z of its (period = column 4, group = column 3) on the authors'
    grid. Two rows of one element with different descriptors are an error naming both.
    """
    rows: dict[str, tuple[float, ...]] = {}
    where = f"{source}: " if source else ""
    for i, x in enumerate(x_list):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] not in (12, 13):
            raise ValueError(f"{where}structure {i}: shape {x.shape}, expected (n, 12) or (n, 13)")
        real = x[np.any(x[:, 3:12] != 0, axis=1)]  # all-zero descriptor rows are padding
        for desc in np.unique(real[:, 3:12].astype(np.float32), axis=0):
            z = atomic_number(desc[1], desc[0])
            if z is None:
                raise ValueError(
                    f"{where}structure {i}: no element at group {desc[0]:g}, period {desc[1]:g}"
                )
            sym = chemical_symbols[z]
            row = tuple(float(v) for v in desc)
            if sym in rows and not np.allclose(rows[sym], row, rtol=0, atol=1e-6):
                raise ValueError(
                    f"{where}element {sym} has two descriptor rows: {rows[sym]} and {row}"
                )
            rows[sym] = row
    if not rows:
        raise ValueError(f"{where}no atoms found")
    return ElementTable(NATIVE_TABLE_VERSION, dict(sorted(rows.items())))
