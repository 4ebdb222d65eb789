"""ADAPT `paper` vs `released` (docs/adapt-variants.md): a side-by-side accuracy table of every
ADAPT model of the run with its variant, and the table of differences (adapt.variants).

Rows: the ADAPT models outside the two ablation groups. A model's variant: models.csv ``adapt_arch`` (written from the suite entry's ``variant``
override), else ``arch`` in its ``extra`` column (the checkpoint's record), else "released" when
its name says so, else "paper" for family adapt. The section appears when the run holds at least
one ``released`` ADAPT model.
"""

from __future__ import annotations

import pandas as pd

from adapt.variants import COLUMNS, DIFFERENCES
from benchmarks.results import Results
from reports.ablations import _lookup
from reports.format import Table, fixed, text
from reports.tables import View, label, model_facts, pivot, value_of

DOC = "docs/adapt-variants.md"


def adapt_variant(name: str, row: dict) -> str | None:
    value = _lookup(row, "adapt_arch") or _lookup(row, "arch")
    if isinstance(value, str) and value in ("paper", "released"):
        return value
    family = str(row.get("family") or "").lower()
    if family == "adapt" or name.lower().startswith("adapt"):
        return "released" if "released" in name.lower() else "paper"
    return None


def comparison_table(results: Results, view: View) -> Table | None:
    facts, piv = model_facts(results), pivot(results, view, "all")
    rows = []
    for name in piv.index:
        row = facts.get(name, {})
        if str(row.get("group") or "") in ("energy_architectures", "attention_radius"):
            continue  # the paper variant's ablations have their own tables
        variant = adapt_variant(name, row)
        if variant is None:
            continue
        rows.append(
            {
                "Variant": variant,
                "Model": name,
                label("force_mae"): value_of(piv, name, "force_mae"),
                label("force_rmse"): value_of(piv, name, "force_rmse"),
                label("energy_mae"): value_of(piv, name, "energy_mae"),
            }
        )
    if not any(r["Variant"] == "released" for r in rows):
        return None
    rows.sort(key=lambda r: (r["Variant"] != "released", r["Model"]))
    frame = pd.DataFrame(rows)
    return Table(
        key=f"adapt_variants__{view.key}",
        title="ADAPT variants on the same data: released (authors' code) vs paper (printed equations)",
        frame=frame,
        formats={c: fixed(4) for c in frame.columns if "eV" in c},
        caption=f"{view.describe()}. What differs between the variants: the next table and {DOC}.",
    )


def differences_table() -> Table:
    return Table(
        key="adapt_variant_differences",
        title="ADAPT paper vs released: what differs",
        frame=pd.DataFrame(list(DIFFERENCES), columns=list(COLUMNS)),
        formats={c: text for c in COLUMNS},
        caption=f"From the authors' repository github.com/EvanDramko/ADAPT_Released; also {DOC}.",
    )


def variant_tables(results: Results, views: list[View]) -> list[Table]:
    """The comparison per view, then the differences; [] when the run has no released ADAPT."""
    found = [t for v in views if (t := comparison_table(results, v)) is not None]
    return [*found, differences_table()] if found else []
