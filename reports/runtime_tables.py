"""Relaxation and timing tables, from relax.csv and timing.csv.

Relaxations (one row per model and dataset): outcome counts (every outcome word that occurs, the
usual four first), then medians of steps and wall time over all relaxations, and the structure
comparisons with the reference final frame over the relaxations that have them (an exploded or
failed run has none): 1 − SOAP similarity, global (structure-averaged) and of the defect region
(per-atom, averaged over the atoms near the defect), each as the median and the worst case in
scientific notation (the similarities sit within 1e-4 of 1, so 1 − s carries the signal); ΔQ
and RMSD means.

Timing: rows with a task starting with ``train`` are training rows (``median_s`` = seconds per
epoch, ``per_structure_s`` = seconds per training frame, frames/s = its inverse unless a
``frames_per_s`` column exists); every other task (``inference``, ``scaling``, ...) is inference,
shown as seconds per structure at each system size. Timings are comparable only within one run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmarks.results import Results
from reports.format import Table, fixed, integer, scientific, sig
from reports.tables import View, main_views, ordered_models

OUTCOMES = ["converged", "not_converged", "exploded", "error"]


def _order(results: Results, dataset: str, models: list[str]) -> list[str]:
    """The report's model order, on the dataset's main view (or the first one)."""
    views = {v.dataset: v for v in main_views(results)}
    view = views.get(dataset) or next(iter(views.values()), View(dataset, "", ""))
    return ordered_models(results, view, models)


def relax_tables(results: Results) -> list[Table]:
    rel = results.relax
    if rel.empty:
        return []
    tables = []
    for ds in dict.fromkeys(rel["dataset"]):
        d = rel[rel["dataset"] == ds]
        outcomes = OUTCOMES + sorted(set(d["outcome"]) - set(OUTCOMES) - {""})
        rows = []
        for name in _order(results, ds, list(dict.fromkeys(d["model"]))):
            r = d[d["model"] == name]
            counts = r["outcome"].value_counts()
            rows.append(
                {"Model": name, "Relaxations": len(r)}
                | {o: int(counts.get(o, 0)) for o in outcomes}
                | {
                    "Median steps": _nanmedian(r["steps"]),
                    "Median wall (s)": _nanmedian(r["wall_s"]),
                    **_dissimilarity(r, "soap_similarity", "global"),
                    **_dissimilarity(r, "soap_similarity_defect", "defect"),
                    "ΔQ mean (amu½·Å)": _nanmean(r["delta_q"]),
                    "ΔQ median (amu½·Å)": _nanmedian(r["delta_q"]),
                    "RMSD mean (Å)": _nanmean(r["rmsd"]),
                }
            )
        frame = pd.DataFrame(rows)
        formats = {c: integer for c in ["Relaxations", *outcomes, "Median steps"]}
        formats |= {"Median wall (s)": sig(3)}
        formats |= {c: scientific(2) for c in frame.columns if c.startswith("1−SOAP")}
        formats |= {c: fixed(3) for c in frame.columns if c.startswith(("ΔQ", "RMSD"))}
        settings = _settings(d)
        tables.append(
            Table(
                key=f"relax__{ds}",
                title=f"Relaxations on {ds}",
                frame=frame,
                formats=formats,
                caption="First frame of every held-out trajectory relaxed by each model; the "
                "final structure compared with the reference's final frame. " + settings,
            )
        )
    return tables


def _settings(d: pd.DataFrame) -> str:
    parts = []
    for col, what in (
        ("optimizer", "optimizer"),
        ("fmax_target", "fmax (eV/Å)"),
        ("max_steps", "step cap"),
    ):
        vals = [str(v) for v in dict.fromkeys(d[col]) if str(v) not in ("", "nan")]
        if vals:
            parts.append(f"{what} {', '.join(vals)}")
    return ("Settings: " + "; ".join(parts) + ".") if parts else ""


def _dissimilarity(r: pd.DataFrame, column: str, what: str) -> dict[str, float]:
    """Median and worst (largest) 1 − similarity of one SOAP column; NaN when absent."""
    v = 1.0 - pd.to_numeric(r[column], errors="coerce") if column in r else pd.Series([], float)
    v = v.dropna()
    return {
        f"1−SOAP {what} median": float(np.median(v)) if len(v) else np.nan,
        f"1−SOAP {what} worst": float(v.max()) if len(v) else np.nan,
    }


def _nanmedian(s: pd.Series) -> float:
    v = pd.to_numeric(s, errors="coerce").dropna()
    return float(np.median(v)) if len(v) else np.nan


def _nanmean(s: pd.Series) -> float:
    v = pd.to_numeric(s, errors="coerce").dropna()
    return float(np.mean(v)) if len(v) else np.nan


def _is_train(task: str) -> bool:
    return str(task).lower().startswith("train")


def inference_table(results: Results) -> Table | None:
    t = results.timing
    if t.empty:
        return None
    inf = t[~t["task"].map(_is_train)].copy()
    if inf.empty:
        return None
    # the same model and size timed by several tasks: keep `inference` first, then file order
    inf["_rank"] = (inf["task"] != "inference").astype(int)
    inf = inf.sort_values("_rank", kind="stable").drop_duplicates(["model", "n_atoms"])
    sizes = sorted(int(n) for n in pd.to_numeric(inf["n_atoms"], errors="coerce").dropna().unique())
    rows = []
    for name in _order(results, _first_dataset(results), list(dict.fromkeys(inf["model"]))):
        r = inf[inf["model"] == name]
        per = dict(
            zip(pd.to_numeric(r["n_atoms"], errors="coerce"), r["per_structure_s"], strict=True)
        )
        rows.append(
            {"Model": name}
            | {f"s/structure @ {n} atoms": per.get(n, np.nan) for n in sizes}
            | {
                "Best atoms·steps/s": pd.to_numeric(r["atoms_steps_per_s"], errors="coerce").max(),
                "Peak memory (MB)": pd.to_numeric(r["peak_mem_mb"], errors="coerce").max(),
                "Device": _join(r["device"]),
            }
        )
    frame = pd.DataFrame(rows)
    formats = {c: sig(3) for c in frame.columns if c not in ("Model", "Device")}
    return Table(
        key="timing_inference",
        title="Inference timing",
        frame=frame,
        formats=formats,
        caption="Median over repeats after warm-up, structures rattled between calls. "
        + _hardware_note(t),
    )


def training_table(results: Results) -> Table | None:
    t = results.timing
    if t.empty:
        return None
    tr = t[t["task"].map(_is_train)]
    if tr.empty:
        return None
    rows = []
    for rec in tr.to_dict("records"):
        fps = rec.get("frames_per_s", np.nan)
        if pd.isna(fps) and rec.get("per_structure_s", 0) and not pd.isna(rec["per_structure_s"]):
            fps = 1.0 / float(rec["per_structure_s"])
        rows.append(
            {
                "Model": rec["model"],
                "Task": rec["task"],
                "Epochs": rec.get("repeats", np.nan),
                "s/epoch (median)": rec["median_s"],
                "Total (s)": rec.get("total_s", np.nan),
                "Frames/s": fps,
                "Peak memory (MB)": rec["peak_mem_mb"],
                "Device": rec["device"],
            }
        )
    frame = pd.DataFrame(rows)
    frame = frame[[c for c in frame.columns if c in ("Model", "Task") or frame[c].notna().any()]]
    formats = {c: sig(3) for c in ("s/epoch (median)", "Total (s)", "Frames/s", "Peak memory (MB)")}
    formats["Epochs"] = integer
    return Table(
        key="timing_training",
        title="Training timing",
        frame=frame,
        formats={c: f for c, f in formats.items() if c in frame.columns},
        caption=_hardware_note(t),
    )


def _first_dataset(results: Results) -> str:
    ds = results.metrics["dataset"]
    return str(ds.iloc[0]) if len(ds) else ""


def _join(values) -> str:
    return ", ".join(str(v) for v in dict.fromkeys(values) if str(v))


def _hardware_note(t: pd.DataFrame) -> str:
    hw = _join(t["hardware"])
    runs = _join(t["run_id"])
    note = "Comparable only within one run"
    note += f" (run {runs})" if runs else ""
    note += f"; hardware: {hw}." if hw else "."
    return note
