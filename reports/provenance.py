"""The report's "Provenance" section, from run.json and models.csv.

run.json's layout belongs to the runner (benchmarks.provenance + the suite as run); this module
looks keys up wherever they sit (breadth first) and shows what it finds, then the whole file
folded, so nothing the runner recorded is hidden.
"""

from __future__ import annotations

import json

import pandas as pd

from benchmarks.results import Results, find_key
from reports.blocks import Block, Code, Heading, Para
from reports.format import Table, integer, text, yes_no

RUN_FIELDS = [
    ("run_id", "Run id"),
    ("started_utc", "Started (UTC)"),
    ("finished_utc", "Finished (UTC)"),
    ("wall_s", "Wall time (s)"),
    ("git_sha", "Git SHA"),
    ("device", "Device"),
    ("hardware", "Hardware"),
    ("seed", "Seed"),
    ("seeds", "Seeds"),
    ("python", "Python"),
    ("platform", "Platform"),
    ("command", "Command"),
]
DATASET_FIELDS = [
    ("name", "Dataset"),
    ("level_of_theory", "Level of theory"),
    ("content_sha256", "Content sha256"),
    ("sha256", "Content sha256"),
    ("source", "Source"),
    ("n_trajectories", "Trajectories"),
    ("trajectories_per_split", "Trajectories per split"),
    ("n_frames", "Frames"),
    ("splits", "Splits"),
    ("selections", "Selections"),
]


def _cell(value) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return "" if value is None else str(value)


def run_table(run: dict) -> Table:
    rows = []
    suite = run.get("suite") if isinstance(run.get("suite"), dict) else {}
    name = suite.get("name") or run.get("name")
    if name:
        rows.append(("Suite", str(name)))
    if suite.get("source"):
        rows.append(("Suite file", str(suite["source"])))
    for key, what in RUN_FIELDS:
        value = find_key(run, key)
        if value is not None and not isinstance(value, dict):
            rows.append((what, _cell(value)))
    frame = pd.DataFrame(rows, columns=["Field", "Value"])
    return Table("run", "Run", frame, formats={"Field": text, "Value": text})


def dataset_table(run: dict) -> Table | None:
    """Datasets as recorded (a `datasets` list of objects, the richest one found)."""
    candidates = []
    stack = [run]
    while stack:
        cur = stack.pop(0)
        if isinstance(cur, dict):
            ds = cur.get("datasets")
            if isinstance(ds, dict):
                ds = [
                    {"name": k, **v} if isinstance(v, dict) else {"name": k} for k, v in ds.items()
                ]
            if isinstance(ds, list) and ds and all(isinstance(d, dict) for d in ds):
                candidates.append(ds)
            stack.extend(v for k, v in cur.items() if k != "datasets")
        elif isinstance(cur, list):
            stack.extend(cur)
    if not candidates:
        return None
    best = max(candidates, key=lambda ds: sum(len(d) for d in ds))
    cols = [
        (k, w) for k, w in DATASET_FIELDS if any(d.get(k) not in (None, "", [], {}) for d in best)
    ]
    cols = [(k, w) for i, (k, w) in enumerate(cols) if w not in [w2 for _, w2 in cols[:i]]]
    rows = [{w: _cell(d.get(k)) for k, w in cols} for d in best]
    return Table("datasets", "Datasets", pd.DataFrame(rows, columns=[w for _, w in cols]))


def packages_para(run: dict) -> Para | None:
    pkgs = find_key(run, "packages") or find_key(run, "versions")
    if not isinstance(pkgs, dict):
        return None
    items = [f"{k} {v}" for k, v in pkgs.items() if v] + [
        f"{k} (not installed)" for k, v in pkgs.items() if not v
    ]
    return Para("Package versions: " + ", ".join(f"`{i}`" for i in items) + ".")


MODEL_COLUMNS = {
    "name": "Model", "display_name": "Display name", "group": "Group", "family": "Family",
    "spec": "Spec", "n_params": "Params", "device": "Device", "dtype": "dtype",
    "level_of_theory": "Level of theory", "conservative": "Conservative",
    "checkpoint_sha256": "Checkpoint sha256[:12]", "status": "Status",
}  # fmt: skip


def model_table(results: Results) -> Table | None:
    """models.csv as run: what each model is (for provenance)."""
    mods = results.models
    if mods.empty:
        return None
    frame = mods[[c for c in MODEL_COLUMNS if c in mods.columns]].copy()
    frame["checkpoint_sha256"] = [str(s)[:12] for s in frame["checkpoint_sha256"]]
    frame = frame.rename(columns=MODEL_COLUMNS)
    return Table("models", "Models", frame, formats={"Params": integer, "Conservative": yes_no})


def provenance_blocks(res: Results) -> list[Block]:
    out: list[Block] = [Heading(2, "Provenance"), run_table(res.run)]
    ds = dataset_table(res.run)
    if ds:
        out.append(ds)
    pk = packages_para(res.run)
    if pk:
        out.append(pk)
    mt = model_table(res)
    if mt:
        out.append(mt)
    out.append(Code(compact_json(res.run), "run.json as recorded"))
    return out


def compact_json(obj, indent: str = "", width: int = 96) -> str:
    """Indented JSON in which a list or object that fits on one line stays on one line."""
    flat = json.dumps(obj, default=str, ensure_ascii=False)
    if len(indent) + len(flat) <= width or not isinstance(obj, dict | list) or not obj:
        return flat
    inner = indent + " "
    if isinstance(obj, dict):
        items = [
            f"{inner}{json.dumps(str(k), ensure_ascii=False)}: {compact_json(v, inner, width).lstrip()}"
            for k, v in obj.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    items = [inner + compact_json(v, inner, width).lstrip() for v in obj]
    return "[\n" + ",\n".join(items) + "\n" + indent + "]"
