"""This process's memory on CPU: resident size, giving freed memory back, and the estimate that
keeps a scaling sweep under a peak-RSS cap.

glibc's allocator keeps freed arenas mapped: after a 1728-atom CHGNet call (≈5 GB peak) the
process stayed at ≈4.2 GB resident until ``malloc_trim`` gave it back (then ≈0.4 GB). A suite
process that runs model after model therefore carries the largest earlier peak into every later
step; :func:`release_memory` after each step returns it, and it makes the per-size memory growth
the timers measure (benchmarks/timers.py) the model's own need rather than a lower bound.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import math


def status_kb(key: str) -> int | None:
    """A field of /proc/self/status in KiB (``"VmRSS"``, ``"VmHWM"``); None where unavailable."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def rss_mb() -> float:
    """Resident set size of this process in MiB (NaN where /proc is unavailable)."""
    kb = status_kb("VmRSS")
    return math.nan if kb is None else kb / 1024


@functools.cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


def release_memory() -> None:
    """Collect garbage and hand freed heap memory back to the OS (glibc ``malloc_trim``)."""
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def estimated_peak_mb(rss_now_mb: float, needs: list[tuple[int, float]], n_next: int) -> float:
    """Peak RSS (MiB) expected when a structure of ``n_next`` atoms is timed next.

    ``needs``: (atoms, MiB of peak growth) of the sizes timed so far, in increasing order, each
    measured after :func:`release_memory`. The growth is extrapolated from the largest one as
    need x (n_next / n)^p, where p is the growth exponent seen between the last two sizes,
    clipped to [1, 2] (1: a graph whose edges grow with the atoms; 2: all pairs), and 1 when
    fewer than two sizes grew by 32 MiB or more (too small to read an exponent from).
    """
    n, need = needs[-1]
    p = 1.0
    if len(needs) >= 2 and min(needs[-2][1], need) >= 32.0:
        n0, need0 = needs[-2]
        p = min(2.0, max(1.0, math.log(need / need0) / math.log(n / n0)))
    return rss_now_mb + need * (n_next / n) ** p
