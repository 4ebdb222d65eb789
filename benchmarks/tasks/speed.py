"""Speed: the paper's compute claim, measured side by side in one run (task "speed").

Per model (paper-size architectures, random weights: benchmarks/speed_models.py) on generated
Si defect frames (k x k x k diamond Si supercell, atom 0 -> C, rattled 0.05 Å; 216 atoms at k = 3):

    infer     s/structure at batch 1, 2, 4, ... (median of timed calls; the batch sweep stops at
              the first call slower than ``max_call_s``); the report takes the best batch
    train     frames/s of one optimiser step (forward, force + energy loss, backward, Adam) at
              ``train_batch`` (batch 1 when a step would take longer than 2 x ``max_call_s``), and the
              projected epoch time for ``epoch_frames`` (252 k, the paper's data set)
    scaling   s/structure at batch 1 on 64, 216, 1000 atoms (``scaling_models`` only); when the
              first call already takes longer than ``max_call_s`` (MACE at 1000 atoms: minutes,
              ~13 GB) that call is the measurement
    gemm      the machine's fp32 GEMM peak, at the run's torch thread count, measured before and
              after the models (rows of model "GEMM peak")

FLOPs: the first call of each measurement (untimed, it also warms up) runs under
torch.utils.flop_counter.FlopCounterMode with the CPU SDPA kernels added (adapt.flops); ADAPT's
forward count is also computed in closed form (adapt.flops.force_forward_flops) and both are
stored. Counted FLOPs are the matrix products only (Linear, matmul, SDPA, convolutions, e3nn's
einsums that lower to matmuls): element-wise work is not counted, so "% of peak" is the share of
the GEMM peak that the model's matrix products achieve over its whole step.

GEMM peak protocol: for each shape, bursts of back-to-back torch.mm lasting >= ``burst_s`` s,
throughput = FLOPs / burst time, median of 3 bursts; the peak is the best shape. Bursts, not
single calls: on a shared CPU a single 1 ms call often runs at full speed while a 0.2 s model
step shares the core, and the peak must be measured the way the models are.
"""

from __future__ import annotations

import logging
import math
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)

GEMM_SHAPES = ((1024, 1024, 1024), (1728, 256, 768), (2048, 512, 512))
CUDA_GEMM_SHAPES = ((8192, 8192, 8192), (4096, 4096, 4096))


def defect_frames(n_atoms: int, count: int, seed: int) -> list:
    """``count`` rattled copies of the C-substituted Si supercell of ``n_atoms`` = 8 k^3 atoms."""
    from ase.build import bulk

    k = round((n_atoms / 8) ** (1 / 3))
    if 8 * k**3 != n_atoms:
        raise ValueError(f"speed frames have 8 k^3 atoms (64, 216, 1000, ...), not {n_atoms}")
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(k)
        atoms.symbols[0] = "C"
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        out.append(atoms)
    return out


def _cuda(device: str) -> bool:
    return str(device).startswith("cuda")


def _sync(device: str) -> Callable[[], None]:
    if _cuda(device):
        return torch.cuda.synchronize
    return lambda: None


def gemm_peak(device: str, burst_s: float = 0.5, rounds: int = 3, precision: str = "fp32") -> dict:
    """{"gflops": best GEMM throughput (GFLOP/s), "shape": "MxKxN", "per_shape": {...}}.

    ``precision``: "fp32" (TF32 off), or on CUDA "tf32" (fp32 inputs, TF32 tensor cores) and
    "bf16" (bfloat16 inputs): the peaks the ADAPT tf32/bf16 rows are compared with."""
    sync = _sync(device)
    cuda = str(device).startswith("cuda")
    shapes = CUDA_GEMM_SHAPES if cuda else GEMM_SHAPES
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    old_tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    per_shape = {}
    try:
        for m, k, n in shapes:
            a = torch.randn(m, k, device=device, dtype=dtype)
            b = torch.randn(k, n, device=device, dtype=dtype)
            torch.mm(a, b)
            sync()
            t0 = time.perf_counter()
            torch.mm(a, b)
            sync()
            reps = max(1, math.ceil(burst_s / max(time.perf_counter() - t0, 1e-6)))
            rates = []
            for _ in range(rounds):
                t0 = time.perf_counter()
                for _ in range(reps):
                    torch.mm(a, b)
                sync()
                rates.append(2 * m * k * n * reps / (time.perf_counter() - t0) / 1e9)
            per_shape[f"{m}x{k}x{n}"] = statistics.median(rates)
    finally:
        torch.backends.cuda.matmul.allow_tf32 = old_tf32
    shape = max(per_shape, key=per_shape.get)
    return {"gflops": per_shape[shape], "shape": shape, "per_shape": per_shape}


def _timed(fn: Callable[[], object], sync, repeats: int, budget_s: float) -> tuple[float, int]:
    """(median s per call, calls timed): ``repeats`` calls, fewer once ``budget_s`` is spent."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < repeats:
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
        if time.perf_counter() - start > budget_s:
            break
    return statistics.median(times), len(times)


def _first_call(
    fn: Callable[[], object], sync, warmup: int, count: bool = True
) -> tuple[int, float]:
    """(counted FLOPs, seconds) of the first call (under FlopCounterMode unless not ``count``:
    then 0 FLOPs), then ``warmup`` more untimed calls when the first one was quick (lazy init,
    allocator, autotuning)."""
    from adapt.flops import counted_flops

    t0 = time.perf_counter()
    flops, _ = counted_flops(fn) if count else (0, fn())
    sync()
    first = time.perf_counter() - t0
    if first < 1.0:
        for _ in range(warmup):
            fn()
        sync()
    return flops, first


def _row(bench, task: str, n_atoms: int, batch: int, median_s: float, repeats: int, flops: int,
         device: str, threads: int) -> dict:  # fmt: skip
    per = median_s / batch
    return {
        "model": bench.name,
        "family": bench.family,
        "task": task,
        "n_atoms": n_atoms,
        "batch": batch,
        "repeats": repeats,
        "median_s": median_s,
        "per_structure_s": per,
        "frames_per_s": batch / median_s,
        "flops_per_structure": flops / batch if flops else math.nan,
        "achieved_gflops": flops / median_s / 1e9 if flops else math.nan,
        "n_params": bench.n_params,
        "device": device,
        "threads": threads,
        "note": bench.note,
    }


def model_rows(bench, cfg, device: str, seed: int) -> list[dict]:
    """Every measurement of one model (see the module docstring); rows of speed.csv."""
    sync = _sync(device)
    threads = torch.get_num_threads()
    profile = bench.name in cfg.profile_models and bench.countable and not _cuda(device)
    rows: list[dict] = []
    n = cfg.n_atoms
    best_call, best_batch = math.inf, None
    for b in cfg.batches:
        batch = bench.prepare(defect_frames(n, b, seed + b))
        flops, first = _first_call(
            lambda batch=batch: bench.infer(batch), sync, cfg.warmup, bench.countable
        )
        if not bench.countable:
            flops = b * bench.analytic_flops(n)
        med, reps = _timed(
            lambda batch=batch: bench.infer(batch), sync, cfg.repeats, cfg.max_call_s
        )
        row = _row(bench, "infer", n, b, med, reps, flops, device, threads)
        if bench.analytic_flops is not None:
            row["analytic_flops_per_structure"] = bench.analytic_flops(n)
        rows.append(row)
        if med / b < best_call:
            best_call, best_batch = med / b, (row, batch)
        if med > cfg.max_call_s:
            break
    if bench.train is not None:
        # a step costs about 3 forward passes; its timed calls may spend 2 x max_call_s
        tb = cfg.train_batch if 3 * best_call * cfg.train_batch <= 2 * cfg.max_call_s else 1
        batch = bench.prepare(defect_frames(n, tb, seed + 100))
        flops, _ = _first_call(lambda: bench.train(batch), sync, cfg.warmup)
        med, reps = _timed(lambda: bench.train(batch), sync, cfg.repeats, 2 * cfg.max_call_s)
        row = _row(bench, "train", n, tb, med, reps, flops, device, threads)
        row["epoch_min"] = cfg.epoch_frames / row["frames_per_s"] / 60
        rows.append(row)
        if profile:
            rows.append(_profile_row(row, lambda: bench.train(batch), "profile:train"))
    if profile and best_batch is not None:
        row, batch = best_batch
        rows.append(_profile_row(row, lambda: bench.infer(batch), "profile:infer"))
    if bench.name in cfg.scaling_models:
        for size in cfg.scaling_atoms:
            batch = bench.prepare(defect_frames(size, 1, seed + size))
            t0 = time.perf_counter()
            bench.infer(batch)  # untimed, uncounted first call; FLOPs are not needed here
            sync()
            first = time.perf_counter() - t0
            if first > cfg.max_call_s:  # e.g. MACE at 1000 atoms: one call is the measurement
                med, reps = first, 1
            else:
                med, reps = _timed(
                    lambda batch=batch: bench.infer(batch),
                    sync,
                    cfg.scaling_repeats,
                    cfg.max_call_s,
                )
            row = _row(bench, "scaling", size, 1, med, reps, 0, device, threads)
            if reps == 1 and med == first:
                row["note"] = f"{bench.note}; slower than max_call_s: the first call is the time"
            row["per_atom_s"] = med / size
            rows.append(row)
    return rows


def _profile_row(timed: dict, fn: Callable[[], object], task: str) -> dict:
    """Time shares by operator kind (benchmarks/op_profile.py) of one more call of ``fn``, and
    its GEMM FLOPs, beside the timed row it explains (same batch, its median time)."""
    from adapt.flops import counted_flops_by_op
    from benchmarks.op_profile import GEMM_OPS, time_shares

    by_op = counted_flops_by_op(fn)
    t0 = time.perf_counter()
    shares = time_shares(fn)  # CPU only (model_rows), so no device sync is needed
    profile_s = time.perf_counter() - t0
    row = {k: timed[k] for k in ("model", "family", "n_atoms", "batch", "median_s", "device",
                                 "threads", "flops_per_structure", "n_params")}  # fmt: skip
    row["task"] = task
    row["gemm_flops_per_structure"] = sum(by_op.get(op, 0) for op in GEMM_OPS) / timed["batch"]
    row |= {f"share_{k}": v for k, v in shares.items()}
    row["profile_s"] = profile_s
    row["note"] = "torch.profiler self CPU time shares of one call"
    return row


def speed_rows(name: str, cfg, device: str, seed: int) -> list[dict]:
    """Rows of one speed model; a model that cannot be built here is one row saying why."""
    from baselines.interface import ModelUnavailable
    from benchmarks.speed_models import build

    with tempfile.TemporaryDirectory() as tmp:
        try:
            bench = build(name, device, Path(tmp))
        except (ModelUnavailable, ImportError) as exc:
            log.warning("speed: %s skipped: %s", name, exc)
            return [{"model": name, "task": "skipped", "device": device, "note": str(exc)}]
        torch.manual_seed(seed)
        return model_rows(bench, cfg, device, seed)


def gemm_rows(cfg, device: str, when: str) -> list[dict]:
    """Task "gemm_<when>" (fp32) and, on CUDA, "gemm_<when>:tf32" and "gemm_<when>:bf16"."""
    precisions = ("fp32", "tf32", "bf16") if str(device).startswith("cuda") else ("fp32",)
    rows = []
    for precision in precisions:
        peak = gemm_peak(device, cfg.gemm_burst_s, precision=precision)
        rows.append(
            {
                "model": "GEMM peak",
                "family": "",
                "task": f"gemm_{when}" + ("" if precision == "fp32" else f":{precision}"),
                "achieved_gflops": peak["gflops"],
                "device": device,
                "threads": torch.get_num_threads(),
                "note": f"{precision} torch.mm, best shape {peak['shape']}; "
                + ", ".join(f"{k}: {v:.1f}" for k, v in peak["per_shape"].items()),
            }
        )
    return rows


def speed_steps(suite, run_id: str, step_cls) -> list:
    """GEMM peak, every speed model, GEMM peak again: one step each. ``run_id`` is part of every
    step's key, so speed rows are never reused from another run (the peak and the models must be
    measured side by side, under the same load)."""
    from benchmarks.source_hash import code_version

    cfg, device = suite.speed, suite.device
    code = code_version("benchmarks.tasks.speed", "benchmarks.speed_models")

    def material(what: str) -> dict:
        return {
            "what": what,
            "speed": cfg.__dict__,
            "seed": suite.seed,
            "run": run_id,
            "code": code,
        }

    def threads(fn):
        def run():
            if cfg.threads:
                torch.set_num_threads(cfg.threads)
            rows = fn()
            for r in rows:
                r["run_id"] = run_id
            return rows, []

        return run

    steps = [step_cls("speed GEMM peak (before)", "speed", material("gemm_before"),
                      threads(lambda: gemm_rows(cfg, device, "before")))]  # fmt: skip
    for name in cfg.models:
        steps.append(
            step_cls(
                f"speed {name}",
                "speed",
                material(name),
                threads(lambda name=name: speed_rows(name, cfg, device, suite.seed)),
            )
        )
    steps.append(step_cls("speed GEMM peak (after)", "speed", material("gemm_after"),
                          threads(lambda: gemm_rows(cfg, device, "after"))))  # fmt: skip
    return steps
