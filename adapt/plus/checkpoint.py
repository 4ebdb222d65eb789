"""ADAPT+ checkpoints: safetensors weights + JSON, nothing that executes code when loaded.

A run directory (what ``train_plus`` writes)::

    model.safetensors   best-on-validation EMA weights (element references and force scale are
                        buffers inside)
    checkpoint.json     format, model_config, train_config, element_table (rows), element_refs
                        (symbol -> eV, the fitted per-element energies), scale (eV/Å, training
                        force RMS), data (name, sha256, level_of_theory), epoch, val metrics,
                        weights_sha256, created_by
    metrics.jsonl       one JSON line per finished epoch
    last/               resume state: model, ema, optimizer (safetensors) + state.json
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from adapt.checkpoint import CheckpointError, load_weights, save_weights
from adapt.fileio import file_sha256, write_json
from adapt.plus.config import PlusModelConfig, model_config_from_dict
from adapt.plus.model import PlusModel
from adapt.tokens import ElementTable

FORMAT = "adapt-plus-checkpoint/1"
WEIGHTS = "model.safetensors"
META = "checkpoint.json"


def build_model(cfg: PlusModelConfig, table: ElementTable) -> PlusModel:
    """An untrained ADAPT+ over ``table``'s elements (descriptors as float32)."""
    _, desc = table.matrix()
    return PlusModel(cfg, torch.as_tensor(desc, dtype=torch.float32))


def save_checkpoint(run_dir: Path, model: PlusModel, meta: dict) -> Path:
    """Write model.safetensors, then checkpoint.json (meta + format + weights hash)."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    weights = run_dir / WEIGHTS
    save_weights(model, weights)
    write_json(run_dir / META, {"format": FORMAT, **meta, "weights_sha256": file_sha256(weights)})
    return run_dir


def read_meta(run_dir: Path) -> dict:
    path = Path(run_dir) / META
    if not path.is_file():
        raise CheckpointError(f"{run_dir}: no {META} (not an ADAPT+ run directory)")
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    return meta


def load_checkpoint(run_dir, device: str = "cpu") -> tuple[PlusModel, ElementTable, dict]:
    """(model in eval mode, its element table, checkpoint.json) of a run directory."""
    run_dir = Path(run_dir)
    meta = read_meta(run_dir)
    table = ElementTable.from_dict(meta["element_table"])
    model = build_model(model_config_from_dict(meta["model_config"]), table)
    weights = run_dir / WEIGHTS
    if not weights.is_file():
        raise CheckpointError(f"{run_dir}: no {WEIGHTS}")
    if meta.get("weights_sha256") not in (None, file_sha256(weights)):
        raise CheckpointError(f"{weights}: sha256 differs from the one in {META} (file changed)")
    load_weights(model, weights)
    return model.to(device).eval(), table, meta
