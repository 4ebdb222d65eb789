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

from adapt.fileio import digest
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


def subsets(
    dataset: Dataset, settings: LearningSettings, root: Path
) -> list[tuple[float, Dataset]]:
    """[(fraction, subset dataset)] in increasing size; the full fraction is ``dataset`` itself."""
    chosen = nested_train_subsets(dataset, settings.fractions, settings.seed)
    n_all = len(dataset.records("train"))
    out = []
    for frac, ids in chosen.items():
        if len(ids) == n_all:
            out.append((frac, dataset))
            continue
        # named by the chosen ids: another draw (seed, sampler) never meets this directory
        where = root / f"{dataset.sha256[:16]}-{digest(sorted(ids))[:12]}-{len(ids)}of{n_all}"
        out.append((frac, subset_dataset(dataset, ids, where)))
    return out


def train_seconds(jobs) -> float:
    """Σ per-epoch training time (s) over an entry's trained jobs (baselines.family.TrainedJob),
    from the log each trainer names (ADAPT metrics.jsonl, MACE mace.json)."""
    from baselines.registry import trainer
    from benchmarks.timers import time_training_epochs

    return sum(
        time_training_epochs(trainer(job.kind)[1].epoch_log(job.output))["total_s"] for job in jobs
    )


def learning_row(
    label: str, family: str, dataset: Dataset, subset: Dataset, fraction: float, ff, jobs,
    settings: LearningSettings,
) -> dict:  # fmt: skip
    """One point of a learning curve: ``ff`` (trained on ``subset``) scored on ``dataset``."""
    from benchmarks.tasks.accuracy import evaluate

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


def learning_steps(models, datasets: dict[str, Dataset], suite, train_root: Path, step_cls) -> list:
    """One step per (trained model entry, dataset, fraction): train on the subset (through the
    trained-model cache), score on the full dataset's test frames. Units are keyed by the
    subset's train-job keys (dataset content, preset, epochs, seed, trainer code) and the
    evaluation settings, so a rerun recomputes nothing and a new fraction trains only itself.
    ``models``: the run's benchmarks.models.SuiteModel list; ``step_cls``: benchmarks.plan.Step."""
    from benchmarks.source_hash import code_version
    from benchmarks.training import job_key

    cfg = suite.learning
    settings = LearningSettings(cfg.fractions, cfg.seed, cfg.split, cfg.selection)
    wanted = [
        m
        for m in models
        if m.status == "ok" and m.entry.train and (not cfg.models or m.label in cfg.models)
    ]
    code = code_version("benchmarks.tasks.learning")  # + its imports: accuracy, subsets, training
    steps = []
    for d in suite.datasets:
        ds = datasets[d.name]
        subs = subsets(ds, settings, train_root.parent / "subsets")
        for model in wanted:
            if (model.entry.data or suite.datasets[0].name) != d.name:
                continue  # curves on the dataset the entry trains on
            for frac, sub in subs:
                jobs = [
                    job_key(job, sub, suite.seed if job.seed is None else job.seed)
                    for job in model.entry.train
                ]
                steps.append(
                    step_cls(
                        name=f"learning {model.label} {ds.name} {frac:g}",
                        task="learning",
                        material={
                            "jobs": jobs,
                            "dataset": ds.sha256,
                            "fraction": frac,
                            "settings": settings.__dict__,
                            "code": code,
                        },
                        compute=_learning(model, ds, sub, frac, settings, suite, train_root),
                    )
                )
    return steps


def _learning(model, ds: Dataset, sub: Dataset, frac: float, settings, suite, train_root: Path):
    def run():
        from baselines.registry import LoadContext, load_model
        from benchmarks.training import train_entry

        trained = train_entry(model.entry, sub, train_root, suite.device, suite.seed)
        ff = load_model(trained.spec, LoadContext(device=suite.device, train_data=sub))
        row = learning_row(model.label, ff.info.family, ds, sub, frac, ff, trained.jobs, settings)
        return [row], []

    return run
