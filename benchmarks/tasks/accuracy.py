"""Accuracy: a model's predictions on a split's selected frames, and their metric rows.

`adapt-bench eval` (benchmarks/evaluate.py) calls :func:`evaluate` directly; a suite run caches
each call as a step (benchmarks/plan.py).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms

from baselines.interface import ForceField, ModelInfo, Prediction
from benchmarks.data.dataset import Dataset

log = logging.getLogger(__name__)


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
            idx, _predict_or_skip(ff, [frames[i] for i in idx], batch_size), strict=True
        ):
            done[i] = p
            if memo is not None and None not in keys[i]:
                memo[keys[i]] = p
    return [done[i] if i in done else memo[keys[i]] for i in range(len(frames))]


@dataclass(frozen=True)
class Skipped(Prediction):
    """A structure the model cannot take (an element it does not know, more atoms than it
    allows, ...): no prediction, and why."""

    reason: str = ""


def _predict_or_skip(ff: ForceField, frames: list[Atoms], batch_size: int | None) -> list:
    """ff.predict; when the batch is refused (ValueError: a structure the model cannot take),
    frame by frame, each refused frame becoming a :class:`Skipped`."""
    try:
        return ff.predict(frames, batch_size=batch_size)
    except ValueError:
        if len(frames) == 1:
            raise
    out = []
    for atoms in frames:
        try:
            out.append(ff.predict([atoms], batch_size=batch_size)[0])
        except ValueError as exc:
            where = f"{atoms.info.get('traj_id', '?')}:{atoms.info.get('step', '?')}"
            out.append(Skipped(None, None, ("skipped",), f"{where}: {exc}"))
    return out


def energy_refs(
    ff: ForceField,
    dataset: Dataset,
    selection: str,
    batch_size: int | None,
    memo: dict | None = None,
) -> tuple[dict, dict] | None:
    """(refs_model, refs_data): per-element energies (eV/atom) fitted by least squares on the
    train split's ``selection`` frames, once on the model's energies and once on the labels
    (benchmarks.metrics explains the alignment). None when the model predicts no energy or
    the dataset has none."""
    from benchmarks.metrics import fit_element_references

    if not ff.info.predicts_energy or not dataset.has("energy"):
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
    if not frames:
        raise ValueError(
            f"{dataset.root}: nothing to evaluate: no frames in split {split!r} under selection "
            f"{selection!r} (splits here: {', '.join(split_names(dataset))})"
        )
    try:
        preds = predict(ff, frames, batch_size, memo)
    except ValueError as exc:
        if len(frames) > 1:
            raise
        preds = [Skipped(None, None, ("skipped",), str(exc))]
    skipped = [p for p in preds if isinstance(p, Skipped)]
    if len(skipped) == len(frames):
        raise ValueError(
            f"{ff.info.spec}: took none of the {len(frames)} structures of {dataset.name} "
            f"{split}/{selection} (e.g. {skipped[0].reason})"
        )
    if skipped:
        log.warning(
            "%s: skipped %d of %d structures it cannot take (e.g. %s)",
            ff.info.spec, len(skipped), len(frames), skipped[0].reason,
        )  # fmt: skip
        kept = [i for i, p in enumerate(preds) if not isinstance(p, Skipped)]
        frames, preds = [frames[i] for i in kept], [preds[i] for i in kept]
    ps = PredictionSet.from_frames(frames, preds, frame_defects(dataset, frames))
    rows = metric_rows(
        ps,
        model=label,
        family=ff.info.family,
        dataset=dataset.name,
        split=split,
        selection=selection,
        flags=";".join(
            f for f in (run_flags(ff.info, dataset), skipped and f"skipped={len(skipped)}") if f
        ),
        train_energy_refs=refs,
    )
    return ps, rows


def split_names(dataset: Dataset) -> list[str]:
    """The splits a dataset's trajectories carry ("unsplit" when none)."""
    return sorted({r.split or "unsplit" for r in dataset.records()})


def headline_maes(ff: ForceField, dataset: Dataset, label: str) -> dict:
    """{"early"|"all": {"force_mae": eV/Å, "energy_mae": eV}} of ``ff`` on the test split, all
    atoms: the two headline numbers the tuning scripts (scripts/*_sweep.py) compare."""
    out = {}
    for selection in ("early", "all"):
        _, rows = evaluate(ff, dataset, "test", selection, label=label)
        by = {(r["subset"], r["metric"]): r["value"] for r in rows}
        out[selection] = {m: by[("all", m)] for m in ("force_mae", "energy_mae")}
    return out
