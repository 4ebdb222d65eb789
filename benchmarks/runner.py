"""Run a suite: every model on every dataset, into one results directory.

For each model x dataset (x split x selection) the runner predicts and scores (metrics.csv,
predictions/*.npz), relaxes the first frame of each held-out test trajectory (relax.csv), times
every model side by side (timing.csv), lists the models with their status (models.csv), records
the suite and provenance (run.json). The report is drawn from these files by reports/ (the
`run` command in reports/cli.py calls both).

Each unit of work is cached in OUT/.cache (benchmarks.results), keyed by the model's identity
(spec family + checkpoint sha256, or the package version when there is no file), the dataset's
content sha256, the settings and the code version: a rerun recomputes only what changed, and an
interrupted run resumes where it stopped. A model that cannot be loaded here is a models.csv row
with status "skipped" and the reason; a unit that fails is logged, listed in run.json and
retried on the next run, never a crash of the whole run.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from adapt.fileio import write_json
from baselines.paths import cache_dir, progress_enabled
from baselines.registry import FAMILY_MODULES
from benchmarks.data.dataset import Dataset
from benchmarks.plan import Unit, plan_units
from benchmarks.provenance import Provenance
from benchmarks.results import ResultsDir
from benchmarks.slots import ModelSlot, models_row, one_line, prepare_model
from benchmarks.source_hash import code_version
from benchmarks.suite import Suite, SuiteError
from benchmarks.units import training_rows

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    out: Path
    computed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


# ---------------------------------------------------------------- datasets and models


def load_datasets(suite: Suite) -> dict[str, Dataset]:
    """The suite's datasets; a missing directory is a SuiteError saying what to place where."""
    with _threads_kept():
        return _load_datasets(suite)


@contextmanager
def _threads_kept():
    """Undo thread limits that dataset generation sets for its own workers (BLAS env vars,
    torch threads), so training subprocesses and timings get every core."""
    import torch

    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    env = {k: os.environ.get(k) for k in names}
    n = torch.get_num_threads()
    try:
        yield
    finally:
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        torch.set_num_threads(n)


def _load_datasets(suite: Suite) -> dict[str, Dataset]:
    out = {}
    for d in suite.datasets:
        if d.path is None:
            from benchmarks.data.default import default_dataset

            out[d.name] = default_dataset(progress=progress_enabled())
            continue
        if not (d.path / "manifest.json").is_file():
            hint = d.missing or (
                "make one with `adapt-bench data generate --out DIR` or "
                "`adapt-bench data import SRC --out DIR`"
            )
            raise SuiteError(f"{suite.source}: dataset {d.name!r}: {d.path} not found. {hint}")
        out[d.name] = Dataset(d.path)
    return out


# ---------------------------------------------------------------- the run


def run_suite(suite: Suite, out: str | Path, *, train_root: str | Path | None = None) -> RunSummary:
    """Run every unit of ``suite`` into ``out`` (cached units are reused); returns a summary."""
    import torch

    out = Path(out)
    results = ResultsDir(out)
    summary = RunSummary(out)
    prov = Provenance(device=suite.device, seed=suite.seed)
    train_root = Path(train_root) if train_root else cache_dir() / "trained"
    if suite.device.startswith("cuda") and not torch.cuda.is_available():
        raise SuiteError(
            f"{suite.source}: device {suite.device!r} but torch sees no CUDA device here; "
            "run with --device cpu (slow for the paper suite) or on a machine with a GPU"
        )
    torch.manual_seed(suite.seed)
    log.info("suite %s -> %s (device %s)", suite.name, out, suite.device)

    datasets = load_datasets(suite)
    state = {"status": "running"}

    def write_run_json(slots: list[ModelSlot]) -> None:
        write_json(
            results.path("run.json"),
            {
                "status": state["status"],
                "suite": suite.as_dict(),
                "provenance": prov.as_dict(),
                "code_version": code_version("benchmarks.runner", *FAMILY_MODULES.values()),
                "datasets": [_dataset_facts(d, datasets[d.name]) for d in suite.datasets],
                "models": [
                    {"name": s.label, "spec": s.spec, "status": s.status, "reason": s.reason}
                    for s in slots
                ],
                "units": {
                    "computed": len(summary.computed),
                    "cached": len(summary.cached),
                    "failed": [{"unit": n, "error": e} for n, e in summary.failed],
                },
            },
        )

    write_run_json([])
    slots: list[ModelSlot] = []
    try:
        for entry in suite.models:
            slots.append(prepare_model(entry, datasets, suite, train_root))
    except BaseException:  # interrupted while training: finished jobs resume next time
        state["status"] = "interrupted"
        write_run_json(slots)
        raise
    summary.failed += [(f"model {s.label}", s.reason) for s in slots if s.status == "failed"]
    results.write_table("models.csv", [models_row(s) for s in slots])
    write_run_json(slots)

    units = plan_units(slots, datasets, suite, results, prov.run_id, train_root)
    rows: dict[str, list[dict]] = {"metrics": [], "relax": [], "timing": [], "learning": []}
    try:
        for unit in _progress(units):
            unit_rows = _execute(unit, results, summary)
            if unit.on_done is not None:
                unit.on_done(unit_rows)
            if unit.task in rows:
                rows[unit.task].extend(unit_rows)
        if "timing" in suite.tasks:
            for slot in slots:
                if slot.status == "ok" and slot.jobs:
                    for row in training_rows(slot.label, slot.ff.info.family, slot.jobs):
                        rows["timing"].append(_fill_hardware(row, suite.device))
    except BaseException:
        state["status"] = "interrupted"
        _write_tables(results, rows)
        write_run_json(slots)
        raise
    _write_tables(results, rows)
    prov.finish()
    state["status"] = "complete" if summary.ok else "complete_with_failures"
    write_run_json(slots)
    summary.wall_s = prov.wall_s or 0.0
    log.info(
        "suite %s done in %.0f s: %d units computed, %d cached, %d failed",
        suite.name,
        summary.wall_s,
        len(summary.computed),
        len(summary.cached),
        len(summary.failed),
    )
    return summary


def _execute(unit: Unit, results: ResultsDir, summary: RunSummary) -> list[dict]:
    key = unit.key
    entry = results.cached(unit.task, key)
    if entry is not None:
        summary.cached.append(unit.name)
        log.info("%s: cached", unit.name)
        return entry["rows"]
    t0 = time.perf_counter()
    try:
        rows, files = unit.compute()
    except Exception as exc:  # noqa: BLE001 - recorded, retried on the next run
        reason = one_line(f"{type(exc).__name__}: {exc}")
        summary.failed.append((unit.name, reason))
        log.error("%s: failed after %.1f s: %s", unit.name, time.perf_counter() - t0, reason)
        log.debug("traceback", exc_info=True)
        return []
    entry = results.store(unit.task, key, unit.material, rows, files)
    summary.computed.append(unit.name)
    log.info("%s: %.1f s", unit.name, time.perf_counter() - t0)
    return entry["rows"]


def _fill_hardware(row: dict, device: str) -> dict:
    """Training logs that do not name their device/hardware: this machine's (they were made
    here unless the cache was copied)."""
    from benchmarks.timing import hardware_string

    if not row.get("device"):
        row["device"] = device
    if not row.get("hardware"):
        row["hardware"] = hardware_string(row["device"])
    return row


def _write_tables(results: ResultsDir, rows: dict[str, list[dict]]) -> None:
    for task, table in (
        ("metrics", "metrics.csv"),
        ("relax", "relax.csv"),
        ("timing", "timing.csv"),
    ):
        results.write_table(table, rows[task])
    if rows.get("learning"):  # only runs with the learning task have learning curves
        results.write_table("learning.csv", rows["learning"])


def _progress(units: list[Unit]):
    if not progress_enabled() or not units:
        return units
    from tqdm.auto import tqdm

    return tqdm(units, desc="units", unit="unit")


def _dataset_facts(entry, ds: Dataset) -> dict:
    recs = ds.records("all")
    splits: dict[str, int] = {}
    for r in recs:
        splits[str(r.split)] = splits.get(str(r.split), 0) + 1
    return {
        "name": ds.name,
        "suite_name": entry.name,
        "source": entry.source,
        "path": str(ds.root.resolve()),
        "sha256": ds.sha256,
        "level_of_theory": ds.level_of_theory,
        "n_trajectories": len(recs),
        "n_frames": sum(r.n_frames for r in recs),
        "trajectories_per_split": splits,
    }
