"""The ``[speed]`` table of a suite (task "speed", benchmarks/tasks/speed.py)::

[speed]
models = ["ADAPT small", "MACE paper"]   # names of benchmarks.speed_models.SPEED_MODELS
n_atoms = 216                 # 8 k^3 atoms: the Si defect supercell every model is timed on
batches = [1, 2, 4, 8, 16]    # inference batch sweep (stops at the first call > max_call_s)
train_batch = 8               # structures per training step (1 for models too slow for it)
repeats = 3                   # timed calls per measurement (fewer once max_call_s is spent)
warmup = 1                    # untimed calls after the first (FLOP-counting) one
max_call_s = 4.0              # s: the time budget of one measurement
epoch_frames = 252000         # frames per projected training epoch (the paper's data set)
scaling_models = ["ADAPT+ small", "MACE paper"]   # also timed at scaling_atoms
scaling_atoms = [64, 216, 1000]
scaling_repeats = 2
gemm_burst_s = 0.5            # s per GEMM burst of the peak measurement
threads = 0                   # torch CPU threads for the run (0: leave torch's setting)
"""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class SpeedConfig:
    models: tuple[str, ...] = ("ADAPT small",)
    n_atoms: int = 216
    batches: tuple[int, ...] = (1, 2, 4, 8, 16)
    train_batch: int = 8
    repeats: int = 3
    warmup: int = 1
    max_call_s: float = 4.0
    epoch_frames: int = 252_000
    scaling_models: tuple[str, ...] = ()
    scaling_atoms: tuple[int, ...] = (64, 216, 1000)
    scaling_repeats: int = 2
    profile_models: tuple[str, ...] = ()
    gemm_burst_s: float = 0.5
    threads: int = 0


def parse_speed(raw, where) -> SpeedConfig:
    """``where``: benchmarks.suite's typed getters (errors name the file and the key)."""
    from benchmarks.speed_models import SPEED_MODELS

    t = where.table(raw, "speed", {f.name for f in fields(SpeedConfig)})
    d = SpeedConfig()
    p = "speed."
    models = tuple(where.str_list(t, "models", default=list(d.models), prefix=p))
    scaling = tuple(t.get("scaling_models", list(d.scaling_models)))
    profile = tuple(t.get("profile_models", list(d.profile_models)))
    for key, names in (
        ("models", models),
        ("scaling_models", scaling),
        ("profile_models", profile),
    ):
        for name in names:
            if name not in SPEED_MODELS:
                where.fail(p + key, f"unknown speed model {name!r}; known: {sorted(SPEED_MODELS)}")
    for key, names in (("scaling_models", scaling), ("profile_models", profile)):
        for name in names:
            if name not in models:
                where.fail(p + key, f"{name!r} is not in speed.models")
    n_atoms = where.int(t, "n_atoms", default=d.n_atoms, minimum=8, prefix=p)
    sizes = tuple(where.int_list(t, "scaling_atoms", default=list(d.scaling_atoms), prefix=p))
    for n in (n_atoms, *sizes):
        k = round((n / 8) ** (1 / 3))
        if 8 * k**3 != n:
            where.fail(p + "n_atoms", f"atom counts must be 8 k^3 (64, 216, 1000, ...), got {n}")
    return SpeedConfig(
        models=models,
        n_atoms=n_atoms,
        batches=tuple(where.int_list(t, "batches", default=list(d.batches), prefix=p)),
        train_batch=where.int(t, "train_batch", default=d.train_batch, minimum=1, prefix=p),
        repeats=where.int(t, "repeats", default=d.repeats, minimum=1, prefix=p),
        warmup=where.int(t, "warmup", default=d.warmup, minimum=0, prefix=p),
        max_call_s=where.float(t, "max_call_s", default=d.max_call_s, prefix=p),
        epoch_frames=where.int(t, "epoch_frames", default=d.epoch_frames, minimum=1, prefix=p),
        scaling_models=scaling,
        scaling_atoms=sizes,
        profile_models=profile,
        scaling_repeats=where.int(
            t, "scaling_repeats", default=d.scaling_repeats, minimum=1, prefix=p
        ),
        gemm_burst_s=where.float(t, "gemm_burst_s", default=d.gemm_burst_s, prefix=p),
        threads=where.int(t, "threads", default=d.threads, minimum=0, prefix=p),
    )
