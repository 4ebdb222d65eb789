"""Timing: inference per structure side by side, a scaling sweep, and training epoch times read
from the trainers' logs (the measuring itself: benchmarks/timers.py)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from baselines.family import TrainedJob
from baselines.interface import ForceField

log = logging.getLogger(__name__)


def _timing_row(label: str, family: str, result) -> dict:
    row = result.as_dict()
    return {"model": label, "family": family} | row


def timing_rows(ff: ForceField, label: str, timing, seed: int) -> list[dict]:
    """Inference per structure at ``timing.sizes`` (task "inference"), then the scaling sweep
    over ``timing.scaling`` (task "scaling"); sizes are k x k x k Si supercells (8 k^3 atoms)."""
    from benchmarks.timers import scaling_frames, time_inference, time_scaling

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
        for res in time_scaling(
            sweep,
            timing.scaling,
            repeats=timing.scaling_repeats,
            seed=seed,
            max_rss_mb=timing.scaling_max_rss_mb,
        ):
            res.note = "; ".join(x for x in (note, res.note) if x)
            rows.append(_timing_row(label, ff.info.family, res))
    return rows


def training_rows(label: str, family: str, jobs: Sequence[TrainedJob]) -> list[dict]:
    """Per-epoch training time of each train job (task "train:<kind>"), from the log its
    trainer names (ADAPT's metrics.jsonl, MACE's mace.json sidecar)."""
    from baselines.registry import trainer
    from benchmarks.timers import time_training_epochs

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
