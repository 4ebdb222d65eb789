"""The ADAPT family: ``adapt:RUN_DIR`` -> :class:`ADAPTForceField` (the project's one interface),
its trainers and its declaration (``FAMILY``); the ASE calculator is
:mod:`baselines.adapt_calculator`. The model itself is the standalone library ``adapt/``.

RUN_DIR layout (what ``adapt-bench train adapt-force|adapt-energy --out RUN_DIR`` writes)::

    RUN_DIR/force/    checkpoint of the force Transformer   (see adapt.checkpoint)
    RUN_DIR/energy/   checkpoint of the energy model

Either may be missing; the model then predicts no forces (or no energy), and the ASE
calculator raises ``PropertyNotImplementedError`` for it. ``adapt:CKPT_DIR`` naming a single
checkpoint directory (one holding ``checkpoint.json``) works too.

ADAPT is not periodic-aware: its tokens are raw Cartesian positions without the lattice, so the
same structure in another cell, or wrapped differently, is a different input. Every prediction
on a cell that is not one of the training cells (all nine entries within
``adapt.checkpoint.CELL_ATOL`` = 1e-3 Å) carries the flag ``"unseen_cell"``; the calculator
also warns. This module imports torch only when a model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from ase import Atoms

from adapt import config
from adapt.fileio import digest
from baselines.family import Family, ReportColumn, TrainedJob, Trainer
from baselines.interface import (
    ForceField,
    ModelInfo,
    ModelUnavailable,
    Prediction,
)
from baselines.registry import LoadContext, ModelStatus

log = logging.getLogger(__name__)
KINDS = ("force", "energy")
TRAIN_HINT = (
    "train one with `adapt-bench train adapt-force --data DIR --out RUN_DIR` (and adapt-energy)"
)


class ADAPTForceField(ForceField):
    """Force model and/or energy model (``adapt.checkpoint.LoadedCheckpoint``), batched predict."""

    def __init__(
        self,
        force=None,
        energy=None,
        spec: str = "adapt",
        device: str = "cpu",
        batch_size: int = 16,
    ):
        if force is None and energy is None:
            raise ValueError("ADAPTForceField needs a force model, an energy model, or both")
        self.force, self.energy = force, energy
        self.batch_size = batch_size
        self.device = device
        present = [c for c in (force, energy) if c is not None]
        lots = list(
            dict.fromkeys(c.meta.get("data", {}).get("level_of_theory", "unknown") for c in present)
        )
        preset = present[0].meta.get("preset", "?")
        if len(present) == 1:
            ckpt, sha = str(present[0].path), present[0].sha256
        else:  # the run dir (common parent of force/ and energy/)
            paths = [str(force.path), str(energy.path)]
            ckpt = os.path.commonpath(paths) or ";".join(paths)
            sha = hashlib.sha256(
                f"force:{force.sha256}\nenergy:{energy.sha256}".encode()
            ).hexdigest()
        extra = {"preset": preset}
        for kind, c in (("force", force), ("energy", energy)):
            if c is not None:
                extra[kind] = {
                    "checkpoint": str(c.path),
                    "sha256": c.sha256,
                    "epoch": c.meta.get("epoch"),
                    "val_loss": c.meta.get("val_loss"),
                    "model_config": c.meta.get("model_config"),
                    "data_sha256": c.meta.get("data", {}).get("content_sha256"),
                    "n_training_cells": len(c.training_cells),
                }
        name = f"ADAPT {preset}" if force is not None else f"ADAPT {preset} (energy only)"
        self.info = ModelInfo(
            name=name,
            family="adapt",
            spec=spec,
            n_params=sum(sum(p.numel() for p in c.model.parameters()) for c in present),
            device=device,
            dtype="float32",
            level_of_theory=" / ".join(lots),
            conservative=False,
            predicts_energy=energy is not None,
            predicts_forces=force is not None,
            checkpoint=ckpt,
            checkpoint_sha256=sha,
            extra=extra,
        )

    def seen_cell(self, atoms: Atoms) -> bool:
        """True when every loaded model saw this cell in training."""
        from adapt.checkpoint import cell_seen

        return all(
            cell_seen(atoms.cell[:], c.training_cells) for c in (self.force, self.energy) if c
        )

    def predict(self, frames: Sequence[Atoms], batch_size: int | None = None) -> list[Prediction]:
        import torch

        from adapt.batching import make_batches, pad
        from adapt.tokens import tokenize

        frames = list(frames)
        if self.energy is not None:
            limit = self.energy.model.cfg.max_atoms
            for i, a in enumerate(frames):
                if len(a) > limit:
                    from adapt.energy_models import OversizeStructureError

                    raise OversizeStructureError(
                        f"frame {i} has {len(a)} atoms, more than the energy model's max_atoms={limit}"
                    )
        forces: list = [None] * len(frames)
        energies: list = [None] * len(frames)
        bs = batch_size or self.batch_size
        for kind, ck in (("force", self.force), ("energy", self.energy)):
            if ck is None:
                continue
            toks = [tokenize(a, ck.table) for a in frames]
            for idx in make_batches([len(t) for t in toks], bs):
                tokens, valid = pad([toks[i] for i in idx])
                with torch.inference_mode():
                    out = (
                        ck.model(tokens.to(self.device), valid.to(self.device))
                        .double()
                        .cpu()
                        .numpy()
                    )
                for b, i in enumerate(idx):
                    if kind == "force":
                        forces[i] = out[b, : len(toks[i])].copy()
                    else:
                        energies[i] = float(out[b])
        return [
            Prediction(energy=e, forces=f, flags=() if self.seen_cell(a) else ("unseen_cell",))
            for a, e, f in zip(frames, energies, forces, strict=True)
        ]

    def sized_for(self, n_atoms: int) -> tuple[ForceField, str]:
        """The force network alone when the energy network cannot take ``n_atoms`` (it pads to
        max_atoms and refuses more), else the whole model."""
        if self.force is None or self.energy is None:
            return self, ""
        limit = self.energy.model.cfg.max_atoms
        if n_atoms <= limit:
            return self, ""
        view = ADAPTForceField(self.force, None, spec=self.info.spec, device=self.info.device)
        return view, f"force model only (energy model max_atoms={limit})"

    def calculator(self, missing_energy: str = "raise"):
        from baselines.adapt_calculator import ADAPTCalculator

        return ADAPTCalculator(self, missing_energy=missing_energy)


def find_checkpoints(path: Path) -> dict:
    """{"force": dir, "energy": dir} found at a run dir or a single checkpoint dir."""
    from adapt.checkpoint import META

    found = {k: path / k for k in KINDS if (path / k / META).is_file()}
    if not found and (path / META).is_file():
        kind = json.loads((path / META).read_text()).get("kind")
        if kind in KINDS:
            found[kind] = path
    return found


def load_run(run_dir: str | Path, device: str = "cpu", spec: str | None = None) -> ADAPTForceField:
    """ADAPTForceField from a run dir or checkpoint dir (ModelUnavailable when there is none)."""
    from adapt.checkpoint import load_checkpoint

    path = Path(run_dir).expanduser()
    found = find_checkpoints(path) if path.is_dir() else {}
    if not found:
        why = (
            "does not exist"
            if not path.exists()
            else "holds no ADAPT checkpoint (force/ or energy/)"
        )
        raise ModelUnavailable(f"adapt:{run_dir}: {why}; {TRAIN_HINT}")
    loaded = {k: load_checkpoint(d, device=device) for k, d in found.items()}
    return ADAPTForceField(
        loaded.get("force"), loaded.get("energy"), spec or f"adapt:{run_dir}", device
    )


def load(arg: str, ctx: LoadContext) -> ADAPTForceField:
    if not arg:
        raise ModelUnavailable(f"adapt needs a run directory: adapt:RUN_DIR; {TRAIN_HINT}")
    return load_run(arg, device=ctx.device, spec=f"adapt:{arg}")


def statuses() -> list[ModelStatus]:
    rows = [ModelStatus("adapt:RUN_DIR", True, f"any trained ADAPT run dir; {TRAIN_HINT}")]
    from baselines.paths import cache_dir

    runs = cache_dir() / "runs"
    for d in sorted(p for p in runs.glob("*") if p.is_dir()) if runs.is_dir() else []:
        found = find_checkpoints(d)
        if found:
            desc = []
            for kind, ck_dir in found.items():
                meta = json.loads((ck_dir / "checkpoint.json").read_text())
                desc.append(
                    f"{kind} {meta.get('preset', '?')} on {meta.get('data', {}).get('name', '?')}"
                )
            rows.append(ModelStatus(f"adapt:{d}", True, "; ".join(desc)))
    return rows


# ---------------------------------------------------------------- the family declaration


def _train(kind: str):
    def train(data, out, *, preset, epochs, device, seed, progress=True, **options) -> Path:
        from adapt.train import train_adapt

        return Path(
            train_adapt(
                kind,
                data,
                out,
                preset=preset,
                epochs=epochs,
                device=device,
                seed=seed,
                progress=progress,
                **options,
            )
        )

    return train


def _check(kind: str):
    def check(preset: str, options) -> None:
        base = config.force_preset(preset) if kind == "force" else config.energy_preset(preset)
        try:
            config.apply_overrides(base, config.train_preset(kind, preset), dict(options))
        except TypeError as exc:
            raise ValueError(str(exc)) from exc

    return check


def _done(kind: str):
    def done(out: Path, preset: str, epochs: int | None) -> bool:
        state = Path(out) / "last" / "state.json"
        if not state.is_file():
            return False
        want = epochs or config.train_preset(kind, preset).epochs
        return json.loads(state.read_text()).get("epoch", 0) >= want

    return done


def _trainer(kind: str) -> Trainer:
    return Trainer(
        kind=f"adapt-{kind}",
        presets=config.PRESETS,
        train=_train(kind),
        check=_check(kind),
        done=_done(kind),
        epoch_log=lambda output: Path(output) / "metrics.jsonl",
    )


def _link(link: Path, target: Path) -> None:
    """``link`` -> ``target`` as a relative symlink (replaced atomically when it differs)."""
    rel = os.path.relpath(target, link.parent)
    if link.is_symlink() and os.readlink(link) == rel:
        return
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(rel, tmp)
    os.replace(tmp, link)


def spec_for(jobs: tuple[TrainedJob, ...], root: Path) -> str:
    """A run dir ``root/adapt-<hash>/{force,energy}`` of links to the jobs' checkpoints, so
    that two suite entries sharing a job (e.g. the main model's force network and the
    full-attention row of the attention-radius ablation) train it once."""
    run = Path(root) / ("adapt-" + digest([str(j.output) for j in jobs])[:16])
    run.mkdir(parents=True, exist_ok=True)
    for job in jobs:
        _link(run / job.kind.removeprefix("adapt-"), job.output)
    return f"adapt:{run}"


def _allowed_interactions(jobs, options) -> float | None:
    """% of atom pairs inside the attention radius (recorded in the force checkpoint)."""
    for job in jobs:
        from adapt.checkpoint import META

        meta = Path(job.output) / META
        if job.kind == "adapt-force" and meta.is_file():
            frac = json.loads(meta.read_text()).get("allowed_interactions")
            return None if frac is None else 100.0 * float(frac)
    return None


def _tiny(tmp, data) -> ADAPTForceField:
    from baselines.testing import tiny_adapt_forcefield

    return tiny_adapt_forcefield(seed=0, energy=True)


FAMILY = Family(
    name="adapt",
    usage="adapt:RUN_DIR",
    load=load,
    statuses=statuses,
    display="ADAPT",
    origin="trained here",
    role="subject",
    conservative=False,  # forces come from the force Transformer, not -dE/dx
    periodic=False,  # tokens are raw Cartesian positions: no periodic images
    trainers=(_trainer("force"), _trainer("energy")),
    spec_for=spec_for,
    columns=(
        ReportColumn(
            "energy_arch",
            "Energy architecture",
            lambda jobs, opts: opts.get("arch", "mlp_residual"),
            groups=("energy_architectures",),
        ),
        ReportColumn(
            "attention_radius",
            "Attention radius (Å)",
            lambda jobs, opts: opts.get("attention_radius", "full"),
            groups=("attention_radius",),
        ),
        ReportColumn(
            "allowed_interactions",
            "Allowed interactions (%)",
            _allowed_interactions,
            groups=("attention_radius",),
        ),
    ),
    tiny=_tiny,
)
