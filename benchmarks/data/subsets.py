"""Nested subsets of a dataset's train split, by whole trajectories, for learning curves.

One seeded permutation of the train trajectories (ids sorted first, so the order of the
manifest does not matter) is cut at ceil(fraction x n) for every fraction: each smaller subset
is a prefix of every larger one (nested), a trajectory is never split across subsets, and the
same seed gives the same subsets. Within the permutation, the first trajectory (in permutation
order) that brings an element not yet seen moves to the front, so every subset of at least as
many trajectories as there are elements holds every element of the train split (a model never
meets an element at test time that a smaller subset left out, e.g. MACE refuses such frames). Validation and test splits are kept whole, so every model of a
learning curve is selected on the same validation frames and scored on the same test frames.

:func:`subset_dataset` writes a subset as a dataset directory of its own (trajectory files
hard-linked, or copied across file systems; manifest written last, atomically) that any trainer
takes like the full dataset.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np

from adapt.fileio import write_text_atomic
from benchmarks.data.dataset import Dataset, content_sha256

DEFAULT_FRACTIONS = (0.125, 0.25, 0.5, 1.0)


def nested_train_subsets(
    dataset: Dataset, fractions=DEFAULT_FRACTIONS, seed: int = 0
) -> dict[float, list[str]]:
    """{fraction: train trajectory ids}, nested and seeded (module docstring).

    Fractions must lie in (0, 1]; each subset holds at least one trajectory.
    """
    ids = sorted(r.id for r in dataset.records("train"))
    if not ids:
        raise ValueError(f"{dataset.root}: no train trajectories to subsample")
    bad = [f for f in fractions if not 0 < f <= 1]
    if bad:
        raise ValueError(f"fractions must lie in (0, 1], got {bad}")
    order = [ids[i] for i in np.random.default_rng([seed, 0x5B5E7]).permutation(len(ids))]
    order = _elements_first(dataset, order)
    return {float(f): order[: max(1, math.ceil(f * len(ids) - 1e-9))] for f in sorted(fractions)}


def _elements_first(dataset: Dataset, order: list[str]) -> list[str]:
    """``order`` with, in order, each trajectory that adds a new element moved to the front."""
    by_id = {r.id: r for r in dataset.records("train")}
    seen: set[str] = set()
    first: list[str] = []
    for tid in order:
        (atoms,) = dataset.read(by_id[tid], [0])
        species = set(atoms.get_chemical_symbols())
        if not species <= seen:
            first.append(tid)
            seen |= species
    return first + [t for t in order if t not in set(first)]


def subset_dataset(dataset: Dataset, train_ids: list[str], out_dir: str | Path) -> Dataset:
    """A dataset directory holding ``train_ids`` as its train split plus every val/test
    trajectory of ``dataset``; reused when it already holds exactly that subset."""
    out = Path(out_dir)
    keep = set(train_ids)
    unknown = keep - {r.id for r in dataset.records("train")}
    if unknown:
        raise ValueError(f"not train trajectories of {dataset.root}: {sorted(unknown)}")
    records = tuple(r for r in dataset.records("all") if r.split != "train" or r.id in keep)
    n_train = len(dataset.records("train"))
    extra = {
        "subset_of": {"name": dataset.name, "content_sha256": dataset.sha256},
        "train_trajectories": sorted(keep),
        "train_fraction_of_trajectories": len(keep) / n_train,
    }
    if (out / "manifest.json").is_file():
        done = Dataset(out)
        if done.manifest.extra.get("subset_of") == extra["subset_of"] and sorted(
            done.manifest.extra.get("train_trajectories", [])
        ) == sorted(keep):
            return done
        raise ValueError(f"{out}: holds another dataset; use a new directory")
    for rec in records:
        src, dst = dataset.root / rec.file, out / rec.file
        dst.parent.mkdir(parents=True, exist_ok=True)
        if dst.exists():
            dst.unlink()
        try:
            os.link(src, dst)
        except OSError:  # another file system
            shutil.copyfile(src, dst)
    manifest = replace(
        dataset.manifest,
        name=f"{dataset.name}-train{len(keep)}of{n_train}",
        trajectories=records,
        content_sha256=content_sha256(out, records, dataset.level_of_theory),
        extra={**dataset.manifest.extra, **extra},
    )
    write_text_atomic(out / "manifest.json", json.dumps(json.loads(manifest.to_json()), indent=1))
    return Dataset(out)
