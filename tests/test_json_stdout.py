"""`--json` stdout is JSON and nothing else, whatever the model packages print: each family that
can run here is evaluated in a fresh process (so import-time prints happen) and its stdout parsed."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from baselines.json_stdout import emit, json_only_stdout
from benchmarks.testing import random_label_dataset

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return random_label_dataset(tmp_path_factory.mktemp("js") / "ds", n_traj=3, n_frames=2)


def _spec(family: str, tmp: Path, ds) -> str:
    if family == "zero":
        return "zero"
    if family == "adapt":
        from adapt.train import train_adapt

        train_adapt("force", ds, tmp / "adapt" / "force", preset="tiny", epochs=1)
        return f"adapt:{tmp / 'adapt'}"
    if family == "mace":
        from baselines.testing import tiny_mace_model

        return f"mace:{tiny_mace_model(tmp / 'tiny.model', seed=0, dtype='float64')}"
    if family == "mattersim":
        from baselines.testing import tiny_mattersim_checkpoint

        return f"mattersim:{tiny_mattersim_checkpoint(tmp / 'tiny.pth', seed=0)}"
    return "chgnet"


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), ADAPT_BENCH_NO_PROGRESS="1")
    return subprocess.run(
        [sys.executable, "-m", "benchmarks.cli", *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=600,
    )  # fmt: skip


@pytest.mark.parametrize("family", ["zero", "adapt", "mace", "mattersim", "chgnet"])
def test_eval_json_is_pure_json(family, dataset, tmp_path):
    spec = _spec(family, tmp_path, dataset)
    proc = _cli("eval", "--model", spec, "--data", str(dataset.root), "--split", "all", "--json")
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = json.loads(proc.stdout)  # the whole of stdout
    assert rows and {"model", "metric", "value"} <= set(rows[0])


def test_models_and_data_info_json_are_pure_json(dataset):
    for args in (["models", "--json"], ["data", "info", str(dataset.root), "--json"]):
        proc = _cli(*args)
        assert proc.returncode == 0, proc.stderr[-2000:]
        json.loads(proc.stdout)


def test_prints_of_c_code_and_python_go_to_stderr(capfd):
    with json_only_stdout():
        print("chatter from a package")
        os.write(1, b"chatter from C\n")
        emit({"a": float("nan"), "b": 1})
    out, err = capfd.readouterr()
    assert json.loads(out) == {"a": None, "b": 1}
    assert "chatter from a package" in err and "chatter from C" in err
