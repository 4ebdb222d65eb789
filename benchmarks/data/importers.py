"""`adapt-bench data import`: turn trajectories from other tools into a dataset directory.

Formats (``--format``; ``auto`` decides per file from its name):

    extxyz     extended XYZ (ASE). Energy/forces from the file's calculator results or from
               info/arrays keys (``ENERGY_KEYS`` / ``FORCE_KEYS``, or --energy-key/--forces-key).
    ase        anything ``ase.io.read`` understands (ASE .traj, ...), same label rules.
    vasp       VASP ``vasprun.xml`` or ``OUTCAR``: one relaxation trajectory per file.
    adapt-pt   the ADAPT authors' native ``.pt`` files (read by ``adapt.native_format``). A force
               file carries forces but no energies: give its energy file too, and each force
               structure takes the energy of the energy-file structure with the same atoms
               (copy check, 1e-3 Å). Each structure becomes a one-frame trajectory.
    liu-he-mo  a set directory of mogroupumd/Silicon_MLIP_datasets (DATA.json with energies and
               forces + structure_poscars.zip); each snapshot a one-frame trajectory, split by
               the set's name (Training/Validation/Testing) under --split auto.

A directory source is searched recursively for files of these kinds (and for Liu-He-Mo set
directories); a .zip source is unpacked first.

Trajectories: frames sharing ``info["traj_id"]`` form one; otherwise one file is one trajectory
when all its frames have the same atoms, else each frame is its own. Defects are located with
:func:`benchmarks.data.defects.detect_defects` on the first frame.

Bad frames (no forces or energy, NaN/inf, zero-volume cell, forces of the wrong shape) stop the
import with one DatasetError naming file, frame and field, unless ``skip_bad`` (then counted).
``drop_copies_of=DIR`` drops frames of the held-out splits (val, test) that copy any frame of
the dataset in DIR (see :mod:`benchmarks.data.info`), and reports how many.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tempfile
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from benchmarks.data.dataset import (
    LABELS,
    SPLITS,
    Dataset,
    DatasetError,
    DatasetWriter,
    TrajectoryRecord,
    check_frame,
    fmax_of,
    labelled,
    labels_of,
)
from benchmarks.data.defects import detect_defects

log = logging.getLogger(__name__)

FORMATS = ("auto", "extxyz", "ase", "vasp", "adapt-pt", "liu-he-mo")
ENERGY_KEYS = ("energy", "REF_energy", "DFT_energy", "dft_energy", "total_energy", "Energy")
FORCE_KEYS = (
    "forces",
    "REF_forces",
    "DFT_forces",
    "dft_forces",
    "DFT_force",
    "dft_force",
    "force",
    "Forces",
)
HELD_OUT = ("val", "test")
MAX_MODEL_Z = 94  # the largest atomic number any model here knows (CHGNet, SevenNet: up to Pu)
CONVERGED_FMAX = 0.01  # eV/Å: an imported trajectory whose last frame is below this is "converged"


@dataclass
class RawTrajectory:
    """Frames read from a source before checking; ``source`` names the file for errors."""

    id: str
    source: str
    frames: list[Atoms]
    frame_numbers: list[int]  # index of each frame in its file (for error messages)
    split: str | None = None
    defect_hint: dict | None = None  # e.g. vacancy positions given by the source
    extra: dict = field(default_factory=dict)


@dataclass
class ImportReport:
    dataset: Dataset
    trajectories: int
    frames: int
    skipped_frames: int = 0
    skipped: list[str] = field(default_factory=list)  # the first few reasons
    dropped_copies: int = 0
    labels: tuple[str, ...] = LABELS

    def summary(self) -> str:
        text = (
            f"imported {self.trajectories} trajectories, {self.frames} frames into "
            f"{self.dataset.root}"
        )
        if tuple(self.labels) != LABELS:
            absent = [k for k in LABELS if k not in self.labels]
            text += f"; labels: {', '.join(self.labels)} only (no {', '.join(absent)})"
        stats = self.dataset.manifest.extra.get("adapt_norm_stats")
        if stats:
            text += (
                f"; recorded normalisation statistics of {', '.join(s['source'] for s in stats)}"
            )
        if self.skipped_frames:
            text += f"; skipped {self.skipped_frames} bad frames (e.g. {self.skipped[0]})"
        text += f"; dropped {self.dropped_copies} held-out frames that copy the other dataset"
        return text


# --------------------------------------------------------------------------- labels


def _labels(atoms: Atoms, energy_key: str | None, forces_key: str | None):
    """(energy or None, forces or None) from calculator results or info/arrays keys."""
    results = dict(getattr(atoms.calc, "results", {}) or {}) if atoms.calc is not None else {}
    energy = forces = None
    e_keys = (energy_key,) if energy_key else ENERGY_KEYS
    f_keys = (forces_key,) if forces_key else FORCE_KEYS
    if not energy_key and "energy" in results:
        energy = results["energy"]
    else:
        for k in e_keys:
            if k in atoms.info:
                energy = atoms.info[k]
                break
            if k in results:
                energy = results[k]
                break
    if not forces_key and "forces" in results:
        forces = results["forces"]
    else:
        for k in f_keys:
            if k in atoms.arrays:
                forces = atoms.arrays[k]
                break
            if k in results:
                forces = results[k]
                break
    return energy, forces


def _clean_frame(
    atoms: Atoms,
    where: str,
    energy_key: str | None,
    forces_key: str | None,
    labels: tuple[str, ...] | None = LABELS,
    any_element: bool = False,
) -> Atoms:
    """A labelled copy of ``atoms``; DatasetError (naming ``where`` and the field) when unusable.
    ``labels``: the labels required (others are left out); None: whichever are there (>= 1)."""
    energy, forces = _labels(atoms, energy_key, forces_key)
    need = labels if labels is not None else (() if energy is not None else ("forces",))
    if forces is None and "forces" in need:
        raise DatasetError(
            f"{where}: field 'forces': missing (no calculator forces and no arrays key of "
            f"{forces_key or FORCE_KEYS})"
        )
    if energy is None and "energy" in need:
        raise DatasetError(
            f"{where}: field 'energy': missing (no calculator energy and no info key of "
            f"{energy_key or ENERGY_KEYS})"
        )
    if labels is not None:
        energy = energy if "energy" in labels else None
        forces = forces if "forces" in labels else None
    if energy is not None:
        try:
            energy = float(np.asarray(energy, dtype=float).reshape(()))
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"{where}: field 'energy': not one number ({energy!r})") from exc
    forces = None if forces is None else np.asarray(forces, dtype=float)
    bare = Atoms(atoms.numbers, positions=atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    keep = {k: v for k, v in atoms.info.items() if isinstance(v, (str, int, float, bool))}
    for k in (*ENERGY_KEYS, "traj_id", "step", "split", "source_frame"):
        keep.pop(k, None)
    bare.calc = labelled(bare, energy, forces).calc
    if not bare.pbc.all():
        raise DatasetError(
            f"{where}: field 'pbc': {bare.pbc.tolist()}; datasets here are periodic supercells "
            "(give the frame a cell and pbc=T)"
        )
    odd = sorted({(int(z), s) for z, s in zip(bare.numbers, bare.symbols, strict=True)
                  if z == 0 or z > MAX_MODEL_Z})  # fmt: skip
    if odd and not any_element:
        raise DatasetError(
            f"{where}: field 'species': {', '.join(f'{s} (Z {z})' for z, s in odd)}: no model "
            f"here knows it (dummy X, or Z > {MAX_MODEL_Z}); pass --allow-any-element to import "
            "it anyway"
        )
    check_frame(bare, where, ())
    return labelled(bare, energy, forces, **keep)


# --------------------------------------------------------------------------- readers


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "traj"


def detect_format(path: Path) -> str:
    """The format ``auto`` picks for one file or directory."""
    name = path.name.lower()
    if path.is_dir():
        return "liu-he-mo" if (path / "DATA.json").is_file() else "directory"
    if name.endswith(".pt"):
        return "adapt-pt"
    if name.endswith(".xml") or name.startswith("vasprun"):
        return "vasp"
    if name.startswith("outcar"):
        return "vasp"
    if name.endswith((".extxyz", ".xyz")):
        return "extxyz"
    if name.endswith(".zip"):
        return "zip"
    return "ase"


def _read_ase(path: Path, fmt: str, notes: dict | None = None) -> list[Atoms]:
    """The frames of one file. A parse error names the frame (and for extxyz the line) where
    reading stopped; with ``notes`` (--skip-bad) the good frames before it are kept and the
    error is recorded in ``notes["unreadable"]``."""
    kw = {}
    if fmt == "extxyz":
        kw["format"] = "extxyz"
    elif fmt == "vasp":
        kw["format"] = "vasp-out" if path.name.lower().startswith("outcar") else "vasp-xml"
    frames: list[Atoms] = []
    try:
        for atoms in ase.io.iread(path, index=":", **kw):
            frames.append(atoms)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        where = f"{path} frame {len(frames)}"
        if fmt == "extxyz":
            where += f" (line {sum(len(a) + 2 for a in frames) + 1})"
        msg = f"{where}: cannot read as {fmt} ({type(exc).__name__}: {first})"
        if notes is None or not frames:
            raise DatasetError(msg) from exc
        notes.setdefault("unreadable", []).append(msg + f"; kept the {len(frames)} frames before")
    return frames


def _group(path: Path, tid: str, frames: list[Atoms], fmt: str) -> list[RawTrajectory]:
    if fmt == "vasp":  # one relaxation per file
        return [RawTrajectory(tid, str(path), frames, list(range(len(frames))))]
    if frames and all("traj_id" in a.info for a in frames):
        groups: dict[str, list[int]] = defaultdict(list)
        for k, a in enumerate(frames):
            groups[str(a.info["traj_id"])].append(k)
        return [
            RawTrajectory(
                _slug(g), str(path), [frames[k] for k in ks], ks, _common(frames, ks, "split")
            )
            for g, ks in groups.items()
        ]
    same = all(len(a) == len(frames[0]) and (a.numbers == frames[0].numbers).all() for a in frames)
    if same:
        return [
            RawTrajectory(
                tid,
                str(path),
                frames,
                list(range(len(frames))),
                _common(frames, range(len(frames)), "split"),
            )
        ]
    width = len(str(len(frames)))
    return [
        RawTrajectory(f"{tid}-{k:0{width}d}", str(path), [a], [k], a.info.get("split"))
        for k, a in enumerate(frames)
    ]


def _common(frames: list[Atoms], ks, key: str):
    values = {frames[k].info.get(key) for k in ks}
    return values.pop() if len(values) == 1 else None


def _read_liu_he_mo(path: Path, tid: str) -> list[RawTrajectory]:
    """One set directory of Silicon_MLIP_datasets: DATA.json + structure_poscars.zip."""
    data = json.loads((path / "DATA.json").read_text())
    energies, forces = _first_value(data.get("Energies")), _first_value(data.get("Forces"))
    if energies is None or forces is None:
        raise DatasetError(f"{path / 'DATA.json'}: field 'Energies'/'Forces': missing")
    structures = _zip_poscars(path / "structure_poscars.zip", "POSCAR.vasp", "_vacancies")
    vacancies = {}
    if (path / "vacancy_poscars.zip").is_file():
        vacancies = _zip_poscars(path / "vacancy_poscars.zip", "_vacancies.POSCAR.vasp", None)
    split = _split_from_name(path.name)
    out = []
    for i in sorted(structures):
        where = f"{path / 'structure_poscars.zip'}:{i}.POSCAR.vasp"
        atoms = structures[i]
        if i >= len(energies) or i >= len(forces):
            raise DatasetError(f"{where}: field 'energy'/'forces': no entry {i} in DATA.json")
        atoms.calc = SinglePointCalculator(
            atoms, energy=float(energies[i]), forces=np.asarray(forces[i], dtype=float)
        )
        hint = None
        if i in vacancies:
            hint = {"vacancy_positions": vacancies[i].positions.tolist()}
        out.append(RawTrajectory(f"{tid}-{i:04d}", where, [atoms], [0], split, hint))
    return out


def _split_from_name(name: str) -> str | None:
    """Training/Validation/Testing in a set's name -> train/val/test."""
    name = name.lower()
    for word, split in (("train", "train"), ("valid", "val"), ("test", "test")):
        if word in name:
            return split
    return None


def _first_value(d):
    if not isinstance(d, dict) or not d:
        return None
    return d.get("DFT_K4", next(iter(d.values())))


def _zip_poscars(path: Path, suffix: str, exclude: str | None) -> dict[int, Atoms]:
    out = {}
    with zipfile.ZipFile(path) as zf:
        for member in zf.namelist():
            base = member.rsplit("/", 1)[-1]
            if not base.endswith(suffix) or (exclude and exclude in base):
                continue
            m = re.match(r"(\d+)", base)
            if not m:
                continue
            with tempfile.NamedTemporaryFile("wb", suffix=".vasp") as tmp:
                tmp.write(zf.read(member))
                tmp.flush()
                out[int(m.group(1))] = ase.io.read(tmp.name, format="vasp")
    return out


def _expand(sources: list[Path], fmt: str, tmp: Path) -> list[tuple[Path, str]]:
    """(file or set directory, format) for every source, directories and zips searched."""
    out: list[tuple[Path, str]] = []
    for src in sources:
        if not src.exists():
            raise DatasetError(f"{src}: no such file or directory")
        kind = detect_format(src)
        if kind == "zip" and fmt in ("auto", "liu-he-mo"):
            dest = tmp / f"zip{len(out)}-{_slug(src.stem)}"
            try:
                with zipfile.ZipFile(src) as zf:
                    zf.extractall(dest)
            except (zipfile.BadZipFile, OSError) as exc:
                raise DatasetError(f"{src}: not a readable zip archive ({exc})") from exc
            out += _expand([dest], fmt, tmp)
        elif src.is_dir() and kind == "directory":
            sets = sorted(p.parent for p in src.rglob("DATA.json"))
            out += [(p, "liu-he-mo") for p in sets]
            for p in sorted(src.rglob("*")):
                if p.is_file() and not any(s in p.parents for s in sets):
                    k = detect_format(p)
                    if k in ("extxyz", "vasp", "adapt-pt") and (fmt == "auto" or fmt == k):
                        out.append((p, k))
        else:
            out.append((src, kind if fmt == "auto" else fmt))
    if not out:
        raise DatasetError(f"no importable files in {[str(s) for s in sources]}")
    return out


def read_sources(
    sources: list[Path],
    fmt: str = "auto",
    cell=None,
    tmp: Path | None = None,
    labels: tuple[str, ...] | None = None,
    notes: dict | None = None,
    keep_good: bool = False,
) -> list[RawTrajectory]:
    """Every raw trajectory of ``sources`` (ids unique, from file paths). ``notes`` collects
    what a source says about itself (e.g. the ADAPT authors' normalisation statistics)."""
    from benchmarks.data.import_adapt_pt import read_adapt_pt

    notes = {} if notes is None else notes
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {FORMATS}")
    own_tmp = tmp is None
    tmp = Path(tempfile.mkdtemp(prefix="adapt-bench-import-")) if own_tmp else tmp
    try:
        items = _expand([Path(s) for s in sources], fmt, tmp)
        base = Path(_common_path([p.parent for p, _ in items]))
        out: list[RawTrajectory] = []
        pt_files = [p for p, k in items if k == "adapt-pt"]
        for path, kind in items:
            rel = path.relative_to(base) if path.is_relative_to(base) else Path(path.name)
            tid = _slug(str(rel.with_suffix("")) if path.is_file() else str(rel))
            if kind == "liu-he-mo":
                found = _read_liu_he_mo(path, tid)
            elif kind == "adapt-pt":
                continue
            else:
                found = _group(path, tid, _read_ase(path, kind, notes if keep_good else None), kind)
            for t in found:
                t.extra["format"] = kind
            out += found
        if pt_files:
            found = read_adapt_pt(pt_files, cell, labels, RawTrajectory, notes)
            for t in found:
                t.extra["format"] = "adapt-pt"
            out += found
    finally:
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    counts = Counter(t.id for t in out)
    seen: Counter = Counter()
    for t in out:
        if counts[t.id] > 1:
            seen[t.id] += 1
            t.id = f"{t.id}-{seen[t.id]}"
    return out


def _common_path(paths: list[Path]) -> str:
    import os

    return os.path.commonpath([str(p.resolve()) for p in paths]) if paths else "."


# --------------------------------------------------------------------------- import


def _auto_splits(trajs: list[RawTrajectory]) -> dict[str, str]:
    """Source splits when every trajectory has one, else 80/10/10 by a hash of the id."""
    if all(t.split in SPLITS for t in trajs):
        return {t.id: t.split for t in trajs}
    order = sorted(trajs, key=lambda t: hashlib.sha256(t.id.encode()).hexdigest())
    n = len(order)
    n_test = max(1, round(0.1 * n)) if n >= 3 else 0
    n_val = max(1, round(0.1 * n)) if n >= 3 else 0
    out = {}
    for k, t in enumerate(order):
        out[t.id] = "test" if k < n_test else "val" if k < n_test + n_val else "train"
    return out


def import_dataset(
    sources: list[str | Path],
    out: str | Path,
    fmt: str = "auto",
    name: str | None = None,
    level_of_theory: str | None = None,
    split: str = "auto",
    skip_bad: bool = False,
    drop_copies_of: str | Path | None = None,
    host: str | None = None,
    energy_key: str | None = None,
    forces_key: str | None = None,
    cell=None,
    copy_tol: float | None = None,
    labels: tuple[str, ...] | None = None,
    any_element: bool = False,
) -> ImportReport:
    """Import ``sources`` into a new dataset directory ``out`` (see the module docstring).

    ``labels``: the labels to import, e.g. ("forces",); None: those every frame carries (a label
    that some frames carry and others lack is an error naming the first frame without it). Holds
    ``OUT/.lock`` while writing (a second import into ``out`` refuses); on failure removes ``out``.
    """
    from benchmarks.data.out_lock import exclusive_out

    if split not in (*SPLITS, "auto"):
        raise ValueError(f"split {split!r}: use train, val, test or auto")
    if labels is not None and (not labels or set(labels) - set(LABELS)):
        raise ValueError(f"labels {labels!r}: use energy, forces or both")
    with exclusive_out(out, "data import"):
        return _import(
            sources, Path(out), fmt, name, level_of_theory, split, skip_bad, drop_copies_of,
            host, energy_key, forces_key, cell, copy_tol, labels, any_element,
        )  # fmt: skip


def _dataset_labels(trajs: list[RawTrajectory], labels, skip_bad: bool, skipped: list[str]):
    """The dataset's labels: ``labels``, or those every frame has. A label most frames carry
    and some lack: with ``skip_bad`` those frames are left out (counted in ``skipped``), else
    an error naming the first of them. Returns (labels, trajectories)."""
    if labels is not None:
        return tuple(k for k in LABELS if k in labels), trajs
    frames = [(t, a, k) for t in trajs for a, k in zip(t.frames, t.frame_numbers, strict=True)]
    keep = []
    for label in LABELS:
        missing = [(t, k) for t, a, k in frames if label not in labels_of(a)]
        if not missing:
            keep.append(label)
        elif len(missing) < len(frames):
            t, k = missing[0]
            where = f"{t.source} frame {k}: field '{label}': missing"
            if not skip_bad:
                raise DatasetError(
                    f"{where}, while {len(frames) - len(missing)} other frames have it; fix the "
                    f"file, pass --skip-bad to leave such frames out, or --labels "
                    f"{','.join(x for x in LABELS if x != label)} to import without {label}"
                )
            skipped += [f"{t.source} frame {k}: field '{label}': missing" for t, k in missing]
            keep.append(label)
            gone = {(id(t), k) for t, k in missing}
            for t in trajs:
                pairs = [
                    (a, k) for a, k in zip(t.frames, t.frame_numbers, strict=True)
                    if (id(t), k) not in gone
                ]  # fmt: skip
                t.frames, t.frame_numbers = [a for a, _ in pairs], [k for _, k in pairs]
            trajs = [t for t in trajs if t.frames]
            frames = [
                (t, a, k) for t in trajs for a, k in zip(t.frames, t.frame_numbers, strict=True)
            ]
    return tuple(keep), trajs


def _import(
    sources, out: Path, fmt, name, level_of_theory, split, skip_bad, drop_copies_of, host,
    energy_key, forces_key, cell, copy_tol, labels, any_element,
) -> ImportReport:  # fmt: skip
    from benchmarks.data.generate import created_by
    from benchmarks.data.info import COPY_TOL, find_copies

    notes: dict = {}
    raw = read_sources(
        [Path(s) for s in sources], fmt, cell, labels=labels, notes=notes, keep_good=skip_bad
    )
    skipped: list[str] = notes.pop("unreadable", [])
    trajs: list[RawTrajectory] = []
    for t in raw:
        good, numbers = [], []
        for atoms, k in zip(t.frames, t.frame_numbers, strict=True):
            try:
                good.append(
                    _clean_frame(
                        atoms, f"{t.source} frame {k}", energy_key, forces_key, labels, any_element
                    )
                )
                numbers.append(k)
            except DatasetError as exc:
                if not skip_bad:
                    raise
                skipped.append(str(exc))
        if good:
            trajs.append(
                RawTrajectory(t.id, t.source, good, numbers, t.split, t.defect_hint, t.extra)
            )
    if not trajs:
        raise DatasetError(f"no usable frames in {[str(s) for s in sources]} ({len(skipped)} bad)")
    ds_labels, trajs = _dataset_labels(trajs, labels, skip_bad, skipped)
    splits = _auto_splits(trajs) if split == "auto" else {t.id: split for t in trajs}
    dropped = 0
    if drop_copies_of is not None:
        other = Dataset(drop_copies_of).frames()
        tol = copy_tol or COPY_TOL
        for t in trajs:
            if splits[t.id] not in HELD_OUT:
                continue
            hits = find_copies(other, t.frames, tol)
            keep = [k for k, h in enumerate(hits) if h is None]
            dropped += len(t.frames) - len(keep)
            t.frames = [t.frames[k] for k in keep]
            t.frame_numbers = [t.frame_numbers[k] for k in keep]
        trajs = [t for t in trajs if t.frames]
        if not trajs:
            raise DatasetError(f"every frame copies a frame of {drop_copies_of}; nothing left")
    writer = DatasetWriter(out, labels=ds_labels)
    for t in trajs:
        host_sym = host or Counter(t.frames[0].get_chemical_symbols()).most_common(1)[0][0]
        defect = detect_defects(t.frames[0], host=host_sym)
        if t.defect_hint and t.defect_hint.get("vacancy_positions"):
            from dataclasses import replace

            defect = replace(
                defect,
                vacancy_positions=tuple(
                    tuple(map(float, v)) for v in t.defect_hint["vacancy_positions"]
                ),
            )
        for atoms, k in zip(t.frames, t.frame_numbers, strict=True):
            atoms.info["source_frame"] = k
        rec = TrajectoryRecord(
            id=t.id,
            file="",
            n_frames=0,
            n_atoms=0,
            host=host_sym,
            defect=defect,
            split=splits[t.id],
            final_fmax=0.0,
            converged=(fmax_of(t.frames[-1]) or np.inf) <= CONVERGED_FMAX,
            extra={
                "source": t.source,
                "defect_detected": True,
                "converged_means": f"final fmax <= {CONVERGED_FMAX} eV/Å",
                **t.extra,
            },
        )
        writer.add(rec, t.frames)
    writer.set_splits({t.id: splits[t.id] for t in trajs})
    formats = sorted({t.extra["format"] for t in trajs})
    lot = level_of_theory or (
        "DFT (VASP; settings not parsed)" if formats == ["vasp"] else "unknown (imported)"
    )
    ds = writer.finish(
        name=name or out.name,
        level_of_theory=lot,
        reference={"name": "imported", "formats": formats, "sources": [str(s) for s in sources]},
        created_by=created_by("adapt-bench data import"),
        extra={
            "import": {
                "skipped_frames": len(skipped),
                "skipped_examples": skipped[:5],
                "dropped_copies": dropped,
                "drop_copies_of": str(drop_copies_of) if drop_copies_of else None,
                "split": split,
                "labels": list(ds_labels),
            },
            **notes,
        },
    )
    n_frames = sum(len(t.frames) for t in trajs)
    return ImportReport(ds, len(trajs), n_frames, len(skipped), skipped[:5], dropped, ds_labels)
