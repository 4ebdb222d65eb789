"""The built-in default dataset: made with the Tersoff reference on first use, then cached.

Location: ``baselines.paths.cache_dir()/datasets/<name>-<settings hash>``; the hash covers the
settings below and ``GENERATOR_VERSION``, so changing either makes a new dataset instead of
reusing a stale one. Generation checkpoints per trajectory: an interrupted first use resumes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

from baselines.paths import cache_dir, progress_enabled
from benchmarks.data.dataset import Dataset

log = logging.getLogger(__name__)

GENERATOR_VERSION = 2  # bump when generate.py/defects.py change what a setting produces


@dataclass(frozen=True)
class DefaultDatasetSettings:
    """Settings of the built-in dataset, sized for the quick suite on 2 CPU cores.

    64-atom cells (supercell 2), 48 trajectories: 36 train / 5 val / 7 test, the test split all
    complex defects. Trajectories start from rattled (0.025-0.075 Å) and bond-distorted
    (±20 %) defects, so early frames carry forces of several eV/Å, and run until
    fmax < 0.01 eV/Å (or 200 steps). About 2,000 frames, ~15 MB, ~10 s to make.
    """

    name: str = "si-defects-tersoff-default"
    reference: str = "tersoff"
    n_trajectories: int = 48
    supercell: int = 2
    seed: int = 0
    fmax: float = 0.01
    max_steps: int = 200

    def digest(self) -> str:
        text = json.dumps({**asdict(self), "generator_version": GENERATOR_VERSION}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


DEFAULT = DefaultDatasetSettings()


def default_dataset_dir(settings: DefaultDatasetSettings = DEFAULT) -> Path:
    return cache_dir() / "datasets" / f"{settings.name}-{settings.digest()}"


def default_dataset(
    progress: bool | None = None, settings: DefaultDatasetSettings = DEFAULT
) -> Dataset:
    """The built-in dataset, generated (with a file lock against concurrent makers) if missing."""
    from benchmarks.data.generate import generate_dataset

    root = default_dataset_dir(settings)
    if (root / "manifest.json").is_file():
        return Dataset(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (root / "manifest.json").is_file():  # made by another process while we waited
            return Dataset(root)
        log.warning("making the built-in dataset in %s (first use)", root)
        return generate_dataset(
            root,
            reference=settings.reference,
            n_trajectories=settings.n_trajectories,
            supercell=settings.supercell,
            seed=settings.seed,
            fmax=settings.fmax,
            max_steps=settings.max_steps,
            name=settings.name,
            progress=progress_enabled() if progress is None else progress,
        )
