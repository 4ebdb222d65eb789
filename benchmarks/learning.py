"""Learning curves: each trained model retrained on nested subsets of the train split.

For every fraction f of :class:`LearningSettings` (default 1/8, 1/4, 1/2, all), the train
trajectories are cut by :func:`benchmarks.data.subsets.nested_train_subsets` (seeded, nested,
whole trajectories), written as a subset dataset (val and test whole), the model entry's train
jobs are run on it exactly as for the main table (same presets, same caches), and the model is
scored on the *full* dataset's test frames, so every point of a curve is evaluated on the same
frames. One row per (model, fraction):

    fraction, n_train_trajectories, n_train_frames
    train_s          sum over the entry's train jobs of their per-epoch training times (s), read
                     from the trainers' logs (ADAPT metrics.jsonl, MACE mace.json), so a cached
                     run reports the time it took when it ran
    force_mae        eV/Å, test split, ``selection`` frames (metrics.force_mae)
    energy_mae       eV per structure; energy_mae_per_atom meV/atom
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from benchmarks.data.dataset import Dataset
from benchmarks.data.subsets import DEFAULT_FRACTIONS, nested_train_subsets, subset_dataset

log = logging.getLogger(__name__)

LEARNING_METRICS = ("force_mae", "energy_mae", "energy_mae_per_atom")


@dataclass(frozen=True)
class LearningSettings:
    fractions: tuple[float, ...] = DEFAULT_FRACTIONS  # of the train trajectories, in (0, 1]
    seed: int = 0  # of the subset permutation (not of the training)
    split: str = "test"
    selection: str = "early"


def subsets(dataset: Dataset, settings: LearningSettings, root: Path) -> list[tuple[float, Dataset]]:
    """[(fraction, subset dataset)] in increasing size; the full fraction is ``dataset`` itself."""
    chosen = nested_train_subsets(dataset, settings.fractions, settings.seed)
    n_all = len(dataset.records("train"))
    out = []
    for frac, ids in chosen.items():
        if len(ids) == n_all:
            out.append((frac, dataset))
            continue
        where = root / f"{dataset.sha256[:16]}-s{settings.seed}-{len(ids)}of{n_all}"
        out.append((frac, subset_dataset(dataset, ids, where)))
    return out


def train_seconds(jobs) -> float:
    """Σ per-epoch training time (s) over an entry's trained jobs [(job, output path)]."""
    from benchmarks.timing import time_training_epochs

    total = 0.0
    for _job, out in jobs:
        out = Path(out)
        log_file = out.parent / "mace.json" if out.is_file() else out / "metrics.jsonl"
        total += time_training_epochs(log_file)["total_s"]
    return total


def learning_row(
    label: str, family: str, dataset: Dataset, subset: Dataset, fraction: float, ff, jobs,
    settings: LearningSettings,
) -> dict:  # fmt: skip
    """One point of a learning curve: ``ff`` (trained on ``subset``) scored on ``dataset``."""
    from benchmarks.units import evaluate

    _, rows = evaluate(ff, dataset, settings.split, settings.selection, label=label)
    by = {(r["subset"], r["metric"]): r["value"] for r in rows}
    return {
        "model": label,
        "family": family,
        "dataset": dataset.name,
        "split": settings.split,
        "selection": settings.selection,
        "fraction": fraction,
        "n_train_trajectories": len(subset.records("train")),
        "n_train_frames": sum(r.n_frames for r in subset.records("train")),
        "train_s": train_seconds(jobs),
        **{m: by.get(("all", m), float("nan")) for m in LEARNING_METRICS},
        "subset_sha256": subset.sha256,
    }
