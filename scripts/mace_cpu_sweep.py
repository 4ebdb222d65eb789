"""Measure MACE training variants on the built-in dataset: train time, test force/energy MAE.

    python scripts/mace_cpu_sweep.py [--out DIR] VARIANT [VARIANT ...]

A VARIANT is ``name=BASE[,field=value,...]``: a preset of baselines.mace_train (BASE) with
MacePreset fields replaced, e.g. ``c32=cpu,num_channels=32,epochs=20``. Each variant is trained
in this process's order on the default dataset's train split (whole or thinned, as its preset
says), then scored on the test split (early and all frames) next to the composition baseline.
Train times of variants run in one invocation are comparable (same machine load); run a
reference variant (e.g. ``ref=tiny``) in the same invocation to compare across invocations.
Prints one JSON line per variant and a table at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

from baselines.mace_train import PRESETS, train_mace
from baselines.registry import LoadContext, load_model
from benchmarks.data.default import default_dataset
from benchmarks.tasks.accuracy import headline_maes as score


def parse_variant(text: str):
    name, _, rest = text.partition("=")
    base, *fields = rest.split(",")
    cfg = PRESETS[base]
    types = {f.name: f.type for f in dataclasses.fields(cfg)}
    changes = {}
    for item in fields:
        key, _, value = item.partition("=")
        if key not in types:
            raise SystemExit(f"{text}: MacePreset has no field {key!r}")
        changes[key] = (
            None
            if value == "None"
            else json.loads(value)
            if value[:1] in "0123456789-.["
            else value
        )
    return name, dataclasses.replace(cfg, name=name, **changes)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("variants", nargs="+")
    p.add_argument("--out", default="/tmp/mace-sweep")
    args = p.parse_args()
    ds = default_dataset()
    zero = score(load_model("zero", LoadContext(train_data=ds)), ds, "zero")
    print(json.dumps({"variant": "zero", **zero}), flush=True)
    table = []
    for text in args.variants:
        name, cfg = parse_variant(text)
        PRESETS[name] = cfg
        start = time.perf_counter()
        model = train_mace(ds, Path(args.out) / name, name)
        wall = time.perf_counter() - start
        meta = json.loads((model.parent / "mace.json").read_text())
        ff = load_model(f"mace:{model}", LoadContext())
        res = {
            "variant": name,
            "spec": text,
            "params": ff.info.n_params,
            "train_wall_s": round(wall, 1),
            "epoch_s": meta["epoch_train_s"],
            "n_train": meta["n_train_frames"],
            **score(ff, ds, name),
        }
        print(json.dumps(res), flush=True)
        table.append(res)
    print(
        f"{'variant':10} {'params':>8} {'wall s':>7} {'F early':>8} {'E early':>8} {'F all':>7} {'E all':>7}"
    )
    for r in [{"variant": "zero", "params": 0, "train_wall_s": 0, **zero}, *table]:
        print(
            f"{r['variant']:10} {r['params']:8d} {r['train_wall_s']:7.0f} "
            f"{r['early']['force_mae']:8.4f} {r['early']['energy_mae']:8.3f} "
            f"{r['all']['force_mae']:7.4f} {r['all']['energy_mae']:7.3f}"
        )


if __name__ == "__main__":
    main()
