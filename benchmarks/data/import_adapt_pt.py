"""`data import --format adapt-pt` and `data export --format adapt-pt`: the ADAPT authors'
released files (every layout of :mod:`adapt.released_files`) <-> a dataset directory.

Import: each structure becomes a one-frame trajectory. Force files carry no energies and
energy files (x_values + nrg_values, or an energy dict) no forces. Given both, a force
structure takes the energy of the energy-file structure with the same atoms (copy check,
1e-3 Å); when every force structure finds one the dataset has both labels, when none is given
it is forces-only, when only energy files are given it is energies-only, and a partial match
is an error unless ``--labels forces`` says to leave energies out. ``norm_stats.pt`` files are
read and recorded in the manifest (``extra["adapt_norm_stats"]``); export writes them back.

Export (``export_adapt_pt``): FOLDER/<split>set.pt (force dict) when the dataset has forces,
FOLDER/x_values.pt + nrg_values.pt when it has energies, FOLDER/norm_stats.pt: the recorded
statistics when the dataset was imported with them, else fitted on the exported frames the way
the authors' training scripts fit them.
"""

from __future__ import annotations

import re
from pathlib import Path

from ase.calculators.singlepoint import SinglePointCalculator

from benchmarks.data.dataset import Dataset, DatasetError

COPY_TOL = 1e-3  # Å: a force structure and an energy structure are the same structure


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "traj"


def read_adapt_pt(paths: list[Path], cell, labels: tuple[str, ...] | None, raw_cls, notes: dict):
    """RawTrajectories (``raw_cls``) of released-layout files; norm stats into ``notes``."""
    from adapt.released_files import ReleasedFileError, read_released
    from adapt.tokens import UnknownElementError
    from benchmarks.data.info import find_copies

    try:
        data = read_released(paths, cell=cell)
    except (ReleasedFileError, UnknownElementError) as exc:
        raise DatasetError(str(exc)) from exc
    if data.norm_stats:
        notes.setdefault("adapt_norm_stats", []).extend(
            {"source": str(p), "stats": s} for p, s in data.norm_stats
        )
    energy_frames = [a for _, frames in data.energies for a in frames]
    energy_src = [(p, k) for p, frames in data.energies for k in range(len(frames))]
    out = []
    if data.forces:
        want_energy = labels is None or "energy" in labels
        for path, frames in data.forces:
            match = (
                find_copies(energy_frames, frames, tol=COPY_TOL)
                if energy_frames and want_energy
                else [None] * len(frames)
            )
            if energy_frames and want_energy and labels is None and None in match:
                k = match.index(None)
                raise DatasetError(
                    f"{path} structure {k}: field 'energy': no structure of the energy files "
                    f"({', '.join(str(p) for p, _ in data.energies)}) has the same atoms "
                    f"({match.count(None)} of {len(frames)} unmatched); import the force and "
                    "energy files as two datasets, or pass --labels forces"
                )
            width = len(str(len(frames)))
            for k, (atoms, m) in enumerate(zip(frames, match, strict=True)):
                results = {"forces": atoms.calc.results["forces"]}
                if m is not None:
                    results["energy"] = energy_frames[m].calc.results["energy"]
                atoms.calc = SinglePointCalculator(atoms, **results)
                out.append(raw_cls(f"{_slug(path.stem)}-{k:0{width}d}", str(path), [atoms], [k]))
    else:
        width = len(str(len(energy_frames)))
        for atoms, (path, k) in zip(energy_frames, energy_src, strict=True):
            stem = _slug(path.parent.name if path.name == "x_values.pt" else path.stem)
            out.append(raw_cls(f"{stem}-{k:0{width}d}", str(path), [atoms], [k]))
    if not out:
        raise DatasetError(
            f"{paths[0]}: no structures (only normalisation statistics); give the force file "
            "(X/Y dict) or x_values.pt + nrg_values.pt too"
        )
    return out


def export_adapt_pt(data: str | Path, out: str | Path, split: str = "all", n_max: int = 220):
    """Write ``data``'s frames of ``split`` in the authors' layouts; returns the paths written."""
    from adapt.energy_models import OversizeStructureError
    from adapt.released_files import (
        NORM_STATS,
        fit_norm_stats,
        write_energy_pair,
        write_force_dict,
        write_norm_stats,
    )

    ds = Dataset(data)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise DatasetError(f"{out}: exists and is not empty; export into a new folder")
    frames = ds.frames(split, "all")
    if not frames:
        raise DatasetError(f"{ds.root}: no frames in split {split!r}")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    name = "trainset.pt" if split in ("train", "all") else f"{split}set.pt"
    try:
        if ds.has("forces"):
            written.append(write_force_dict(frames, out / name))
        if ds.has("energy"):
            written += list(write_energy_pair(frames, out, n_max=n_max))
    except (OversizeStructureError, ValueError) as exc:
        raise DatasetError(f"{ds.root}: {exc}") from exc
    recorded = ds.manifest.extra.get("adapt_norm_stats") or []
    stats = (
        recorded[0]["stats"]
        if recorded
        else fit_norm_stats(frames if ds.has("forces") else [], frames if ds.has("energy") else [])
    )
    written.append(write_norm_stats(stats, out / NORM_STATS))
    return written
