"""Suite configuration: which datasets, which models (loaded or trained), which settings.

A suite is a TOML file (see ``benchmarks/suites/quick.toml`` for a commented example)::

    name = "mine"                 # also the default results directory: results/<name>
    device = "cpu"                # "cpu" | "cuda" | "cuda:1"
    seed = 0                      # seeds training, rattling for timing, everything random
    tasks = ["metrics", "relax", "timing"]

    [[datasets]]
    source = "default"            # the built-in dataset, or a dataset directory (path)
    splits = ["test"]             # train | val | test | all
    selections = ["early", "all"] # early | early:K | all | final
    missing = "text shown when the directory is absent (what to place where)"

    [[models]]
    spec = "chgnet"               # a model spec (see `adapt-bench models`) ...

    [[models]]
    name = "ADAPT tiny"           # ... or a train block: the suite trains what it evaluates
    group = "main"                # report grouping: main | energy_architectures | attention_radius | adapt_variants
    train.adapt-force = { preset = "tiny", epochs = 10 }
    train.adapt-energy = { preset = "tiny", epochs = 10, arch = "mlp" }  # extra keys: overrides

    [relax]                       # benchmarks.relax.RelaxSettings fields, plus:
    max_trajectories = 4          # relax at most this many test trajectories per dataset

    [timing]
    repeats = 5                   # median of this many timed repeats, after `warmup` untimed
    sizes = [2, 3]                # side-by-side inference on k x k x k Si supercells (8 k^3 atoms)
    scaling = [1, 2, 3, 4]        # scaling sweep, same units
    scaling_max_rss_mb = 2800     # optional: skip sweep sizes expected to peak above 2800 MiB RSS

    [speed]                       # task "speed": see benchmarks/speed_config.py; a suite with
                                  # tasks = ["speed"] needs no [[datasets]] or [[models]]

    [learning]                    # task "learning" (not run unless listed in tasks)
    fractions = [0.125, 0.25, 0.5, 1.0]  # of the train trajectories, nested, seeded
    seed = 0                      # of the subset draw
    selection = "early"           # test frames every point is scored on
    models = ["MACE"]             # entries with a train block (default: all of them)

Relative dataset paths are taken from the current directory; ``~`` and ``$VARS`` are expanded;
``cache:datasets/NAME`` is a dataset imported into adapt-bench's cache dir.
Every error names the file and the key, e.g. ``quick.toml: models[2].train.mace.epochs: ...``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.speed_config import SpeedConfig, parse_speed

SUITES_DIR = Path(__file__).parent / "suites"
TASKS = ("metrics", "relax", "timing", "learning", "speed")
DEFAULT_TASKS = ("metrics", "relax", "timing")  # "learning" retrains models: only when asked
SPLIT_NAMES = ("train", "val", "test", "all")
GROUPS = ("main", "energy_architectures", "attention_radius", "foundation", "adapt_variants")


class SuiteError(ValueError):
    """A suite file that cannot be used; the message names the file and the key."""


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset of a suite.

    source:     "default" (built-in, generated and cached on first use), a directory path, or
                "cache:REL" = REL under adapt-bench's cache dir ($ADAPT_BENCH_CACHE, where
                `adapt-bench data get` + `data import` put public datasets)
    name:       how train blocks refer to it (default: "default" or the directory's name)
    missing:    message shown when the directory does not exist (what to place where)
    """

    source: str
    name: str
    splits: tuple[str, ...] = ("test",)
    selections: tuple[str, ...] = ("early", "all")
    missing: str = ""

    @property
    def path(self) -> Path | None:
        if self.source == "default":
            return None
        if self.source.startswith("cache:"):  # under adapt-bench's cache dir (data get/import)
            from baselines.paths import cache_dir

            return cache_dir() / self.source.removeprefix("cache:")
        return Path(os.path.expandvars(os.path.expanduser(self.source)))


@dataclass(frozen=True)
class TrainJob:
    """Train one model on a dataset's train/val split (the runner caches the result).

    kind:       a train-block kind a family declares ("adapt-force", "adapt-energy", "mace")
    preset:     the trainer's preset name ("tiny", "small", "large" for ADAPT; "tiny", "paper" for MACE)
    epochs:     None = the preset's default
    seed:       None = the suite's seed
    overrides:  extra keyword arguments for the trainer (e.g. an energy architecture), sorted
    """

    kind: str
    preset: str = "tiny"
    epochs: int | None = None
    seed: int | None = None
    overrides: tuple[tuple[str, Any], ...] = ()

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.overrides)


@dataclass(frozen=True)
class ModelEntry:
    """One model of a suite: a registry spec, or train jobs whose outputs make the spec.

    name:   the label used in every result table (unique within a suite)
    data:   the suite dataset whose train/val split train jobs use; for a spec, the dataset
            given to the loader as its training data (the zero baseline's mean energy)
    """

    name: str
    spec: str | None = None
    train: tuple[TrainJob, ...] = ()
    data: str | None = None
    group: str = "main"


@dataclass(frozen=True)
class TimingConfig:
    """Timing settings. Sizes are supercell multiples k of the 8-atom cubic Si cell (8 k^3 atoms)."""

    repeats: int = 5
    warmup: int = 1
    sizes: tuple[int, ...] = (2, 3)
    scaling: tuple[int, ...] = (1, 2, 3, 4)
    batch_size: int = 1
    scaling_repeats: int = 3
    scaling_max_rss_mb: int | None = None  # MiB: skip scaling sizes expected to peak above it


@dataclass(frozen=True)
class LearningConfig:
    """Learning curves (benchmarks/tasks/learning.py): fractions of the train trajectories (nested,
    seeded by ``seed``), scored on ``split``/``selection``; ``models``: entry names (empty: every
    entry with a train block)."""

    fractions: tuple[float, ...] = (0.125, 0.25, 0.5, 1.0)
    seed: int = 0
    split: str = "test"
    selection: str = "early"
    models: tuple[str, ...] = ()


@dataclass(frozen=True)
class RelaxConfig:
    """Relaxation settings: ``settings`` are passed to benchmarks.relax.RelaxSettings."""

    settings: tuple[tuple[str, Any], ...] = ()
    max_trajectories: int | None = None

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.settings)


@dataclass(frozen=True)
class Suite:
    name: str
    datasets: tuple[DatasetEntry, ...]
    models: tuple[ModelEntry, ...]
    description: str = ""
    device: str = "cpu"
    seed: int = 0
    tasks: tuple[str, ...] = DEFAULT_TASKS
    batch_size: int | None = None
    alignment_selection: str = "early"  # train frames used to fit per-element energy refs
    relax: RelaxConfig = field(default_factory=RelaxConfig)
    timing: TimingConfig = field(default_factory=TimingConfig)
    learning: LearningConfig = field(default_factory=LearningConfig)
    speed: SpeedConfig = field(default_factory=SpeedConfig)
    source: str = ""  # the file it was read from

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    def dataset(self, name: str) -> DatasetEntry:
        for d in self.datasets:
            if d.name == name:
                return d
        raise KeyError(name)

    def with_device(self, device: str) -> Suite:
        return dataclasses.replace(self, device=_device(device, self.source, "device"))

    def with_models(self, selectors: list[str]) -> Suite:
        """Keep the models named (by label or spec) in ``selectors``; other selectors are
        model specs added as new entries."""
        keep: list[ModelEntry] = []
        for sel in selectors:
            hits = [m for m in self.models if sel in (m.name, m.spec)]
            if not hits:
                _check_spec(sel, self.source, f"--models {sel}")
                hits = [ModelEntry(name=sel, spec=sel, data=self.datasets[0].name)]
            keep.extend(h for h in hits if h not in keep)
        return dataclasses.replace(self, models=tuple(keep))


# ---------------------------------------------------------------- loading


def builtin_suites() -> list[str]:
    return sorted(p.stem for p in SUITES_DIR.glob("*.toml"))


def suite_path(name: str) -> Path:
    path = SUITES_DIR / f"{name}.toml"
    if not path.is_file():
        raise SuiteError(
            f"no built-in suite {name!r}; built-in suites: {', '.join(builtin_suites())}"
        )
    return path


def load_suite(name_or_path: str | Path) -> Suite:
    """A built-in suite by name ("quick", "paper") or a suite TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = suite_path(str(name_or_path))
    if not path.is_file():
        raise SuiteError(f"{path}: no such suite file")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SuiteError(f"{path}: not valid TOML ({exc})") from exc
    return parse_suite(raw, source=str(path))


def parse_suite(raw: dict, source: str = "<suite>") -> Suite:
    """Validate a suite's TOML table; every error names ``source`` and the key."""
    where = _Where(source)
    top = where.table(raw, "", _TOP_KEYS)
    speed_only = top.get("tasks") == ["speed"]  # needs no datasets and no [[models]]
    name = where.str(top, "name", default=Path(source).stem)
    datasets = tuple(
        _dataset(d, where, f"datasets[{i}]") for i, d in enumerate(where.list(top, "datasets"))
    )
    if not datasets and not speed_only:
        where.fail("datasets", "a suite needs at least one [[datasets]] entry")
    names = [d.name for d in datasets]
    if len(set(names)) != len(names):
        where.fail("datasets", f"dataset names must be unique, got {names} (set name = ...)")
    models = tuple(
        _model(m, where, f"models[{i}]", names[0] if names else "")
        for i, m in enumerate(where.list(top, "models"))
    )
    if not models and not speed_only:
        where.fail("models", "a suite needs at least one [[models]] entry")
    labels = [m.name for m in models]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        where.fail("models", f"model names must be unique; repeated: {dupes} (set name = ...)")
    for i, m in enumerate(models):
        if m.data is not None and m.data not in names:
            where.fail(f"models[{i}].data", f"unknown dataset {m.data!r}; datasets: {names}")
    tasks = tuple(where.str_list(top, "tasks", default=list(DEFAULT_TASKS)))
    for t in tasks:
        if t not in TASKS:
            where.fail("tasks", f"unknown task {t!r}; tasks: {list(TASKS)}")
    batch = top.get("batch_size")
    if batch is not None:
        batch = where.int(top, "batch_size", minimum=1)
    return Suite(
        name=name,
        description=where.str(top, "description", default=""),
        device=_device(where.str(top, "device", default="cpu"), source, "device"),
        seed=where.int(top, "seed", default=0, minimum=0),
        tasks=tasks,
        batch_size=batch,
        alignment_selection=_selection(
            where.str(top, "alignment_selection", default="early"), where, "alignment_selection"
        ),
        datasets=datasets,
        models=models,
        relax=_relax(top.get("relax", {}), where),
        timing=_timing(top.get("timing", {}), where),
        learning=_learning(top.get("learning", {}), where, models),
        speed=parse_speed(top.get("speed", {}), where),
        source=source,
    )


_TOP_KEYS = {
    "name",
    "description",
    "device",
    "seed",
    "tasks",
    "batch_size",
    "alignment_selection",
    "datasets",
    "models",
    "relax",
    "timing",
    "learning",
    "speed",
}


class _Where:
    """Typed getters that raise SuiteError('<file>: <key>: <problem>')."""

    def __init__(self, source: str):
        self.source = source

    def fail(self, key: str, msg: str):
        raise SuiteError(f"{self.source}: {key}: {msg}" if key else f"{self.source}: {msg}")

    def table(self, value, key: str, allowed: set[str]) -> dict:
        if not isinstance(value, dict):
            self.fail(key, f"expected a table, got {type(value).__name__}")
        unknown = sorted(set(value) - allowed)
        if unknown:
            self.fail(
                f"{key}.{unknown[0]}" if key else unknown[0],
                f"unknown key; allowed here: {sorted(allowed)}",
            )
        return value

    def list(self, table: dict, key: str, prefix: str = "") -> list:
        value = table.get(key, [])
        if not isinstance(value, list):
            self.fail(prefix + key, f"expected a list, got {type(value).__name__}")
        return value

    def str(self, table: dict, key: str, default=None, prefix: str = "") -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or (default is None and not value):
            self.fail(prefix + key, f"expected a non-empty string, got {value!r}")
        return value

    def int(self, table: dict, key: str, default=None, minimum: int = 0, prefix: str = "") -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(prefix + key, f"expected an integer >= {minimum}, got {value!r}")
        return value

    def float(self, table: dict, key: str, default=None, prefix: str = "") -> float:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            self.fail(prefix + key, f"expected a positive number, got {value!r}")
        return float(value)

    def str_list(self, table: dict, key: str, default, prefix: str = "") -> list[str]:
        value = table.get(key, default)
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            self.fail(prefix + key, f"expected a non-empty list of strings, got {value!r}")
        return value

    def int_list(self, table: dict, key: str, default, prefix: str = "") -> list[int]:
        value = table.get(key, default)
        ok = isinstance(value, list) and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value
        )
        if not ok:
            self.fail(prefix + key, f"expected a list of integers >= 1, got {value!r}")
        return value


def _device(value: str, source: str, key: str) -> str:
    if value != "cpu" and not (value == "cuda" or value.startswith("cuda:")):
        raise SuiteError(f"{source}: {key}: expected cpu, cuda or cuda:N, got {value!r}")
    return value


def _selection(value: str, where: _Where, key: str) -> str:
    from benchmarks.data.selections import select_frames

    try:
        select_frames(10, value)
    except ValueError as exc:
        where.fail(key, str(exc))
    return value


def _check_spec(spec: str, source: str, key: str) -> None:
    from baselines.registry import parse_spec

    try:
        parse_spec(spec)
    except ValueError as exc:
        raise SuiteError(f"{source}: {key}: {exc}") from exc


def _dataset(raw, where: _Where, key: str) -> DatasetEntry:
    d = where.table(raw, key, {"source", "name", "splits", "selections", "missing"})
    p = key + "."
    src = where.str(d, "source", prefix=p)
    default_name = "default" if src == "default" else Path(src.rstrip("/")).name
    splits = tuple(where.str_list(d, "splits", default=["test"], prefix=p))
    for s in splits:
        if s not in SPLIT_NAMES:
            where.fail(p + "splits", f"unknown split {s!r}; use {list(SPLIT_NAMES)}")
    sels = tuple(where.str_list(d, "selections", default=["early", "all"], prefix=p))
    for s in sels:
        _selection(s, where, p + "selections")
    return DatasetEntry(
        source=src,
        name=where.str(d, "name", default=default_name, prefix=p),
        splits=splits,
        selections=sels,
        missing=where.str(d, "missing", default="", prefix=p),
    )


def _model(raw, where: _Where, key: str, first_dataset: str) -> ModelEntry:
    m = where.table(raw, key, {"name", "spec", "train", "data", "group"})
    p = key + "."
    group = where.str(m, "group", default="main", prefix=p)
    if group not in GROUPS:
        where.fail(p + "group", f"unknown group {group!r}; groups: {list(GROUPS)}")
    if ("spec" in m) == ("train" in m):
        where.fail(key, "give exactly one of spec = '...' or a train block")
    if "spec" in m:
        spec = where.str(m, "spec", prefix=p)
        _check_spec(spec, where.source, p + "spec")
        return ModelEntry(
            name=where.str(m, "name", default=spec, prefix=p),
            spec=spec,
            data=where.str(m, "data", default=first_dataset, prefix=p),
            group=group,
        )
    from baselines.registry import train_kinds, trainer

    kinds = train_kinds()
    train = where.table(m["train"], p + "train", set(kinds))
    if not train:
        where.fail(p + "train", f"empty train block; give one or more of {kinds}")
    fams = {trainer(k)[0].name for k in train}
    if len(fams) > 1:
        where.fail(p + "train", f"one train block trains one family's model, got {sorted(fams)}")
    jobs = tuple(_job(k, train[k], where, f"{p}train.{k}") for k in kinds if k in train)
    default_name = trainer(jobs[0].kind)[0].display
    default_name += " " + "/".join(sorted({j.preset for j in jobs}))
    return ModelEntry(
        name=where.str(m, "name", default=default_name, prefix=p),
        train=jobs,
        data=where.str(m, "data", default=first_dataset, prefix=p),
        group=group,
    )


def _job(kind: str, raw, where: _Where, key: str) -> TrainJob:
    if not isinstance(raw, dict):
        where.fail(key, f"expected a table like {{ preset = 'tiny', epochs = 5 }}, got {raw!r}")
    p = key + "."
    epochs = raw.get("epochs")
    if epochs is not None:
        epochs = where.int(raw, "epochs", minimum=1, prefix=p)
    seed = raw.get("seed")
    if seed is not None:
        seed = where.int(raw, "seed", minimum=0, prefix=p)
    overrides = {k: v for k, v in raw.items() if k not in ("preset", "epochs", "seed")}
    for k, v in overrides.items():
        if isinstance(v, dict | list):
            where.fail(p + k, "overrides must be plain values (string, number, boolean)")
    job = TrainJob(
        kind=kind,
        preset=where.str(raw, "preset", default="tiny", prefix=p),
        epochs=epochs,
        seed=seed,
        overrides=tuple(sorted(overrides.items())),
    )
    _check_trainer_settings(job, where, key)
    return job


def _check_trainer_settings(job: TrainJob, where: _Where, key: str) -> None:
    """Presets and override names as the family's trainer knows them (light imports, no torch)."""
    from baselines.registry import trainer

    fam, t = trainer(job.kind)
    if job.preset not in t.presets:
        where.fail(
            key + ".preset", f"unknown {fam.display} preset {job.preset!r}; use {list(t.presets)}"
        )
    try:
        t.check(job.preset, job.options)
    except (TypeError, ValueError) as exc:
        where.fail(key, str(exc))


def _relax(raw, where: _Where) -> RelaxConfig:
    if not isinstance(raw, dict):
        where.fail("relax", "expected a table")
    settings = {k: v for k, v in raw.items() if k != "max_trajectories"}
    try:
        from benchmarks.relax import RelaxSettings
    except ImportError:  # pragma: no cover - relax module missing: checked again at run time
        RelaxSettings = None
    if RelaxSettings is not None:
        allowed = {f.name for f in dataclasses.fields(RelaxSettings)}
        where.table(settings, "relax", allowed | {"max_trajectories"})
        try:
            RelaxSettings(**settings)
        except (TypeError, ValueError) as exc:
            where.fail("relax", str(exc))
    max_traj = raw.get("max_trajectories")
    if max_traj is not None:
        max_traj = where.int(raw, "max_trajectories", minimum=1, prefix="relax.")
    return RelaxConfig(settings=tuple(sorted(settings.items())), max_trajectories=max_traj)


def _timing(raw, where: _Where) -> TimingConfig:
    keys = {f.name for f in dataclasses.fields(TimingConfig)}
    t = where.table(raw, "timing", keys)
    d = TimingConfig()
    p = "timing."
    return TimingConfig(
        repeats=where.int(t, "repeats", default=d.repeats, minimum=1, prefix=p),
        warmup=where.int(t, "warmup", default=d.warmup, minimum=0, prefix=p),
        sizes=tuple(where.int_list(t, "sizes", default=list(d.sizes), prefix=p)),
        scaling=tuple(where.int_list(t, "scaling", default=list(d.scaling), prefix=p)),
        batch_size=where.int(t, "batch_size", default=d.batch_size, minimum=1, prefix=p),
        scaling_repeats=where.int(
            t, "scaling_repeats", default=d.scaling_repeats, minimum=1, prefix=p
        ),
        scaling_max_rss_mb=(
            where.int(t, "scaling_max_rss_mb", minimum=1, prefix=p)
            if "scaling_max_rss_mb" in t
            else None
        ),
    )


def _learning(raw, where: _Where, models: tuple[ModelEntry, ...]) -> LearningConfig:
    keys = {f.name for f in dataclasses.fields(LearningConfig)}
    t = where.table(raw, "learning", keys)
    d = LearningConfig()
    p = "learning."
    fractions = t.get("fractions", list(d.fractions))
    ok = (
        isinstance(fractions, list)
        and fractions
        and all(
            isinstance(f, int | float) and not isinstance(f, bool) and 0 < f <= 1 for f in fractions
        )
    )
    if not ok:
        where.fail(p + "fractions", f"expected a list of numbers in (0, 1], got {fractions!r}")
    split = where.str(t, "split", default=d.split, prefix=p)
    if split not in SPLIT_NAMES:
        where.fail(p + "split", f"expected one of {list(SPLIT_NAMES)}, got {split!r}")
    names = tuple(where.str_list(t, "models", default=["*"], prefix=p))
    if names == ("*",):
        names = ()
    trained = {m.name for m in models if m.train}
    for n in names:
        if n not in trained:
            where.fail(p + "models", f"{n!r} is not a model with a train block: {sorted(trained)}")
    return LearningConfig(
        fractions=tuple(sorted(float(f) for f in fractions)),
        seed=where.int(t, "seed", default=d.seed, minimum=0, prefix=p),
        split=split,
        selection=_selection(
            where.str(t, "selection", default=d.selection, prefix=p), where, p + "selection"
        ),
        models=names,
    )
