"""The paper-vs-released difference table: one source, in the docs and in the report."""

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
    assert "| released | ADAPT tiny |" in section
    assert "ADAPT r=4" not in section  # ablation models stay in their tables
    for aspect, *_ in DIFFERENCES:
        assert aspect in section
    assert "docs/adapt-variants.md" in section
