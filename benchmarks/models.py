"""A suite's models as one run finds them: trained (cached) and loaded, skipped or failed.

A model that cannot be loaded here (missing package or checkpoint) is "skipped" with the
loader's one-line reason; one whose training or loading raised is "failed" with the error. Either
way it is a models.csv row, never a crash of the run.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from adapt.fileio import digest
from baselines.interface import ForceField, ModelUnavailable
from baselines.registry import family, parse_spec, trainer
from benchmarks.data.dataset import Dataset
from benchmarks.provenance import package_versions
from benchmarks.suite import ModelEntry, Suite

log = logging.getLogger(__name__)


@dataclass
class SuiteModel:
    """A suite model as this run found it: loaded (status ok), skipped or failed."""

    entry: ModelEntry
    spec: str | None = None
    ff: ForceField | None = None
    status: str = "ok"  # ok | skipped | failed
    reason: str = ""
    jobs: tuple = ()  # TrainedJob, ... of a trained entry
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
    material["versions"] = package_versions(("torch", *family(info.family).packages))
    return digest(material)[:20]


def prepare_model(
    entry: ModelEntry, datasets: dict[str, Dataset], suite: Suite, train_root: Path
) -> SuiteModel:
    """Train (cached) and load one suite model; never raises for an unusable model."""
    from baselines.registry import LoadContext, load_model
    from benchmarks.training import train_entry

    model = SuiteModel(entry, spec=entry.spec)
    data = datasets[entry.data] if entry.data else next(iter(datasets.values()))
    t0 = time.perf_counter()
    try:
        if entry.train:
            trained = train_entry(entry, data, train_root, suite.device, suite.seed)
            model.spec, model.jobs = trained.spec, trained.jobs
        model.ff = load_model(model.spec, LoadContext(device=suite.device, train_data=data))
        model.key = model_key(model.ff, data)
    except ModelUnavailable as exc:
        model.status, model.reason = "skipped", str(exc)
        log.warning("%s: skipped: %s", entry.name, exc)
    except Exception as exc:  # noqa: BLE001 - one broken model must not stop the others
        model.status, model.reason = "failed", one_line(f"{type(exc).__name__}: {exc}")
        log.error("%s: failed to train/load: %s", entry.name, model.reason, exc_info=True)
    log.info("model %s: %s (%.1f s)", entry.name, model.status, time.perf_counter() - t0)
    return model


def one_line(text: str, limit: int = 400) -> str:
    """A multi-line error as one line: its first and last lines (a traceback's cause)."""
    lines = [x.strip() for x in str(text).splitlines() if x.strip()]
    if len(lines) > 2:
        lines = [lines[0], "...", lines[-1]]
    out = " ".join(lines)
    return out if len(out) <= limit else out[: limit - 3] + "..."


def family_of(model: SuiteModel):
    """The registry's declaration of the model's family (from its spec, or its train block)."""
    if model.spec:
        return family(parse_spec(model.spec)[0])
    return trainer(model.entry.train[0].kind)[0]


def models_row(model: SuiteModel) -> dict:
    """models.csv row: the suite entry, its status, the model's ModelInfo, the family's
    ``origin``/``role`` and the family's extra columns (baselines.family.ReportColumn)."""
    fam = family_of(model)
    options = {k: v for job in model.entry.train for k, v in job.overrides}
    row = {
        "name": model.label,
        "spec": model.spec or "",
        "group": model.entry.group,
        "status": model.status,
        "reason": model.reason,
        "train": ";".join(f"{j.kind}:{j.preset}:{j.epochs or ''}" for j in model.entry.train),
        "origin": fam.origin_of(bool(model.entry.train), model.entry.group),
        "role": fam.role,
    }
    for col in fam.columns:
        if not col.groups or model.entry.group in col.groups:
            row[col.name] = col.value(model.jobs, options)
    if model.ff is not None:
        info = model.ff.info.as_dict()
        extra = info.pop("extra")
        row |= {"display_name": info.pop("name")} | info | {"spec": model.spec, "extra": extra}
    return row
