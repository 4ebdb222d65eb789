"""The ADAPT authors' released data files, in every layout they ship, both ways.

Layouts (as saved by the authors' code, github.com/EvanDramko/ADAPT_Released):

    force dict    ``torch.save({"X": [tensor(n_i, 13)], "Y": [tensor(n_i, 3)]})``, e.g.
                  ``data/mini_force_dataset/trainset.pt``. X = the 12 token columns of
                  :mod:`adapt.tokens` + the importance weight; Y = forces, eV/Å. No energies.
                  Their later xyz converter writes the same dict with X (n_i, 4) = x, y, z
                  (Å), Z (atomic number) and a ``"meta"`` dict (``x_feature_names`` ...); read too.
    energy pair   ``x_values.pt`` = ``torch.save(tensor(M, n_max, 12))`` (tokens, zero rows are
                  padding) and ``nrg_values.pt`` = ``torch.save(tensor(M,))`` (eV), e.g.
                  ``data/mini_energy_dataset/``. No forces.
    energy dict   ``{"X": (M, n_max, 12), "Y": (M,)}`` or ``(X, Y)``: :mod:`adapt.native_format`.
    norm stats    ``utils/norm_stats.pt`` = ``torch.save(dict of tensors)``: ``x_mean``, ``x_std``
                  (13,) and ``y_mean_force``, ``y_std_force`` (3,) written by force training
                  (population std; the three coordinate columns share one mean/std, so do the
                  three force components); ``y_mean_energy``, ``y_std_energy`` (1,) added by
                  energy training. Read and recorded (never used to rescale our inputs).

A folder holding any of these is read file by file. Every file is read with
``torch.load(weights_only=True)``: it cannot run code. Errors are :class:`ReleasedFileError`
(a ValueError) naming the file, the structure and the field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator
from ase.data import chemical_symbols

from adapt.native_format import (
    WEIGHT_KEY,
    _atoms,
    _cell,
    read_native_energies,
    read_native_forces,
    write_native_forces,
)
from adapt.tokens import ElementTable, UnknownElementError, tokenize

STATS_KEYS = ("x_mean", "x_std", "y_mean_force", "y_std_force", "y_mean_energy", "y_std_energy")
X_VALUES, NRG_VALUES, NORM_STATS = "x_values.pt", "nrg_values.pt", "norm_stats.pt"


class ReleasedFileError(ValueError):
    """A released-layout file that cannot be read; the message names file, structure, field."""


@dataclass
class ReleasedData:
    """What a set of released files holds: labelled frames per file, and the stats files."""

    forces: list[tuple[Path, list[Atoms]]] = field(default_factory=list)  # frames with forces
    energies: list[tuple[Path, list[Atoms]]] = field(default_factory=list)  # frames with energy
    norm_stats: list[tuple[Path, dict]] = field(default_factory=list)  # see read_norm_stats


def load_pt(path: Path) -> object:
    """``torch.load(path, weights_only=True)``; ReleasedFileError naming the file on failure."""
    try:
        return torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file becomes one line
        msg = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise ReleasedFileError(
            f"{path}: not a readable torch .pt file ({type(exc).__name__}: {msg})"
        ) from exc


def kind_of(obj: object) -> str:
    """'forces' | 'energy-dict' | 'x-values' | 'energies' | 'norm-stats' | 'unknown'."""
    if isinstance(obj, dict):
        if "X" in obj and "Y" in obj:
            return "forces" if isinstance(obj["X"], (list, tuple)) else "energy-dict"
        if any(k in obj for k in STATS_KEYS):
            return "norm-stats"
        return "unknown"
    if isinstance(obj, (tuple, list)) and len(obj) == 2 and all(torch.is_tensor(t) for t in obj):
        return "energy-dict"
    if torch.is_tensor(obj):
        if obj.ndim == 3 and obj.shape[2] == 12:
            return "x-values"
        if obj.ndim == 1 or (obj.ndim == 2 and obj.shape[1] == 1):
            return "energies"
    return "unknown"


def _describe(obj: object) -> str:
    if torch.is_tensor(obj):
        return f"a tensor of shape {tuple(obj.shape)}"
    if isinstance(obj, dict):
        return f"a dict with keys {sorted(map(str, obj))[:8]}"
    return f"a {type(obj).__name__}"


def read_norm_stats(path: Path, obj: object | None = None) -> dict:
    """{key: {"shape": [...], "values": flat list}} for every tensor of a norm_stats.pt file."""
    obj = load_pt(path) if obj is None else obj
    if not isinstance(obj, dict) or not any(k in obj for k in STATS_KEYS):
        raise ReleasedFileError(
            f"{path}: expected a dict with keys {STATS_KEYS}, got {_describe(obj)}"
        )
    out = {}
    for key, value in obj.items():
        if not torch.is_tensor(value):
            raise ReleasedFileError(f"{path}: field {key!r}: not a tensor ({_describe(value)})")
        v = value.detach().to(torch.float64)
        if not torch.isfinite(v).all():
            raise ReleasedFileError(f"{path}: field {key!r}: NaN or inf")
        out[str(key)] = {"shape": list(v.shape), "values": v.reshape(-1).tolist()}
    return out


def write_norm_stats(stats: dict, path: Path) -> Path:
    """Write a norm_stats.pt from :func:`read_norm_stats`' form (or {key: array})."""
    tensors = {}
    for key, value in stats.items():
        if isinstance(value, dict):
            value = np.asarray(value["values"], dtype=float).reshape(value["shape"])
        tensors[key] = torch.as_tensor(np.asarray(value, dtype=float), dtype=torch.float32)
    torch.save(tensors, Path(path))
    return Path(path)


def fit_norm_stats(force_frames: list[Atoms], energy_frames: list[Atoms]) -> dict:
    """The authors' statistics of training data: x_mean/x_std (13,) over all atoms' force-file
    rows (coordinates pooled into one mean/std), y_*_force (3,) pooled likewise, and
    y_*_energy (1,) over structures; population std, clamped at 1e-8."""
    out: dict = {}
    if force_frames:
        x = np.concatenate(
            [np.c_[_tokens(a), a.arrays.get(WEIGHT_KEY, np.ones(len(a)))] for a in force_frames]
        )
        y = np.concatenate([a.calc.results["forces"] for a in force_frames])
        mean, std = x.mean(0), x.std(0)
        mean[:3], std[:3] = x[:, :3].mean(), x[:, :3].std()
        out["x_mean"], out["x_std"] = mean, np.maximum(std, 1e-8)
        out["y_mean_force"] = np.full(3, y.mean())
        out["y_std_force"] = np.full(3, max(y.std(), 1e-8))
    if energy_frames:
        e = np.array([a.calc.results["energy"] for a in energy_frames], dtype=float)
        out["y_mean_energy"], out["y_std_energy"] = np.array([e.mean()]), np.array([e.std()])
    return out


def _tokens(atoms: Atoms) -> np.ndarray:
    t = tokenize(atoms).astype(np.float64)
    t[:, :3] = atoms.positions
    return t


def _read_force_dict(path: Path, obj: dict, cell, table) -> list[Atoms]:
    X, Y = obj["X"], obj["Y"]
    if len(X) != len(Y):
        raise ReleasedFileError(f"{path}: {len(X)} X entries but {len(Y)} Y entries")
    width = int(np.asarray(X[0]).shape[-1]) if len(X) else 13
    if width == 13:
        try:
            return read_native_forces(path, cell=cell, table=table, obj=obj)
        except ValueError as exc:
            raise ReleasedFileError(str(exc)) from exc
    names = list((obj.get("meta") or {}).get("x_feature_names") or [])
    if width < 4 or (names and names[:4] != ["pos_0", "pos_1", "pos_2", "Z"]):
        raise ReleasedFileError(
            f"{path}: field 'X': {width} columns; expected 13 (tokens + weight) or x, y, z, Z "
            f"first (meta x_feature_names {names[:6] or 'absent'})"
        )
    out = []
    for i, (x, y) in enumerate(zip(X, Y, strict=True)):
        x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != width or y.shape != (len(x), 3):
            raise ReleasedFileError(
                f"{path} structure {i}: field 'X'/'Y': shapes {x.shape} / {y.shape}, expected "
                f"(n, {width}) / (n, 3)"
            )
        z = x[:, 3]
        if np.any(z != np.round(z)) or np.any(z < 1) or np.any(z >= len(chemical_symbols)):
            raise ReleasedFileError(
                f"{path} structure {i}: field 'X' column 3 (Z): not atomic numbers"
            )
        c, info = _cell(cell, x[:, :3])
        atoms = Atoms(numbers=z.astype(int), positions=x[:, :3], cell=c, pbc=True)
        atoms.info.update(info, native_index=i)
        atoms.calc = SinglePointCalculator(atoms, forces=y)
        out.append(atoms)
    return out


def _read_energy_pair(x_path: Path, x: torch.Tensor, e_path: Path, e: torch.Tensor, cell, table):
    e = e.reshape(-1)
    if len(e) != len(x):
        raise ReleasedFileError(
            f"{e_path}: {len(e)} energies but {x_path} holds {len(x)} structures"
        )
    X, E = x.detach().to(torch.float64).numpy(), e.detach().to(torch.float64).numpy()
    out = []
    for i, (xi, ei) in enumerate(zip(X, E, strict=True)):
        xi = xi[np.any(xi != 0, axis=1)]
        if len(xi) == 0:
            raise ReleasedFileError(f"{x_path} structure {i}: field 'X': every row is padding")
        if not np.isfinite(ei):
            raise ReleasedFileError(f"{e_path} structure {i}: field 'energy': NaN or inf")
        try:
            atoms = _atoms(xi, cell, table)
        except UnknownElementError as exc:
            raise ReleasedFileError(f"{x_path} structure {i}: field 'X': {exc}") from exc
        atoms.info["native_index"] = i
        atoms.calc = SinglePointCalculator(atoms, energy=float(ei))
        out.append(atoms)
    return out


def read_released(paths: list[Path], cell=None, table: ElementTable | None = None) -> ReleasedData:
    """Read every released-layout file of ``paths`` (folders searched for ``*.pt``).

    A bare ``x_values`` tensor pairs with the bare energy tensor of the same folder (or, when
    exactly one of each is given, with that one); anything unpaired or unrecognised is an error.
    """
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.rglob("*.pt") if q.is_file())
            if not found:
                raise ReleasedFileError(f"{p}: no .pt files in this folder")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise ReleasedFileError(f"{p}: no such file or directory")
    data = ReleasedData()
    xs: list[tuple[Path, torch.Tensor]] = []
    es: list[tuple[Path, torch.Tensor]] = []
    for path in files:
        obj = load_pt(path)
        kind = kind_of(obj)
        if kind == "forces":
            data.forces.append((path, _read_force_dict(path, obj, cell, table)))
        elif kind == "energy-dict":
            try:
                data.energies.append((path, read_native_energies(path, cell=cell, table=table)))
            except ValueError as exc:
                raise ReleasedFileError(str(exc)) from exc
        elif kind == "x-values":
            xs.append((path, obj))
        elif kind == "energies":
            es.append((path, obj))
        elif kind == "norm-stats":
            data.norm_stats.append((path, read_norm_stats(path, obj)))
        else:
            raise ReleasedFileError(
                f"{path}: not an ADAPT released layout (force dict {{'X': [(n, 13)], 'Y': "
                f"[(n, 3)]}}, x_values (M, n_max, 12), nrg_values (M,), norm_stats dict); "
                f"found {_describe(obj)}"
            )
    for x_path, x in xs:
        partners = [(p, e) for p, e in es if p.parent == x_path.parent]
        if len(partners) != 1 and len(xs) == 1 and len(es) == 1:
            partners = es
        if len(partners) != 1:
            raise ReleasedFileError(
                f"{x_path}: structures (M, n_max, 12) without one energy tensor (M,) to pair "
                f"with ({len(partners)} in its folder; give {NRG_VALUES} next to it)"
            )
        e_path, e = partners[0]
        es.remove(partners[0])
        data.energies.append((x_path, _read_energy_pair(x_path, x, e_path, e, cell, table)))
    if es:
        raise ReleasedFileError(
            f"{es[0][0]}: energies without their structures (give {X_VALUES} next to it)"
        )
    return data


def write_energy_pair(frames: list[Atoms], folder: Path, n_max: int = 220, dtype=torch.float32):
    """x_values.pt (M, n_max, 12) + nrg_values.pt (M,) in ``folder``: the authors' energy layout."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    X = np.zeros((len(frames), n_max, 12))
    for i, atoms in enumerate(frames):
        if len(atoms) > n_max:
            raise ReleasedFileError(f"structure {i}: {len(atoms)} atoms > n_max={n_max}")
        X[i, : len(atoms)] = _tokens(atoms)
    E = np.array([a.calc.results["energy"] for a in frames], dtype=float)
    torch.save(torch.as_tensor(X, dtype=dtype), folder / X_VALUES)
    torch.save(torch.as_tensor(E, dtype=dtype), folder / NRG_VALUES)
    return folder / X_VALUES, folder / NRG_VALUES


def write_force_dict(frames: list[Atoms], path: Path, dtype=torch.float32) -> Path:
    """The authors' force dict (X (n, 13) with the frames' weights, or 1), Y (n, 3)."""
    return write_native_forces(frames, path, dtype=dtype)
