"""The dataset directory: trajectories of labelled frames plus a JSON manifest.

On disk::

    DIR/manifest.json              written last, atomically: its presence marks a complete dataset
    DIR/trajectories/<id>.extxyz   every ionic step of one relaxation: positions (Å), cell (Å, rows
                                   are lattice vectors), pbc, energy (eV, total), forces (eV/Å),
                                   info["traj_id"], info["step"]

Everything is read and written through ASE's extxyz reader/writer; energies and forces come
back as a ``SinglePointCalculator`` on each frame. Splits are by whole trajectory, never by frame.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import ase.io
import numpy as np
from ase import Atoms
from ase.calculators.singlepoint import SinglePointCalculator

from adapt.fileio import atomic_write, file_sha256, write_text_atomic

FORMAT_VERSION = 1
SPLITS = ("train", "val", "test")
DEFECT_KINDS = (
    "vacancy",
    "self_interstitial",
    "substitutional",
    "interstitial",
    "complex",  # substitutional-interstitial (or any multi-site) defect
    "bulk",
    "unknown",
)


class DatasetError(ValueError):
    """Bad dataset input; the message names the file, the frame and the field."""


@dataclass(frozen=True)
class Defect:
    """A point defect, as located in the trajectory's first frame.

    kind:               one of DEFECT_KINDS
    species:            foreign species (chemical symbols), empty for intrinsic defects
    sites:              indices of the atoms that are the defect (dopant, interstitial)
    vacancy_positions:  Cartesian positions (Å) of empty lattice sites (no atom to index)
    """

    kind: str = "unknown"
    species: tuple[str, ...] = ()
    sites: tuple[int, ...] = ()
    vacancy_positions: tuple[tuple[float, float, float], ...] = ()

    @classmethod
    def from_dict(cls, d: dict) -> Defect:
        return cls(
            kind=d.get("kind", "unknown"),
            species=tuple(d.get("species", ())),
            sites=tuple(int(i) for i in d.get("sites", ())),
            vacancy_positions=tuple(tuple(map(float, p)) for p in d.get("vacancy_positions", ())),
        )

    def positions(self, atoms: Atoms) -> np.ndarray:
        """(k, 3) Å: the defect sites' positions in ``atoms`` followed by the vacancy positions."""
        pts = [atoms.positions[list(self.sites)]] if self.sites else []
        if self.vacancy_positions:
            pts.append(np.asarray(self.vacancy_positions, dtype=float))
        return np.concatenate(pts) if pts else np.zeros((0, 3))


@dataclass(frozen=True)
class TrajectoryRecord:
    """One relaxation trajectory's entry in the manifest."""

    id: str
    file: str  # relative to the dataset root
    n_frames: int
    n_atoms: int
    host: str  # e.g. "Si"
    defect: Defect
    split: str | None  # "train" | "val" | "test" | None (unsplit)
    final_fmax: float  # eV/Å, max per-atom force norm of the last frame
    converged: bool  # the reference relaxation reached its fmax before its step limit
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> TrajectoryRecord:
        d = dict(d)
        d["defect"] = Defect.from_dict(d.get("defect", {}))
        d.setdefault("extra", {})
        return cls(**d)


@dataclass(frozen=True)
class Manifest:
    name: str
    level_of_theory: str  # e.g. "Tersoff (SiCGe, LAMMPS)", "PBE (VASP, 520 eV, Gamma)"
    reference: dict  # how labels were made: {"name": "tersoff", ...settings}
    trajectories: tuple[TrajectoryRecord, ...]
    content_sha256: str = ""
    created_by: dict = field(default_factory=dict)  # tool, version, git_sha, utc
    extra: dict = field(default_factory=dict)  # generator settings, timings, import notes
    format_version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=False)

    @classmethod
    def from_dict(cls, d: dict) -> Manifest:
        d = dict(d)
        d["trajectories"] = tuple(TrajectoryRecord.from_dict(t) for t in d["trajectories"])
        return cls(**d)


def labelled(atoms: Atoms, energy: float, forces: np.ndarray, **info) -> Atoms:
    """A copy of ``atoms`` carrying energy (eV), forces (n, 3) eV/Å and extra info keys."""
    out = atoms.copy()
    out.info.update(info)
    out.calc = SinglePointCalculator(out, energy=float(energy), forces=np.asarray(forces, float))
    return out


def check_frame(atoms: Atoms, where: str) -> None:
    """Raise DatasetError naming ``where`` (file + frame) and the field when a frame is unusable."""
    n = len(atoms)
    if n == 0:
        raise DatasetError(f"{where}: field 'positions': frame has no atoms")
    if not np.all(np.isfinite(atoms.positions)):
        raise DatasetError(f"{where}: field 'positions': NaN or inf")
    if atoms.pbc.any() and abs(atoms.cell.volume) < 1e-6:
        raise DatasetError(f"{where}: field 'cell': zero-volume cell with pbc={atoms.pbc.tolist()}")
    calc = atoms.calc
    results = getattr(calc, "results", {}) if calc is not None else {}
    if "forces" not in results:
        raise DatasetError(f"{where}: field 'forces': missing")
    forces = np.asarray(results["forces"])
    if forces.shape != (n, 3):
        raise DatasetError(f"{where}: field 'forces': shape {forces.shape}, expected ({n}, 3)")
    if not np.all(np.isfinite(forces)):
        raise DatasetError(f"{where}: field 'forces': NaN or inf")
    if "energy" not in results:
        raise DatasetError(f"{where}: field 'energy': missing")
    if not np.isfinite(results["energy"]):
        raise DatasetError(f"{where}: field 'energy': NaN or inf")


def fmax_of(atoms: Atoms) -> float:
    """Largest per-atom force norm (eV/Å) of a labelled frame."""
    return float(np.linalg.norm(atoms.calc.results["forces"], axis=1).max())


class Dataset:
    """A complete dataset directory (one with a manifest)."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        path = self.root / "manifest.json"
        if not path.is_file():
            raise DatasetError(
                f"{self.root}: no manifest.json: not a dataset directory, or its writing did "
                "not finish (make one with `adapt-bench data generate` or `adapt-bench data import`)"
            )
        try:
            self.manifest = Manifest.from_dict(json.loads(path.read_text()))
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise DatasetError(f"{path}: unreadable manifest ({exc})") from exc
        if self.manifest.format_version != FORMAT_VERSION:
            raise DatasetError(f"{path}: format_version {self.manifest.format_version} unsupported")

    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def level_of_theory(self) -> str:
        return self.manifest.level_of_theory

    @property
    def sha256(self) -> str:
        return self.manifest.content_sha256

    def defect_of(self, rec: TrajectoryRecord, first_frame: Atoms | None = None) -> Defect:
        """``rec``'s defect, with sites: see :func:`benchmarks.data.defects.resolve_defect`
        (``first_frame``: the trajectory's first frame, read when not given)."""
        from benchmarks.data.defects import resolve_defect

        if first_frame is None and not (rec.defect.sites or rec.defect.vacancy_positions):
            first_frame = self.read(rec, [0])[0]
        return resolve_defect(first_frame, rec.defect, rec.host)

    def records(self, split: str | None = None) -> list[TrajectoryRecord]:
        """Trajectories of one split ("train"/"val"/"test"), or all when split is None or "all".

        For an unsplit dataset (no record has a split) every split name returns every trajectory.
        """
        recs = list(self.manifest.trajectories)
        if split in (None, "all") or all(r.split is None for r in recs):
            return recs
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; use one of {SPLITS + ('all',)}")
        return [r for r in recs if r.split == split]

    def read(
        self, record: TrajectoryRecord, index: slice | Sequence[int] | None = None
    ) -> list[Atoms]:
        """The labelled frames of one trajectory (all, a slice, or the given frame indices)."""
        path = self.root / record.file
        frames = ase.io.read(path, index=":", format="extxyz")
        if len(frames) != record.n_frames:
            raise DatasetError(
                f"{path}: has {len(frames)} frames, manifest says n_frames={record.n_frames}"
            )
        if index is not None:
            frames = frames[index] if isinstance(index, slice) else [frames[i] for i in index]
        for atoms in frames:
            check_frame(atoms, f"{path} frame {atoms.info.get('step', '?')}")
        return frames

    def frames(self, split: str | None = None, selection: str = "all") -> list[Atoms]:
        """Labelled frames of a split under a frame selection (see benchmarks.data.selections)."""
        from benchmarks.data.selections import select_frames

        out: list[Atoms] = []
        for rec in self.records(split):
            out.extend(self.read(rec, select_frames(rec.n_frames, selection)))
        return out


def content_sha256(root: Path, records: Iterable[TrajectoryRecord], level_of_theory: str) -> str:
    """Hash of what a dataset means: level of theory, and each trajectory's id, split and bytes."""
    h = hashlib.sha256(level_of_theory.encode())
    for rec in sorted(records, key=lambda r: r.id):
        h.update(f"{rec.id}\0{rec.split}\0".encode())
        h.update(file_sha256(root / rec.file).encode())
    return h.hexdigest()


class DatasetWriter:
    """Writes a dataset one trajectory at a time; ``finish()`` writes the manifest last.

    Each trajectory file is written atomically, so an interrupted generator resumes by skipping
    the ids in :meth:`done` (their records are kept in ``DIR/.partial.json``). Until ``finish()``
    the directory has no manifest.json and :class:`Dataset` refuses it.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        (self.root / "trajectories").mkdir(parents=True, exist_ok=True)
        self._partial = self.root / ".partial.json"
        self._records: dict[str, TrajectoryRecord] = {}
        if self._partial.is_file():
            for d in json.loads(self._partial.read_text()):
                rec = TrajectoryRecord.from_dict(d)
                if (self.root / rec.file).is_file():
                    self._records[rec.id] = rec

    def done(self) -> set[str]:
        return set(self._records)

    def records(self) -> list[TrajectoryRecord]:
        """The trajectories written so far (including those of an earlier, interrupted run)."""
        return list(self._records.values())

    def add(self, record: TrajectoryRecord, frames: Sequence[Atoms]) -> TrajectoryRecord:
        """Write one trajectory's frames; record.file / n_frames / n_atoms / final_fmax are filled in."""
        rel = f"trajectories/{record.id}.extxyz"
        path = self.root / rel
        for i, atoms in enumerate(frames):
            atoms.info["traj_id"] = record.id
            atoms.info["step"] = i
            check_frame(atoms, f"{record.id} frame {i}")
        atomic_write(path, lambda tmp: ase.io.write(tmp, list(frames), format="extxyz"))
        record = replace(
            record,
            file=rel,
            n_frames=len(frames),
            n_atoms=len(frames[0]),
            final_fmax=fmax_of(frames[-1]),
        )
        self._records[record.id] = record
        write_text_atomic(
            self._partial, json.dumps([asdict(r) for r in self._records.values()], indent=1)
        )
        return record

    def set_splits(self, splits: dict[str, str | None]) -> None:
        """Assign splits (trajectory id -> split) before finishing."""
        for tid, split in splits.items():
            if split is not None and split not in SPLITS:
                raise ValueError(f"trajectory {tid}: unknown split {split!r}")
            self._records[tid] = replace(self._records[tid], split=split)

    def finish(
        self,
        name: str,
        level_of_theory: str,
        reference: dict,
        created_by: dict | None = None,
        extra: dict | None = None,
    ) -> Dataset:
        records = tuple(sorted(self._records.values(), key=lambda r: r.id))
        if not records:
            raise DatasetError(f"{self.root}: no trajectories to write")
        manifest = Manifest(
            name=name,
            level_of_theory=level_of_theory,
            reference=reference,
            trajectories=records,
            content_sha256=content_sha256(self.root, records, level_of_theory),
            created_by=created_by or {},
            extra=extra or {},
        )
        write_text_atomic(self.root / "manifest.json", manifest.to_json())
        self._partial.unlink(missing_ok=True)
        return Dataset(self.root)
