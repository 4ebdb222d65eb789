"""Training ADAPT+: ``train_plus(train_frames, val_frames, out_dir, preset=..., ...)``.

Frames are labelled ``ase.Atoms`` (energy and forces on their calculator). Before training, the
per-element reference energies are fitted by least squares on the training frames and the force
scale is set to the training force RMS (both become model buffers). The loss per batch::

    force_weight  · Σ_i w_i ρ(ΔF_i / scale) / (3 Σ_i w_i)   (w_i: 1, Eq. 12 and/or frame weights)
  + energy_weight · mean_structures ρ(ΔE / (n_atoms · scale · 1 Å))

with ρ the Huber (delta ``huber_delta``) or squared error. AdamW with linear warmup, then cosine
decay per step (or halving on a validation plateau), gradient clipping, an EMA of the weights;
after each epoch the EMA weights are validated and saved as the run's model if they are the best
so far (``keep = "best"``) or after every epoch (``keep = "last"``: the final epoch's remain).

Reproducible and resumable: torch and numpy are reseeded from (seed, epoch) at every epoch, and
``out_dir/last/`` holds the weights, EMA, optimizer and schedule state after the latest epoch, so
rerunning the same call continues where it stopped (a finished run returns at once; a larger
``epochs`` continues it) and ends with the same weights as an uninterrupted run on CPU.
Bit-identical reruns need the same torch thread count (recorded as ``torch_threads`` in the
checkpoint and ``threads`` per epoch): with 1 thread two fresh runs are bit-identical; 1 vs 2
threads differ by ~1e-9 after a dozen steps (multi-threaded MKL/OpenMP reductions sum in another
order), and training amplifies that to a few per cent of the final force MAE.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from ase import Atoms

from adapt.checkpoint import load_optimizer, load_weights, save_optimizer, save_weights
from adapt.distributed import LOCAL, Dist
from adapt.fileio import write_json
from adapt.plus.checkpoint import build_model, save_checkpoint
from adapt.plus.config import apply_overrides, model_preset, to_dict, train_preset
from adapt.plus.data import Item, batch_plan, collate, fit_element_refs, to_item
from adapt.tokens import default_table

log = logging.getLogger(__name__)
FUSED = ("cpu", "cuda")  # devices with a fused AdamW kernel


def frames_sha256(frames: list[Atoms]) -> str:
    """Hash of the frames' species, positions, cells, energies and forces."""
    h = hashlib.sha256()
    for a in frames:
        h.update("".join(a.get_chemical_symbols()).encode())
        for arr in (a.positions, a.cell[:], a.get_forces(), [a.get_potential_energy()]):
            h.update(np.ascontiguousarray(arr, dtype=np.float64).tobytes())
    return h.hexdigest()


def thin(n: int, limit: int | None) -> list[int]:
    """Indices of at most ``limit`` of ``n`` frames, evenly spaced (all when limit is None)."""
    if limit is None or n <= limit:
        return list(range(n))
    return sorted(set(np.linspace(0, n - 1, limit).round().astype(int).tolist()))


def weigh_frames(items: list[Item], alpha: float, rms: float) -> None:
    """Multiply each item's force-loss weights by 1 + α RMS(F_item) / ``rms`` (eV/Å, the force
    RMS of all training items), in place (the ``frame_weight`` option): a relaxed frame keeps
    weight 1, a frame at the training RMS 1 + α, the first frames of relaxations (~6x the RMS on
    the built-in data) ~1 + 6α."""
    for it in items:
        it.weights = it.weights * (1.0 + alpha * float(np.sqrt(np.mean(it.forces**2))) / rms)


def _rho(x: torch.Tensor, loss: str, delta: float) -> torch.Tensor:
    if loss == "huber":
        return F.huber_loss(x, torch.zeros_like(x), delta=delta, reduction="none")
    return x.square()


def _norm_stats(norms: list[torch.Tensor]) -> dict:
    """Median and largest gradient norm (before clipping) of an epoch's steps."""
    if not norms:
        return {}
    n = torch.stack(norms).float().cpu()
    return {"grad_norm_median": float(n.median()), "grad_norm_max": float(n.max())}


def batch_loss(model, batch, tcfg, shard_of=None) -> tuple[torch.Tensor, dict]:
    """(loss, sums: force |error| (eV/Å, components), energy |error| per atom (eV), counts).

    ``shard_of``: the global batch that ``batch`` is some rows of (data-parallel training,
    :mod:`adapt.distributed`); means are then divided by the global batch's totals, so the
    losses of its row shards sum to its loss."""
    out = model(batch["species"], batch["pos"], batch["cell"], batch["pbc"], batch["valid"])
    scale = model.scale
    valid = batch["valid"]
    err_f = torch.where(valid[..., None], out["forces"] - batch["forces"], 0.0)  # (B, N, 3)
    w = batch["weights"] * valid  # (B, N)
    w_total = w.sum() if shard_of is None else (shard_of["weights"] * shard_of["valid"]).sum()
    lf = (w * _rho(err_f / scale, tcfg.loss, tcfg.huber_delta).sum(-1)).sum() / (3 * w_total)
    n = batch["n_atoms"].to(torch.float64)
    err_e = (out["energy"] - batch["energy"]) / n  # (B,) eV/atom, float64
    le = _rho((err_e / scale.double()).float(), tcfg.loss, tcfg.huber_delta)
    le = le.mean() if shard_of is None else le.sum() / len(shard_of["n_atoms"])
    loss = tcfg.force_weight * lf + tcfg.energy_weight * le
    stats = {
        "f_abs": float(err_f.detach().abs().sum()),
        "f_count": int(valid.sum()) * 3,
        "e_abs": float(err_e.detach().abs().sum()),
        "e_count": len(n),
    }
    return loss, stats


def evaluate(model, items: list[Item], tcfg, device, dist: Dist = LOCAL) -> dict:
    """Validation metrics of ``model`` on ``items``: loss, force MAE (eV/Å), energy MAE (eV/atom);
    with ``dist`` each rank evaluates every W-th batch and the sums are all-reduced."""
    model.eval()
    tot = {"loss": 0.0, "f_abs": 0.0, "f_count": 0, "e_abs": 0.0, "e_count": 0}
    dtype = next(model.parameters()).dtype
    plan = batch_plan([len(it) for it in items], tcfg.max_batch_atoms)
    for idx in plan[dist.rank :: dist.world]:
        loss, st = batch_loss(model, collate([items[k] for k in idx], device, dtype), tcfg)
        tot["loss"] += float(loss.detach()) * len(idx)
        for k in st:
            tot[k] += st[k]
    tot = dict(zip(tot, dist.sum(list(tot.values())), strict=True))
    return {
        "val_loss": tot["loss"] / max(len(items), 1),
        "val_force_mae": tot["f_abs"] / max(tot["f_count"], 1),
        "val_energy_mae_per_atom": tot["e_abs"] / max(tot["e_count"], 1),
    }


def lr_factor(step: int, total: int, tcfg) -> float:
    """Warmup (linear) then cosine decay to ``min_lr_ratio`` (cosine schedule) or 1 (plateau)."""
    if step < tcfg.warmup_steps:
        return (step + 1) / tcfg.warmup_steps
    if tcfg.schedule == "plateau":
        return 1.0
    t = min(1.0, (step - tcfg.warmup_steps) / max(1, total - tcfg.warmup_steps))
    return tcfg.min_lr_ratio + (1 - tcfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * t))


def _progress(iterable, enabled: bool | None, **kw):
    from tqdm.auto import tqdm

    if enabled is None:
        enabled = not os.environ.get("ADAPT_BENCH_NO_PROGRESS")
    return tqdm(iterable, disable=not enabled, leave=False, **kw)


def _ema_update(ema, model, decay: float, step: int) -> None:
    """EMA of the parameters; the decay ramps up as (1 + step) / (10 + step) early in training so
    that short runs are not dominated by the initial weights."""
    decay = min(decay, (1.0 + step) / (10.0 + step))
    with torch.no_grad():
        for pe, pm in zip(ema.parameters(), model.parameters(), strict=True):
            pe.lerp_(pm, 1.0 - decay)


def train_plus(
    train_frames: list[Atoms],
    val_frames: list[Atoms],
    out_dir,
    preset: str = "tiny",
    seed: int = 0,
    device: str = "cpu",
    data_info: dict | None = None,
    train_weights: list[np.ndarray] | None = None,
    progress: bool | None = None,
    dist: Dist = LOCAL,
    monitor: dict[str, list[Atoms]] | None = None,
    **overrides,
) -> Path:
    """Train (or resume) ADAPT+; returns ``out_dir`` (see :mod:`adapt.plus.checkpoint`).

    data_info: {"name", "sha256", "level_of_theory"} of the dataset, recorded in the checkpoint
    (sha256 defaults to a hash of the frames); train_weights: per-frame (n,) force-loss weights
    for ``force_weighting="weighted"`` (Eq. 12, made by the caller with adapt.weights);
    overrides: any PlusModelConfig / PlusTrainConfig field (e.g. forces="direct", epochs=3).
    dist: this process's rank in a data-parallel job (:func:`adapt.distributed.from_env`); the
    global batch is the same ``max_batch_atoms`` plan whatever the number of ranks, and only
    rank 0 writes ``out_dir``.
    monitor: named frame sets (e.g. {"test_early": frames}) the EMA model is also scored on after
    every epoch, logged as ``NAME_force_mae`` / ``NAME_energy_mae_per_atom`` in metrics.jsonl;
    they never influence training or which weights are kept (a diagnostic: learning curves).
    """
    out = Path(out_dir)
    mcfg, tcfg = apply_overrides(model_preset(preset), train_preset(preset), overrides)
    if not train_frames or not val_frames:
        raise ValueError("ADAPT+ training needs at least one train and one validation frame")
    if tcfg.force_weighting == "weighted" and train_weights is None:
        raise ValueError("force_weighting='weighted' needs train_weights (Eq. 12 per frame)")
    dev = torch.device(dist.device(device))
    table = default_table()
    info = {"sha256": frames_sha256(train_frames + val_frames), **(data_info or {})}
    key = {
        "model": to_dict(mcfg),
        "train": {**to_dict(tcfg), "epochs": None},
        "seed": seed,
        "data": info["sha256"],
        "element_table": table.sha256,
    }
    state_path = out / "last" / "state.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else None
    if state is not None and state["run_key"] != key:
        diff = [k for k in key if key[k] != state["run_key"].get(k)]
        raise ValueError(f"{out} holds a different run (differs in: {', '.join(diff)})")
    dist.agree(
        -1 if state is None else state["epoch"],
        f"the resume state in {out} (it must be on a filesystem every node shares)",
    )
    if state is not None and state["epoch"] >= tcfg.epochs:
        return out
    if not dist.is_main:
        progress = False

    keep_t = thin(len(train_frames), tcfg.max_train_frames)
    train = [
        to_item(train_frames[k], table, None if train_weights is None else train_weights[k])
        for k in keep_t
    ]
    val = [to_item(val_frames[k], table) for k in thin(len(val_frames), tcfg.max_val_frames)]
    monitored = {name: [to_item(a, table) for a in fr] for name, fr in (monitor or {}).items()}
    torch.manual_seed(seed)
    model = build_model(mcfg, table)
    refs = fit_element_refs(train, len(table.symbols))
    rms = float(np.sqrt(np.mean(np.concatenate([it.forces for it in train]) ** 2))) or 1.0
    if tcfg.frame_weight:
        weigh_frames(train, tcfg.frame_weight, rms)
    with torch.no_grad():
        model.e_ref.copy_(torch.as_tensor(refs))
        model.scale.fill_(rms)
    model.to(dev)
    ema = copy.deepcopy(model)
    # fused: one kernel over all parameters instead of ~10 small ops per tensor (CPU and CUDA)
    opt = torch.optim.AdamW(
        model.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay, fused=dev.type in FUSED
    )
    sizes = [len(it) for it in train]
    steps_per_epoch = len(batch_plan(sizes, tcfg.max_batch_atoms))
    total = steps_per_epoch * tcfg.epochs
    epoch, step, best, plateau = 0, 0, math.inf, {"factor": 1.0, "bad": 0, "best": math.inf}
    if state is not None:
        load_weights(model, out / "last" / "model.safetensors")
        load_weights(ema, out / "last" / "ema.safetensors")
        load_optimizer(opt, out / "last" / "optimizer.safetensors", state["param_groups"])
        epoch, step, best, plateau = state["epoch"], state["step"], state["best"], state["plateau"]
    dist.broadcast_(model)
    dist.broadcast_(ema)
    meta = {
        "model_config": to_dict(mcfg),
        "train_config": to_dict(tcfg),
        "preset": preset,
        "seed": seed,
        "element_table": table.to_dict(),
        "element_refs": {s: float(r) for s, r in zip(table.symbols, refs, strict=True) if r},
        "scale": float(model.scale),
        "data": info,
        "n_train": len(train),
        "n_val": len(val),
        "n_params": sum(p.numel() for p in model.parameters()),
        # float summation order (and so the trained weights) depends on the thread count
        "torch_threads": torch.get_num_threads(),
        "world_size": dist.world,
    }

    while epoch < tcfg.epochs:
        t0 = time.perf_counter()
        torch.manual_seed(seed * 100_003 + epoch)
        rng = np.random.default_rng([seed, epoch])
        model.train()
        loss_sum = 0.0
        norms = []  # gradient norms before clipping (0-d tensors: no sync per step)
        plan = batch_plan(sizes, tcfg.max_batch_atoms, rng)
        for idx in _progress(plan, progress, desc=f"ADAPT+ epoch {epoch + 1}/{tcfg.epochs}"):
            for g in opt.param_groups:
                g["lr"] = tcfg.lr * lr_factor(step, total, tcfg) * plateau["factor"]
            batch = collate([train[k] for k in idx], dev)
            opt.zero_grad(set_to_none=True)
            rows = dist.rows(len(idx))
            if rows:
                with dist.local_rng(seed, step):
                    shard = {k: v[rows] for k, v in batch.items()} if dist.active else batch
                    loss, _ = batch_loss(model, shard, tcfg, batch if dist.active else None)
                loss.backward()
                loss_sum += float(loss.detach())  # rank losses sum to the batch's
            dist.sum_grads(model.parameters())
            norms.append(torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg.grad_clip))
            opt.step()
            _ema_update(ema, model, tcfg.ema_decay, step)
            step += 1
        epoch += 1
        opt_s = time.perf_counter() - t0  # optimisation steps only (what MACE's log times)
        metrics = evaluate(ema, val, tcfg, dev, dist)
        wall = time.perf_counter() - t0  # training + validation; monitoring not counted
        watched = {}
        for name, items in monitored.items():
            m = evaluate(ema, items, tcfg, dev, dist)
            watched[f"{name}_force_mae"] = m["val_force_mae"]
            watched[f"{name}_energy_mae_per_atom"] = m["val_energy_mae_per_atom"]
        score = metrics["val_loss"]
        if tcfg.schedule == "plateau":
            if score < plateau["best"] - 1e-4:
                plateau.update(best=score, bad=0)
            else:
                plateau["bad"] += 1
                if plateau["bad"] >= 2:
                    plateau.update(factor=plateau["factor"] * 0.5, bad=0)
        row = {
            "epoch": epoch,
            "step": step,
            "train_loss": dist.sum([loss_sum])[0] / max(len(plan), 1),
            **metrics,
            **watched,
            "lr": opt.param_groups[0]["lr"],
            **_norm_stats(norms),
            "threads": torch.get_num_threads(),
            "opt_s": round(opt_s, 3),
            "n_frames": len(train),
            "wall_s": round(wall, 3),
        }
        improved = score < best
        best = min(best, score)
        if not dist.is_main:
            continue
        if improved or tcfg.keep == "last":
            save_checkpoint(
                out,
                ema,
                {
                    **meta,
                    "epoch": epoch,
                    **metrics,
                    "created_utc": dt.datetime.now(dt.UTC).isoformat(),
                },
            )
        (out / "last").mkdir(parents=True, exist_ok=True)
        with open(out / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        save_weights(model, out / "last" / "model.safetensors")
        save_weights(ema, out / "last" / "ema.safetensors")
        groups = save_optimizer(opt, out / "last" / "optimizer.safetensors")
        write_json(
            state_path,
            {
                "run_key": key,
                "epoch": epoch,
                "step": step,
                "best": best,
                "plateau": plateau,
                "param_groups": groups,
            },
        )
        log.info("ADAPT+ epoch %d: %s", epoch, row)
    dist.barrier()  # rank 0 has written out_dir when this returns
    return out
