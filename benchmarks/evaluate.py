"""One model on one dataset (`adapt-bench eval`): metric rows, optionally a results directory."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import pandas as pd

from adapt.fileio import write_json
from benchmarks.data.dataset import Dataset
from benchmarks.provenance import Provenance
from benchmarks.results import ResultsDir
from benchmarks.tasks.accuracy import energy_refs, evaluate, lot_mismatch

log = logging.getLogger(__name__)


def evaluate_model(
    spec: str,
    data: str | Path,
    *,
    split: str = "test",
    selection: str = "early",
    device: str = "cpu",
    out: str | Path | None = None,
    batch_size: int | None = None,
    alignment_selection: str = "early",
) -> list[dict]:
    """Metric rows of model ``spec`` on ``data``'s ``split`` (every trajectory when the dataset
    has no split) under a frame ``selection``. With ``out``: also writes metrics.csv,
    models.csv, run.json and predictions/ there (a results directory `adapt-bench report`
    can draw). Raises ModelUnavailable (one line) when the model cannot be loaded here."""
    from baselines.registry import LoadContext, load_model

    prov = Provenance(device=device, seed=0)
    ds = Dataset(data)
    ff = load_model(spec, LoadContext(device=device, train_data=ds))
    refs = None
    if lot_mismatch(ff.info, ds):
        refs = energy_refs(ff, ds, alignment_selection, batch_size)
    ps, rows = evaluate(
        ff, ds, split, selection, label=ff.info.name, batch_size=batch_size, refs=refs
    )
    if out is not None:
        results = ResultsDir(out)
        results.write_predictions(ps, ff.info.name, ds.name, split, selection)
        results.write_table("metrics.csv", rows)
        info = ff.info.as_dict()
        results.write_table(
            "models.csv",
            [{"display_name": info["name"]} | info | {"status": "ok", "reason": "", "spec": spec}],
        )
        prov.finish()
        write_json(
            results.path("run.json"),
            {
                "status": "complete",
                "command": "eval",
                "eval": {"model": spec, "data": str(data), "split": split, "selection": selection},
                "provenance": prov.as_dict(),
                "datasets": [{"name": ds.name, "sha256": ds.sha256, "path": str(ds.root)}],
            },
        )
    return rows


def format_rows(rows: list[dict]) -> str:
    """The metric rows as a subset x metric table (values to 4 significant digits)."""
    if not rows:
        return "(no metric rows: no frames selected?)"
    frame = pd.DataFrame(rows)
    frame["metric"] = frame["metric"] + " (" + frame["unit"] + ")"
    table = frame.pivot_table(
        index="subset", columns="metric", values="value", aggfunc="first", sort=False, dropna=False
    )
    head = frame.iloc[0]
    flags = sorted({f for fl in frame["flags"] for f in str(fl).split(";") if f})
    title = f"{head['model']} on {head['dataset']} ({head['split']}, {head['selection']})" + (
        f"  flags: {', '.join(flags)}" if flags else ""
    )
    body = table.map(lambda v: "" if v is None or math.isnan(v) else f"{v:.4g}")
    return title + "\n" + body.to_string()
