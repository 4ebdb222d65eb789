"""Read a results directory (the runner's output) into pandas tables, for the report only.

The schema is the one in docs/design.md ("A results directory"). Required: ``run.json`` and
``metrics.csv``; everything else (``models.csv``, ``relax.csv``, ``timing.csv``,
``predictions/*.npz``) may be absent or empty, and :attr:`Results.absent` then says so in words.
Nothing here computes a metric: reports draw what the runner wrote.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

# the schema's one source: the module that writes results directories
from benchmarks.results import (
    LEARNING_COLUMNS,
    METRICS_COLUMNS,
    MODELS_COLUMNS,
    RELAX_COLUMNS,
    TIMING_COLUMNS,
)

TEXT_COLUMNS = {
    "model", "family", "dataset", "split", "selection", "subset", "metric", "unit", "flags",
    "traj_id", "defect_kind", "outcome", "optimizer", "task", "device", "hardware", "run_id",
    "comparable_within", "spec", "name", "dtype", "level_of_theory", "checkpoint",
    "checkpoint_sha256", "status", "reason", "group", "display_name", "message", "note",
    "mem_method", "extra",
}  # fmt: skip

PREDICTION_ARRAYS = (
    "traj_id",
    "step",
    "n_atoms",
    "energy_ref",
    "energy_pred",
    "forces_ref",
    "forces_pred",
    "symbols",
    "defect_mask",
)  # fmt: skip  (defect_kind and flags, one per structure, are optional)


class ResultsError(RuntimeError):
    """The directory is not a readable results directory; the message names the file."""


@dataclass(frozen=True)
class PredictionFile:
    """One ``predictions/<model-slug>__<dataset>__<split>__<selection>.npz``."""

    path: Path
    slug: str
    dataset: str
    split: str
    selection: str

    def load(self) -> dict[str, np.ndarray]:
        """The arrays (no pickles). Optional per-structure arrays are filled in when absent."""
        with np.load(self.path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
        missing = [k for k in PREDICTION_ARRAYS if k not in data]
        if missing:
            raise ResultsError(f"{self.path}: missing arrays {', '.join(missing)}")
        m = len(data["traj_id"])
        data.setdefault("defect_kind", np.full(m, "", dtype="<U1"))
        data.setdefault("flags", np.full(m, "", dtype="<U1"))
        data["energy_pred"] = np.asarray(data["energy_pred"], dtype=float)
        data["energy_ref"] = np.asarray(data["energy_ref"], dtype=float)
        data["forces_ref"] = np.asarray(data["forces_ref"], dtype=float).reshape(-1, 3)
        data["forces_pred"] = np.asarray(data["forces_pred"], dtype=float).reshape(-1, 3)
        data["defect_mask"] = np.asarray(data["defect_mask"], dtype=bool)
        return data


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

    def model_for_slug(self, slug: str) -> str:
        """The model name whose slug is ``slug`` (compared on lower-case letters and digits)."""
        key = _squash(slug)
        names = list(dict.fromkeys([*self.metrics["model"], *self.models["name"]]))
        for name in names:
            if _squash(str(name)) == key:
                return str(name)
        return slug

    def predictions_for(
        self, dataset: str, split: str, selection: str
    ) -> dict[str, PredictionFile]:
        """Model name -> prediction file of that dataset, split and selection (names slugged)."""
        want = (_squash(dataset), _squash(split), _squash(selection))
        return {
            self.model_for_slug(p.slug): p
            for p in self.predictions
            if (_squash(p.dataset), _squash(p.split), _squash(p.selection)) == want
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


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _read_csv(path: Path, columns: list[str]) -> tuple[pd.DataFrame, bool]:
    """(table with at least ``columns``, was_it_there_with_rows)."""
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


def _parse_prediction_name(path: Path) -> PredictionFile | None:
    parts = path.stem.split("__")
    if len(parts) != 4:
        return None
    return PredictionFile(path, *parts)


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
    metrics, _ = _read_csv(metrics_path, METRICS_COLUMNS)
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
        tables[name], present = _read_csv(path, cols)
        if not present:
            state = "is empty" if path.exists() else "is absent"
            absent.append(f"`{name}` {state}: {what}.")
    preds = []
    pred_dir = root / "predictions"
    if pred_dir.is_dir():
        preds = [p for p in map(_parse_prediction_name, sorted(pred_dir.glob("*.npz"))) if p]
    if not preds:
        absent.append(
            "`predictions/` has no `<model>__<dataset>__<split>__<selection>.npz` files: "
            "no scatter plots and no angle-error distributions."
        )
    learning, _ = _read_csv(root / "learning.csv", LEARNING_COLUMNS)
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
    )
