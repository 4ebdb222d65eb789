"""The results directory: its schema, its one writer and its one reader, and the step cache.

Layout (docs/design.md, "A results directory")::

    OUT/run.json  metrics.csv  relax.csv  timing.csv  models.csv
    OUT/predictions/<model-slug>__<dataset>__<split>__<selection>.npz  (names stored inside)
    OUT/report.md  OUT/report.html  OUT/figures/*.png
    OUT/.cache/<task>/<key>.json     one finished step: its result rows + the files it made

Every file is written to a temporary name in the same directory and moved into place with
``os.replace``, so a reader (or a run interrupted half-way) only ever sees a complete old file or
a complete new one. A step's cache entry is written after its output files, so an entry that
exists means the step finished; an entry whose files are gone counts as not finished.

Cache keys are sha256 digests of JSON "key material": what the step's result depends on
(model spec + checkpoint sha256, dataset content sha256, settings, code version).

Reading (:func:`load_results`, for reports and `adapt-bench check`): ``run.json`` and
``metrics.csv`` are required; everything else may be absent or empty, and
:attr:`Results.absent` then says so in words. Nothing here computes a metric.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from adapt.fileio import atomic_write, file_sha256, json_safe, write_json
from benchmarks.predictions import PredictionSet

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
SPEED_COLUMNS = [
    "model", "family", "task", "n_atoms", "batch", "repeats", "median_s", "per_structure_s",
    "frames_per_s", "epoch_min", "per_atom_s", "flops_per_structure",
    "analytic_flops_per_structure", "achieved_gflops", "n_params", "device", "threads", "note",
    "gemm_flops_per_structure", "share_gemm", "share_attention", "share_layernorm",
    "share_optimizer", "share_elementwise", "profile_s", "run_id",
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
    "speed.csv": SPEED_COLUMNS,
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


# ---------------------------------------------------------------- keys


def slug(text: str) -> str:
    """A file-name-safe form of a label: lower case, '+' -> 'plus' (so that "ADAPT+ tiny" and
    "ADAPT tiny" get different files), runs of other characters -> '-'."""
    return re.sub(r"[^a-z0-9.]+", "-", text.lower().replace("+", "plus")).strip("-") or "x"


# ---------------------------------------------------------------- the directory


class ResultsDir:
    """Paths and writers for one results directory, with its step cache under ``.cache/``."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.cache_root = self.root / ".cache"

    def path(self, name: str) -> Path:
        return self.root / name

    def write_predictions(
        self, ps: PredictionSet, model: str, dataset: str, split: str, selection: str
    ) -> Path:
        """predictions/<slugs>.npz holding the arrays and, inside, the model, dataset, split and
        selection names (the reader takes them from there, never from the file name)."""
        labels = dict(model=model, dataset=dataset, split=split, selection=selection)
        name = "__".join(slug(x) for x in labels.values())
        return ps.save(self.root / "predictions" / f"{name}.npz", labels)

    def write_table(self, name: str, rows: Iterable[dict]) -> Path:
        path = self.path(name)
        write_csv(path, rows, TABLES[name])
        return path

    # -- cache ----------------------------------------------------------------------------
    def step_path(self, task: str, key: str) -> Path:
        return self.cache_root / task / f"{key}.json"

    def cached(self, task: str, key: str) -> dict | None:
        """The finished step's entry, or None when absent, unreadable, or its files are gone."""
        path = self.step_path(task, key)
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
        """Record a finished step (after its files are written): rows + files with hashes."""
        entry = {
            "task": task,
            "key": key,
            "material": json_safe(material),
            "rows": json_safe(rows),
            "files": {str(Path(f).relative_to(self.root)): file_sha256(Path(f)) for f in files},
        }
        write_json(self.step_path(task, key), entry)
        return entry


# ---------------------------------------------------------------- reading


TEXT_COLUMNS = {
    "model", "family", "dataset", "split", "selection", "subset", "metric", "unit", "flags",
    "traj_id", "defect_kind", "outcome", "optimizer", "task", "device", "hardware", "run_id",
    "comparable_within", "spec", "name", "dtype", "level_of_theory", "checkpoint",
    "checkpoint_sha256", "status", "reason", "group", "display_name", "message", "note",
    "mem_method", "extra",
}  # fmt: skip


class ResultsError(RuntimeError):
    """The directory is not a readable results directory; the message names the file."""


@dataclass(frozen=True)
class PredictionFile:
    """One ``predictions/*.npz``: its model, dataset, split and selection as stored inside."""

    path: Path
    model: str
    dataset: str
    split: str
    selection: str

    @classmethod
    def read(cls, path: Path) -> PredictionFile:
        try:
            labels = PredictionSet.read_labels(path)
        except (OSError, ValueError) as exc:
            raise ResultsError(f"{path}: not a predictions file ({exc})") from exc
        return cls(path, **labels)

    def load(self) -> PredictionSet:
        return PredictionSet.load(self.path)


@dataclass
class Results:
    root: Path
    run: dict
    metrics: pd.DataFrame
    models: pd.DataFrame  # may be empty
    relax: pd.DataFrame  # may be empty
    timing: pd.DataFrame  # may be empty
    predictions: list[PredictionFile]
    absent: list[str] = field(default_factory=list)  # sentences: what was absent or empty
    learning: pd.DataFrame = field(default_factory=pd.DataFrame)  # only runs with the task
    speed: pd.DataFrame = field(default_factory=pd.DataFrame)  # only runs with the speed task

    def predictions_for(
        self, dataset: str, split: str, selection: str
    ) -> dict[str, PredictionFile]:
        """Model name -> prediction file of that dataset, split and selection."""
        return {
            p.model: p
            for p in self.predictions
            if (p.dataset, p.split, p.selection) == (dataset, split, selection)
        }


def find_key(obj, key: str):
    """First non-empty value of ``key`` anywhere in nested dicts/lists (breadth first), or None."""
    stack = [obj]
    while stack:
        cur = stack.pop(0)
        if isinstance(cur, dict):
            if cur.get(key) not in (None, "", [], {}):
                return cur[key]
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return None


def read_table(path: Path, columns: list[str]) -> tuple[pd.DataFrame, bool]:
    """(table with at least ``columns``, was_it_there_with_rows): text columns as str ("" for
    empty), the others numeric where they parse."""
    frame = pd.DataFrame(columns=columns)
    present = False
    if path.is_file() and path.stat().st_size > 0:
        try:
            frame = pd.read_csv(path, keep_default_na=True)
            present = len(frame) > 0
        except pd.errors.EmptyDataError:
            pass
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise ResultsError(f"{path}: not a readable CSV ({exc})") from exc
    for col in columns:
        if col not in frame.columns:
            frame[col] = np.nan
    for col in frame.columns:
        if col in TEXT_COLUMNS:
            frame[col] = [("" if _missing(v) else str(v)) for v in frame[col]]
        else:
            try:
                frame[col] = pd.to_numeric(frame[col])
            except (ValueError, TypeError):
                pass  # a text column this reader does not know; leave it as read
    return frame, present


def _missing(value) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def load_results(root: str | Path) -> Results:
    """Read ``root``; raises :class:`ResultsError` naming the first missing or broken file."""
    root = Path(root)
    if not root.is_dir():
        raise ResultsError(f"{root}: no such results directory")
    run_path = root / "run.json"
    if not run_path.is_file():
        raise ResultsError(f"{run_path}: missing (not a results directory: run.json is required)")
    try:
        run = json.loads(run_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultsError(f"{run_path}: not valid JSON ({exc})") from exc
    if not isinstance(run, dict):
        raise ResultsError(f"{run_path}: expected a JSON object")
    metrics_path = root / "metrics.csv"
    if not metrics_path.is_file():
        raise ResultsError(f"{metrics_path}: missing (the runner writes it; rerun the suite)")
    metrics, _ = read_table(metrics_path, METRICS_COLUMNS)
    metrics["value"] = pd.to_numeric(metrics["value"], errors="coerce")

    absent = []
    if metrics.empty:
        absent.append("metrics.csv has no rows: no accuracy tables or figures.")
    tables = {}
    for name, cols, what in (
        ("models.csv", MODELS_COLUMNS, "no parameter counts, no skipped-model list"),
        ("relax.csv", RELAX_COLUMNS, "no relaxation table (relaxations were off or none ran)"),
        ("timing.csv", TIMING_COLUMNS, "no timing table and no scaling figure"),
    ):
        path = root / name
        tables[name], present = read_table(path, cols)
        if not present:
            state = "is empty" if path.exists() else "is absent"
            absent.append(f"`{name}` {state}: {what}.")
    preds = []
    pred_dir = root / "predictions"
    if pred_dir.is_dir():
        preds = [PredictionFile.read(p) for p in sorted(pred_dir.glob("*.npz"))]
    if not preds:
        absent.append(
            "`predictions/` has no prediction files: "
            "no scatter plots and no angle-error distributions."
        )
    learning, _ = read_table(root / "learning.csv", LEARNING_COLUMNS)
    speed, _ = read_table(root / "speed.csv", SPEED_COLUMNS)
    return Results(
        root=root,
        run=run,
        metrics=metrics,
        models=tables["models.csv"],
        relax=tables["relax.csv"],
        timing=tables["timing.csv"],
        predictions=preds,
        absent=absent,
        learning=learning,
        speed=speed,
    )
