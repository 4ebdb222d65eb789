"""MatterSim by name/path (offline, no download ever), CHGNet versions, SevenNet's status, and
the `adapt-bench models` listing."""

import argparse
import json
import shutil
import socket
import time

import numpy as np
import pytest

from baselines import mattersim as ms
from baselines.cli import cmd_models
from baselines.interface import ModelUnavailable
from baselines.registry import load_model, model_statuses


@pytest.fixture
def offline_home(tmp_path, monkeypatch):
    """An empty $HOME (so mattersim's cache dir is empty) and no network at all."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ADAPT_BENCH_CACHE", str(tmp_path / "cache"))

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    return tmp_path / "home"


@pytest.mark.parametrize("name", ["1M", "5M"])
def test_named_checkpoint_missing_offline_is_one_line(offline_home, name):
    start = time.perf_counter()
    with pytest.raises(ModelUnavailable) as err:
        load_model(f"mattersim:{name}")
    msg = str(err.value)
    where = offline_home / ".local/mattersim/pretrained_models" / f"mattersim-v1.0.0-{name}.pth"
    assert str(where) in msg and "\n" not in msg
    assert time.perf_counter() - start < 5  # no retry loop, no hang


def test_named_checkpoint_found_in_mattersims_cache_dir(offline_home, tmp_path):
    from baselines.testing import tiny_mattersim_checkpoint

    src = tiny_mattersim_checkpoint(tmp_path / "random.pth")
    dest = ms.checkpoint_dir() / "mattersim-v1.0.0-5M.pth"
    dest.parent.mkdir(parents=True)
    shutil.copy(src, dest)
    ff = load_model("mattersim:5M")
    assert ff.info.name == "MatterSim v1.0.0 5M" and ff.info.checkpoint == str(dest)
    assert ff.info.conservative and ff.info.family == "mattersim"
    rows = {s.spec: s for s in ms.statuses()}
    assert rows["mattersim:5M"].available and not rows["mattersim:1M"].available


def test_missing_path_is_unavailable(tmp_path):
    with pytest.raises(ModelUnavailable, match="no such checkpoint file"):
        load_model(f"mattersim:{tmp_path / 'x.pth'}")


def test_chgnet_versions_ship_in_the_wheel():
    ff = load_model("chgnet:0.2.0")
    assert ff.info.name == "CHGNet 0.2.0" and ff.info.level_of_theory == "PBE/PBE+U (MPtrj)"
    assert ff.info.conservative and ff.info.n_params > 100_000
    with pytest.raises(ValueError, match="unknown CHGNet version"):
        load_model("chgnet:9.9")


def test_sevennet_says_why_and_how(monkeypatch, tmp_path):
    monkeypatch.setenv("ADAPT_BENCH_SEVENNET_PYTHON", str(tmp_path / "no-venv" / "python"))
    with pytest.raises(ModelUnavailable, match="e3nn") as err:
        load_model("sevennet")
    assert "bash scripts/setup_sevennet.sh" in str(err.value) and "\n" not in str(err.value)


def test_models_listing(offline_home, capsys, monkeypatch, tmp_path):
    from benchmarks.cli import main

    monkeypatch.setenv("ADAPT_BENCH_SEVENNET_PYTHON", str(tmp_path / "no-venv" / "python"))
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    by_spec = {line[3:].split()[0]: line for line in lines}
    assert by_spec["zero"].startswith("ok ")
    assert by_spec["chgnet"].startswith("ok ")
    assert by_spec["mattersim:1M"].startswith("-- ")
    assert "put mattersim-v1.0.0-1M.pth at" in by_spec["mattersim:1M"]
    assert by_spec["sevennet"].startswith("-- ") and "setup_sevennet.sh" in by_spec["sevennet"]
    assert "mace:PATH.model" in by_spec
    assert any(spec.startswith("adapt") for spec in by_spec)
    assert cmd_models(argparse.Namespace(json=True)) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"spec", "available", "reason"} <= set(rows[0])
    # every family answers
    assert {s.spec.split(":")[0] for s in model_statuses()} >= {
        "zero",
        "adapt",
        "mace",
        "mattersim",
        "chgnet",
        "sevennet",
    }


def test_chgnet_default_batches_are_bounded_in_atoms():
    from ase.build import bulk

    from baselines.chgnet import DEFAULT_BATCH_ATOMS, DEFAULT_BATCH_SIZE, default_batch_size

    cell = bulk("Si", "diamond", a=5.431, cubic=True)
    assert default_batch_size([cell] * 40) == DEFAULT_BATCH_SIZE  # 8 atoms: the usual 16
    assert default_batch_size([cell.repeat(2)] * 40) == DEFAULT_BATCH_ATOMS // 64 == 4
    assert default_batch_size([cell, cell.repeat(6)]) == 1  # one 1,728-atom cell: alone
    ff = load_model("chgnet")
    frames = [cell.repeat(2) for _ in range(6)]
    for i, a in enumerate(frames):
        a.rattle(0.02, seed=i)
    batched = ff.predict(frames)  # 2 batches of <= 4
    single = [ff.predict([a], batch_size=1)[0] for a in frames]
    for b, s in zip(batched, single, strict=True):
        assert abs(b.energy - s.energy) < 1e-4
        np.testing.assert_allclose(b.forces, s.forces, atol=1e-5)
