"""The results directory: tidy tables written atomically, and a content-addressed cache.

Layout (docs/design.md, "A results directory")::

    OUT/run.json  metrics.csv  relax.csv  timing.csv  models.csv
    OUT/predictions/<model-slug>__<dataset>__<split>__<selection>.npz
    OUT/report.md  OUT/report.html  OUT/figures/*.png
    OUT/.cache/<task>/<key>.json     one finished work unit: its result rows + the files it made

Every file is written to a temporary name in the same directory and moved into place with
``os.replace``, so a reader (or a run interrupted half-way) only ever sees a complete old file or
a complete new one. A unit's cache entry is written after its output files, so an entry that
exists means the unit finished; an entry whose files are gone counts as not finished.

Cache keys are sha256 digests of JSON "key material": what the unit's result depends on
(model spec + checkpoint sha256, dataset content sha256, settings, code version).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adapt.fileio import atomic_write, file_sha256, json_safe, write_json

METRICS_COLUMNS = [
    "model", "family", "dataset", "split", "selection", "subset", "metric", "value", "unit", "n",
    "flags",
]  # fmt: skip
RELAX_COLUMNS = [
    "model", "family", "dataset", "traj_id", "defect_kind", "outcome", "steps", "wall_s",
    "final_fmax", "soap_similarity", "soap_similarity_defect", "delta_q", "rmsd", "optimizer",
    "fmax_target", "max_steps",
    "message",
]  # fmt: skip
TIMING_COLUMNS = [
    "model", "family", "task", "n_atoms", "batch", "repeats", "median_s", "per_structure_s",
    "atoms_steps_per_s", "peak_mem_mb", "device", "hardware", "run_id", "comparable_within",
]  # fmt: skip
LEARNING_COLUMNS = [
    "model", "family", "dataset", "split", "selection", "fraction", "n_train_trajectories",
    "n_train_frames", "train_s", "force_mae", "energy_mae", "energy_mae_per_atom",
    "subset_sha256",
]  # fmt: skip
MODELS_COLUMNS = [
    "name", "spec", "group", "display_name", "family", "origin", "role", "n_params", "device", "dtype",
    "level_of_theory", "conservative", "predicts_energy", "predicts_forces", "checkpoint",
    "checkpoint_sha256", "status", "reason",
]  # fmt: skip
TABLES = {
    "metrics.csv": METRICS_COLUMNS,
    "relax.csv": RELAX_COLUMNS,
    "timing.csv": TIMING_COLUMNS,
    "models.csv": MODELS_COLUMNS,
    "learning.csv": LEARNING_COLUMNS,
}
INT_COLUMNS = {"n", "n_params", "steps", "max_steps", "n_atoms", "batch", "repeats", "n_frames"}


# ---------------------------------------------------------------- atomic writes


def write_csv(path: Path, rows: Iterable[dict] | pd.DataFrame, columns: list[str]) -> None:
    """Atomic CSV write with ``columns`` first (extra keys after them); NaN/None -> empty,
    dicts/lists -> JSON, counts as integers."""
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
    extra = [c for c in frame.columns if c not in columns]
    frame = frame.reindex(columns=list(columns) + extra)
    for col in frame.columns:
        if col in INT_COLUMNS:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").round().astype("Int64")
        elif frame[col].map(lambda v: isinstance(v, dict | list)).any():
            frame[col] = frame[col].map(
                lambda v: json.dumps(json_safe(v)) if isinstance(v, dict | list) else v
            )
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False, na_rep=""))


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    def save(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    atomic_write(path, save)


# ---------------------------------------------------------------- keys


def slug(text: str) -> str:
    """A file-name-safe form of a label: lower case, runs of other characters -> '-'."""
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-") or "x"


# ---------------------------------------------------------------- the directory


class ResultsDir:
    """Paths and writers for one results directory, with its unit cache under ``.cache/``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.cache_root = self.root / ".cache"

    def path(self, name: str) -> Path:
        return self.root / name

    def prediction_path(self, model: str, dataset: str, split: str, selection: str) -> Path:
        name = "__".join(slug(x) for x in (model, dataset, split, selection))
        return self.root / "predictions" / f"{name}.npz"

    def write_table(self, name: str, rows: Iterable[dict]) -> Path:
        path = self.path(name)
        write_csv(path, rows, TABLES[name])
        return path

    # -- cache ----------------------------------------------------------------------------
    def unit_path(self, task: str, key: str) -> Path:
        return self.cache_root / task / f"{key}.json"

    def cached(self, task: str, key: str) -> dict | None:
        """The finished unit's entry, or None when absent, unreadable, or its files are gone."""
        path = self.unit_path(task, key)
        try:
            entry = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        for rel, sha in entry.get("files", {}).items():
            f = self.root / rel
            if not f.is_file() or (sha and file_sha256(f) != sha):
                return None
        return entry

    def store(
        self, task: str, key: str, material: Any, rows: list[dict], files: Iterable[Path] = ()
    ) -> dict:
        """Record a finished unit (after its files are written): rows + files with hashes."""
        entry = {
            "task": task,
            "key": key,
            "material": json_safe(material),
            "rows": json_safe(rows),
            "files": {str(Path(f).relative_to(self.root)): file_sha256(Path(f)) for f in files},
        }
        write_json(self.unit_path(task, key), entry)
        return entry
