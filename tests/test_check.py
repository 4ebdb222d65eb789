"""`adapt-bench check`: direction-aware tolerances, missing rows, --update, exit codes."""

import json
import math

import pytest

from benchmarks.check import BaselineError, check, compare, load_baseline, update_baseline
from benchmarks.cli import main
from benchmarks.results import METRICS_COLUMNS, write_csv

ROW = dict(model="m", family="f", dataset="d", split="test", selection="early", subset="all")


def results_dir(tmp_path, values: dict[str, float]):
    out = tmp_path / "run"
    rows = [ROW | dict(metric=k, value=v, unit="", n=1, flags="") for k, v in values.items()]
    write_csv(out / "metrics.csv", rows, METRICS_COLUMNS)
    return out


def baseline(tmp_path, entries, name="base.json", **top):
    path = tmp_path / name
    rows = [ROW | {k: v for k, v in e.items() if k != "family"} for e in entries]
    path.write_text(json.dumps({"metrics": rows} | top))
    return path


def test_within_tolerance_passes(tmp_path):
    run = results_dir(tmp_path, {"force_mae": 0.105, "soap_similarity": 0.99})
    base = baseline(
        tmp_path,
        [
            dict(metric="force_mae", value=0.1, rel=0.1),
            dict(metric="soap_similarity", value=0.995, abs=0.01, direction="higher"),
        ],
    )
    ok, text = check(run, base)
    assert ok and "2 metrics within tolerance" in text


def test_only_regressions_fail(tmp_path):
    run = results_dir(tmp_path, {"force_mae": 0.05, "energy_mae": 0.3, "soap_similarity": 0.5})
    base = baseline(
        tmp_path,
        [
            dict(metric="force_mae", value=0.1),  # much better: passes
            dict(metric="energy_mae", value=0.1),  # 3x worse: fails
            dict(metric="soap_similarity", value=0.9, direction="higher"),  # fails
        ],
        tolerance={"abs": 0.0, "rel": 0.1},
    )
    ok, text = check(run, base)
    assert not ok
    assert "2 of 3 metrics regressed" in text
    assert "energy_mae" in text and "soap_similarity" in text
    assert "force_mae" not in text.split("\n", 1)[1]


def test_a_metric_outside_the_registry_needs_a_direction(tmp_path):
    run = results_dir(tmp_path, {"force_mae": 0.1, "soap_similarity": 0.9})
    base = baseline(tmp_path, [dict(metric="soap_similarity", value=0.9)])
    with pytest.raises(BaselineError, match="unknown metric 'soap_similarity'"):
        check(run, base)


def test_both_direction_and_per_metric_tolerances(tmp_path):
    run = results_dir(tmp_path, {"force_mae": 0.05, "energy_mae": 0.12})
    base = baseline(
        tmp_path,
        [
            dict(metric="force_mae", value=0.1, direction="both"),
            dict(metric="energy_mae", value=0.1),
        ],
        tolerance={"abs": 0.0, "rel": 0.01},
        tolerances={"energy_mae": {"abs": 0.05}},
    )
    res = {c.key[-1]: c for c in compare(run, base)}
    assert not res["force_mae"].ok  # improvement beyond tolerance fails only with "both"
    assert res["energy_mae"].ok
    assert res["energy_mae"].allowed == pytest.approx(0.05 + 0.001)


def test_missing_and_nan_results_fail(tmp_path):
    run = results_dir(tmp_path, {"force_mae": math.nan})
    base = baseline(
        tmp_path, [dict(metric="force_mae", value=0.1), dict(metric="force_rmse", value=0.2)]
    )
    comparisons = compare(run, base)
    assert [c.ok for c in comparisons] == [False, False]
    ok, text = check(run, base)
    assert not ok and sum(" missing " in line for line in text.splitlines()[1:]) == 2


def test_update_then_check_and_cli_exit_codes(tmp_path, capsys):
    run = results_dir(tmp_path, {"force_mae": 0.1, "force_angle": math.nan, "energy_mae": 0.2})
    base = tmp_path / "b.json"
    assert main(["check", str(run), "--baseline", str(base), "--update", "--rel-tol", "0.05"]) == 0
    data = load_baseline(base)
    assert {r["metric"] for r in data["metrics"]} == {"force_mae", "energy_mae"}  # NaN left out
    assert data["tolerance"]["rel"] == 0.05
    assert main(["check", str(run), "--baseline", str(base)]) == 0
    worse = results_dir(tmp_path / "w", {"force_mae": 0.2, "energy_mae": 0.2})
    capsys.readouterr()
    assert main(["check", str(worse), "--baseline", str(base)]) == 1
    out = capsys.readouterr().out
    assert "1 of 2 metrics regressed" in out and "force_mae" in out
    assert main(["check", str(run), "--baseline", str(tmp_path / "nope.json")]) == 2


def test_toml_baseline(tmp_path):
    run = results_dir(tmp_path, {"force_mae": 0.1})
    path = tmp_path / "b.toml"
    assert update_baseline(run, path, rel_tol=0.2) == 1
    assert load_baseline(path)["metrics"][0]["value"] == pytest.approx(0.1)
    assert check(run, path)[0]


def test_bad_baseline_is_a_clear_error(tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"metrics": [{"model": "m", "value": 1}]}))
    with pytest.raises(BaselineError, match=r"b.json: metrics\[0\]: missing dataset"):
        load_baseline(path)


def test_update_keeps_the_rows_and_tolerances_of_an_existing_baseline(tmp_path):
    run = results_dir(tmp_path, {"force_mae": 0.3, "energy_mae": 0.2})
    base = baseline(tmp_path, [dict(metric="force_mae", value=0.1, rel=0.5)])
    assert update_baseline(run, base) == 1
    (row,) = load_baseline(base)["metrics"]
    assert row["value"] == pytest.approx(0.3) and row["rel"] == 0.5
