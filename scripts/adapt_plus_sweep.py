"""Measure ADAPT+ (and MACE) training variants on one dataset: train time, test force/energy MAE.

    python scripts/adapt_plus_sweep.py [--data DIR] [--out DIR] [--threads N] VARIANT [VARIANT ...]

A VARIANT is ``name=FAMILY:PRESET[,field=value,...]``: ``adapt+:tiny,cutoff=3.5,lr=0.01`` (any
adapt.plus config field, JSON values) or ``mace:cpu`` (a baselines.mace_train preset, trained
as is). Each variant is trained in the order given on DIR's train split (default: the built-in
dataset), then scored on the test split (early and all frames) beside the composition baseline.
Train times within one invocation are comparable (same machine, same load, ``--threads`` torch
threads); prints one JSON line per variant and a table at the end. Runs already finished in
``--out`` are reused (their recorded train time is reported again); ``--seed`` sets the training
seed of every variant; ``--monitor`` also prints each ADAPT+ run's per-epoch test curve (the
trainer's ``monitor`` sets: left out of metrics.jsonl's epoch times, but inside this script's
train time, so do not compare the times of monitored runs).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from baselines.registry import LoadContext, load_model
from benchmarks.data.dataset import Dataset
from benchmarks.data.default import default_dataset
from benchmarks.tasks.accuracy import headline_maes as score


def parse_variant(text: str) -> tuple[str, str, str, dict]:
    name, _, rest = text.partition("=")
    head, *items = rest.split(",")
    family, _, preset = head.partition(":")
    options = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    if family not in ("adapt+", "mace") or (family == "mace" and options):
        raise SystemExit(f"{text}: expected name=adapt+:PRESET[,k=v...] or name=mace:PRESET")
    return name, family, preset, options


def train(family, preset, options, ds, out: Path, seed: int = 0, monitor: bool = False) -> str:
    if family == "mace":
        from baselines.mace_train import train_mace

        return f"mace:{train_mace(ds, out, preset, seed=seed)}"
    from baselines.adapt_plus import train as train_plus

    opts = dict(options)
    epochs = opts.pop("epochs", None)
    if monitor:  # score the test frames after every epoch (logged; never used for selection)
        opts["monitor"] = {f"test_{s}": ds.frames("test", s) for s in ("early", "all")}
    train_plus(
        ds, out, preset=preset, epochs=epochs, device="cpu", seed=seed, progress=False, **opts
    )
    return f"adapt+:{out}"


def print_curve(metrics_jsonl: Path, name: str) -> None:
    """Per-epoch validation loss and monitored test force MAE (eV/Å) of one ADAPT+ run."""
    rows = [json.loads(line) for line in metrics_jsonl.read_text().splitlines()]
    print(f"{name}: epoch  val_loss  test_early_F  test_all_F")
    for r in rows:
        print(
            f"{name}: {r['epoch']:5d}  {r['val_loss']:8.4f}  "
            f"{r.get('test_early_force_mae', float('nan')):12.4f}  "
            f"{r.get('test_all_force_mae', float('nan')):10.4f}"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("variants", nargs="+")
    p.add_argument("--data", type=Path, help="dataset directory (default: the built-in one)")
    p.add_argument("--out", type=Path, default=Path("/tmp/adapt-plus-sweep"))
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--seed", type=int, default=0, help="training seed of every variant (default 0)")
    p.add_argument(
        "--monitor",
        action="store_true",
        help="ADAPT+: also score the test split after every epoch and print the per-epoch curve "
        "(validation loss, test early / all force MAE); training and the kept weights are "
        "unchanged",
    )
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    ds = Dataset(args.data) if args.data else default_dataset()
    zero = score(load_model("zero", LoadContext(train_data=ds)), ds, "zero")
    print(json.dumps({"variant": "zero", **zero}), flush=True)
    table = [{"variant": "zero", "train_wall_s": 0.0, **zero}]
    for text in args.variants:
        name, family, preset, options = parse_variant(text)
        out = args.out / name
        stamp = out / "sweep-train-s.json"
        start = time.perf_counter()
        spec = train(family, preset, options, ds, out, args.seed, args.monitor)
        wall = time.perf_counter() - start
        if stamp.is_file() and wall < 5:
            wall = json.loads(stamp.read_text())["train_wall_s"]  # reused run
        else:
            stamp.write_text(json.dumps({"train_wall_s": wall}))
        ff = load_model(spec, LoadContext())
        res = {
            "variant": name,
            "spec": text,
            "params": ff.info.n_params,
            "train_wall_s": round(wall, 1),
            "threads": args.threads,
            "seed": args.seed,
            "load1": round(os.getloadavg()[0], 2),
            **score(ff, ds, name),
        }
        print(json.dumps(res), flush=True)
        table.append(res)
        if args.monitor and family == "adapt+":
            print_curve(out / "metrics.jsonl", name)
    print(f"{'variant':14} {'wall s':>7} {'F early':>8} {'E early':>8} {'F all':>7} {'E all':>7}")
    for r in table:
        print(
            f"{r['variant']:14} {r['train_wall_s']:7.1f} "
            f"{r['early']['force_mae']:8.4f} {r['early']['energy_mae']:8.3f} "
            f"{r['all']['force_mae']:7.4f} {r['all']['energy_mae']:7.3f}"
        )


if __name__ == "__main__":
    main()
