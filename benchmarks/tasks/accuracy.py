"""Accuracy: a model's predictions on a split's selected frames, and their metric rows.

`adapt-bench eval` (benchmarks/evaluate.py) calls :func:`evaluate` directly; a suite run caches
each call as a step (benchmarks/plan.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from ase import Atoms

from baselines.interface import ForceField, ModelInfo
from benchmarks.data.dataset import Dataset


def lot_mismatch(info: ModelInfo, dataset: Dataset) -> bool:
    """The model was trained on another level of theory than the dataset's labels."""
    return info.level_of_theory.strip().lower() != dataset.level_of_theory.strip().lower()


def run_flags(info: ModelInfo, dataset: Dataset) -> str:
    return "lot_mismatch" if lot_mismatch(info, dataset) else ""


def frame_defects(dataset: Dataset, frames: Sequence[Atoms]):
    """Each frame's trajectory Defect (from the manifest, by atoms.info['traj_id'])."""
    by_id = {r.id: r.defect for r in dataset.records("all")}
    return [by_id[str(a.info["traj_id"])] for a in frames]


def predict(
    ff: ForceField,
    frames: Sequence[Atoms],
    batch_size: int | None,
    memo: dict | None = None,
    chunk: int = 64,
):
    """ff.predict in chunks (bounded memory). With ``memo`` ((traj_id, step) -> Prediction,
    for one model and one dataset), frames predicted before are not predicted again."""
    keys = [(a.info.get("traj_id"), a.info.get("step")) for a in frames]
    todo = [i for i, k in enumerate(keys) if memo is None or None in k or k not in memo]
    done = {}
    for start in range(0, len(todo), chunk):
        idx = todo[start : start + chunk]
        for i, p in zip(
            idx, ff.predict([frames[i] for i in idx], batch_size=batch_size), strict=True
        ):
            done[i] = p
            if memo is not None and None not in keys[i]:
                memo[keys[i]] = p
    return [done[i] if i in done else memo[keys[i]] for i in range(len(frames))]


def energy_refs(
    ff: ForceField,
    dataset: Dataset,
    selection: str,
    batch_size: int | None,
    memo: dict | None = None,
) -> tuple[dict, dict] | None:
    """(refs_model, refs_data): per-element energies (eV/atom) fitted by least squares on the
    train split's ``selection`` frames, once on the model's energies and once on the labels
    (benchmarks.metrics explains the alignment). None when the model predicts no energy."""
    from benchmarks.metrics import fit_element_references

    if not ff.info.predicts_energy:
        return None
    frames = dataset.frames("train", selection)
    if not frames:
        return None
    preds = predict(ff, frames, batch_size, memo)
    symbols = [a.get_chemical_symbols() for a in frames]
    e_model = np.array([math.nan if p.energy is None else p.energy for p in preds], float)
    e_data = np.array([a.get_potential_energy() for a in frames], float)
    return fit_element_references(symbols, e_model), fit_element_references(symbols, e_data)


def evaluate(
    ff: ForceField,
    dataset: Dataset,
    split: str,
    selection: str,
    *,
    label: str,
    frames: Sequence[Atoms] | None = None,
    batch_size: int | None = None,
    refs: tuple[dict, dict] | None = None,
    memo: dict | None = None,
):
    """(PredictionSet, metric rows) of one model on one split under one frame selection
    (``memo``: see :func:`predict`)."""
    from benchmarks.metrics import metric_rows
    from benchmarks.predictions import PredictionSet

    if frames is None:
        frames = dataset.frames(split, selection)
    preds = predict(ff, frames, batch_size, memo)
    ps = PredictionSet.from_frames(frames, preds, frame_defects(dataset, frames))
    rows = metric_rows(
        ps,
        model=label,
        family=ff.info.family,
        dataset=dataset.name,
        split=split,
        selection=selection,
        flags=run_flags(ff.info, dataset),
        train_energy_refs=refs,
    )
    return ps, rows
