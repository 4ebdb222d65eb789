"""Retrained MACE: training through mace-torch's own CLI, the sidecar, resume/skip, loading."""

import json

import ase.io
import numpy as np
import pytest

from adapt.fileio import file_sha256
from baselines import mace as mace_ff
from baselines.mace_train import (
    PRESETS,
    epoch_times,
    fit_e0s,
    thin,
    train_mace,
    write_mace_extxyz,
)
from baselines.registry import load_model
from benchmarks.data.dataset import labelled
from benchmarks.testing import generated_dataset, random_label_dataset, si_cell


def test_paper_preset_is_the_papers_mace():
    p = PRESETS["paper"]
    assert (p.num_interactions, p.num_channels, p.max_L, p.correlation) == (2, 256, 2, 3)
    assert (p.r_max, p.default_dtype, p.epochs) == (5.0, "float32", 300)
    assert p.max_train_frames is None  # all data


def test_fit_e0s_recovers_per_element_energies():
    frames = []
    for n_c in (0, 1, 2, 3):
        a = si_cell(1, dopant=None)
        a.numbers[:n_c] = 6
        n_si = len(a) - n_c
        frames.append(labelled(a, energy=-5.0 * n_si - 7.0 * n_c, forces=np.zeros((8, 3))))
    assert fit_e0s(frames) == pytest.approx({6: -7.0, 14: -5.0})


def test_thin_keeps_ends_and_limit():
    assert thin(list(range(10)), None) == list(range(10))
    out = thin(list(range(100)), 7)
    assert len(out) == 7 and out[0] == 0 and out[-1] == 99


def test_extxyz_carries_ref_keys(tmp_path):
    a = labelled(si_cell(1), energy=-40.0, forces=np.full((8, 3), 0.5))
    write_mace_extxyz([a], tmp_path / "x.extxyz")
    (b,) = ase.io.read(tmp_path / "x.extxyz", ":")
    assert b.info["REF_energy"] == -40.0
    np.testing.assert_array_equal(b.arrays["REF_forces"], 0.5)
    assert a.calc.results["energy"] == -40.0  # input untouched


def test_epoch_times_sums_steps_per_epoch(tmp_path):
    f = tmp_path / "r.txt"
    rows = [
        {"mode": "opt", "epoch": 0, "time": 1.0},
        {"mode": "opt", "epoch": 0, "time": 2.0},
        {"mode": "eval", "epoch": 0, "time": 9.0},
        {"mode": "opt", "epoch": 1, "time": 4.0},
    ]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert epoch_times(f) == [3.0, 4.0]
    size = f.stat().st_size
    with open(f, "a") as fh:
        fh.write(json.dumps({"mode": "opt", "epoch": 1, "time": 5.0}) + "\n")
    assert epoch_times(f, offset=size) == [5.0]


def test_cli_arguments_default_to_tiny_cpu():
    from benchmarks.cli import build_parser

    args = build_parser().parse_args(["train", "mace", "--data", "D", "--out", "R"])
    assert (args.preset, args.epochs, args.device, args.seed) == ("tiny", None, "cpu", 0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One epoch of the tiny preset on a small random-label dataset, in the runs cache dir."""
    root = tmp_path_factory.mktemp("mace_train")
    ds = random_label_dataset(root / "ds", n_traj=6, n_frames=4)
    run = root / "cache" / "runs" / "mace-tiny"
    path = train_mace(ds, run, preset="tiny", epochs=1)
    return ds, run, path


def test_training_writes_model_and_sidecar(trained):
    ds, run, path = trained
    assert path == run / "mace.model" and path.is_file()
    meta = json.loads((run / "mace.json").read_text())
    assert meta["model_sha256"] == file_sha256(path)
    assert meta["dataset_sha256"] == ds.sha256
    assert meta["level_of_theory"] == ds.level_of_theory
    assert (meta["preset"], meta["epochs"], meta["seed"]) == ("tiny", 1, 0)
    assert len(meta["epoch_train_s"]) == 1 and meta["epoch_train_s"][0] > 0
    assert meta["n_train_frames"] == 12 and meta["n_valid_frames"] == 4
    assert set(meta["e0s_eV"]) == {"6", "14"}


def test_trained_model_loads_with_provenance(trained):
    ds, _, path = trained
    ff = load_model(f"mace:{path}")
    assert ff.info.family == "mace" and ff.info.conservative
    assert ff.info.level_of_theory == ds.level_of_theory
    assert ff.info.dtype == "float32"
    assert ff.info.checkpoint_sha256 == file_sha256(path)
    assert ff.info.extra["preset"] == "tiny"
    (pred,) = ff.predict([si_cell(1)])
    assert pred.forces.shape == (8, 3) and np.isfinite(pred.energy)


def test_rerun_is_a_no_op_and_other_settings_are_refused(trained):
    ds, run, path = trained
    log_size = (run / "train.log").stat().st_size
    assert train_mace(ds, run, preset="tiny", epochs=1) == path
    assert (run / "train.log").stat().st_size == log_size  # MACE was not started again
    with pytest.raises(ValueError, match="other settings"):
        train_mace(ds, run, preset="tiny", epochs=1, seed=1)


def test_statuses_list_runs_in_the_cache(trained, monkeypatch):
    _, run, path = trained
    monkeypatch.setenv("ADAPT_BENCH_CACHE", str(run.parent.parent))
    rows = {s.spec: s for s in mace_ff.statuses()}
    assert rows[f"mace:{path}"].available
    assert "preset tiny" in rows[f"mace:{path}"].reason
    assert "cannot be fetched here" in rows["mace:PATH.model"].reason


def test_model_without_sidecar_is_foundation_like(tmp_path):
    from baselines.testing import tiny_mace_model

    path = tiny_mace_model(tmp_path / "foundation.model", dtype="float32")
    ff = load_model(f"mace:{path}")
    assert ff.info.level_of_theory == mace_ff.UNKNOWN_LOT
    assert ff.info.dtype == "float32"


def test_missing_file_and_unknown_element_are_clear(tmp_path, trained):
    from baselines.interface import ModelUnavailable

    with pytest.raises(ModelUnavailable, match="no such file"):
        load_model(f"mace:{tmp_path / 'nope.model'}")
    _, _, path = trained
    ff = load_model(f"mace:{path}")
    with pytest.raises(ValueError, match=r"elements \[32\]"):
        ff.predict([si_cell(1, dopant="Ge")])


def test_validation_element_absent_from_train_is_left_out(tmp_path):
    """generated_dataset(6) has Ge only in val: training must not crash on the missing E0."""
    ds = generated_dataset(tmp_path / "ds", n_trajectories=6)
    val_species = {s for a in ds.frames("val", "all") for s in a.get_chemical_symbols()}
    train_species = {s for a in ds.frames("train", "all") for s in a.get_chemical_symbols()}
    assert val_species - train_species, "fixture no longer has a val-only element"
    path = train_mace(ds, tmp_path / "run", preset="tiny", epochs=1)
    assert path.is_file()
