"""The report's tables, drawn from the result files (never from models or datasets).

Model order, everywhere in the report: the models under study first (models.csv ``role``
``subject``: ADAPT), then models trained here on the benchmark's data (``origin`` ``trained
here``), then pretrained ones, trivial references (``role`` ``trivial``: zero forces) last; within
each group by force MAE (ascending) on the table's view. ``role`` and ``origin`` come from each
model family's declaration (baselines.family), written to models.csv by the runner.
Models of the ablation groups (``energy_architectures``, ``attention_radius``) appear only in their
own tables (reports.ablations), not in the main accuracy tables and figures.

Row markers: † ``lot_mismatch`` (trained on another level of theory than the dataset's; compare
the aligned energy column), ‡ ``unseen_cell`` (ADAPT predicted on cells absent from its training
data). ``no_energy`` leaves the energy cells empty ("–").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmarks import metrics as M
from benchmarks.results import Results
from reports.format import UNIT_FORMATS, Table, fixed, integer, is_missing, sig, text

MARKERS = {"lot_mismatch": "†", "unseen_cell": "‡"}
FLAG_NOTES = {
    "lot_mismatch": "† level-of-theory mismatch: the model was trained on another level of theory "
    "than the dataset's, so its raw energies carry a per-element offset; read the aligned energy "
    "column (per-element reference energies fitted on the train split).",
    "unseen_cell": "‡ unseen cell: ADAPT predicted on a cell absent from its training data (its "
    "tokens carry no lattice, so a new cell is an extrapolation).",
    "no_energy": "Models flagged `no_energy` predict no energy: their energy cells are empty.",
    "no_forces": "Models flagged `no_forces` predict no forces: their force cells are empty.",
}
OK_STATUS = {"", "ok", "done", "loaded", "available", "evaluated", "success"}
ABLATION_GROUPS = {"energy_architectures", "attention_radius"}


def force_metrics() -> list[str]:
    """Atom metrics of the metric registry (benchmarks.metrics.METRICS), in its order."""
    return [m.name for m in M.metrics_over("atoms")]


def energy_metrics() -> list[str]:
    """Structure metrics, raw then aligned."""
    return [m.name for m in (*M.metrics_over("structures"), *M.metrics_over("structures", True))]


def unit(metric: str) -> str:
    return M.METRICS[metric].unit if metric in M.METRICS else ""


def label(metric: str) -> str:
    name = M.METRICS[metric].label if metric in M.METRICS else metric
    return f"{name} ({unit(metric)})"


def fmt_for(metric: str):
    return UNIT_FORMATS.get(unit(metric), sig(4))


@dataclass(frozen=True)
class View:
    """Which rows of metrics.csv one accuracy table shows."""

    dataset: str
    split: str
    selection: str

    @property
    def key(self) -> str:
        return f"{self.dataset}__{self.split}__{self.selection}"

    def describe(self) -> str:
        return f"dataset `{self.dataset}`, split `{self.split}`, selection `{self.selection}`"

    def rows(self, metrics: pd.DataFrame) -> pd.DataFrame:
        """The metrics.csv rows of this view's dataset, split and selection."""
        m = metrics
        return m[
            (m["dataset"] == self.dataset)
            & (m["split"] == self.split)
            & (m["selection"] == self.selection)
        ]


def _prefer(values, order) -> str:
    values = [v for v in dict.fromkeys(values)]
    for want in order:
        for v in values:
            if v == want or v.startswith(want + ":"):
                return v
    return values[0]


def main_views(results: Results) -> list[View]:
    """One view per dataset: split `test` if present, selection `early` if present."""
    m = results.metrics
    views = []
    for ds in dict.fromkeys(m["dataset"]):
        d = m[m["dataset"] == ds]
        split = _prefer(d["split"], ["test", "all", "val", "train"])
        sel = _prefer(d[d["split"] == split]["selection"], ["early", "all", "final"])
        views.append(View(ds, split, sel))
    return views


# ---- models: facts, flags, order -------------------------------------------------------------


def model_flags(results: Results, view: View | None = None) -> dict[str, set[str]]:
    """Union of the metrics.csv flags per model (within ``view``'s dataset when given)."""
    m = results.metrics
    if view is not None:
        m = m[m["dataset"] == view.dataset]
    flags: dict[str, set[str]] = {}
    for model, f in zip(m["model"], m["flags"], strict=True):
        flags.setdefault(model, set()).update(w for w in str(f).split(";") if w.strip())
    return flags


def model_facts(results: Results) -> dict[str, dict]:
    """models.csv rows by model name (empty dict for a model it does not list)."""
    facts = {}
    for row in results.models.to_dict("records"):
        name = row.get("name") or row.get("spec")
        if name:
            facts[str(name)] = row
    return facts


def model_group(facts: dict) -> int:
    """0 under study, 1 trained here, 2 pretrained, 3 trivial reference (models.csv row)."""
    role = str(facts.get("role") or "baseline")
    if role in ("subject", "trivial"):
        return 0 if role == "subject" else 3
    return 2 if facts.get("origin") == "pretrained" else 1


def suite_group(results: Results, name: str) -> str:
    """models.csv ``group`` of a model ("" when unknown)."""
    return str(model_facts(results).get(name, {}).get("group") or "")


def ordered_models(results: Results, view: View, models: list[str]) -> list[str]:
    piv = pivot(results, view, "all")
    force = piv["force_mae"] if "force_mae" in piv.columns else pd.Series(dtype=float)
    facts = model_facts(results)

    def key(name: str):
        v = force.get(name, np.nan)
        group = suite_group(results, name)
        return (
            group in ABLATION_GROUPS,
            group if group in ABLATION_GROUPS else "",
            model_group(facts.get(name, {})),
            math.inf if is_missing(v) else float(v),
            name,
        )

    return sorted(models, key=key)


def _families(results: Results) -> dict[str, str]:
    fams = dict(zip(results.metrics["model"], results.metrics["family"], strict=True))
    for name, row in model_facts(results).items():
        fams.setdefault(name, str(row.get("family") or ""))
    return fams


def display_name(name: str, flags: set[str]) -> str:
    marks = "".join(MARKERS[f] for f in MARKERS if f in flags)
    return f"{name} {marks}" if marks else name


def flag_notes(flags: dict[str, set[str]], models: list[str]) -> list[str]:
    seen = set().union(*(flags.get(m, set()) for m in models)) if models else set()
    notes = [FLAG_NOTES[f] for f in FLAG_NOTES if f in seen]
    other = sorted(seen - set(FLAG_NOTES))
    if other:
        notes.append("Other flags in the results: " + ", ".join(f"`{f}`" for f in other) + ".")
    return notes


def pivot(results: Results, view: View, subset: str) -> pd.DataFrame:
    """model x metric values for one view and subset."""
    rows = view.rows(results.metrics)
    rows = rows[rows["subset"] == subset]
    if rows.empty:
        return pd.DataFrame()
    return rows.pivot_table(index="model", columns="metric", values="value", aggfunc="first")


def view_models(results: Results, view: View) -> list[str]:
    """The view's models in report order, ablation variants left out."""
    rows = view.rows(results.metrics)
    return ordered_models(results, view, main_models(results, rows["model"]))


def main_models(results: Results, names) -> list[str]:
    """``names`` (deduplicated) without the ablation variants."""
    return [n for n in dict.fromkeys(names) if suite_group(results, n) not in ABLATION_GROUPS]


def value_of(frame: pd.DataFrame, model: str, metric: str) -> float:
    if metric not in frame.columns or model not in frame.index:
        return np.nan
    return frame.at[model, metric]


# ---- accuracy tables -------------------------------------------------------------------------


def main_table(results: Results, view: View) -> Table:
    """Paper Fig. 4 layout, widened: one row per model on the view's `all` / defect / bulk subsets."""
    models = view_models(results, view)
    allv, defect, bulk = (pivot(results, view, s) for s in ("all", "defect", "bulk"))
    facts, flags = model_facts(results), model_flags(results, view)
    fams = _families(results)
    rows = []
    for name in models:
        f = flags.get(name, set())
        rows.append(
            {
                "Model": display_name(name, f),
                "Family": fams.get(name, ""),
                "Params": facts.get(name, {}).get("n_params", np.nan),
                label("force_mae"): value_of(allv, name, "force_mae"),
                label("energy_mae"): value_of(allv, name, "energy_mae"),
                label("energy_mae_aligned"): value_of(allv, name, "energy_mae_aligned"),
                "LoT": "mismatch †" if "lot_mismatch" in f else "same",
                label("force_angle"): value_of(allv, name, "force_angle"),
                label("force_magnitude_error"): value_of(allv, name, "force_magnitude_error"),
                "Defect-region force MAE (eV/Å)": value_of(defect, name, "force_mae"),
                "Bulk force MAE (eV/Å)": value_of(bulk, name, "force_mae"),
            }
        )
    frame = pd.DataFrame(rows, columns=_MAIN_COLUMNS)
    formats = {c: fixed(4) for c in _MAIN_COLUMNS[3:]}
    formats[label("force_angle")] = fixed(2)
    formats.update({"Params": integer, "LoT": text})
    return Table(
        key=f"main__{view.key}",
        title=f"Accuracy on {view.dataset} (paper Fig. 4 layout)",
        frame=frame,
        formats=formats,
        caption=f"{view.describe()}. Force MAE over force components; energy MAE per structure. "
        "Defect region / bulk: atoms within / beyond the defect-region radius of a defect site.",
        notes=flag_notes(flags, models),
    )


_MAIN_COLUMNS = [
    "Model", "Family", "Params", label("force_mae"), label("energy_mae"),
    label("energy_mae_aligned"), "LoT", label("force_angle"), label("force_magnitude_error"),
    "Defect-region force MAE (eV/Å)", "Bulk force MAE (eV/Å)",
]  # fmt: skip


def force_region_table(results: Results, view: View) -> Table:
    """Every force metric on all atoms, the defect region and the bulk."""
    models = view_models(results, view)
    flags = model_flags(results, view)
    piv = {s: pivot(results, view, s) for s in ("all", "defect", "bulk")}
    metrics = [m for m in force_metrics() if any(m in p.columns for p in piv.values())]
    rows = []
    for name in models:
        for region, p in piv.items():
            if name in p.index:
                rows.append(
                    {"Model": display_name(name, flags.get(name, set())), "Atoms": region}
                    | {label(m): value_of(p, name, m) for m in metrics}
                )
    frame = pd.DataFrame(rows, columns=["Model", "Atoms", *map(label, metrics)])
    return Table(
        key=f"forces__{view.key}",
        title=f"Force metrics by region on {view.dataset}",
        frame=frame,
        formats={label(m): fmt_for(m) for m in metrics},
        caption=f"{view.describe()}.",
    )


def energy_table(results: Results, view: View) -> Table:
    models = view_models(results, view)
    flags = model_flags(results, view)
    p = pivot(results, view, "all")
    metrics = energy_metrics()
    rows = [
        {"Model": display_name(n, flags.get(n, set()))}
        | {label(m): value_of(p, n, m) for m in metrics}
        for n in models
    ]
    return Table(
        key=f"energy__{view.key}",
        title=f"Energy metrics on {view.dataset}",
        frame=pd.DataFrame(rows, columns=["Model", *map(label, metrics)]),
        formats={label(m): fmt_for(m) for m in metrics},
        caption=f"{view.describe()}. Raw and after per-element alignment (see Definitions).",
        notes=flag_notes(flags, models),
    )


def kind_table(results: Results, view: View, metric: str = "force_mae") -> Table | None:
    """Per defect kind (subsets ``kind=<kind>``): one column per kind; None when there are none."""
    rows = view.rows(results.metrics)
    rows = rows[rows["subset"].str.startswith("kind=") & (rows["metric"] == metric)]
    if rows.empty or rows["value"].isna().all():
        return None
    piv = rows.pivot_table(index="model", columns="subset", values="value", aggfunc="first")
    kinds = sorted(piv.columns)
    flags = model_flags(results, view)
    out = [
        {"Model": display_name(n, flags.get(n, set()))}
        | {k.removeprefix("kind="): piv.at[n, k] for k in kinds}
        for n in ordered_models(results, view, main_models(results, piv.index))
    ]
    cols = ["Model", *(k.removeprefix("kind=") for k in kinds)]
    return Table(
        key=f"kind_{metric}__{view.key}",
        title=f"{label(metric)} per defect kind on {view.dataset}",
        frame=pd.DataFrame(out, columns=cols),
        formats={c: fmt_for(metric) for c in cols[1:]},
        caption=f"{view.describe()}; each column: frames of the trajectories of that defect kind.",
    )


def selection_table(results: Results, dataset: str, split: str) -> Table | None:
    """Force and energy MAE on every frame selection present (early vs all vs final)."""
    m = results.metrics
    rows = m[(m["dataset"] == dataset) & (m["split"] == split) & (m["subset"] == "all")]
    sels = list(dict.fromkeys(rows["selection"]))
    if len(sels) < 2:
        return None
    view = View(dataset, split, _prefer(sels, ["early", "all", "final"]))
    models = ordered_models(results, view, main_models(results, rows["model"]))
    flags = model_flags(results, view)
    cols, fmts = ["Model"], {}
    data = {n: {"Model": display_name(n, flags.get(n, set()))} for n in models}
    for metric in ("force_mae", "energy_mae"):
        for sel in sels:
            col = f"{label(metric)} [{sel}]"
            cols.append(col)
            fmts[col] = fmt_for(metric)
            piv = pivot(results, View(dataset, split, sel), "all")
            for n in models:
                data[n][col] = value_of(piv, n, metric)
    return Table(
        key=f"selections__{dataset}__{split}",
        title=f"Frame selections compared on {dataset}",
        frame=pd.DataFrame(list(data.values()), columns=cols),
        formats=fmts,
        caption=f"dataset `{dataset}`, split `{split}`, all atoms. Late frames have near-zero "
        "forces, so `all` and `final` flatter a model that predicts small forces (the zero row).",
    )


def skipped_table(results: Results) -> Table | None:
    """models.csv rows whose status is not ok: the model and why it was not evaluated."""
    mods = results.models
    if mods.empty:
        return None
    bad = mods[~mods["status"].str.strip().str.lower().isin(OK_STATUS)]
    if bad.empty:
        return None
    frame = pd.DataFrame(
        {
            "Model": [n or s for n, s in zip(bad["name"], bad["spec"], strict=True)],
            "Spec": bad["spec"].to_list(),
            "Status": bad["status"].to_list(),
            "Reason": bad["reason"].to_list(),
        }
    )
    return Table(
        "skipped",
        "Skipped or failed models",
        frame,
        caption="From models.csv: these models were not evaluated; the reason says what to do.",
    )
