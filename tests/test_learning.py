"""The learning-curve task: a trained model retrained on nested train subsets, every point
scored on the same test frames; learning.csv, the report's table and figure; suite config."""

import pandas as pd
import pytest

from benchmarks.cli import main
from benchmarks.suite import SuiteError, load_suite, parse_suite
from benchmarks.testing import generated_dataset

pytestmark = pytest.mark.slow  # the first test trains 3 small ADAPT models (~1 min on 2 cores)

SUITE = """
name = "curves"
seed = 0
tasks = ["metrics", "learning"]
[[datasets]]
source = "{data}"
splits = ["test"]
selections = ["early"]

[[models]]
spec = "zero"

[[models]]
name = "ADAPT tiny"
train.adapt-force = {{ preset = "tiny", epochs = 1 }}
train.adapt-energy = {{ preset = "tiny", epochs = 1 }}

[learning]
fractions = [0.25, 0.5, 1.0]
selection = "early"
"""


def test_learning_suite_writes_curves_and_report(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAPT_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ADAPT_BENCH_NO_PROGRESS", "1")
    ds = generated_dataset(tmp_path / "data", n_trajectories=10)
    config = tmp_path / "curves.toml"
    config.write_text(SUITE.format(data=ds.root))
    out = tmp_path / "out"
    assert main(["run", "--config", str(config), "--out", str(out)]) == 0
    curves = pd.read_csv(out / "learning.csv")
    assert set(curves["model"]) == {"ADAPT tiny"}  # only entries with a train block
    curves = curves.sort_values("fraction")
    assert curves["fraction"].tolist() == [0.25, 0.5, 1.0]
    n_traj = curves["n_train_trajectories"].tolist()
    assert n_traj == sorted(n_traj) and n_traj[-1] == len(ds.records("train"))
    assert len(set(curves["subset_sha256"])) == 3 and (curves["train_s"] > 0).all()
    assert curves["force_mae"].notna().all() and (curves["force_mae"] > 0).all()
    # the full-data point is the main table's model: same trained model, same frames
    metrics = pd.read_csv(out / "metrics.csv")
    main_mae = metrics[
        (metrics["model"] == "ADAPT tiny")
        & (metrics["selection"] == "early")
        & (metrics["subset"] == "all")
        & (metrics["metric"] == "force_mae")
    ]["value"].item()
    assert curves["force_mae"].iloc[-1] == pytest.approx(main_mae, rel=1e-9)
    report = (out / "report.md").read_text()
    assert "## Learning curves" in report and "figures/learning_curves.png" in report
    assert (out / "figures" / "learning_curves.png").is_file()
    # a rerun computes nothing: every learning unit is cached
    assert main(["run", "--config", str(config), "--out", str(out)]) == 0
    assert pd.read_csv(out / "learning.csv").sort_values("fraction")["force_mae"].tolist() == (
        curves["force_mae"].tolist()
    )


def test_learning_config_is_checked():
    raw = {
        "datasets": [{"source": "default"}],
        "models": [{"name": "M", "train": {"mace": {"preset": "tiny"}}}, {"spec": "zero"}],
        "learning": {"fractions": [0.5, 1.0], "models": ["zero"]},
    }
    with pytest.raises(SuiteError, match="learning.models: 'zero' is not a model with a train"):
        parse_suite(raw, "s.toml")
    raw["learning"] = {"fractions": [0.0, 1.0]}
    with pytest.raises(
        SuiteError, match=r"learning.fractions: expected a list of numbers in \(0, 1\]"
    ):
        parse_suite(raw, "s.toml")
    raw.pop("learning")
    assert "learning" not in parse_suite(raw, "s.toml").tasks  # never run unless asked


def test_builtin_learning_suite_loads():
    suite = load_suite("learning")
    assert "learning" in suite.tasks and suite.learning.fractions == (0.125, 0.25, 0.5, 1.0)
    assert {m.name for m in suite.models if m.train} == {"ADAPT tiny", "ADAPT+ tiny", "MACE"}
    assert "learning" in load_suite("paper").tasks
