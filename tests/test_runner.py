"""The runner on a tiny random-label dataset with fast models: files, cache, resume, atomicity."""

import json

import pandas as pd
import pytest

from benchmarks.results import ResultsDir, write_csv
from benchmarks.runner import run_suite
from benchmarks.suite import SuiteError, parse_suite
from benchmarks.testing import random_label_dataset


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAPT_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ADAPT_BENCH_NO_PROGRESS", "1")
    ds = random_label_dataset(tmp_path / "ds")
    raw = {
        "name": "unit",
        "datasets": [{"source": str(ds.root), "selections": ["early", "all"]}],
        "models": [{"spec": "zero"}, {"name": "MatterSim 1M", "spec": "mattersim:1M"}],
        "relax": {"max_steps": 3, "max_trajectories": 2},
        "timing": {"repeats": 1, "warmup": 0, "sizes": [1], "scaling": [1], "scaling_repeats": 1},
    }
    return parse_suite(raw, "unit.toml"), tmp_path / "out"


def no_tmp_files(out):
    return not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


def test_run_writes_every_table(env):
    suite, out = env
    summary = run_suite(suite, out)
    assert summary.ok and not summary.cached
    for name in ("run.json", "metrics.csv", "relax.csv", "timing.csv", "models.csv"):
        assert (out / name).is_file(), name
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "complete"
    assert run["provenance"]["packages"]["torch"] and run["provenance"]["finished_utc"]
    assert run["datasets"][0]["sha256"]
    metrics = pd.read_csv(out / "metrics.csv")
    assert set(metrics["selection"]) == {"early", "all"}
    assert {"force_mae", "energy_mae", "force_angle"} <= set(metrics["metric"])
    models = pd.read_csv(out / "models.csv").set_index("name")
    assert models.loc["zero", "status"] == "ok"
    assert models.loc["MatterSim 1M", "status"] == "skipped"
    assert "mattersim-v1.0.0-1M.pth" in models.loc["MatterSim 1M", "reason"]
    relax = pd.read_csv(out / "relax.csv")
    assert len(relax) == 2 and set(relax["outcome"]) <= {"converged", "not_converged"}
    timing = pd.read_csv(out / "timing.csv")
    assert set(timing["task"]) == {"inference", "scaling"}
    assert len(list((out / "predictions").glob("zero__*.npz"))) == 2
    assert no_tmp_files(out)


def test_rerun_is_cached_and_a_deleted_unit_is_recomputed(env):
    suite, out = env
    first = run_suite(suite, out)
    metrics_before = (out / "metrics.csv").read_text()
    again = run_suite(suite, out)
    assert not again.computed and len(again.cached) == len(first.computed)

    # delete one cached unit and a results file: only that unit runs again
    results = ResultsDir(out)
    victim = sorted((out / ".cache" / "relax").glob("*.json"))[0]
    victim.unlink()
    (out / "metrics.csv").unlink()
    third = run_suite(suite, out)
    assert len(third.computed) == 1 and third.computed[0].startswith("relax zero")
    assert (out / "metrics.csv").read_text() == metrics_before
    assert results.cached("relax", victim.stem) is not None

    # a deleted predictions file makes its metrics unit unfinished
    next((out / "predictions").glob("*__all.npz")).unlink()
    fourth = run_suite(suite, out)
    assert fourth.computed == ["metrics zero random-labels test/all"]


def test_interrupted_run_resumes_without_half_written_files(env, monkeypatch):
    suite, out = env
    import benchmarks.plan as plan

    real = plan.relax_row
    calls = {"n": 0}

    def interrupt_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(plan, "relax_row", interrupt_second)
    with pytest.raises(KeyboardInterrupt):
        run_suite(suite, out)
    assert json.loads((out / "run.json").read_text())["status"] == "interrupted"
    assert no_tmp_files(out)
    assert len(pd.read_csv(out / "relax.csv")) == 1  # what finished is in the tables
    monkeypatch.setattr(plan, "relax_row", real)
    resumed = run_suite(suite, out)
    assert [u.split()[0] for u in resumed.computed] == ["relax", "timing"]
    assert len(pd.read_csv(out / "relax.csv")) == 2


def test_failing_unit_is_recorded_not_fatal(env, monkeypatch):
    suite, out = env
    import benchmarks.plan as plan

    def boom(*args, **kwargs):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(plan, "timing_rows", boom)
    summary = run_suite(suite, out)
    assert not summary.ok and "model exploded" in summary.failed[0][1]
    run = json.loads((out / "run.json").read_text())
    assert run["status"] == "complete_with_failures"
    assert run["steps"]["failed"][0]["step"] == "timing zero"
    monkeypatch.undo()
    monkeypatch.setenv("ADAPT_BENCH_NO_PROGRESS", "1")
    assert run_suite(suite, out).computed == ["timing zero"]  # retried, the rest cached


def test_atomic_csv_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "t.csv"
    write_csv(path, [{"a": 1}], ["a"])
    before = path.read_text()

    def half_then_fail(self, tmp, **kwargs):
        with open(tmp, "w") as fh:
            fh.write("a\n9")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    with pytest.raises(OSError):
        write_csv(path, [{"a": 2}], ["a"])
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_missing_dataset_says_what_to_place_where(tmp_path):
    suite = parse_suite(
        {
            "datasets": [{"source": str(tmp_path / "nope"), "missing": "put the data there"}],
            "models": [{"spec": "zero"}],
        },
        "s.toml",
    )
    with pytest.raises(SuiteError, match="nope not found. put the data there"):
        run_suite(suite, tmp_path / "out")


def test_code_version_follows_imports_and_refuses_a_missing_module():
    from benchmarks.source_hash import SourceError, code_version, source_closure

    assert code_version("benchmarks.metrics") != code_version("benchmarks.relax")
    closure = source_closure("benchmarks.plan")
    # reached through function-level imports only: moving or renaming them is followed
    assert {"benchmarks.metrics", "benchmarks.relax", "benchmarks.timers"} <= set(closure)
    assert "reports.render" not in closure
    with pytest.raises(SourceError, match="benchmarks.no_such_module"):
        code_version("benchmarks.no_such_module")


def test_eval_one_model(tmp_path, capsys):
    from benchmarks.cli import main
    from benchmarks.evaluate import evaluate_model, format_rows

    ds = random_label_dataset(tmp_path / "ds")
    rows = evaluate_model("zero", ds.root, split="test", selection="all", out=tmp_path / "ev")
    assert {r["split"] for r in rows} == {"test"} and {r["selection"] for r in rows} == {"all"}
    mae = next(r for r in rows if r["metric"] == "force_mae" and r["subset"] == "all")
    frames = ds.frames("test", "all")
    ref = sum(abs(a.get_forces()).sum() for a in frames) / sum(3 * len(a) for a in frames)
    assert mae["value"] == pytest.approx(ref)
    assert (tmp_path / "ev" / "metrics.csv").is_file() and (tmp_path / "ev" / "run.json").is_file()
    assert "force_mae (eV/Å)" in format_rows(rows)

    capsys.readouterr()
    assert main(["eval", "--model", "zero", "--data", str(ds.root), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert {r["selection"] for r in printed} == {"early"}
    angle = next(r for r in printed if r["metric"] == "force_angle" and r["subset"] == "all")
    assert angle["value"] is None  # NaN (zero forces have no direction) -> JSON null
    assert main(["eval", "--model", "mattersim:1M", "--data", str(ds.root)]) == 2


def test_cli_dry_run_and_model_selection(env, tmp_path, capsys):
    from benchmarks.cli import main

    suite, out = env
    config = tmp_path / "s.toml"
    config.write_text(
        f'[[datasets]]\nsource = "{suite.datasets[0].source}"\n'
        '[[models]]\nspec = "zero"\n[[models]]\nname = "A"\ntrain.adapt-force = { epochs = 1 }\n'
    )
    assert main(["run", "--config", str(config), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "model A [main]: train on ds: adapt-force preset=tiny epochs=1 (to train)" in text
    assert not out.exists()
    assert main(["run", "--config", str(config), "--out", str(out), "--models", "zero"]) == 0
    assert set(pd.read_csv(out / "models.csv")["name"]) == {"zero"}


def test_level_of_theory_mismatch_is_flagged_and_aligned(tmp_path):
    from baselines.zero import ZeroForceField
    from benchmarks.tasks.accuracy import energy_refs, evaluate, lot_mismatch

    ds = random_label_dataset(tmp_path / "ds")
    other = ZeroForceField({"Si": -3.0, "C": -3.0}, level_of_theory="PBE (MPtrj)")
    assert lot_mismatch(other.info, ds)
    refs = energy_refs(other, ds, "all", None)
    _, rows = evaluate(other, ds, "test", "all", label="z", refs=refs)
    by = {(r["subset"], r["metric"]): r for r in rows}
    assert "lot_mismatch" in by[("all", "force_mae")]["flags"]
    raw, aligned = by[("all", "energy_mae")]["value"], by[("all", "energy_mae_aligned")]["value"]
    assert aligned < raw  # a constant per-atom offset is removed by the alignment
