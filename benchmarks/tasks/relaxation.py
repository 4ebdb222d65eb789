"""Relaxation: each model relaxes the first frame of held-out test trajectories (ASE optimizer,
benchmarks/relax.py); the result is compared with the reference's final frame
(benchmarks/structure_compare.py)."""

from __future__ import annotations

import math

from baselines.interface import ForceField
from benchmarks.data.dataset import Dataset, TrajectoryRecord


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
