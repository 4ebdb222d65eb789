"""Train what a suite evaluates: a model entry's train block -> a registry spec.

Each train-block kind (``adapt-force``, ``mace``, ...) is a :class:`baselines.family.Trainer`
declared by its family module and found through the registry. Every train job is cached in its
own directory, keyed by what determines the trained model (kind, dataset content sha256, preset,
epochs, seed, overrides, the trainer's code and package versions)::

    <root>/<kind>-<preset>-<key>/      the trainer's output (e.g. an ADAPT checkpoint dir)

and the family's ``spec_for`` turns the entry's job outputs into the spec to load (ADAPT links
its force and energy outputs into one run dir). The trainers return at once when their output is
complete and resume an interrupted run. ``<root>`` defaults to ``$ADAPT_BENCH_CACHE/trained``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from adapt.fileio import digest
from baselines.family import TrainedJob
from baselines.registry import trainer
from benchmarks.data.dataset import Dataset
from benchmarks.provenance import package_versions
from benchmarks.source_hash import code_version
from benchmarks.suite import ModelEntry, TrainJob

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trained:
    """A trained entry: the spec to load, and each job's output (for epoch times)."""

    spec: str
    jobs: tuple[TrainedJob, ...]
    wall_s: float


def job_key(job: TrainJob, dataset: Dataset, seed: int) -> str:
    _, t = trainer(job.kind)
    material = {
        "kind": job.kind,
        "preset": job.preset,
        "epochs": job.epochs,
        "seed": seed,
        "overrides": job.options,
        "dataset_sha256": dataset.sha256,
        "code": code_version(t.train.__module__),
    }
    if t.packages:
        material["packages"] = package_versions(t.packages)
    return digest(material)[:16]


def job_dir(job: TrainJob, dataset: Dataset, root: Path, seed: int) -> Path:
    return root / f"{job.kind}-{job.preset}-{job_key(job, dataset, seed)}"


def job_done(job: TrainJob, out: Path) -> bool:
    """The job's output is complete (the trainer would return at once)."""
    return trainer(job.kind)[1].done(out, job.preset, job.epochs)


def train_entry(
    entry: ModelEntry, dataset: Dataset, root: Path, device: str, suite_seed: int
) -> Trained:
    """Train (or reuse) every job of ``entry`` on ``dataset``; returns the spec to load."""
    from baselines.paths import progress_enabled

    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    outputs: list[TrainedJob] = []
    for job in entry.train:
        seed = suite_seed if job.seed is None else job.seed
        log.info(
            "%s: training %s (preset %s) on %s", entry.name, job.kind, job.preset, dataset.name
        )
        _, t = trainer(job.kind)
        out = t.train(
            dataset,
            job_dir(job, dataset, root, seed),
            preset=job.preset,
            epochs=job.epochs,
            device=device,
            seed=seed,
            progress=progress_enabled(),
            **job.options,
        )
        outputs.append(TrainedJob(job.kind, job.preset, job.options, Path(out)))
    family, _ = trainer(entry.train[0].kind)
    spec = family.spec_for(tuple(outputs), root)
    return Trained(spec=spec, jobs=tuple(outputs), wall_s=time.perf_counter() - t0)
