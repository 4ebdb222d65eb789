"""A suite's models as one run finds them: trained (cached) and loaded, skipped or failed.

A model that cannot be loaded here (missing package or checkpoint) is "skipped" with the
loader's one-line reason; one whose training or loading raised is "failed" with the error. Either
way it is a models.csv row, never a crash of the run.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from baselines.interface import ForceField, ModelUnavailable
from benchmarks.data.dataset import Dataset
from benchmarks.provenance import package_versions
from benchmarks.results import digest
from benchmarks.suite import ModelEntry, Suite

log = logging.getLogger(__name__)


@dataclass
class ModelSlot:
    """A suite model as this run found it: loaded (status ok), skipped or failed."""

    entry: ModelEntry
    spec: str | None = None
    ff: ForceField | None = None
    status: str = "ok"  # ok | skipped | failed
    reason: str = ""
    jobs: tuple = ()  # ((TrainJob, output path), ...) of a trained entry
    key: str = ""  # model identity for cache keys

    @property
    def label(self) -> str:
        return self.entry.name


def model_key(ff: ForceField, train_data: Dataset | None) -> str:
    """What identifies a loaded model's predictions (no paths: a moved file keeps its key)."""
    info = ff.info
    material = {
        k: getattr(info, k)
        for k in ("family", "name", "n_params", "dtype", "device", "level_of_theory")
        + ("conservative", "predicts_energy", "predicts_forces", "checkpoint_sha256")
    }
    if info.checkpoint_sha256 is None:  # weights inside a package (CHGNet): spec + versions
        material["spec"] = info.spec
        material["extra"] = {k: str(v) for k, v in sorted(info.extra.items())}
    material["train_data"] = train_data.sha256 if train_data is not None else None
    material["versions"] = package_versions(("torch", _FAMILY_PACKAGE.get(info.family, "torch")))
    return digest(material)[:20]


_FAMILY_PACKAGE = {"mace": "mace-torch", "mattersim": "mattersim", "chgnet": "chgnet"}


def prepare_model(
    entry: ModelEntry, datasets: dict[str, Dataset], suite: Suite, train_root: Path
) -> ModelSlot:
    """Train (cached) and load one suite model; never raises for an unusable model."""
    from baselines.registry import LoadContext, load_model
    from benchmarks.training import train_entry

    slot = ModelSlot(entry, spec=entry.spec)
    data = datasets[entry.data] if entry.data else next(iter(datasets.values()))
    t0 = time.perf_counter()
    try:
        if entry.train:
            trained = train_entry(entry, data, train_root, suite.device, suite.seed)
            slot.spec, slot.jobs = trained.spec, trained.jobs
        slot.ff = load_model(slot.spec, LoadContext(device=suite.device, train_data=data))
        slot.key = model_key(slot.ff, data)
    except ModelUnavailable as exc:
        slot.status, slot.reason = "skipped", str(exc)
        log.warning("%s: skipped: %s", entry.name, exc)
    except Exception as exc:  # noqa: BLE001 - one broken model must not stop the others
        slot.status, slot.reason = "failed", one_line(f"{type(exc).__name__}: {exc}")
        log.error("%s: failed to train/load: %s", entry.name, slot.reason, exc_info=True)
    log.info("model %s: %s (%.1f s)", entry.name, slot.status, time.perf_counter() - t0)
    return slot


def one_line(text: str, limit: int = 400) -> str:
    """A multi-line error as one line: its first and last lines (a traceback's cause)."""
    lines = [x.strip() for x in str(text).splitlines() if x.strip()]
    if len(lines) > 2:
        lines = [lines[0], "...", lines[-1]]
    out = " ".join(lines)
    return out if len(out) <= limit else out[: limit - 3] + "..."


def models_row(slot: ModelSlot) -> dict:
    overrides = {k: v for job in slot.entry.train for k, v in job.overrides}
    row = {
        "name": slot.label,
        "spec": slot.spec or "",
        "group": slot.entry.group,
        "status": slot.status,
        "reason": slot.reason,
        "train": ";".join(f"{j.kind}:{j.preset}:{j.epochs or ''}" for j in slot.entry.train),
    }
    if any(j.kind.startswith("adapt-") for j in slot.entry.train):
        row["adapt_arch"] = overrides.get("variant", "paper")  # docs/adapt-variants.md
    if slot.entry.group == "energy_architectures":
        row["energy_arch"] = overrides.get("arch", "mlp_residual")
    if slot.entry.group == "attention_radius":
        row["attention_radius"] = overrides.get("attention_radius", "full")
        row["allowed_interactions"] = _allowed_interactions(slot)
    if slot.ff is not None:
        info = slot.ff.info.as_dict()
        extra = info.pop("extra")
        row |= {"display_name": info.pop("name")} | info | {"spec": slot.spec, "extra": extra}
    return row


def _allowed_interactions(slot: ModelSlot) -> float | None:
    """% of atom pairs inside the attention radius (recorded in the force checkpoint)."""

    for job, path in slot.jobs:
        meta = Path(path) / "checkpoint.json"
        if job.kind == "adapt-force" and meta.is_file():
            frac = json.loads(meta.read_text()).get("allowed_interactions")
            return None if frac is None else 100.0 * float(frac)
    return None
