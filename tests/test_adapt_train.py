"""Training ADAPT end to end: overfitting, checkpoints, resume, the CLI, the ForceField wrapper."""

import importlib.util
import json
import warnings

import numpy as np
import pytest
import torch
from ase.calculators.calculator import PropertyNotImplementedError
from ase.optimize import BFGS
from safetensors.torch import load_file

from adapt.checkpoint import CheckpointError, load_checkpoint
from adapt.config import force_preset
from adapt.energy_models import OversizeStructureError
from adapt.testing import torch_threads
from adapt.train import train_adapt
from baselines.adapt import load_run, statuses
from baselines.adapt_calculator import ADAPTCalculator, UnseenCellWarning
from baselines.interface import ModelUnavailable
from baselines.registry import LoadContext, load_model
from baselines.testing import tiny_adapt_forcefield
from benchmarks.testing import si_cell, smooth_label_dataset


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def lj_data(tmp_path_factory):
    return smooth_label_dataset(tmp_path_factory.mktemp("lj") / "ds")


@pytest.fixture(scope="module")
def run_dir(lj_data, tmp_path_factory):
    run = tmp_path_factory.mktemp("run")
    train_adapt("force", lj_data, run / "force", epochs=3)
    train_adapt("energy", lj_data, run / "energy", epochs=3)
    return run


def _metrics(ckpt):
    return [json.loads(x) for x in (ckpt / "metrics.jsonl").read_text().splitlines()]


def test_tiny_model_overfits_a_handful_of_frames(tmp_path):
    ds = smooth_label_dataset(tmp_path / "ds", n_traj=2, n_frames=2, splits=("train", "val"))
    ckpt = train_adapt("force", ds, tmp_path / "f", epochs=150, lr=3e-3, batch_size=2, loss="mse")
    m = _metrics(ckpt)
    assert m[0]["train_loss"] / m[-1]["train_loss"] > 10, (m[0]["train_loss"], m[-1]["train_loss"])
    ckpt = train_adapt("energy", ds, tmp_path / "e", epochs=150, lr=3e-3, batch_size=2)
    m = _metrics(ckpt)
    assert m[0]["train_loss"] / min(r["train_loss"] for r in m[-10:]) > 10


def test_checkpoint_round_trip_gives_identical_predictions(run_dir, lj_data):
    frames = lj_data.frames("test", "all")
    ff = load_run(run_dir)
    pred = ff.predict(frames, batch_size=2)
    again = load_model(f"adapt:{run_dir}", LoadContext()).predict(frames, batch_size=2)
    for a, b in zip(pred, again, strict=True):
        np.testing.assert_array_equal(a.forces, b.forces)
        assert a.energy == b.energy
    # and the loaded weights are exactly the saved tensors
    ck = load_checkpoint(run_dir / "force")
    saved = load_file(str(run_dir / "force" / "model.safetensors"))
    for k, v in ck.model.state_dict().items():
        assert torch.equal(v, saved[k])
    meta = ck.meta
    assert meta["data"]["content_sha256"] == lj_data.sha256
    assert meta["element_table"]["version"].startswith("adapt-elements/")
    assert len(meta["normalisation"]["token_mean"]) == 12 and meta["training_cells"]
    info = ff.info
    assert info.family == "adapt" and not info.conservative and info.predicts_energy
    assert info.level_of_theory == lj_data.level_of_theory and len(info.checkpoint_sha256) == 64


def test_loading_into_another_config_is_a_clear_error(run_dir):
    from adapt.checkpoint import load_weights
    from adapt.force_model import ADAPTForceModel

    bigger = ADAPTForceModel(force_preset("small"))
    with pytest.raises(CheckpointError, match="does not fit this model config"):
        load_weights(bigger, run_dir / "force" / "model.safetensors")
    with pytest.raises(CheckpointError, match="d_model: 32 vs 256"):
        load_checkpoint(run_dir / "force", config=force_preset("small"))


def test_unseen_cell_flag_and_calculator(run_dir):
    ff = load_run(run_dir)
    seen, unseen = si_cell(1), si_cell(1)
    unseen.set_cell(unseen.cell * 1.02, scale_atoms=True)
    p_seen, p_unseen = ff.predict([seen, unseen])
    assert p_seen.flags == () and p_unseen.flags == ("unseen_cell",)
    calc = ff.calculator()
    assert isinstance(calc, ADAPTCalculator)
    unseen.calc = calc
    with pytest.warns(UnseenCellWarning, match="never saw this cell"):
        unseen.get_forces()
    seen.calc = ff.calculator()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt = BFGS(seen, logfile=None)
        opt.run(fmax=1e-4, steps=3)
    assert np.isfinite(seen.get_potential_energy())


def test_force_only_and_energy_only_runs(run_dir, tmp_path):
    (tmp_path / "f").symlink_to(run_dir / "force")
    force_only = load_run(tmp_path / "f")
    atoms = si_cell(1)
    atoms.calc = force_only.calculator()
    assert atoms.get_forces().shape == (8, 3)
    with pytest.raises(PropertyNotImplementedError):
        atoms.get_potential_energy()
    atoms.calc = force_only.calculator(missing_energy="nan")
    BFGS(atoms, logfile=None).run(fmax=1e-4, steps=2)
    energy_only = load_run(run_dir / "energy")
    assert not energy_only.info.predicts_forces
    (pred,) = energy_only.predict([si_cell(1)])
    assert pred.forces is None and np.isfinite(pred.energy)
    with pytest.raises(OversizeStructureError, match="max_atoms=220"):
        energy_only.predict([si_cell(4)])
    with pytest.raises(ModelUnavailable, match="adapt-bench train adapt-force"):
        load_run(tmp_path / "nothing")
    assert statuses()[0].spec == "adapt:RUN_DIR"


def test_resume_equals_uninterrupted_and_finished_returns(lj_data, tmp_path):
    straight = train_adapt("force", lj_data, tmp_path / "a", epochs=4, seed=1)
    train_adapt("force", lj_data, tmp_path / "b", epochs=2, seed=1)
    resumed = train_adapt("force", lj_data, tmp_path / "b", epochs=4, seed=1)
    a = load_file(str(straight / "last" / "model.safetensors"))
    b = load_file(str(resumed / "last" / "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [r["epoch"] for r in _metrics(resumed)] == [1, 2, 3, 4]
    for ra, rb in zip(_metrics(straight), _metrics(resumed), strict=True):
        assert ra["train_loss"] == rb["train_loss"] and ra["val_loss"] == rb["val_loss"]
    before = (resumed / "metrics.jsonl").read_text()
    train_adapt("force", lj_data, tmp_path / "b", epochs=4, seed=1)  # finished: no work
    assert (resumed / "metrics.jsonl").read_text() == before
    with pytest.raises(ValueError, match="different run .*seed"):
        train_adapt("force", lj_data, tmp_path / "b", epochs=4, seed=2)


def test_cli_trains_both_models(lj_data, tmp_path, monkeypatch):
    import benchmarks.cli as bcli

    # other packages' subcommands may not exist yet in a partial checkout; keep those that do
    present = [(m, f) for m, f in bcli.TOP_LEVEL if importlib.util.find_spec(m) is not None]
    monkeypatch.setattr(bcli, "TOP_LEVEL", present)
    monkeypatch.setattr(bcli, "TRAIN", [("benchmarks.train_commands", "register_train")])
    run = tmp_path / "run"
    base = ["--data", str(lj_data.root), "--out", str(run), "--epochs", "2", "--seed", "3"]
    assert (
        bcli.main(["train", "adapt-force", *base, "--loss", "log", "--attention-radius", "4"]) == 0
    )
    assert (
        bcli.main(["train", "adapt-energy", *base, "--arch", "decoder", "--max-atoms", "16"]) == 0
    )
    ff = load_model(f"adapt:{run}")
    meta = json.loads((run / "force" / "checkpoint.json").read_text())
    assert meta["model_config"]["attention_radius"] == 4.0 and meta["train_config"]["loss"] == "log"
    assert 0 < meta["allowed_interactions"] < 1
    assert (
        json.loads((run / "energy" / "checkpoint.json").read_text())["model_config"]["arch"]
        == "decoder"
    )
    (pred,) = ff.predict([si_cell(1)])
    assert pred.forces.shape == (8, 3) and np.isfinite(pred.energy)


def test_tiny_adapt_forcefield_for_contract_tests():
    ff = tiny_adapt_forcefield(seed=0)
    frames = [si_cell(1), si_cell(2)]
    before = [a.positions.copy() for a in frames]
    batch = ff.predict(frames)
    single = [ff.predict([a])[0] for a in frames]
    for b, s in zip(batch, single, strict=True):
        np.testing.assert_allclose(b.forces, s.forces, atol=1e-5)
        assert b.energy == pytest.approx(s.energy, abs=1e-3) and b.flags == ()
    assert all(np.array_equal(a.positions, p) for a, p in zip(frames, before, strict=True))
    assert tiny_adapt_forcefield(energy=False).info.predicts_energy is False


@pytest.mark.parametrize("kind", ["force", "energy"])
def test_save_then_load_reproduces_the_in_memory_model(kind, tmp_path):
    from adapt.checkpoint import save_checkpoint
    from adapt.testing import tiny_checkpoint
    from baselines.adapt import ADAPTForceField

    mem = tiny_checkpoint(kind, seed=5)
    save_checkpoint(tmp_path / kind, mem.model, {k: v for k, v in mem.meta.items()})
    disk = load_checkpoint(tmp_path / kind)
    frames = [si_cell(1), si_cell(2, dopant="Ge")]
    a = ADAPTForceField(**{kind: mem}).predict(frames)
    b = ADAPTForceField(**{kind: disk}).predict(frames)
    for pa, pb in zip(a, b, strict=True):
        assert pa.energy == pb.energy
        if kind == "force":
            np.testing.assert_array_equal(pa.forces, pb.forces)
