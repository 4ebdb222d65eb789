"""Timing: sane fields on the zero model, fresh rattling per call, scaling cap, epoch logs.

No assertion depends on how fast anything runs.
"""

import json
import math
from collections.abc import Sequence

import numpy as np
from ase import Atoms

from baselines.interface import ForceField
from baselines.zero import ZeroForceField
from benchmarks.testing import si_cell
from benchmarks.timers import (
    TimingResult,
    hardware_string,
    scaling_frames,
    time_inference,
    time_scaling,
    time_training_epochs,
)


class Recording(ForceField):
    """Zero model that remembers the positions and batch size of every call."""

    def __init__(self):
        self.inner = ZeroForceField({"Si": -4.0, "C": -4.0})
        self.info = self.inner.info
        self.seen: list[np.ndarray] = []
        self.batch_sizes: list[int | None] = []

    def predict(self, frames: Sequence[Atoms], batch_size=None):
        self.seen.append(np.concatenate([a.positions for a in frames]))
        self.batch_sizes.append(batch_size)
        return self.inner.predict(frames, batch_size)


def test_time_inference_zero_model_fields():
    frames = [si_cell(1), si_cell(2)]
    res = time_inference(
        ZeroForceField({"Si": -4.0, "C": -4.0}), frames, repeats=3, warmup=1, batch_size=2
    )
    assert isinstance(res, TimingResult)
    assert res.task == "inference" and res.repeats == 3 and res.batch == 2 and res.n_frames == 2
    assert res.n_atoms == 36  # (8 + 64) / 2
    assert res.median_s > 0 and res.per_structure_s == res.median_s / 2
    assert res.atoms_steps_per_s == 72 / res.median_s
    assert res.peak_mem_mb >= 0 and res.mem_method in ("rss_peak_growth", "ru_maxrss_growth")
    assert res.device == "cpu" and "cores" in res.hardware
    assert res.comparable_within == "one run" and res.as_dict()["median_s"] == res.median_s


def test_frames_rattled_freshly_each_call_and_inputs_untouched():
    frames = [si_cell(1)]
    before = frames[0].positions.copy()
    ff = Recording()
    time_inference(ff, frames, repeats=4, warmup=2, batch_size=1, seed=7)
    assert len(ff.seen) == 6 and ff.batch_sizes == [1] * 6
    for i in range(6):
        assert not np.allclose(ff.seen[i], before)
        for j in range(i):
            assert not np.allclose(ff.seen[i], ff.seen[j])
    np.testing.assert_array_equal(frames[0].positions, before)
    again = Recording()
    time_inference(again, frames, repeats=4, warmup=2, seed=7)
    np.testing.assert_array_equal(np.array(again.seen), np.array(ff.seen))  # seeded


def test_scaling_frames():
    frames = scaling_frames((1, 2, 3))
    assert [len(a) for a in frames] == [8, 64, 216]
    for a in frames:
        assert a.get_chemical_symbols().count("C") == 1 and a.pbc.all()
    ideal = si_cell(2)
    assert 0 < np.abs(frames[1].positions - ideal.positions).max() < 0.5
    np.testing.assert_array_equal(scaling_frames((1, 2, 3))[2].positions, frames[2].positions)


def test_time_scaling_and_cap():
    res = time_scaling(ZeroForceField({"Si": -4.0, "C": -4.0}), sizes=(1, 2), repeats=2)
    assert [r.n_atoms for r in res] == [8, 64] and all(r.task == "scaling" for r in res)
    assert all(r.median_s > 0 and r.repeats == 2 for r in res)
    capped = time_scaling(
        ZeroForceField({"Si": -4.0, "C": -4.0}), sizes=(1, 2, 3), repeats=3, time_cap_s=0.0
    )
    assert [r.n_atoms for r in capped] == [8, 64, 216]
    assert capped[0].median_s >= 0 and capped[0].repeats == 1 and capped[0].note
    assert all(math.isnan(r.median_s) and "skipped" in r.note for r in capped[1:])


def test_hardware_string_cpu():
    s = hardware_string("cpu")
    assert "cores" in s and "threads" in s


def test_time_training_epochs_jsonl_and_mace_sidecar(tmp_path):
    log = tmp_path / "metrics.jsonl"
    recs = [
        {"event": "start", "device": "cpu"},
        {"epoch": 0, "wall_s": 2.0, "frames_per_s": 50.0, "train_loss": 1.0},
        {"epoch": 1, "wall_s": 4.0, "n_frames": 100},
        {"epoch": 2, "wall_s": 3.0, "frames_per_s": 40.0},
    ]
    log.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    out = time_training_epochs(log)
    assert out["n_epochs"] == 3 and out["median_epoch_s"] == 3.0 and out["total_s"] == 9.0
    assert out["median_frames_per_s"] == 40.0  # median of 50, 25, 40
    assert out["device"] == "cpu"
    # ADAPT+ logs the optimisation seconds beside the epoch's wall time with validation
    log.write_text(json.dumps({"epoch": 0, "opt_s": 2.0, "wall_s": 2.5, "n_frames": 10}) + "\n")
    out = time_training_epochs(log)
    assert out["total_s"] == 2.0 and out["median_frames_per_s"] == 5.0
    sidecar = tmp_path / "mace.json"
    sidecar.write_text(json.dumps({"epoch_train_s": [1.0, 2.0], "n_train_frames": 10}))
    out = time_training_epochs(sidecar)
    assert out["n_epochs"] == 2 and out["median_epoch_s"] == 1.5
    assert out["median_frames_per_s"] == 7.5  # median of 10, 5
