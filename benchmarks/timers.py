"""Inference and training timings of force fields.

Every TimingResult carries the device and a hardware string. Timings are comparable only
within one run (same machine, same load, same thread settings): the report says so.

Protocol of :func:`time_inference`: the frames are rattled afresh before every call (seeded;
Gaussian displacements of RATTLE_STDEV Å), so no calculator or model cache can return a stored
result; ``warmup`` untimed calls come first (lazy initialisation, JIT, cuDNN autotuning); then
``repeats`` timed calls of ``ff.predict(frames, batch_size)``, each predicting every frame once;
the result is the median call time. On CUDA devices the clock is a pair of CUDA events around
the call with torch.cuda.synchronize() before and after.

Peak memory (``peak_mem_mb``, MiB, ``mem_method`` says which):
    cuda   torch.cuda.max_memory_allocated over warm-up + timed calls (peak reset before);
           includes the model's weights and everything else allocated on that device.
    cpu    growth of the process's peak resident set size over warm-up + timed calls: the peak
           (VmHWM, reset through /proc/self/clear_refs) minus the resident size before. A lower
           bound: memory the allocator already holds from earlier work is reused without growth.
           Where /proc cannot be used, the growth of getrusage's ru_maxrss (a lifetime peak) is
           reported instead (``mem_method = "ru_maxrss_growth"``), 0 when an earlier peak was higher.
"""

from __future__ import annotations

import json
import logging
import math
import os
import platform
import resource
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.build import bulk

from baselines.interface import ForceField
from benchmarks.memory import estimated_peak_mb, release_memory, rss_mb, status_kb

log = logging.getLogger(__name__)

RATTLE_STDEV = 0.01  # Å, fresh displacements before every timed call
SCALING_SIZES = (1, 2, 3, 4, 6)  # k of k x k x k conventional diamond cells: 8..1728 atoms
SCALING_TIME_CAP_S = 60.0  # a single call slower than this stops the scaling sweep
COMPARABLE_WITHIN = "one run"


@dataclass
class TimingResult:
    task: str  # "inference" | "scaling" | "training"
    n_atoms: int  # atoms per structure (mean when sizes differ)
    batch: int  # batch_size handed to ForceField.predict
    repeats: int  # timed calls actually made
    median_s: float  # s per call (one call predicts every frame once)
    per_structure_s: float  # median_s / number of frames
    atoms_steps_per_s: float  # atoms evaluated per second: total atoms / median_s
    peak_mem_mb: float  # MiB, see module docstring
    device: str
    hardware: str
    n_frames: int = 1
    mem_method: str = ""
    note: str = ""  # e.g. why a scaling size was skipped
    comparable_within: str = COMPARABLE_WITHIN

    def as_dict(self) -> dict:
        return asdict(self)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _n_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def hardware_string(device: str) -> str:
    """e.g. "AMD EPYC, 2 cores, torch 2 threads" or "NVIDIA H100 80GB HBM3 (cuda:0); host: ..."."""
    host = f"{_cpu_name()}, {_n_cores()} cores"
    try:
        import torch

        host += f", torch {torch.get_num_threads()} threads"
        if str(device).startswith("cuda") and torch.cuda.is_available():
            dev = torch.device(device)
            return f"{torch.cuda.get_device_name(dev)} ({device}); host: {host}"
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    return host


def rattled(frames: Sequence[Atoms], rng: np.random.Generator, stdev: float = RATTLE_STDEV):
    """Copies of ``frames`` with fresh Gaussian displacements (Å); calculators dropped."""
    out = []
    for atoms in frames:
        a = atoms.copy()
        a.positions = a.positions + rng.normal(scale=stdev, size=a.positions.shape)
        out.append(a)
    return out


class _PeakMemory:
    """Peak memory over a block of code, in MiB (module docstring)."""

    def __init__(self, device: str):
        self.cuda = str(device).startswith("cuda")
        self.device = device
        self.method = ""
        self.peak_mb = math.nan

    def __enter__(self):
        if self.cuda:
            import torch

            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.method = "cuda_max_memory_allocated"
            return self
        self.rss0 = status_kb("VmRSS")
        try:
            with open("/proc/self/clear_refs", "w") as fh:
                fh.write("5")  # reset VmHWM (peak RSS) to the current RSS
            ok = self.rss0 is not None and status_kb("VmHWM") is not None
        except OSError:
            ok = False
        self.method = "rss_peak_growth" if ok else "ru_maxrss_growth"
        self.maxrss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
        return self

    def __exit__(self, *exc):
        if self.cuda:
            import torch

            torch.cuda.synchronize(self.device)
            self.peak_mb = torch.cuda.max_memory_allocated(self.device) / 2**20
        elif self.method == "rss_peak_growth":
            self.peak_mb = max(0, status_kb("VmHWM") - self.rss0) / 1024
        else:
            grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - self.maxrss0
            self.peak_mb = max(0, grown) / 1024
        return False


def _timed_call(ff: ForceField, frames: list[Atoms], batch_size: int, cuda: bool) -> float:
    if not cuda:
        t0 = time.perf_counter()
        ff.predict(frames, batch_size=batch_size)
        return time.perf_counter() - t0
    import torch

    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    start.record()
    ff.predict(frames, batch_size=batch_size)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / 1000.0


def time_inference(
    ff: ForceField,
    frames: Sequence[Atoms],
    repeats: int = 5,
    warmup: int = 1,
    batch_size: int = 1,
    seed: int = 0,
    task: str = "inference",
    time_cap_s: float | None = None,
) -> TimingResult:
    """Median time of ``ff.predict(frames, batch_size)`` over ``repeats`` calls after ``warmup``.

    Frames are rattled freshly (seeded) before every call. With ``time_cap_s``, a call slower
    than the cap ends the timing early (``repeats`` then says how many timed calls were made,
    at least one). Timings are comparable only within one run.
    """
    if not frames:
        raise ValueError("time_inference needs at least one frame")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"repeats must be >= 1 and warmup >= 0 (got {repeats}, {warmup})")
    device = str(ff.info.device)
    cuda = device.startswith("cuda")
    rng = np.random.default_rng(seed)
    times: list[float] = []
    note = ""
    with _PeakMemory(device) as mem:
        for _ in range(warmup):
            t = _timed_call(ff, rattled(frames, rng), batch_size, cuda)
            if time_cap_s is not None and t > time_cap_s:
                note = f"warm-up call took {t:.1f} s > cap {time_cap_s} s: 1 timed call"
                repeats = 1
                break
        for _ in range(repeats):
            times.append(_timed_call(ff, rattled(frames, rng), batch_size, cuda))
            if time_cap_s is not None and times[-1] > time_cap_s:
                break
    median = statistics.median(times)
    n_total = sum(len(a) for a in frames)
    return TimingResult(
        task=task,
        n_atoms=round(n_total / len(frames)),
        batch=int(batch_size),
        repeats=len(times),
        median_s=median,
        per_structure_s=median / len(frames),
        atoms_steps_per_s=n_total / median if median > 0 else math.inf,
        peak_mem_mb=float(mem.peak_mb),
        device=device,
        hardware=hardware_string(device),
        n_frames=len(frames),
        mem_method=mem.method,
        note=note,
    )


def scaling_frames(sizes: Sequence[int] = SCALING_SIZES, seed: int = 0) -> list[Atoms]:
    """Diamond Si (a = 5.431 Å) k x k x k conventional supercells (8 k^3 atoms), atom 0
    replaced by C, rattled by 0.05 Å (seeded): one frame per k in ``sizes``."""
    rng = np.random.default_rng(seed)
    out = []
    for k in sizes:
        atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(int(k))
        atoms.symbols[0] = "C"
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        out.append(atoms)
    return out


def time_scaling(
    ff: ForceField,
    sizes: Sequence[int] = SCALING_SIZES,
    repeats: int = 3,
    time_cap_s: float = SCALING_TIME_CAP_S,
    seed: int = 0,
    max_rss_mb: float | None = None,
) -> list[TimingResult]:
    """Single-structure inference time vs system size (task "scaling").

    Sizes are timed in increasing order; once a call takes longer than ``time_cap_s`` the
    larger sizes are not run and get a row with NaN timings and a ``note`` saying why. A size
    that fails (e.g. out of memory) gets a NaN row with the error in ``note`` and also stops
    the sweep. With ``max_rss_mb`` (CPU), a size whose expected peak resident size
    (benchmarks.memory.estimated_peak_mb, from the growth measured at the smaller sizes) is
    above the cap is not run either: a NaN row says the estimate, and the sweep stops there.
    """

    device = str(ff.info.device)
    results: list[TimingResult] = []
    needs: list[tuple[int, float]] = []  # (atoms, MiB peak growth) of the sizes timed
    stop = ""
    for k, atoms in zip(sorted(sizes), scaling_frames(sorted(sizes), seed=seed), strict=True):
        release_memory()
        if not stop and max_rss_mb is not None and needs:
            expected = estimated_peak_mb(rss_mb(), needs, len(atoms))
            if expected > max_rss_mb:
                stop = (
                    f"skipped: expected peak RSS {expected:.0f} MiB > the suite's cap "
                    f"{max_rss_mb:.0f} MiB (timing.scaling_max_rss_mb)"
                )
        if stop:
            results.append(_skipped(len(atoms), device, stop))
            continue
        try:
            res = time_inference(
                ff, [atoms], repeats=repeats, warmup=1, seed=seed + k, task="scaling",
                time_cap_s=time_cap_s,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - recorded, then the sweep stops
            log.warning("scaling: %s failed at %d atoms: %s", ff.info.name, len(atoms), exc)
            stop = f"skipped: failed at {len(atoms)} atoms ({type(exc).__name__})"
            results.append(_skipped(len(atoms), device, f"failed: {type(exc).__name__}: {exc}"))
            continue
        results.append(res)
        if res.mem_method == "rss_peak_growth" and math.isfinite(res.peak_mem_mb):
            needs.append((len(atoms), res.peak_mem_mb))
        if res.median_s > time_cap_s or res.note:
            stop = f"skipped: a call at {len(atoms)} atoms took > {time_cap_s} s"
    return results


def _skipped(n_atoms: int, device: str, note: str) -> TimingResult:
    nan = math.nan
    return TimingResult(
        task="scaling", n_atoms=n_atoms, batch=1, repeats=0, median_s=nan, per_structure_s=nan,
        atoms_steps_per_s=nan, peak_mem_mb=nan, device=device, hardware=hardware_string(device),
        note=note,
    )  # fmt: skip


# "opt_s" first: seconds of optimisation steps without validation (ADAPT+ logs it beside
# "wall_s"), the definition ADAPT's "epoch_wall_s" and MACE's per-step results file also give
EPOCH_TIME_KEYS = ("opt_s", "wall_s", "epoch_wall_s", "epoch_s", "epoch_time_s", "time_s")
FRAMES_PER_S_KEYS = ("frames_per_s", "train_frames_per_s", "frames_per_second")
N_FRAMES_KEYS = ("n_frames", "train_frames", "n_train_frames")


def _first(rec: dict, keys: Sequence[str]):
    for k in keys:
        if rec.get(k) is not None:
            return rec[k]
    return None


def time_training_epochs(metrics_jsonl: Path) -> dict:
    """Median epoch time and training throughput of a finished training run.

    Reads a JSON-lines log with one record per epoch: ``epoch`` plus the epoch's wall time
    (first of EPOCH_TIME_KEYS, seconds) and optionally frames/s (FRAMES_PER_S_KEYS, else
    computed from a frame count in N_FRAMES_KEYS); records without ``epoch`` or a time are
    ignored, and the last record of a repeated epoch wins. Also accepts a JSON sidecar with a
    list ``epoch_train_s`` and ``n_train_frames`` (MACE runs, baselines/mace_train.py).

    Returns {"n_epochs", "median_epoch_s", "total_s", "median_frames_per_s" (NaN if unknown),
    "device", "hardware" (from the log when it names them, else "")}.
    """
    path = Path(metrics_jsonl)
    text = path.read_text()
    epochs: dict[int, tuple[float, float]] = {}
    device = hardware = ""
    try:
        sidecar = json.loads(text)
    except json.JSONDecodeError:
        sidecar = None
    if isinstance(sidecar, dict) and "epoch_train_s" in sidecar:
        n = sidecar.get("n_train_frames")
        for e, t in enumerate(sidecar["epoch_train_s"]):
            epochs[e] = (float(t), float(n) / t if n and t > 0 else math.nan)
        device = str(sidecar.get("device") or "")
    else:
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path} line {i}: not JSON ({exc})") from exc
            if not isinstance(rec, dict):
                continue
            device = str(rec.get("device") or device)
            hardware = str(rec.get("hardware") or hardware)
            t = _first(rec, EPOCH_TIME_KEYS)
            if rec.get("epoch") is None or t is None:
                continue
            fps = _first(rec, FRAMES_PER_S_KEYS)
            n = _first(rec, N_FRAMES_KEYS)
            if fps is None:
                fps = float(n) / float(t) if n and float(t) > 0 else math.nan
            epochs[int(rec["epoch"])] = (float(t), float(fps))
    if not epochs:
        raise ValueError(f"{path}: no per-epoch timing records (keys epoch + {EPOCH_TIME_KEYS[0]})")
    times = [t for t, _ in epochs.values()]
    rates = [r for _, r in epochs.values() if math.isfinite(r)]
    return {
        "n_epochs": len(epochs),
        "median_epoch_s": float(statistics.median(times)),
        "total_s": float(sum(times)),
        "median_frames_per_s": float(statistics.median(rates)) if rates else math.nan,
        "device": device,
        "hardware": hardware,
    }
