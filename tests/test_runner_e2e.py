"""End to end: a tiny suite (generated Tersoff data, ADAPT tiny and MACE tiny trained here, the
zero baseline, an unavailable MatterSim) through `adapt-bench run`: the results files, the
report, resume after a lost unit, and `adapt-bench check` against the committed CI baseline and
a tightened one."""

import json
import os
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.check import load_baseline
from benchmarks.cli import main
from benchmarks.runner import run_suite
from benchmarks.suite import load_suite
from benchmarks.testing import generated_dataset

CI_BASELINE = Path(__file__).parent / "references" / "ci_baseline.json"

pytestmark = pytest.mark.slow

SUITE = """
name = "tiny"
seed = 0
[[datasets]]
source = "{data}"
splits = ["test"]
selections = ["early", "all"]

[[models]]
spec = "zero"

[[models]]
name = "ADAPT tiny"
train.adapt-force = {{ preset = "tiny", epochs = 3 }}
train.adapt-energy = {{ preset = "tiny", epochs = 3 }}

[[models]]
name = "MACE tiny"
train.mace = {{ preset = "tiny", epochs = 1 }}

[[models]]
name = "MatterSim 1M"
spec = "mattersim:1M"

[relax]
max_steps = 10
max_trajectories = 2

[timing]
repeats = 1
warmup = 1
sizes = [1, 2]
scaling = [1]
scaling_repeats = 1
"""


def tiny_suite(tmp_path) -> Path:
    """The suite file of the CI accuracy check (the data is made by generated_dataset)."""
    ds = generated_dataset(tmp_path / "data", n_trajectories=10)  # C and Ge in train: MACE E0s
    path = tmp_path / "tiny.toml"
    path.write_text(SUITE.format(data=ds.root))
    return path


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    mp = pytest.MonkeyPatch()
    mp.setenv("ADAPT_BENCH_CACHE", str(tmp / "cache"))
    mp.setenv("ADAPT_BENCH_NO_PROGRESS", "1")
    config = tiny_suite(tmp)
    out = tmp / "out"
    rc = main(["run", "--config", str(config), "--out", str(out)])
    yield {"rc": rc, "out": out, "config": config, "tmp": tmp}
    mp.undo()


def test_results_files_exist_and_parse(tiny_run):
    from benchmarks.results import load_results

    out = tiny_run["out"]
    assert tiny_run["rc"] == 0
    res = load_results(out)
    assert {"zero", "ADAPT tiny", "MACE tiny"} <= set(res.metrics["model"])
    assert not res.absent, res.absent
    assert (out / "report.md").is_file() and (out / "report.html").is_file()
    assert "ADAPT tiny" in (out / "report.md").read_text()
    models = res.models.set_index("name")
    assert models.loc["MatterSim 1M", "status"] == "skipped"
    assert models.loc["ADAPT tiny", "n_params"] > 0
    tasks = {"train:adapt-force", "train:adapt-energy", "train:mace", "inference", "scaling"}
    assert tasks <= set(res.timing["task"])
    assert set(res.relax["model"]) == {"zero", "ADAPT tiny", "MACE tiny"}
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "complete" and run["provenance"]["wall_s"] > 0


# What the committed CI baseline holds: (model, relative tolerance). The zero baseline is exact
# arithmetic on deterministic data; trained models' few CPU epochs vary a little with threads.
CI_MODELS = {"zero": 1e-3, "ADAPT tiny": 0.2, "MACE tiny": 0.2}
CI_METRICS = ("force_mae", "force_rmse", "force_angle", "energy_mae", "energy_mae_per_atom")


def write_ci_baseline(out: Path) -> None:
    """Regenerate tests/references/ci_baseline.json from a tiny run (ADAPT_BENCH_UPDATE_CI=1)."""
    frame = pd.read_csv(out / "metrics.csv")
    keep = frame[
        frame["model"].isin(list(CI_MODELS))
        & (frame["subset"] == "all")
        & frame["metric"].isin(CI_METRICS)
        & frame["value"].notna()
    ]
    rows = [
        {k: r[k] for k in ("model", "dataset", "split", "selection", "subset", "metric")}
        | {"value": float(r["value"]), "abs": 1e-6, "rel": CI_MODELS[r["model"]]}
        for r in keep.to_dict("records")
    ]
    CI_BASELINE.write_text(
        json.dumps(
            {
                "description": "CI accuracy check: tests/test_runner_e2e.py's tiny suite "
                "(generated_dataset, seed 0). Regenerate: ADAPT_BENCH_UPDATE_CI=1 pytest "
                "tests/test_runner_e2e.py",
                "tolerance": {"abs": 1e-6, "rel": 0.1},
                "tolerances": {},
                "metrics": rows,
            },
            indent=1,
        )
        + "\n"
    )


def test_ci_baseline_passes(tiny_run):
    if os.environ.get("ADAPT_BENCH_UPDATE_CI"):
        write_ci_baseline(tiny_run["out"])
    assert main(["check", str(tiny_run["out"]), "--baseline", str(CI_BASELINE)]) == 0


def test_check_against_own_and_tightened_baseline(tiny_run, tmp_path, capsys):
    out = tiny_run["out"]
    own = tmp_path / "own.json"
    assert main(["check", str(out), "--baseline", str(own), "--update"]) == 0
    assert main(["check", str(out), "--baseline", str(own)]) == 0
    data = load_baseline(own)
    for row in data["metrics"]:
        if row["metric"] == "force_mae" and row["model"] == "ADAPT tiny":
            row["value"] *= 0.5  # pretend the model used to be twice as good
    tight = tmp_path / "tight.json"
    tight.write_text(json.dumps(data))
    capsys.readouterr()
    assert main(["check", str(out), "--baseline", str(tight)]) == 1
    assert "force_mae" in capsys.readouterr().out


def test_warm_rerun_and_resume_after_a_lost_unit(tiny_run, monkeypatch):
    monkeypatch.setenv("ADAPT_BENCH_CACHE", str(tiny_run["tmp"] / "cache"))
    monkeypatch.setenv("ADAPT_BENCH_NO_PROGRESS", "1")
    out = tiny_run["out"]
    suite = load_suite(tiny_run["config"])
    warm = run_suite(suite, out)
    assert not warm.computed and warm.cached
    before = pd.read_csv(out / "metrics.csv")
    # lose ADAPT's metrics unit for the early selection, and the metrics table
    victim = next(
        p
        for p in (out / ".cache" / "metrics").glob("*.json")
        if json.loads(p.read_text())["rows"][0]["model"] == "ADAPT tiny"
        and json.loads(p.read_text())["rows"][0]["selection"] == "early"
    )
    victim.unlink()
    (out / "metrics.csv").unlink()
    again = run_suite(suite, out)
    assert len(again.computed) == 1 and again.computed[0].startswith("metrics ADAPT tiny")
    pd.testing.assert_frame_equal(pd.read_csv(out / "metrics.csv"), before)
