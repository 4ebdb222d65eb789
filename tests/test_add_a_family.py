"""Adding a model family = one new module + one registry line (here: one registry call).

The toy family wraps ASE's Lennard-Jones calculator. Once registered it loads from its spec,
lists its status, passes the contract (the real tests/test_model_contract.py, run on it in a
subprocess) and runs in a suite next to the built-in families.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from baselines import registry
from baselines.contract import validate

ROOT = Path(__file__).resolve().parent.parent

TOY_MODULE = '''
"""A toy family: Lennard-Jones (ASE), sigma from the spec (toylj[:SIGMA], Å)."""

from ase.calculators.lj import LennardJones

from baselines.family import Family
from baselines.interface import CalculatorForceField, ModelInfo
from baselines.registry import LoadContext, ModelStatus


def load(arg: str, ctx: LoadContext):
    sigma = float(arg or 2.1)
    info = ModelInfo(f"LJ {sigma}", "toylj", f"toylj:{arg}" if arg else "toylj", 2, "cpu",
                     "float64", "Lennard-Jones", conservative=True)
    return CalculatorForceField(LennardJones(sigma=sigma, epsilon=0.1, rc=4.0, smooth=True), info)


def statuses():
    return [ModelStatus("toylj[:SIGMA]", True, "Lennard-Jones toy")]


FAMILY = Family(name="toylj", usage="toylj[:SIGMA]", load=load, statuses=statuses,
                display="LJ", origin="pretrained", level_of_theory="Lennard-Jones",
                conservative=True, tiny=lambda tmp, data: load("", LoadContext()))
'''
# the one registry line, as a pytest plugin for the subprocess run of the contract test
PLUGIN = "from baselines import registry\n\nregistry.register('toy_lj')\n"


@pytest.fixture
def toy(tmp_path, monkeypatch):
    (tmp_path / "toy_lj.py").write_text(textwrap.dedent(TOY_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    fam = registry.register("toy_lj")
    yield fam, tmp_path
    registry.unregister("toylj")


def test_a_registered_toy_family_loads_lists_and_passes_the_contract(toy):
    fam, _ = toy
    assert registry.parse_spec("toylj:2.3") == ("toylj", "2.3")
    assert registry.load_model("toylj:2.3").info.family == "toylj"
    assert any(s.spec == "toylj[:SIGMA]" for s in registry.model_statuses())
    report = validate(fam.tiny(None, None), fam)
    assert report["gradient"] == "ok" and report["translation"] == "ok"


def test_the_contract_test_runs_on_the_toy_family(toy):
    _, tmp = toy
    (tmp / "toy_plugin.py").write_text(PLUGIN)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp), str(ROOT)])}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "toy_plugin", "-k", "toylj",
         "-p", "no:cacheprovider", str(ROOT / "tests" / "test_model_contract.py")],
        cwd=tmp, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "7 passed" in proc.stdout, proc.stdout[-2000:]


def test_a_toy_family_runs_in_a_suite(toy, tmp_path, monkeypatch):
    from benchmarks.testing import metrics_run

    monkeypatch.setenv("ADAPT_BENCH_CACHE", str(tmp_path / "cache"))
    summary, out = metrics_run(tmp_path, ["toylj", "zero"])
    assert summary.ok, summary.failed
    models = pd.read_csv(out / "models.csv").set_index("name")
    assert models.loc["toylj", "origin"] == "pretrained" and models.loc["zero", "role"] == "trivial"
    metrics = pd.read_csv(out / "metrics.csv")
    assert "toylj" in set(metrics["model"])
