"""Adding a metric = one entry in the metric registry (benchmarks.metrics.METRICS): it is then
computed for every model, shown in the report's tables and definitions, and checked by
`adapt-bench check` in its declared direction."""

from __future__ import annotations

import json

import numpy as np
import pytest

from benchmarks.check import check
from benchmarks.metrics import METRICS, Metric, register_metric

TOY = Metric(
    name="force_hit_rate",
    unit="%",
    label="Hit rate",
    better="higher",
    definition="percent of force components within 0.1 eV/Å of the reference (toy metric).",
    over="atoms",
    compute=lambda p, r: (float(100.0 * (np.abs(p - r) <= 0.1).mean()), len(r)),
)


@pytest.fixture
def toy_metric():
    register_metric(TOY)
    yield TOY
    METRICS.pop(TOY.name)


@pytest.fixture
def run_dir(toy_metric, tmp_path, monkeypatch):
    from benchmarks.testing import metrics_run
    from reports.render import write_report

    monkeypatch.setenv("ADAPT_BENCH_CACHE", str(tmp_path / "cache"))
    summary, out = metrics_run(tmp_path, ["zero"])
    assert summary.ok
    write_report(out)
    return out


def test_a_registered_metric_reaches_results_report_definitions_and_check(run_dir, tmp_path):
    import pandas as pd

    metrics = pd.read_csv(run_dir / "metrics.csv")
    rows = metrics[(metrics["metric"] == "force_hit_rate") & (metrics["subset"] == "all")]
    assert len(rows) == 1 and rows["unit"].item() == "%"
    value = float(rows["value"].item())
    assert 0.0 <= value <= 100.0
    report = (run_dir / "report.md").read_text()
    assert "Hit rate (%)" in report  # a column of the force table
    assert "**Hit rate** (%): percent of force components within 0.1 eV/Å" in report
    key = {k: str(rows[k].item()) for k in ("model", "dataset", "split", "selection", "subset")}

    def baseline(v: float) -> str:
        path = tmp_path / f"base-{v}.json"
        row = key | {"metric": "force_hit_rate", "value": v}
        path.write_text(json.dumps({"tolerance": {"abs": 0.0, "rel": 0.0}, "metrics": [row]}))
        return str(path)

    assert check(run_dir, baseline(value - 1.0))[0]  # higher is better: a lower baseline passes
    ok, text = check(run_dir, baseline(value + 1.0))
    assert not ok and "force_hit_rate" in text and "higher" in text
