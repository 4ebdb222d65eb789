"""Train what a suite evaluates: a model entry's train block -> a registry spec.

Every train job is cached in its own directory, keyed by what determines the trained model
(kind, dataset content sha256, preset, epochs, seed, overrides, code version of the trainer)::

    <root>/adapt-force-<preset>-<key>/     adapt.train.train_adapt("force", ...) output
    <root>/adapt-energy-<preset>-<key>/
    <root>/mace-<preset>-<key>/            baselines.mace_train.train_mace(...) output
    <root>/adapt-<key>/force -> ../adapt-force-...    the run dir `adapt:RUN_DIR` names
    <root>/adapt-<key>/energy -> ../adapt-energy-...

so that two suite entries sharing a job (e.g. the main ADAPT model's force network and the
full-attention row of the attention-radius ablation) train it once. The trainers themselves
return at once when their output is complete and resume an interrupted run.
``<root>`` defaults to ``$ADAPT_BENCH_CACHE/trained`` (baselines.paths.cache_dir()).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.data.dataset import Dataset
from benchmarks.results import code_version, digest
from benchmarks.suite import ModelEntry, TrainJob

log = logging.getLogger(__name__)

TRAINER_CODE = {
    "adapt-force": ("adapt",),
    "adapt-energy": ("adapt",),
    "mace": ("baselines/mace_train.py",),
}


@dataclass(frozen=True)
class Trained:
    """A trained entry: the spec to load, and each job's output directory (for epoch times)."""

    spec: str
    jobs: tuple[tuple[TrainJob, Path], ...]
    wall_s: float


def _package_version(name: str) -> str | None:
    from benchmarks.provenance import package_versions

    return package_versions([name])[name]


def job_key(job: TrainJob, dataset: Dataset, seed: int) -> str:
    material = {
        "kind": job.kind,
        "preset": job.preset,
        "epochs": job.epochs,
        "seed": seed,
        "overrides": job.options,
        "dataset_sha256": dataset.sha256,
        "code": code_version(*TRAINER_CODE[job.kind]),
    }
    if job.kind == "mace":
        material["mace"] = _package_version("mace-torch")
    return digest(material)[:16]


def job_dir(job: TrainJob, dataset: Dataset, root: Path, seed: int) -> Path:
    return root / f"{job.kind}-{job.preset}-{job_key(job, dataset, seed)}"


def job_done(job: TrainJob, out: Path) -> bool:
    """The job's output is complete (the trainer would return at once)."""
    if job.kind == "mace":
        return (out / "mace.json").is_file()
    import json

    from adapt import config

    state = out / "last" / "state.json"
    if not state.is_file():
        return False
    kind = job.kind.removeprefix("adapt-")
    epochs = job.epochs or config.train_preset(kind, job.preset).epochs
    return json.loads(state.read_text()).get("epoch", 0) >= epochs


def _train_job(job: TrainJob, dataset: Dataset, root: Path, device: str, seed: int) -> Path:
    """Train one job (or find it done); returns the trainer's output (checkpoint dir / .model)."""
    out = job_dir(job, dataset, root, seed)
    if job.kind == "mace":
        from baselines.mace_train import train_mace

        if job.options:
            raise ValueError(f"train.mace takes preset/epochs/seed only, got {job.options}")
        return Path(train_mace(dataset, out, job.preset, job.epochs, device, seed))
    from adapt.train import train_adapt
    from baselines.paths import progress_enabled

    kind = job.kind.removeprefix("adapt-")
    return Path(
        train_adapt(
            kind,
            dataset,
            out,
            preset=job.preset,
            epochs=job.epochs,
            device=device,
            seed=seed,
            progress=progress_enabled(),
            **job.options,
        )
    )


def _link(link: Path, target: Path) -> None:
    """``link`` -> ``target`` as a relative symlink (replaced atomically when it differs)."""
    rel = os.path.relpath(target, link.parent)
    if link.is_symlink() and os.readlink(link) == rel:
        return
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(rel, tmp)
    os.replace(tmp, link)


def train_entry(
    entry: ModelEntry, dataset: Dataset, root: Path, device: str, suite_seed: int
) -> Trained:
    """Train (or reuse) every job of ``entry`` on ``dataset``; returns the spec to load."""
    t0 = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    outputs: list[tuple[TrainJob, Path]] = []
    for job in entry.train:
        seed = suite_seed if job.seed is None else job.seed
        log.info(
            "%s: training %s (preset %s) on %s", entry.name, job.kind, job.preset, dataset.name
        )
        outputs.append((job, _train_job(job, dataset, root, device, seed)))
    if entry.train[0].kind == "mace":
        spec = f"mace:{outputs[0][1]}"
    else:
        run = root / ("adapt-" + digest([str(p) for _, p in outputs])[:16])
        run.mkdir(parents=True, exist_ok=True)
        for job, path in outputs:
            _link(run / job.kind.removeprefix("adapt-"), path)
        spec = f"adapt:{run}"
    return Trained(spec=spec, jobs=tuple(outputs), wall_s=time.perf_counter() - t0)
