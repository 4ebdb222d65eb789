"""The paper's two ablations, drawn when a run contains their model variants.

Table 1 (energy architectures: Transformer decoder, MLP only, MLP + residual) and Table 2 (force
model with attention restricted to a radius vs full attention).

Which models: those of models.csv group ``energy_architectures`` (Table 1) or ``attention_radius``
(Table 2), the suite's way of saying so. Each row's architecture / radius is read from, first
match wins:

1. a models.csv column ``energy_arch`` (``decoder`` | ``mlp`` | ``mlp_residual``) or
   ``attention_radius`` (Å; ``full``/``inf``/``none`` = unrestricted), or those keys in a JSON
   ``extra`` column (``allowed_interactions``, %, is shown when present);
2. the suite entry in run.json: the ``arch`` override of its ``adapt-energy`` train job (default
   ``mlp_residual``) or the ``attention_radius`` override of its ``adapt-force`` job (absent or
   null = full attention);
3. the model's name: ``decoder``, ``mlp``, ``mlp+residual`` / ``residual``; ``radius=4``,
   ``r_attn 6``, ``attention radius full``.

Models outside those groups are added only by 1. or 3., and a table with no grouped model needs
two such rows. The paper reports an L2 loss; these tables report energy MAE (Table 1) and force
MAE / RMSE (Table 2) on the view of the main table.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pandas as pd

from benchmarks.results import Results
from reports.format import Table, fixed, text
from reports.tables import View, label, model_facts, pivot, value_of

_MISSING = object()

ARCH_LABELS = {
    "decoder": "Transformer decoder",
    "mlp": "MLP only",
    "mlp_residual": "MLP + residual",
}
_RADIUS_NAME = re.compile(
    r"(?:attention[ _-]?radius|attn[ _-]?radius|r_?attn|radius)\s*[=:_ -]?\s*"
    r"(full|inf|none|\d+(?:\.\d+)?)",
    re.I,
)
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def _extra(row: dict) -> dict:
    raw = row.get("extra", "")
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw) if isinstance(raw, str) and raw.strip().startswith("{") else {}
    except json.JSONDecodeError:
        value = {}
    return value if isinstance(value, dict) else {}


def _lookup(row: dict, key: str):
    value = row.get(key)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        value = _extra(row).get(key)
    return value


def suite_entries(run: dict) -> dict[str, dict]:
    """Suite model entries in run.json by name: a ``models`` list of named objects, preferring
    one whose entries carry ``train`` blocks (the suite as run) over a plain status list."""
    found, stack = [], [run]
    while stack:
        obj = stack.pop(0)
        if isinstance(obj, dict):
            models = obj.get("models")
            if (
                isinstance(models, list)
                and models
                and all(isinstance(m, dict) and "name" in m for m in models)
            ):
                found.append(models)
            stack.extend(obj.values())
        elif isinstance(obj, list):
            stack.extend(obj)
    found.sort(key=lambda ms: not any("train" in m for m in ms))  # stable: with train first
    return {str(m["name"]): m for m in found[0]} if found else {}


def _train_override(entry: dict, kind: str, key: str):
    """The override ``key`` of the entry's train job ``kind``; _MISSING when no such job, None
    when the job exists without the key."""
    for job in entry.get("train") or []:
        if isinstance(job, dict) and job.get("kind") == kind:
            ov = job.get("overrides") or {}
            if isinstance(ov, list):
                ov = {k: v for k, v in ov if isinstance(k, str)}
            return ov.get(key)
    return _MISSING


def energy_arch(name: str, row: dict, entry: dict | None = None) -> str | None:
    """'decoder' | 'mlp' | 'mlp_residual' | None."""
    value = _lookup(row, "energy_arch")
    if not value and entry:
        ov = _train_override(entry, "adapt-energy", "arch")
        value = None if ov is _MISSING else (ov or "mlp_residual")
    if value:
        key = re.sub(r"[^a-z]+", "_", str(value).lower()).strip("_")
        if "decoder" in key:
            return "decoder"
        return "mlp_residual" if "res" in key else ("mlp" if "mlp" in key else None)
    low = name.lower()
    if "decoder" in low:
        return "decoder"
    if re.search(r"mlp\s*[-+_ ]?\s*res(idual)?|residual", low):
        return "mlp_residual"
    if re.search(r"\bmlp\b", low):
        return "mlp"
    return None


def attention_radius(name: str, row: dict, entry: dict | None = None) -> float | None:
    """Radius in Å, math.inf for full attention, None when the model is no such variant."""
    value = _lookup(row, "attention_radius")
    if (value is None or value == "") and entry:
        ov = _train_override(entry, "adapt-force", "attention_radius")
        value = None if ov is _MISSING else ("full" if ov is None else ov)
    if value is None or value == "":
        match = _RADIUS_NAME.search(name)
        if not match:
            return None
        value = match.group(1)
    if str(value).strip().lower() in ("full", "inf", "none", "infinity"):
        return math.inf
    try:
        return float(value)
    except ValueError:
        return None


def _allowed(name: str, row: dict) -> float:
    value = _lookup(row, "allowed_interactions")
    if value is None or value == "":
        match = _PERCENT.search(name)
        value = match.group(1) if match else np.nan
    try:
        return float(value)
    except ValueError:
        return np.nan


def _grouped(facts: dict, name: str, group: str) -> bool:
    return str(facts.get(name, {}).get("group") or "") == group


def energy_arch_table(results: Results, view: View) -> Table | None:
    facts, entries = model_facts(results), suite_entries(results.run)
    piv = pivot(results, view, "all")
    rows, grouped = [], False
    for name in piv.index:
        in_group = _grouped(facts, name, "energy_architectures")
        row = facts.get(name, {})
        arch = energy_arch(name, row, entries.get(name) if in_group else None)
        if not (arch or in_group) or np.isnan(value_of(piv, name, "energy_mae")):
            continue
        grouped |= in_group
        rows.append(
            {
                "Architecture": ARCH_LABELS.get(arch, "–"),
                "Model": name,
                label("energy_mae"): value_of(piv, name, "energy_mae"),
                label("energy_mae_per_atom"): value_of(piv, name, "energy_mae_per_atom"),
            }
        )
    if not rows or (not grouped and len({r["Architecture"] for r in rows}) < 2):
        return None
    order = [*ARCH_LABELS.values(), "–"]
    rows.sort(key=lambda r: (order.index(r["Architecture"]), r["Model"]))
    return Table(
        key=f"table1__{view.key}",
        title="Energy architectures (paper Table 1 style)",
        frame=pd.DataFrame(rows),
        formats={label("energy_mae"): fixed(4), label("energy_mae_per_atom"): fixed(2)},
        caption=f"{view.describe()}. The paper reports an L2 error; here the energy MAE.",
    )


def attention_radius_table(results: Results, view: View) -> Table | None:
    facts, entries = model_facts(results), suite_entries(results.run)
    piv, defect = pivot(results, view, "all"), pivot(results, view, "defect")
    rows, grouped = [], False
    for name in piv.index:
        row = facts.get(name, {})
        in_group = _grouped(facts, name, "attention_radius")
        radius = attention_radius(name, row, entries.get(name) if in_group else None)
        if radius is None and not in_group:
            continue
        grouped |= in_group
        radius = math.nan if radius is None else radius
        rows.append(
            {
                "_r": radius,
                "Attention radius (Å)": _radius_text(radius),
                "Allowed interactions (%)": _allowed(name, row),
                "Model": name,
                label("force_mae"): value_of(piv, name, "force_mae"),
                label("force_rmse"): value_of(piv, name, "force_rmse"),
                "Defect-region force MAE (eV/Å)": value_of(defect, name, "force_mae"),
                label("force_angle"): value_of(piv, name, "force_angle"),
            }
        )
    if not rows or (not grouped and len(rows) < 2):
        return None
    rows.sort(key=lambda r: (math.isnan(r["_r"]), r["_r"], r["Model"]))
    frame = pd.DataFrame(rows).drop(columns="_r")
    if frame["Allowed interactions (%)"].isna().all():
        frame = frame.drop(columns="Allowed interactions (%)")
    formats = {c: fixed(4) for c in frame.columns if "eV/Å" in c}
    formats |= {label("force_angle"): fixed(2), "Allowed interactions (%)": fixed(1)}
    formats["Attention radius (Å)"] = text
    return Table(
        key=f"table2__{view.key}",
        title="Attention radius ablation (paper Table 2 style)",
        frame=frame,
        formats={k: v for k, v in formats.items() if k in frame.columns},
        caption=f"{view.describe()}. Attention restricted to atoms within the radius vs full "
        "all-to-all attention. The paper reports a total L2 loss; here force MAE and RMSE.",
    )


def _radius_text(radius: float) -> str:
    if math.isnan(radius):
        return "–"
    return "full" if math.isinf(radius) else f"{radius:g}"
