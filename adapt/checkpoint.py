"""ADAPT checkpoints: safetensors weights + JSON, nothing that can execute code when loaded.

A checkpoint directory (what ``train_adapt`` returns, e.g. ``RUN_DIR/force``)::

    model.safetensors     best-on-validation weights, normalisation buffers included
    checkpoint.json       format, kind ("force" | "energy"), preset, model_config, train_config,
                          normalisation stats (token mean/std; force_scale or e0/e_scale),
                          element_table (version, sha256, the rows themselves), data (dataset name,
                          level_of_theory, content_sha256), training_cells (3x3, Å), epoch and
                          val_loss of the saved weights, weights_sha256, created_by
    metrics.jsonl         one JSON line per finished epoch
    last/                 resume state after the latest epoch: model.safetensors,
                          optimizer.safetensors, state.json (epoch, best, param_groups, configs)

The model is rebuilt from ``model_config`` and then filled strictly: a weights file whose tensors
do not match the config (another preset, another d_model, ...) is a :class:`CheckpointError`
saying which.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from adapt.config import (
    EnergyModelConfig,
    ForceModelConfig,
    config_to_dict,
    energy_config_from_dict,
    force_config_from_dict,
)
from adapt.energy_models import build_energy_model
from adapt.fileio import atomic_write, file_sha256, write_json
from adapt.force_model import ADAPTForceModel
from adapt.tokens import ElementTable

FORMAT = "adapt-checkpoint/1"
WEIGHTS = "model.safetensors"
META = "checkpoint.json"
CELL_ATOL = 1e-3  # Å: two cells are "the same" when every matrix entry agrees to this


class CheckpointError(ValueError):
    """A checkpoint that is missing, damaged, or does not fit the requested model."""


def save_weights(model: nn.Module, path: Path) -> None:
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    atomic_write(path, lambda tmp: save_file(tensors, tmp))


def load_weights(model: nn.Module, path: Path, config_note: str = "") -> None:
    """Fill ``model`` from a safetensors file; any missing/extra/misshaped tensor is an error."""
    try:
        tensors = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises several types
        raise CheckpointError(f"{path}: unreadable weights ({exc})") from exc
    own = model.state_dict()
    missing = sorted(set(own) - set(tensors))
    extra = sorted(set(tensors) - set(own))
    shapes = [
        f"{k}: checkpoint {tuple(tensors[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(tensors))
        if tensors[k].shape != own[k].shape
    ]
    if missing or extra or shapes:
        detail = "; ".join(
            filter(
                None,
                [
                    f"missing {missing[:4]}" if missing else "",
                    f"unexpected {extra[:4]}" if extra else "",
                    ", ".join(shapes[:4]),
                ],
            )
        )
        raise CheckpointError(
            f"{path} does not fit this model config{config_note}: {detail}. Load it with the "
            "config saved in its checkpoint.json."
        )
    model.load_state_dict(tensors, strict=True)


def build_model(kind: str, model_config: dict) -> nn.Module:
    if kind == "force":
        return ADAPTForceModel(force_config_from_dict(model_config))
    if kind == "energy":
        return build_energy_model(energy_config_from_dict(model_config))
    raise CheckpointError(f"unknown checkpoint kind {kind!r}")


def config_diff(a, b) -> list[str]:
    da, db = config_to_dict(a), config_to_dict(b)
    return [
        f"{k}: {da.get(k)!r} vs {db.get(k)!r}"
        for k in sorted(set(da) | set(db))
        if da.get(k) != db.get(k)
    ]


def save_checkpoint(ckpt_dir: Path, model: nn.Module, meta: dict) -> Path:
    """Write model.safetensors then checkpoint.json (meta + format + weights hash)."""
    ckpt_dir = Path(ckpt_dir)
    weights = ckpt_dir / WEIGHTS
    save_weights(model, weights)
    write_json(ckpt_dir / META, {"format": FORMAT, **meta, "weights_sha256": file_sha256(weights)})
    return ckpt_dir


@dataclass
class LoadedCheckpoint:
    kind: str
    model: nn.Module
    meta: dict
    table: ElementTable
    path: Path  # the weights file
    sha256: str

    @property
    def training_cells(self) -> np.ndarray:
        return np.asarray(self.meta.get("training_cells", []), dtype=float).reshape(-1, 3, 3)


def read_meta(ckpt_dir: Path) -> dict:
    path = Path(ckpt_dir) / META
    if not path.is_file():
        raise CheckpointError(f"{ckpt_dir}: no {META} (not an ADAPT checkpoint directory)")
    meta = json.loads(path.read_text())
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: format {meta.get('format')!r}, expected {FORMAT!r}")
    return meta


def load_checkpoint(
    ckpt_dir: str | Path,
    device: str = "cpu",
    config: ForceModelConfig | EnergyModelConfig | None = None,
) -> LoadedCheckpoint:
    """Rebuild the saved model in eval mode. ``config``, when given, must equal the saved one."""
    ckpt_dir = Path(ckpt_dir)
    meta = read_meta(ckpt_dir)
    model = build_model(meta["kind"], meta["model_config"])
    if config is not None and config != model.cfg:
        raise CheckpointError(
            f"{ckpt_dir} was trained with a different config: "
            + "; ".join(config_diff(model.cfg, config))
            + " (checkpoint vs requested)"
        )
    weights = ckpt_dir / WEIGHTS
    load_weights(model, weights)
    sha = file_sha256(weights)
    if meta.get("weights_sha256") not in (None, sha):
        raise CheckpointError(f"{weights}: sha256 differs from the one in {META} (file changed)")
    model.to(device).eval()
    table = ElementTable.from_dict(meta["element_table"])
    return LoadedCheckpoint(meta["kind"], model, meta, table, weights, sha)


def unique_cells(cells, atol: float = CELL_ATOL) -> list[list[list[float]]]:
    """Distinct 3x3 cells (Å), rounded to 1e-4 Å, in first-seen order."""
    out: list[np.ndarray] = []
    for c in cells:
        c = np.asarray(c, dtype=float).reshape(3, 3)
        if not any(np.allclose(c, o, atol=atol, rtol=0) for o in out):
            out.append(c)
    return [np.round(c, 4).tolist() for c in out]


def cell_seen(cell, training_cells: np.ndarray, atol: float = CELL_ATOL) -> bool:
    """Whether ``cell`` equals (every entry within atol Å) one of the training cells."""
    c = np.asarray(cell, dtype=float).reshape(1, 3, 3)
    if len(training_cells) == 0:
        return False
    return bool(np.any(np.all(np.abs(training_cells - c) <= atol, axis=(1, 2))))


# --- optimizer state <-> safetensors (tensors) + JSON (everything else) -----------------------


def save_optimizer(opt: torch.optim.Optimizer, path: Path) -> list:
    """Write the optimizer's tensors to ``path``; return its param_groups for JSON."""
    sd = opt.state_dict()
    tensors = {}
    for idx, st in sd["state"].items():
        for name, val in st.items():
            t = val if torch.is_tensor(val) else torch.tensor(val)
            tensors[f"{idx}.{name}"] = t.detach().to("cpu").contiguous()
    atomic_write(path, lambda tmp: save_file(tensors, tmp))
    return sd["param_groups"]


def load_optimizer(opt: torch.optim.Optimizer, path: Path, param_groups: list) -> None:
    tensors = load_file(str(path))
    state: dict = {}
    for key, t in tensors.items():
        idx, name = key.split(".", 1)
        state.setdefault(int(idx), {})[name] = t
    opt.load_state_dict({"state": state, "param_groups": param_groups})
