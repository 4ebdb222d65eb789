"""Probe: does torch DDP reproduce the one-process gradient for ADAPT+ conservative forces
(``autograd.grad(create_graph=True)`` inside the forward)? 2 gloo ranks on CPU vs one process,
float64, DDP default and ``static_graph``; prints the max relative gradient difference and DDP's
warnings.

    PYTHONPATH=$PWD OMP_NUM_THREADS=1 python scripts/probe_ddp_conservative.py

adapt-bench trains with adapt.distributed (one explicit all-reduce), not DDP: see its docstring.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from ase.calculators.singlepoint import SinglePointCalculator
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel

from adapt.plus.config import train_preset
from adapt.plus.data import collate, to_item
from adapt.plus.testing import random_model, si_structure
from adapt.plus.train import batch_loss
from adapt.tokens import default_table

N_STRUCTURES = 4


def setup():
    """(float64 conservative ADAPT+ test model, a padded 4-structure batch, tiny train config)."""
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    frames = []
    for k in range(N_STRUCTURES):
        a = si_structure("cubic", seed=k)
        e, f = float(rng.normal()), rng.normal(size=(len(a), 3))
        a.calc = SinglePointCalculator(a, energy=e, forces=f)
        frames.append(a)
    batch = collate([to_item(a, default_table()) for a in frames], "cpu", torch.float64)
    return random_model("conservative", dtype=torch.float64), batch, train_preset("tiny")


class _Through:
    """Calls the DDP wrapper where batch_loss calls the model; exposes the model's force scale."""

    def __init__(self, ddp, model):
        self.ddp, self.scale = ddp, model.scale

    def __call__(self, *a, **k):
        return self.ddp(*a, **k)


def worker(rank: int, world: int, mode: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT="29541")
    dist.init_process_group("gloo", rank=rank, world_size=world)
    model, batch, tcfg = setup()
    model.train()
    ddp = DistributedDataParallel(model, static_graph=(mode == "static"))
    shard = {k: v[list(range(rank, N_STRUCTURES, world))] for k, v in batch.items()}
    report = {"error": None, "warnings": []}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(2):  # static_graph records the graph on the first iteration
                model.zero_grad(set_to_none=True)
                loss, _ = batch_loss(_Through(ddp, model), shard, tcfg, batch)
                (loss * world).backward()  # DDP averages; each rank loss is a share of the sum
        report["warnings"] = sorted({str(w.message)[:120] for w in caught})
        grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    except Exception as exc:  # the probe reports what DDP does, including failing
        report["error"], grads = f"{type(exc).__name__}: {str(exc)[:300]}", {}
    if rank == 0:
        if grads:
            save_file(grads, f"{out}.safetensors")
        Path(f"{out}.json").write_text(json.dumps(report))
    dist.destroy_process_group()


def main() -> None:
    model, batch, tcfg = setup()
    model.train()
    batch_loss(model, batch, tcfg)[0].backward()
    ref = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
    tmp = tempfile.mkdtemp()
    for mode in ("default", "static"):
        out = f"{tmp}/{mode}"
        mp.spawn(worker, args=(2, mode, out), nprocs=2)
        report = json.loads(Path(f"{out}.json").read_text())
        if report["error"]:
            print(mode, "error:", report["error"])
            continue
        got = load_file(f"{out}.safetensors")
        rel = max(float((got[n] - ref[n]).abs().max() / ref[n].abs().max()) for n in ref)
        print(f"{mode}: {len(got)}/{len(ref)} gradients, max relative difference {rel:.2e}")
        print(f"{mode}: warnings {report['warnings']}")


if __name__ == "__main__":
    main()
