"""Per-structure predictions of one model on one set of frames, next to the reference labels.

A :class:`PredictionSet` is what the metrics are computed from and what a results directory
keeps (``OUT/predictions/*.npz``), so a report can redraw scatter plots without the model.
Frame-level arrays have M rows (one per structure); atom-level arrays have sum(n_atoms) rows,
frame after frame in the order of ``traj_id`` / ``step`` (use :meth:`frame_slices`).

    traj_id      (M,) str        trajectory id (atoms.info["traj_id"])
    step         (M,) int        ionic step within the trajectory (atoms.info["step"])
    n_atoms      (M,) int
    energy_ref   (M,) float      eV, total
    energy_pred  (M,) float      eV, total; NaN when the model predicts no energy
    forces_ref   (sum n, 3)      eV/Å
    forces_pred  (sum n, 3)      eV/Å; NaN when the model predicts no forces
    symbols      (sum n,) str    chemical symbols
    defect_mask  (sum n,) bool   atom in the defect region (metrics.defect_region_mask)
    defect_kind  (M,) str        Defect.kind of the frame's trajectory
    flags        (M,) str        ';'-joined Prediction.flags

A saved file also holds the names it belongs to (LABELS: model, dataset, split, selection) as
0-d string arrays; results readers take them from there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
from ase import Atoms

from adapt.fileio import atomic_write
from baselines.interface import Prediction
from benchmarks.data.dataset import Defect
from benchmarks.metrics import DEFECT_RADIUS, defect_region_mask

LABELS = ("model", "dataset", "split", "selection")  # stored in each file beside the arrays


@dataclass
class PredictionSet:
    traj_id: np.ndarray
    step: np.ndarray
    n_atoms: np.ndarray
    energy_ref: np.ndarray
    energy_pred: np.ndarray
    forces_ref: np.ndarray
    forces_pred: np.ndarray
    symbols: np.ndarray
    defect_mask: np.ndarray
    defect_kind: np.ndarray
    flags: np.ndarray

    def __post_init__(self):
        self.traj_id = np.asarray(self.traj_id, dtype=str)
        self.step = np.asarray(self.step, dtype=np.int64)
        self.n_atoms = np.asarray(self.n_atoms, dtype=np.int64)
        self.energy_ref = np.asarray(self.energy_ref, dtype=float)
        self.energy_pred = np.asarray(self.energy_pred, dtype=float)
        self.forces_ref = np.asarray(self.forces_ref, dtype=float).reshape(-1, 3)
        self.forces_pred = np.asarray(self.forces_pred, dtype=float).reshape(-1, 3)
        self.symbols = np.asarray(self.symbols, dtype=str)
        self.defect_mask = np.asarray(self.defect_mask, dtype=bool)
        self.defect_kind = np.asarray(self.defect_kind, dtype=str)
        self.flags = np.asarray(self.flags, dtype=str)
        m, n = len(self.n_atoms), int(self.n_atoms.sum())
        for name in ("traj_id", "step", "energy_ref", "energy_pred", "defect_kind", "flags"):
            if len(getattr(self, name)) != m:
                raise ValueError(
                    f"PredictionSet.{name}: {len(getattr(self, name))} rows, expected {m}"
                )
        for name in ("forces_ref", "forces_pred", "symbols", "defect_mask"):
            if len(getattr(self, name)) != n:
                raise ValueError(
                    f"PredictionSet.{name}: {len(getattr(self, name))} rows, expected {n}"
                )

    def __len__(self) -> int:
        return len(self.n_atoms)

    @classmethod
    def from_frames(
        cls,
        frames: Sequence[Atoms],
        predictions: Sequence[Prediction],
        defects: Sequence[Defect],
        defect_radius: float = DEFECT_RADIUS,
    ) -> PredictionSet:
        """Labelled dataset frames (energy/forces in their calculator, info traj_id/step), the
        model's predictions for them and each frame's trajectory defect, all in the same order."""
        if not (len(frames) == len(predictions) == len(defects)):
            raise ValueError(
                f"{len(frames)} frames, {len(predictions)} predictions, {len(defects)} defects"
            )
        cols: dict[str, list] = {f.name: [] for f in fields(cls)}
        for atoms, pred, defect in zip(frames, predictions, defects, strict=True):
            n = len(atoms)
            results = atoms.calc.results if atoms.calc is not None else {}
            if "energy" not in results or "forces" not in results:
                raise ValueError(
                    f"frame {atoms.info.get('traj_id', '?')}:{atoms.info.get('step', '?')} "
                    "has no reference energy/forces"
                )
            cols["traj_id"].append(str(atoms.info.get("traj_id", "")))
            cols["step"].append(int(atoms.info.get("step", -1)))
            cols["n_atoms"].append(n)
            cols["energy_ref"].append(float(results["energy"]))
            cols["energy_pred"].append(np.nan if pred.energy is None else float(pred.energy))
            cols["forces_ref"].append(np.asarray(results["forces"], dtype=float).reshape(n, 3))
            if pred.forces is None:
                cols["forces_pred"].append(np.full((n, 3), np.nan))
            else:
                f = np.asarray(pred.forces, dtype=float)
                if f.shape != (n, 3):
                    raise ValueError(f"predicted forces have shape {f.shape}, expected ({n}, 3)")
                cols["forces_pred"].append(f)
            cols["symbols"].extend(atoms.get_chemical_symbols())
            cols["defect_mask"].append(defect_region_mask(atoms, defect, defect_radius))
            cols["defect_kind"].append(defect.kind)
            cols["flags"].append(";".join(pred.flags))
        if not frames:
            return cls.empty()
        for name in ("forces_ref", "forces_pred", "defect_mask"):
            cols[name] = np.concatenate(cols[name])
        return cls(**cols)

    @classmethod
    def empty(cls) -> PredictionSet:
        z = np.zeros(0)
        return cls(
            traj_id=np.zeros(0, str), step=z, n_atoms=z, energy_ref=z, energy_pred=z,
            forces_ref=np.zeros((0, 3)), forces_pred=np.zeros((0, 3)), symbols=np.zeros(0, str),
            defect_mask=np.zeros(0, bool), defect_kind=np.zeros(0, str), flags=np.zeros(0, str),
        )  # fmt: skip

    def frame_slices(self) -> list[slice]:
        """Row slices of the atom-level arrays, one per frame."""
        ends = np.cumsum(self.n_atoms)
        starts = ends - self.n_atoms
        return [slice(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]

    def symbols_per_frame(self) -> list[list[str]]:
        return [self.symbols[s].tolist() for s in self.frame_slices()]

    def save(self, path: str | Path, labels: dict[str, str]) -> Path:
        """Write an .npz atomically (temp file + rename); strings as unicode arrays, no pickles.
        ``labels`` (LABELS: model, dataset, split, selection) are stored as 0-d string arrays."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if set(labels) != set(LABELS):
            raise ValueError(f"labels must be {LABELS}, got {sorted(labels)}")
        arrays = {f.name: getattr(self, f.name) for f in fields(self)}
        arrays |= {k: np.array(str(v)) for k, v in labels.items()}

        def write(tmp: str) -> None:
            with open(tmp, "wb") as fh:  # a handle: np.savez would append ".npz" to a path
                np.savez(fh, **arrays)

        return atomic_write(path, write)

    @staticmethod
    def read_labels(path: str | Path) -> dict[str, str]:
        """The model, dataset, split and selection a file was saved with."""
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in LABELS if k not in data.files]
            if missing:
                raise ValueError(f"{path}: no {', '.join(missing)} stored in the file")
            return {k: str(data[k]) for k in LABELS}

    @classmethod
    def load(cls, path: str | Path) -> PredictionSet:
        with np.load(path, allow_pickle=False) as data:
            missing = [f.name for f in fields(cls) if f.name not in data.files]
            if missing:
                raise ValueError(f"{path}: not a PredictionSet file (missing {', '.join(missing)})")
            return cls(**{f.name: data[f.name] for f in fields(cls)})
