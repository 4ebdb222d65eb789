"""Training the ADAPT force and energy models on a dataset directory.

``train_adapt(kind, data, out_dir, ...)`` fits on the dataset's ``train`` split (every frame),
validates on ``val`` after each epoch, keeps the best-on-validation weights in ``out_dir`` (see
:mod:`adapt.checkpoint` for the layout), appends one JSON line per epoch to
``out_dir/metrics.jsonl`` and saves ``out_dir/last/`` so that rerunning the same call resumes
where it stopped (and returns at once when the run is finished; a larger ``epochs`` continues).

Reproducible on CPU: the model is initialised from ``seed`` and every epoch reseeds torch and
numpy from (seed, epoch), so a resumed run ends with the same weights as an uninterrupted one.

Losses (train_config.loss): force "weighted" (Eq. 12), "log" (Eq. 13), "mse"; the weighted mean
sum_i m_i |ΔF_i|² / (3 sum_i m_i) over the batch's real atoms, forces in units of the training
force RMS. Energy: MSE of the standardised energy (see :mod:`adapt.energy_models`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import torch

from adapt import checkpoint as ck
from adapt.batching import make_batches, pad
from adapt.config import (
    apply_overrides,
    config_to_dict,
    energy_preset,
    force_preset,
    train_preset,
)
from adapt.distributed import LOCAL, Dist
from adapt.samples import (
    Sample,
    augment,
    batch_tensors,
    load_split,
    normalisation,
    set_normalisation,
)
from adapt.tokens import default_table, tokenize

log = logging.getLogger(__name__)


def batch_loss(
    model, kind: str, batch, amp: bool, training_augment=None, loss_name="weighted", shard_of=None
):
    """(loss, sum of |error| over components or structures, count) for one batch.

    Force loss ``weighted_norm`` is the authors' ``utils/evals.weightedMSE`` (5bdf76e): the sum
    over the batch's atoms of m_i |dF_i| (L2 norm, not squared; forces in network units).
    ``shard_of``: the global batch that ``batch`` is some rows of (data-parallel training,
    :mod:`adapt.distributed`); means are then divided by the global batch's totals, so the
    losses of its row shards sum to its loss."""
    tokens, valid, forces, weights, energy = batch
    if training_augment is not None:
        tokens, forces = augment(tokens, forces, valid, training_augment)
    with torch.autocast(tokens.device.type, dtype=torch.bfloat16, enabled=amp):
        if kind == "force":
            pred = model(tokens, valid).float()  # (B, T, 3) eV/Å
        else:
            pred = model.forward_standardised(tokens, valid).float()  # (B,)
    if kind == "force":
        err = pred - forces  # (B, T, 3) eV/Å, zero on padding rows
        sq = ((err / model.force_scale) ** 2).sum(-1)  # (B, T)
        if loss_name == "weighted_norm":
            loss = (weights * sq.clamp_min(1e-30).sqrt()).sum()
        else:
            total = weights.sum() if shard_of is None else shard_of[3].sum()
            loss = (weights * sq).sum() / (3 * total)
        return loss, float(err.detach().abs().sum()), int(valid.sum()) * 3
    n = valid.sum(1).to(torch.float64)
    if hasattr(model, "standardise_target"):  # the released variant: its own target scaling
        target, scale = model.standardise_target(energy, n).float(), model.y_scale.double()
    else:
        target = ((energy - n * model.e0.double()) / model.e_scale.double()).float()
        scale = model.e_scale.double()
    if shard_of is None:
        loss = torch.mean((pred - target) ** 2)
    else:
        loss = ((pred - target) ** 2).sum() / len(shard_of[4])
    err_ev = (pred.detach().double() - target.double()) * scale
    return loss, float(err_ev.abs().sum()), len(energy)


def evaluate(
    model, kind, samples, batch_size, device, amp, pad_to=None, loss_name="weighted", dist=LOCAL
) -> tuple[float, float]:
    """(mean loss over batches weighted by structures, MAE in eV/Å or eV); with ``dist`` each
    rank evaluates every W-th batch and the sums are all-reduced."""
    model.eval()
    tot, abs_err, count = 0.0, 0.0, 0
    with torch.no_grad():
        batches = make_batches([len(s.tokens) for s in samples], batch_size)
        for idx in batches[dist.rank :: dist.world]:
            batch = batch_tensors(samples, idx, device, pad_to)
            loss, e, c = batch_loss(model, kind, batch, amp, loss_name=loss_name)
            tot += float(loss) * len(idx)
            abs_err += e
            count += c
    tot, abs_err, count = dist.sum([tot, abs_err, count])
    return tot / max(len(samples), 1), abs_err / max(count, 1)


def _run_key(kind, mcfg, tcfg, seed, data_sha) -> dict:
    t = config_to_dict(tcfg)
    t.pop("epochs")
    return {"kind": kind, "model": config_to_dict(mcfg), "train": t, "seed": seed, "data": data_sha}


def _resolve_device(device: str) -> torch.device:
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but torch sees no CUDA device here")
    return dev


def _progress(iterable, show: bool, **kw):
    from tqdm.auto import tqdm

    return tqdm(iterable, disable=not show, leave=False, **kw)


def _created_by() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("adapt-bench")
    except PackageNotFoundError:
        v = "unknown"
    return {
        "tool": "adapt-bench",
        "version": v,
        "torch": torch.__version__,
        "utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def train_adapt(
    kind: str,
    data,
    out_dir,
    preset: str = "tiny",
    epochs: int | None = None,
    device: str = "cpu",
    seed: int = 0,
    progress: bool = True,
    variant: str = "paper",
    dist: Dist = LOCAL,
    **overrides,
) -> Path:
    """Train (or resume) an ADAPT ``kind`` ("force" | "energy") model; returns the checkpoint dir.

    ``variant``: "paper" (the printed equations) or "released" (the authors' code,
    :mod:`adapt.released`); the checkpoint records it as ``arch``.

    ``data`` is a dataset object as described in :func:`adapt.samples.load_split` (adapt-bench's
    ``benchmarks.data.dataset.Dataset`` is one); ``progress`` shows a progress bar per epoch.
    ``dist``: this process's rank in a data-parallel job (:func:`adapt.distributed.from_env`);
    the global batch is ``batch_size`` structures whatever the number of ranks, and only rank 0
    writes ``out_dir``.
    """
    out = Path(out_dir)
    if variant == "released":
        from adapt.released_config import released_config_from_dict, released_preset

        base, base_train = released_preset(kind, preset)
        mcfg, tcfg = apply_overrides(base, base_train, overrides)
        mcfg = released_config_from_dict(kind, config_to_dict(mcfg))
    elif variant == "paper":
        base = force_preset(preset) if kind == "force" else energy_preset(preset)
        mcfg, tcfg = apply_overrides(base, train_preset(kind, preset), overrides)
    else:
        raise ValueError(f"unknown ADAPT variant {variant!r}; use 'paper' or 'released'")
    if epochs is not None:
        tcfg = apply_overrides(mcfg, tcfg, {"epochs": int(epochs)})[1]
    ds = data
    need = "forces" if kind == "force" else "energy"
    if hasattr(ds, "has") and not ds.has(need):
        raise ValueError(
            f"{ds.root}: the dataset has no {need} (labels: {', '.join(ds.labels)}); ADAPT "
            f"{kind} training needs them"
        )
    table = default_table()
    key = _run_key(kind, mcfg, tcfg, seed, ds.sha256)
    key["element_table"] = table.sha256
    if variant != "paper":  # paper runs keep their old key, so they still resume
        key["variant"] = variant
    tokens_of = None
    if variant == "released":
        from adapt.released_tokens import released_tokens

        def tokens_of(atoms):
            return released_tokens(atoms, mcfg, table)

    state_path = out / "last" / "state.json"
    state = json.loads(state_path.read_text()) if state_path.is_file() else None
    if state is not None and state["run_key"] != key:
        diff = [k for k in key if key[k] != state["run_key"].get(k)]
        raise ValueError(
            f"{out} holds a different run (differs in: {', '.join(diff)}); use another --out"
        )
    dist.agree(
        -1 if state is None else state["epoch"],
        f"the resume state in {out} (it must be on a filesystem every node shares)",
    )
    if state is not None and state["epoch"] >= tcfg.epochs:
        log.info("%s: finished (%d epochs); nothing to do", out, state["epoch"])
        return out

    dev = _resolve_device(dist.device(device))
    progress = progress and dist.is_main
    if dev.type == "cuda" and tcfg.tf32:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    amp = tcfg.amp == "bf16"
    max_atoms = mcfg.max_atoms if kind == "energy" else None
    train = load_split(ds, "train", table, tcfg, max_atoms, tokens_of)
    val = load_split(ds, "val", table, tcfg, max_atoms, tokens_of)
    if not train:
        raise ValueError(f"{ds.root}: no frames in the train split")
    if all(r.split is None for r in ds.records()):
        log.warning("%s is unsplit: training and validating on every trajectory", ds.root)
    if not val:
        log.warning("%s has no val split: selecting the best epoch on the train loss", ds.root)
    torch.manual_seed(seed)
    model = ck.build_model(kind, config_to_dict(mcfg), variant)
    if variant == "released":
        from adapt.released_stats import released_normalisation, set_released_normalisation

        stats = released_normalisation(train, kind)
        set_released_normalisation(model, stats)
    else:
        stats = normalisation(train, table)
        set_normalisation(model, kind, stats)
    model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=tcfg.lr, weight_decay=tcfg.weight_decay)
    start, best, best_epoch = 0, math.inf, 0
    if state is not None:
        ck.load_weights(model, out / "last" / ck.WEIGHTS)
        ck.load_optimizer(opt, out / "last" / "optimizer.safetensors", state["param_groups"])
        start, best, best_epoch = state["epoch"], state["best"], state["best_epoch"]
        if dist.is_main:
            _trim_metrics(out / "metrics.jsonl", start)
        log.info("%s: resuming after epoch %d", out, start)
    dist.broadcast_(model)

    meta = {
        "kind": kind,
        "arch": variant,
        "preset": preset,
        "model_config": config_to_dict(mcfg),
        "train_config": config_to_dict(tcfg),
        "seed": seed,
        "n_params": sum(p.numel() for p in model.parameters()),
        "normalisation": stats,
        "element_table": table.to_dict(),
        "data": {
            "name": ds.name,
            "level_of_theory": ds.level_of_theory,
            "content_sha256": ds.sha256,
            "path": str(Path(ds.root).resolve()),
            "n_train_frames": len(train),
            "n_val_frames": len(val),
        },
        "training_cells": ck.unique_cells([s.cell for s in train]),
        "created_by": _created_by(),
        "world_size": dist.world,
    }
    if kind == "force" and getattr(mcfg, "attention_radius", None) is not None:
        meta["allowed_interactions"] = _allowed(val or train, mcfg.attention_radius)

    for epoch in range(start + 1, tcfg.epochs + 1):
        torch.manual_seed(seed * 1_000_003 + epoch)
        rng = np.random.default_rng([seed, epoch])
        model.train()
        t0 = time.perf_counter()
        batches = make_batches([len(s.tokens) for s in train], tcfg.batch_size, rng, tcfg.bucket)
        tot = 0.0
        for step, idx in enumerate(
            _progress(batches, progress, desc=f"{kind} epoch {epoch}/{tcfg.epochs}")
        ):
            batch = batch_tensors(train, idx, dev)
            if tcfg.augment:  # drawn for the whole global batch, the same on every rank
                tokens, valid, forces, weights, energy = batch
                tokens, forces = augment(tokens, forces, valid, tcfg.translate)
                batch = (tokens, valid, forces, weights, energy)
            opt.zero_grad(set_to_none=True)
            rows = dist.rows(len(idx))
            if rows:
                with dist.local_rng(seed, epoch, step):
                    loss, _, _ = batch_loss(
                        model,
                        kind,
                        tuple(t[rows] for t in batch) if dist.active else batch,
                        amp,
                        None,
                        tcfg.loss,
                        batch if dist.active else None,
                    )
                loss.backward()
                tot += float(loss.detach()) * len(idx)  # rank losses sum to the batch's
            dist.sum_grads(model.parameters())
            if tcfg.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), tcfg.grad_clip)
            opt.step()
        wall = time.perf_counter() - t0
        train_loss = dist.sum([tot])[0] / len(train)
        val_loss, val_mae = (
            evaluate(model, kind, val, tcfg.batch_size, dev, amp, loss_name=tcfg.loss, dist=dist)
            if val
            else (train_loss, math.nan)
        )
        improved = val_loss < best
        if improved:
            best, best_epoch = val_loss, epoch
            if dist.is_main:
                ck.save_checkpoint(out, model, {**meta, "epoch": epoch, "val_loss": val_loss})
        row = {
            "epoch": epoch,
            "train_loss": train_loss,
            "val_loss": val_loss,
            "val_mae": None if math.isnan(val_mae) else val_mae,
            "val_mae_unit": "eV/Å" if kind == "force" else "eV",
            "epoch_wall_s": wall,
            "frames_per_s": len(train) / wall if wall > 0 else None,
            "lr": tcfg.lr,
            "best": improved,
            "utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        if not dist.is_main:
            continue
        with open(out / "metrics.jsonl", "a") as fh:
            fh.write(json.dumps(row) + "\n")
        ck.save_weights(model, out / "last" / ck.WEIGHTS)
        groups = ck.save_optimizer(opt, out / "last" / "optimizer.safetensors")
        ck.write_json(
            state_path,
            {
                "epoch": epoch,
                "best": best,
                "best_epoch": best_epoch,
                "param_groups": groups,
                "run_key": key,
            },
        )
        log.info(
            "%s epoch %d: train %.4g val %.4g (%.1f s)", kind, epoch, train_loss, val_loss, wall
        )
    if not dist.is_main:
        dist.barrier()  # rank 0 has written out_dir when this returns
        return out
    if not (out / ck.META).is_file():  # 0 epochs, or no finite val loss: keep the model as is
        ck.save_checkpoint(out, model, {**meta, "epoch": tcfg.epochs, "val_loss": None})
    if not state_path.is_file():
        ck.write_json(
            state_path,
            {
                "epoch": tcfg.epochs,
                "best": best,
                "best_epoch": best_epoch,
                "param_groups": opt.state_dict()["param_groups"],
                "run_key": key,
            },
        )
    dist.barrier()
    return out


def _allowed(samples: list[Sample], radius: float) -> float:
    from adapt.force_model import allowed_fraction

    tokens, valid = pad([s.tokens for s in samples[:64]])
    return allowed_fraction(tokens[..., :3], valid, radius)


def _trim_metrics(path: Path, last_epoch: int) -> None:
    """Drop metric lines of epochs after the saved state (an interrupted epoch)."""
    if not path.is_file():
        return
    lines = [ln for ln in path.read_text().splitlines() if ln.strip()]
    keep = [ln for ln in lines if json.loads(ln)["epoch"] <= last_epoch]
    if len(keep) != len(lines):
        path.write_text("".join(k + "\n" for k in keep))


def measure_speed(
    preset: str,
    n_atoms: int = 216,
    kind: str = "force",
    batch_size: int = 8,
    steps: int = 5,
    device: str = "cpu",
    seed: int = 0,
    warmup: int = 2,
) -> dict:
    """Training frames/s and inference structures/s of a fresh ``preset`` model on a Si cell.

    The cell is diamond Si, 2x2x2 (64 atoms) or 3x3x3 (216 atoms) conventional cells with one C,
    positions jittered by 0.05 Å, random labels. Each rate is the median over ``steps`` timed
    batches of ``batch_size`` structures after ``warmup`` untimed ones. Training = forward + backward
    + Adam step; inference = ``torch.inference_mode`` forward in eval mode.
    """
    from adapt.testing import si_cell

    k = round((n_atoms / 8) ** (1 / 3))
    if 8 * k**3 != n_atoms:
        raise ValueError(f"n_atoms must be 8 k^3 (64, 216, 512, ...), got {n_atoms}")
    dev = _resolve_device(device)
    rng = np.random.default_rng(seed)
    table = default_table()
    samples = []
    for _ in range(batch_size):
        atoms = si_cell(k)
        atoms.positions += rng.normal(scale=0.05, size=atoms.positions.shape)
        samples.append(
            Sample(
                tokenize(atoms, table),
                rng.normal(size=(n_atoms, 3)).astype(np.float32),
                np.ones(n_atoms, np.float32),
                -4.6 * n_atoms,
                atoms.cell[:],
            )
        )
    torch.manual_seed(seed)
    mcfg = force_preset(preset) if kind == "force" else energy_preset(preset)
    if kind == "energy" and n_atoms > mcfg.max_atoms:
        mcfg = apply_overrides(mcfg, train_preset(kind, preset), {"max_atoms": n_atoms})[0]
    model = ck.build_model(kind, config_to_dict(mcfg)).to(dev)
    set_normalisation(model, kind, normalisation(samples, table))
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    batch = batch_tensors(samples, np.arange(batch_size), dev)

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    train_t = []
    model.train()
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss, _, _ = batch_loss(model, kind, batch, False)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sync()
        if i >= warmup:
            train_t.append(time.perf_counter() - t0)
    infer_t = []
    model.eval()
    with torch.inference_mode():
        for i in range(warmup + steps):
            t0 = time.perf_counter()
            model(batch[0], batch[1])
            sync()
            if i >= warmup:
                infer_t.append(time.perf_counter() - t0)
    return {
        "preset": preset,
        "kind": kind,
        "n_atoms": n_atoms,
        "batch_size": batch_size,
        "device": str(dev),
        "threads": torch.get_num_threads(),
        "n_params": sum(p.numel() for p in model.parameters()),
        "train_frames_per_s": batch_size / float(np.median(train_t)),
        "infer_structures_per_s": batch_size / float(np.median(infer_t)),
    }
