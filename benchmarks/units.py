"""The work units of a benchmark run, each a plain function of a model and a dataset.

    evaluate      predict a split's selected frames -> PredictionSet + tidy metric rows
    energy_refs   per-element reference energies fitted on the train split (model and labels),
                  for models trained on another level of theory
    relax_row     relax a test trajectory's first frame, compare with its reference final frame
    timing_rows   inference per structure at fixed sizes, a scaling sweep, training epoch times

The runner (benchmarks/runner.py) caches each unit's result; `adapt-bench eval` calls
:func:`evaluate` directly. Units never write files.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import numpy as np
from ase import Atoms

from baselines.family import TrainedJob
from baselines.interface import ForceField, ModelInfo
from benchmarks.data.dataset import Dataset, TrajectoryRecord

log = logging.getLogger(__name__)

# Modules whose code (with everything of ours they import: benchmarks.source_hash) makes each
# task's result; the model family's module is added per model (benchmarks.plan).
EVAL_CODE = ("benchmarks.units",)
RELAX_CODE = ("benchmarks.units",)
TIMING_CODE = ("benchmarks.units",)


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


def relax_targets(dataset: Dataset, limit: int | None) -> list[TrajectoryRecord]:
    """The held-out test trajectories to relax: all, or ``limit`` of them taken round-robin
    over defect kinds (ids in order within a kind) so that every kind is represented."""
    recs = sorted(dataset.records("test"), key=lambda r: r.id)
    if limit is None or len(recs) <= limit:
        return recs
    kinds: dict[str, list[TrajectoryRecord]] = {}
    for r in recs:
        kinds.setdefault(r.defect.kind, []).append(r)
    out: list[TrajectoryRecord] = []
    while len(out) < limit:
        for group in kinds.values():
            if group and len(out) < limit:
                out.append(group.pop(0))
    return sorted(out, key=lambda r: r.id)


def relax_row(
    ff: ForceField, label: str, dataset: Dataset, rec: TrajectoryRecord, settings
) -> dict:
    """Relax the trajectory's first frame with the model; compare with its last frame.

    Forces only (no energy line search) unless the model's forces are the gradient of its
    own energy. Structure comparisons are left empty when the run exploded or failed.
    """
    from benchmarks.relax import relax
    from benchmarks.structure_compare import compare_structures

    first, last = dataset.read(rec, [0, rec.n_frames - 1])
    use_energy = ff.info.conservative and ff.info.predicts_energy
    res = relax(first, ff.calculator(), settings, use_energy=use_energy)
    cmp = {k: math.nan for k in ("soap_similarity", "soap_similarity_defect", "delta_q", "rmsd")}
    message = res.message
    if res.outcome in ("converged", "not_converged"):
        try:
            cmp = compare_structures(res.atoms, last, defect=rec.defect)
        except Exception as exc:  # noqa: BLE001 - a failed comparison is recorded, not fatal
            message = f"comparison failed: {type(exc).__name__}: {exc}"
    return {
        "model": label,
        "family": ff.info.family,
        "dataset": dataset.name,
        "traj_id": rec.id,
        "defect_kind": rec.defect.kind,
        "outcome": res.outcome,
        "steps": res.steps,
        "wall_s": res.wall_s,
        "final_fmax": res.final_fmax if math.isfinite(res.final_fmax) else math.nan,
        "soap_similarity": cmp["soap_similarity"],
        "soap_similarity_defect": cmp["soap_similarity_defect"],
        "delta_q": cmp["delta_q"],
        "rmsd": cmp["rmsd"],
        "optimizer": settings.optimizer,
        "fmax_target": settings.fmax,
        "max_steps": settings.max_steps,
        "use_energy": use_energy,
        "message": message,
    }


def _timing_row(label: str, family: str, result) -> dict:
    row = result.as_dict()
    return {"model": label, "family": family} | row


def timing_rows(ff: ForceField, label: str, timing, seed: int) -> list[dict]:
    """Inference per structure at ``timing.sizes`` (task "inference"), then the scaling sweep
    over ``timing.scaling`` (task "scaling"); sizes are k x k x k Si supercells (8 k^3 atoms)."""
    from benchmarks.timing import scaling_frames, time_inference, time_scaling

    rows = []
    for k, atoms in zip(timing.sizes, scaling_frames(timing.sizes, seed=seed), strict=True):
        try:
            res = time_inference(
                ff,
                [atoms],
                repeats=timing.repeats,
                warmup=timing.warmup,
                batch_size=timing.batch_size,
                seed=seed + k,
            )
        except Exception as exc:  # noqa: BLE001 - e.g. a structure beyond the model's size limit
            log.warning("timing: %s failed at %d atoms: %s", label, len(atoms), exc)
            continue
        rows.append(_timing_row(label, ff.info.family, res))
    if timing.scaling:
        sweep, note = ff.sized_for(8 * max(timing.scaling) ** 3)
        for res in time_scaling(sweep, timing.scaling, repeats=timing.scaling_repeats, seed=seed):
            res.note = "; ".join(x for x in (note, res.note) if x)
            rows.append(_timing_row(label, ff.info.family, res))
    return rows


def training_rows(label: str, family: str, jobs: Sequence[TrainedJob]) -> list[dict]:
    """Per-epoch training time of each train job (task "train:<kind>"), from the log its
    trainer names (ADAPT's metrics.jsonl, MACE's mace.json sidecar)."""
    from baselines.registry import trainer
    from benchmarks.timing import time_training_epochs

    rows = []
    for job in jobs:
        kind = job.kind
        log_file = trainer(kind)[1].epoch_log(job.output)
        if not log_file.is_file():
            log.warning("%s: no training log at %s: no epoch times", label, log_file)
            continue
        try:
            t = time_training_epochs(log_file)
        except ValueError as exc:
            log.warning("%s: %s", label, exc)
            continue
        fps = t["median_frames_per_s"]
        rows.append(
            {
                "model": label,
                "family": family,
                "task": f"train:{kind}",
                "batch": math.nan,
                "repeats": t["n_epochs"],
                "median_s": t["median_epoch_s"],
                "per_structure_s": 1.0 / fps if fps and math.isfinite(fps) else math.nan,
                "frames_per_s": fps,
                "total_s": t["total_s"],
                "device": t["device"],
                "hardware": t["hardware"],
                "comparable_within": "one training run",
            }
        )
    return rows
