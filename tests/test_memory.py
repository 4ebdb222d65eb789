"""Peak-RSS estimate of the scaling sweep and the cap that uses it (benchmarks/memory.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
from ase import Atoms

from baselines.interface import ForceField
from baselines.zero import ZeroForceField
from benchmarks.memory import estimated_peak_mb, release_memory, rss_mb
from benchmarks.timers import time_scaling

MIB_PER_ATOM = 0.5


class Hungry(ForceField):
    """Zero model that touches MIB_PER_ATOM MiB per atom in every call (a GNN-like linear need)."""

    def __init__(self):
        self.inner = ZeroForceField({"Si": -4.0, "C": -4.0})
        self.info = self.inner.info

    def predict(self, frames: Sequence[Atoms], batch_size=None):
        n = sum(len(a) for a in frames)
        scratch = np.ones(int(n * MIB_PER_ATOM * 2**20) // 8)  # float64, every page touched
        assert scratch.sum() > 0
        return self.inner.predict(frames, batch_size)


def test_estimate_linear_quadratic_and_small():
    # growth 100 MiB at 100 atoms, 400 at 200: exponent 2 -> 400 * 2^2 at 400 atoms
    assert estimated_peak_mb(1000.0, [(100, 100.0), (200, 400.0)], 400) == pytest.approx(2600.0)
    # 100 -> 200 MiB at 100 -> 200 atoms: linear
    assert estimated_peak_mb(500.0, [(100, 100.0), (200, 200.0)], 1000) == pytest.approx(1500.0)
    # exponent clipped to [1, 2]; below 32 MiB of growth no exponent is read (linear)
    assert estimated_peak_mb(0.0, [(100, 100.0), (200, 1600.0)], 400) == pytest.approx(6400.0)
    assert estimated_peak_mb(0.0, [(100, 64.0), (200, 64.0)], 400) == pytest.approx(128.0)
    assert estimated_peak_mb(0.0, [(8, 1.0), (64, 30.0)], 128) == pytest.approx(60.0)


def test_release_memory_gives_freed_heap_back():
    release_memory()
    base = rss_mb()
    if math.isnan(base):
        pytest.skip("no /proc here")
    blocks = [bytearray(64 * 1024) for _ in range(4000)]  # ~250 MiB in small heap blocks
    assert rss_mb() > base + 200
    del blocks
    release_memory()
    assert rss_mb() < base + 100


def test_scaling_sweep_stops_before_a_size_expected_above_the_cap():
    sizes = (1, 2, 3, 4)  # 8, 64, 216, 512 atoms: 4, 32, 108, 256 MiB per call
    free = time_scaling(Hungry(), sizes=sizes, repeats=1)
    if free[0].mem_method != "rss_peak_growth":
        pytest.skip("peak RSS cannot be reset here (/proc/self/clear_refs)")
    assert all(r.repeats == 1 for r in free)
    assert free[2].peak_mem_mb == pytest.approx(216 * MIB_PER_ATOM, rel=0.25)
    release_memory()
    cap = rss_mb() + 180  # room for 216 atoms (108 MiB), not for 512 (256 MiB)
    capped = time_scaling(Hungry(), sizes=sizes, repeats=1, max_rss_mb=cap)
    assert [r.repeats for r in capped] == [1, 1, 1, 0]
    assert math.isnan(capped[3].median_s) and "expected peak RSS" in capped[3].note
    assert "timing.scaling_max_rss_mb" in capped[3].note
