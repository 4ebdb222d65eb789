"""The steps of a run, planned from a suite and its loaded models.

Every step knows its cache key material (model identity, dataset sha256, settings, code version)
and how to compute its rows (benchmarks/tasks/ does the work). Steps run in this order: energy
alignment + metrics, relaxations, then timing, so that every model is timed side by side at the
end of the run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from adapt.fileio import digest
from baselines.paths import cache_dir
from baselines.registry import FAMILY_MODULES
from benchmarks.data.dataset import Dataset
from benchmarks.models import SuiteModel
from benchmarks.results import ResultsDir
from benchmarks.source_hash import code_version
from benchmarks.suite import Suite
from benchmarks.tasks.accuracy import energy_refs, evaluate, lot_mismatch
from benchmarks.tasks.relaxation import relax_row, relax_targets
from benchmarks.tasks.timing import timing_rows

# The code identity of each task's results: these modules and everything of ours they import
# (benchmarks.source_hash), plus the model family's module.
EVAL_CODE = ("benchmarks.tasks.accuracy",)
RELAX_CODE = ("benchmarks.tasks.relaxation",)
TIMING_CODE = ("benchmarks.tasks.timing",)


@dataclass
class Step:
    name: str  # "<task> <model> <dataset> ..." for logs
    task: str  # cache folder: metrics | align | relax | timing
    material: dict
    compute: Callable[[], tuple[list[dict], list[Path]]]
    on_done: Callable[[list[dict]], None] | None = None  # gets the rows, cached or computed

    @property
    def key(self) -> str:
        return digest(self.material)


def plan_steps(
    models: list[SuiteModel],
    datasets: dict[str, Dataset],
    suite: Suite,
    results: ResultsDir,
    run_id: str,
    train_root: Path | None = None,
) -> list[Step]:
    """Every step of the run, in execution order: metrics, relaxations, learning curves, then
    timing (so the models' timings are taken side by side, one after the other, at the end)."""
    from benchmarks.relax import RelaxSettings

    steps: list[Step] = []
    ready = [s for s in models if s.status == "ok"]
    frames_cache: dict[tuple, list] = {}
    refs_by: dict[tuple[str, str], dict] = {}  # filled when align steps run
    memos: dict[tuple[str, str], dict] = {}  # (model, dataset) -> {(traj_id, step): Prediction}

    def memo(model: SuiteModel, ds: Dataset) -> dict:
        return memos.setdefault((model.label, str(ds.root)), {})

    def frames(ds: Dataset, split: str, sel: str) -> list:
        key = (ds.root, split, sel)
        if key not in frames_cache:
            frames_cache[key] = ds.frames(split, sel)
        return frames_cache[key]

    def code(parts: tuple[str, ...], model: SuiteModel) -> str:
        return code_version(*parts, FAMILY_MODULES[model.ff.info.family])

    if "metrics" in suite.tasks:
        for model in ready:
            for d in suite.datasets:
                ds = datasets[d.name]
                base = {"model": model.key, "dataset": ds.sha256, "code": code(EVAL_CODE, model)}
                align_key = None
                if lot_mismatch(model.ff.info, ds) and model.ff.info.predicts_energy:
                    align = Step(
                        name=f"align {model.label} {ds.name}",
                        task="align",
                        material=base | {"selection": suite.alignment_selection},
                        compute=_align(model, ds, suite, memo(model, ds)),
                        on_done=_keep_refs(refs_by, model.label, ds.name),
                    )
                    steps.append(align)
                    align_key = align.key
                for split in d.splits:
                    for sel in d.selections:
                        steps.append(
                            Step(
                                name=f"metrics {model.label} {ds.name} {split}/{sel}",
                                task="metrics",
                                material=base
                                | {"split": split, "selection": sel, "align": align_key},
                                compute=_metrics(
                                    model,
                                    ds,
                                    split,
                                    sel,
                                    suite,
                                    results,
                                    frames,
                                    refs_by,
                                    memo(model, ds),
                                ),
                            )
                        )
    if "relax" in suite.tasks:
        settings = RelaxSettings(**suite.relax.options)
        for model in ready:
            if not model.ff.info.predicts_forces:
                continue
            for d in suite.datasets:
                ds = datasets[d.name]
                for rec in relax_targets(ds, suite.relax.max_trajectories):
                    steps.append(
                        Step(
                            name=f"relax {model.label} {ds.name} {rec.id}",
                            task="relax",
                            material={
                                "model": model.key,
                                "dataset": ds.sha256,
                                "traj": rec.id,
                                "settings": settings.as_dict(),
                                "code": code(RELAX_CODE, model),
                            },
                            compute=_relax(model, ds, rec, settings),
                        )
                    )
    if "learning" in suite.tasks:
        from benchmarks.tasks.learning import learning_steps

        root = train_root or cache_dir() / "trained"
        steps += learning_steps(models, datasets, suite, root, Step)
    if "speed" in suite.tasks:
        from benchmarks.tasks.speed import speed_steps

        steps += speed_steps(suite, run_id, Step)
    if "timing" in suite.tasks:
        from benchmarks.timers import hardware_string

        hardware = hardware_string(suite.device)
        for model in ready:
            steps.append(
                Step(
                    name=f"timing {model.label}",
                    task="timing",
                    material={
                        "model": model.key,
                        "timing": suite.timing.__dict__,
                        "seed": suite.seed,
                        "hardware": hardware,
                        "code": code(TIMING_CODE, model),
                    },
                    compute=_timing(model, suite, run_id),
                )
            )
    return steps


def _align(model, ds, suite, memo):
    def run():
        refs = energy_refs(model.ff, ds, suite.alignment_selection, suite.batch_size, memo)
        return [{"refs_model": refs[0], "refs_data": refs[1]} if refs else {}], []

    return run


_ALIGN_FAILED = {"failed": True}


def _keep_refs(refs_by: dict, label: str, dataset: str):
    def keep(rows: list[dict]) -> None:  # rows == [] when the align step failed
        refs_by[(label, dataset)] = rows[0] if rows else _ALIGN_FAILED

    return keep


def _metrics(model, ds, split, sel, suite, results, frames, refs_by, memo):
    def run():
        refs = refs_by.get((model.label, ds.name)) or None
        if refs is _ALIGN_FAILED:  # fail too, so that both are retried on the next run
            raise RuntimeError("energy alignment failed (see the align step)")
        ps, rows = evaluate(
            model.ff,
            ds,
            split,
            sel,
            label=model.label,
            frames=frames(ds, split, sel),
            batch_size=suite.batch_size,
            refs=(refs["refs_model"], refs["refs_data"]) if refs else None,
            memo=memo,
        )
        path = results.write_predictions(ps, model.label, ds.name, split, sel)
        return rows, [path]

    return run


def _relax(model, ds, rec, settings):
    def run():
        return [relax_row(model.ff, model.label, ds, rec, settings)], []

    return run


def _timing(model, suite, run_id):
    def run():
        rows = timing_rows(model.ff, model.label, suite.timing, suite.seed)
        for r in rows:
            r["run_id"] = run_id
        return rows, []

    return run


def describe_plan(suite: Suite, train_root: Path | None = None) -> str:
    """What `run --dry-run` prints: datasets (found or not), models, tasks; nothing is run."""
    from benchmarks.training import job_dir, job_done

    train_root = Path(train_root) if train_root else cache_dir() / "trained"
    lines = [f"suite {suite.name} ({suite.source}); device {suite.device}; seed {suite.seed}"]
    lines.append(f"tasks: {', '.join(suite.tasks)}")
    found: dict[str, Dataset | None] = {}
    for d in suite.datasets:
        if d.path is None:
            from benchmarks.data.default import default_dataset_dir

            root = default_dataset_dir()
            done = (root / "manifest.json").is_file()
            found[d.name] = Dataset(root) if done else None
            state = f"built-in, {'cached in ' + str(root) if done else 'made on first use'}"
        elif (d.path / "manifest.json").is_file():
            found[d.name] = ds = Dataset(d.path)
            state = f"{d.path} ({len(ds.records('all'))} trajectories)"
        else:
            found[d.name] = None
            state = f"{d.path}: MISSING. {d.missing}".rstrip()
        lines.append(f"dataset {d.name}: {state}; splits {list(d.splits)} x {list(d.selections)}")
    for m in suite.models:
        if m.spec:
            lines.append(f"model {m.name}: {m.spec}")
            continue
        parts = []
        for j in m.train:
            ds = found.get(m.data)
            done = ""
            if ds is not None:
                seed = suite.seed if j.seed is None else j.seed
                hit = job_done(j, job_dir(j, ds, train_root, seed))
                done = " (trained, cached)" if hit else " (to train)"
            parts.append(f"{j.kind} preset={j.preset} epochs={j.epochs}{done} {j.options or ''}")
        lines.append(f"model {m.name} [{m.group}]: train on {m.data}: " + "; ".join(parts))
    lines.append(
        f"relax: {dict(suite.relax.options)}, at most {suite.relax.max_trajectories or 'all'} "
        f"test trajectories per dataset; timing: {suite.timing}"
    )
    if "speed" in suite.tasks:
        lines.append(f"speed: {suite.speed}")
    return "\n".join(line.rstrip() for line in lines)
