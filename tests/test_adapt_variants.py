"""The paper-vs-released difference table: one source, in the docs and in the report."""

import re
from pathlib import Path

import pandas as pd

from adapt.variants import DIFFERENCES, markdown
from benchmarks.results import ResultsDir
from reports.render import write_report

ROOT = Path(__file__).resolve().parents[1]


def test_docs_hold_the_generated_table():
    doc = (ROOT / "docs" / "adapt-variants.md").read_text()
    assert markdown() in doc
    assert len(DIFFERENCES) >= 10 and all(len(r) == 4 and all(r) for r in DIFFERENCES)


def test_report_shows_variants_when_the_run_has_a_released_adapt(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from test_reports import make_results

    root = make_results(tmp_path / "plain", ablations=True)
    md = write_report(root)[0].read_text()
    assert "ADAPT variants" not in md  # no released model: no section

    root = make_results(tmp_path / "r", ablations=True)
    models = pd.read_csv(root / "models.csv")
    models["adapt_arch"] = ["released" if n == "ADAPT tiny" else "" for n in models["name"]]
    ResultsDir(root).write_table("models.csv", models.to_dict("records"))
    md = write_report(root)[0].read_text()
    section = md.split("## ADAPT variants (paper vs released)")[1].split("\n## ")[0]
    assert re.search(r"\| released +\| ADAPT tiny +\|", section)
    assert "ADAPT r=4" not in section  # ablation models stay in their tables
    for aspect, *_ in DIFFERENCES:
        assert aspect in section
    assert "docs/adapt-variants.md" in section


def test_a_suite_trains_both_variants_and_the_report_compares_them(tmp_path, monkeypatch):
    from benchmarks.runner import run_suite
    from benchmarks.suite import parse_suite
    from benchmarks.testing import random_label_dataset

    monkeypatch.setenv("ADAPT_BENCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("ADAPT_BENCH_NO_PROGRESS", "1")
    ds = random_label_dataset(tmp_path / "ds")
    job = {"epochs": 1}
    raw = {
        "name": "variants",
        "tasks": ["metrics"],
        "datasets": [{"source": str(ds.root), "selections": ["all"]}],
        "models": [
            {"name": "ADAPT released", "train": {"adapt-force": job | {"variant": "released"}}},
            {"name": "ADAPT paper", "group": "adapt_variants", "train": {"adapt-force": job}},
        ],
    }
    out = tmp_path / "out"
    assert run_suite(parse_suite(raw, "variants.toml"), out).ok
    models = pd.read_csv(out / "models.csv").set_index("name")
    assert models.loc["ADAPT released", "adapt_arch"] == "released"
    assert models.loc["ADAPT paper", "adapt_arch"] == "paper"
    md = write_report(out)[0].read_text()
    section = md.split("## ADAPT variants (paper vs released)")[1]
    assert re.search(r"\| released +\| ADAPT released +\|", section)
    assert re.search(r"\| paper +\| ADAPT paper +\|", section)
