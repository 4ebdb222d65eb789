"""Run a suite: every model on every dataset, into one results directory.

For each model x dataset (x split x selection) the runner predicts and scores (metrics.csv,
predictions/*.npz), relaxes the first frame of each held-out test trajectory (relax.csv), times
every model side by side (timing.csv), lists the models with their status (models.csv), records
the suite and provenance (run.json). The report is drawn from these files by reports/ (the
`run` command in reports/cli.py calls both).

Each step of work is cached in OUT/.cache (benchmarks.results), keyed by the model's identity
(spec family + checkpoint sha256, or the package version when there is no file), the dataset's
content sha256, the settings and the code version: a rerun recomputes only what changed, and an
interrupted run resumes where it stopped. A model that cannot be loaded here is a models.csv row
with status "skipped" and the reason; a step that fails is logged, listed in run.json and
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
from benchmarks.memory import release_memory
from benchmarks.models import SuiteModel, models_row, one_line, prepare_model
from benchmarks.plan import Step, plan_steps
from benchmarks.provenance import Provenance
from benchmarks.results import ResultsDir
from benchmarks.source_hash import code_version
from benchmarks.suite import Suite, SuiteError
from benchmarks.tasks.timing import training_rows

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
    """Run every step of ``suite`` into ``out`` (cached steps are reused); returns a summary."""
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

    def write_run_json(models: list[SuiteModel]) -> None:
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
                    for s in models
                ],
                "steps": {
                    "computed": len(summary.computed),
                    "cached": len(summary.cached),
                    "failed": [{"step": n, "error": e} for n, e in summary.failed],
                },
            },
        )

    write_run_json([])
    models: list[SuiteModel] = []
    try:
        for entry in suite.models:
            models.append(prepare_model(entry, datasets, suite, train_root))
    except BaseException:  # interrupted while training: finished jobs resume next time
        state["status"] = "interrupted"
        write_run_json(models)
        raise
    summary.failed += [(f"model {s.label}", s.reason) for s in models if s.status == "failed"]
    results.write_table("models.csv", [models_row(s) for s in models])
    write_run_json(models)

    steps = plan_steps(models, datasets, suite, results, prov.run_id, train_root)
    rows: dict[str, list[dict]] = {
        "metrics": [],
        "relax": [],
        "timing": [],
        "learning": [],
        "speed": [],
    }
    try:
        for step in _progress(steps):
            step_rows = _execute(step, results, summary)
            if step.on_done is not None:
                step.on_done(step_rows)
            if step.task in rows:
                rows[step.task].extend(step_rows)
        if "timing" in suite.tasks:
            for model in models:
                if model.status == "ok" and model.jobs:
                    for row in training_rows(model.label, model.ff.info.family, model.jobs):
                        rows["timing"].append(_fill_hardware(row, suite.device))
    except BaseException:
        state["status"] = "interrupted"
        _write_tables(results, rows)
        write_run_json(models)
        raise
    _write_tables(results, rows)
    prov.finish()
    state["status"] = "complete" if summary.ok else "complete_with_failures"
    write_run_json(models)
    summary.wall_s = prov.wall_s or 0.0
    log.info(
        "suite %s done in %.0f s: %d steps computed, %d cached, %d failed",
        suite.name,
        summary.wall_s,
        len(summary.computed),
        len(summary.cached),
        len(summary.failed),
    )
    return summary


def _execute(step: Step, results: ResultsDir, summary: RunSummary) -> list[dict]:
    key = step.key
    entry = results.cached(step.task, key)
    if entry is not None:
        summary.cached.append(step.name)
        log.info("%s: cached", step.name)
        return entry["rows"]
    t0 = time.perf_counter()
    try:
        rows, files = step.compute()
    except Exception as exc:  # noqa: BLE001 - recorded, retried on the next run
        reason = one_line(f"{type(exc).__name__}: {exc}")
        summary.failed.append((step.name, reason))
        log.error("%s: failed after %.1f s: %s", step.name, time.perf_counter() - t0, reason)
        log.debug("traceback", exc_info=True)
        return []
    finally:
        release_memory()  # a step's freed peak (e.g. a large-structure timing) is not kept
    entry = results.store(step.task, key, step.material, rows, files)
    summary.computed.append(step.name)
    log.info("%s: %.1f s", step.name, time.perf_counter() - t0)
    return entry["rows"]


def _fill_hardware(row: dict, device: str) -> dict:
    """Training logs that do not name their device/hardware: this machine's (they were made
    here unless the cache was copied)."""
    from benchmarks.timers import hardware_string

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
    if rows.get("speed"):  # only runs with the speed task
        results.write_table("speed.csv", rows["speed"])


def _progress(steps: list[Step]):
    if not progress_enabled() or not steps:
        return steps
    from tqdm.auto import tqdm

    return tqdm(steps, desc="steps", unit="step")


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
