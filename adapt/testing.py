"""Tiny, randomly initialised ADAPT checkpoints for tests and demos (no training, no files)."""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from ase import Atoms
from ase.build import bulk

from adapt.checkpoint import LoadedCheckpoint, build_model, unique_cells
from adapt.config import config_to_dict, energy_preset, force_preset
from adapt.samples import Sample, normalisation, set_normalisation
from adapt.tokens import default_table, tokenize


def si_cell(k: int = 1, dopant: str | None = "C") -> Atoms:
    """Diamond Si, k x k x k conventional cells (8 k^3 atoms), atom 0 replaced by ``dopant``."""
    atoms = bulk("Si", "diamond", a=5.431, cubic=True).repeat(k)
    if dopant:
        atoms.symbols[0] = dopant
    return atoms


def _reference_samples() -> list[Sample]:
    """Si cells (8, 64, 216 atoms, one C each) with bulk-like labels, for normalisation stats."""
    table = default_table()
    rng = np.random.default_rng(0)
    out = []
    for k in (1, 2, 3):
        atoms = si_cell(k)
        n = len(atoms)
        out.append(
            Sample(
                tokenize(atoms, table),
                rng.normal(scale=0.5, size=(n, 3)).astype(np.float32),
                np.ones(n, np.float32),
                -5.4 * n + rng.normal(),
                atoms.cell[:],
            )
        )
    return out


def tiny_checkpoint(kind: str, seed: int = 0, **model_overrides) -> LoadedCheckpoint:
    """A LoadedCheckpoint of a fresh ``tiny`` model; training cells = the 1x, 2x, 3x Si cells."""
    from dataclasses import replace

    cfg = force_preset("tiny") if kind == "force" else energy_preset("tiny")
    cfg = replace(cfg, **model_overrides)
    torch.manual_seed(seed)
    model = build_model(kind, config_to_dict(cfg))
    samples = _reference_samples()
    table = default_table()
    stats = normalisation(samples, table)
    set_normalisation(model, kind, stats)
    model.eval()
    meta = {
        "kind": kind,
        "preset": "tiny",
        "model_config": config_to_dict(cfg),
        "seed": seed,
        "normalisation": stats,
        "element_table": table.to_dict(),
        "data": {
            "name": "none",
            "level_of_theory": "untrained (random weights)",
            "content_sha256": "",
        },
        "training_cells": unique_cells([s.cell for s in samples]),
        "epoch": 0,
        "val_loss": None,
    }
    return LoadedCheckpoint(kind, model, meta, table, path=f"<tiny {kind} seed {seed}>", sha256="")


@contextlib.contextmanager
def torch_threads(n: int = 1):
    """Temporarily run torch on ``n`` threads (tiny models on a shared CPU are far faster on one)."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
