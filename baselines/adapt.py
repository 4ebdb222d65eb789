"""The ADAPT family: ``adapt:RUN_DIR`` -> :class:`ADAPTForceField` (the project's one interface)
and :class:`ADAPTCalculator` (ASE). The model itself is the standalone library ``adapt/``.

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

ASE calculator: a property whose model is absent raises ASE's ``PropertyNotImplementedError``.
ASE 3.29's optimizers log the energy every step, so a force-only model raises inside e.g.
``BFGS``; ``missing_energy="nan"`` reports NaN energy instead, for optimizers that only use
forces (BFGS, LBFGS, FIRE without ``downhill_check``). A prediction on a cell the model never saw
in training warns (:class:`UnseenCellWarning`, once per distinct cell).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.calculators.calculator import all_changes

from baselines.interface import (
    ForceField,
    ForceFieldCalculator,
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

    def calculator(self, missing_energy: str = "raise"):
        return ADAPTCalculator(self, missing_energy=missing_energy)


class UnseenCellWarning(UserWarning):
    """ADAPT predicted on a cell absent from its training data (its tokens carry no lattice)."""


class ADAPTCalculator(ForceFieldCalculator):
    def __init__(self, forcefield, missing_energy: str = "raise", **kwargs):
        if missing_energy not in ("raise", "nan"):
            raise ValueError("missing_energy must be 'raise' or 'nan'")
        super().__init__(forcefield, **kwargs)
        self.missing_energy = missing_energy
        self._warned: list[np.ndarray] = []

    @classmethod
    def load(cls, run_dir, device: str = "cpu", missing_energy: str = "raise") -> ADAPTCalculator:
        """Calculator from a run dir (``RUN_DIR/force``, ``RUN_DIR/energy``) or checkpoint dir."""
        return cls(load_run(run_dir, device=device), missing_energy=missing_energy)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        info = self.forcefield.info
        props = list(properties)
        fill_nan = not info.predicts_energy and self.missing_energy == "nan"
        if fill_nan:
            props = [p for p in props if p not in ("energy", "free_energy")] or ["forces"]
        super().calculate(atoms, props, system_changes)
        if fill_nan:
            self.results["energy"] = self.results["free_energy"] = float("nan")
        if "unseen_cell" in self.results.get("flags", ()):
            self._warn(self.atoms.cell[:])

    def _warn(self, cell: np.ndarray) -> None:
        if any(np.allclose(cell, c, atol=1e-3, rtol=0) for c in self._warned):
            return
        self._warned.append(np.array(cell))
        msg = (
            f"ADAPT ({self.forcefield.info.spec}) never saw this cell in training "
            f"(lengths {np.round(np.linalg.norm(cell, axis=1), 3).tolist()} Å): its tokens carry no "
            "lattice, so predictions here are extrapolation"
        )
        log.warning(msg)
        warnings.warn(msg, UnseenCellWarning, stacklevel=3)


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
