"""The authors' released ``.pth`` state dicts + ``norm_stats.pt`` -> an ADAPT run directory.

``import_released(force=F.pth, energy=E.pth, norm_stats=S.pt, out=RUN_DIR)`` reads their files
with ``torch.load(weights_only=True)`` only (tensors and plain containers; nothing that can run
code), infers every size from the tensor shapes, checks that each key of their architecture is
present with the right shape, and writes ``RUN_DIR/force`` and ``RUN_DIR/energy`` as our
safetensors + JSON checkpoints with ``arch = "released"``. ``adapt:RUN_DIR`` then predicts what
their ``inference_time_calcs.Runner`` predicts.

What their files hold (released code, see :mod:`adapt.released_config`):

* force ``.pth``: the ``TransformerEncoder`` state dict: ``lin1.weight`` (128, F), ``lin2``,
  ``lin3``, ``embed_norm``, ``layers.{i}.self_attn.in_proj_weight`` (3d, d) ...,
  ``norm``, ``output_linear.weight`` (3, d). The number of attention heads is not in any shape:
  it is ``n_heads`` (their config: 8).
* energy ``.pth``: the ``nrgMLP`` state dict: ``model.{i}.fc.weight``, ``model.{i}.skip.weight``
  (when widths differ), ``model.{i}.norm.weight``, and the last ``model.{k}.weight`` (1, w).
* ``norm_stats.pt``: a dict of tensors ``x_mean``, ``x_std`` (F values, or F + 1 when the stats
  include their per-atom weight column, which is dropped as their Runner does),
  ``y_mean_force``, ``y_std_force`` (3) (older files: ``y_mean``, ``y_std``), and for energy
  ``y_mean_energy``, ``y_std_energy`` (1).

Every problem is an :class:`ImportModelError` naming the file and the key.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

import torch

from adapt.fileio import file_sha256
from adapt.released import BUFFERS, ReleasedEnergyModel, ReleasedForceModel
from adapt.released_config import ReleasedEnergyConfig, ReleasedForceConfig

PREFIXES = ("module.", "_orig_mod.")  # DataParallel / torch.compile wrappers
FORCE_Y = (("y_mean_force", "y_std_force"), ("y_mean", "y_std"))
ENERGY_Y = (("y_mean_energy", "y_std_energy"),)


class ImportModelError(ValueError):
    """A file that is not what ``import-model`` needs; the message names file and key."""


@contextlib.contextmanager
def _weights_only_enforced():
    """Unset TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD (mace sets it to 1 on import) while loading."""
    saved = {k: os.environ.pop(k, None) for k in ("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD",)}
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v


def safe_load(path: str | Path) -> object:
    """``torch.load(path, weights_only=True)`` whatever the environment says."""
    path = Path(path)
    if not path.is_file():
        raise ImportModelError(f"{path}: no such file")
    head = path.read_bytes()[:64]
    if head.startswith(b"version https://git-lfs"):
        raise ImportModelError(
            f"{path}: a Git LFS pointer, not the weights; fetch the real file (git lfs pull)"
        )
    with _weights_only_enforced():
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch raises many types for bad files
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ImportModelError(
                f"{path}: not readable as plain tensors with weights_only=True ({first})"
            ) from None


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    obj = safe_load(path)
    if not isinstance(obj, Mapping):
        raise ImportModelError(f"{path}: holds a {type(obj).__name__}, expected a state dict")
    out = {}
    for key, value in obj.items():
        if not isinstance(key, str) or not torch.is_tensor(value):
            raise ImportModelError(f"{path}: key {key!r} is a {type(value).__name__}, not a tensor")
        name = key
        for p in PREFIXES:
            name = name.removeprefix(p)
        out[name] = value.detach().float()
    if not out:
        raise ImportModelError(f"{path}: empty state dict")
    return out


def _need(sd: dict, key: str, path, ndim: int) -> torch.Tensor:
    if key not in sd:
        raise ImportModelError(f"{path}: missing key {key!r} (not the authors' model?)")
    if sd[key].ndim != ndim:
        raise ImportModelError(f"{path}: key {key!r} has shape {tuple(sd[key].shape)}")
    return sd[key]


def force_config(sd: dict, path, n_heads: int = 8, layout=None, extra=()) -> ReleasedForceConfig:
    """The force model's sizes from its state dict (n_heads is not in the shapes)."""
    embed, n_in = _need(sd, "lin1.weight", path, 2).shape
    d_model = _need(sd, "lin2.weight", path, 2).shape[0]
    d_out = _need(sd, "output_linear.weight", path, 2).shape[0]
    if d_out != 3:
        raise ImportModelError(f"{path}: key 'output_linear.weight' gives {d_out} outputs, not 3")
    idx = {int(m.group(1)) for k in sd if (m := re.match(r"layers\.(\d+)\.", k))}
    if not idx:
        raise ImportModelError(f"{path}: no 'layers.N.' keys (no encoder layers)")
    d_ff = _need(sd, "layers.0.linear1.weight", path, 2).shape[0]
    if d_model % n_heads:
        raise ImportModelError(f"{path}: d_model {d_model} is not divisible by n_heads {n_heads}")
    layout, extra = _layout(n_in, layout, extra, path, "lin1.weight")
    return ReleasedForceConfig(
        d_model=d_model,
        d_ff=d_ff,
        n_layers=max(idx) + 1,
        n_heads=n_heads,
        dropout=0.05,
        embed_width=embed,
        token_layout=layout,
        extra_properties=extra,
    )


def _layout(n_in: int, layout, extra, path, key) -> tuple[str, tuple[str, ...]]:
    extra = tuple(extra)
    if layout is None:
        layout = "descriptors12" if n_in == 12 and not extra else "z"
    width = 12 if layout == "descriptors12" else 4 + len(extra)
    if width != n_in:
        raise ImportModelError(
            f"{path}: key {key!r} takes {n_in} features per atom but token layout {layout} with "
            f"extra properties {list(extra)} gives {width} (x, y, z, Z + one column per extra)"
        )
    return layout, extra


def energy_config(
    sd: dict, path, max_atoms: int = 220, layout=None, extra=(), n_features=None
) -> ReleasedEnergyConfig:
    """The energy MLP's block widths from its state dict."""
    blocks = sorted(
        {int(m.group(1)) for k in sd if (m := re.match(r"model\.(\d+)\.fc\.weight$", k))}
    )
    if not blocks:
        raise ImportModelError(f"{path}: no 'model.N.fc.weight' keys (not the authors' nrgMLP?)")
    widths = tuple(int(_need(sd, f"model.{i}.fc.weight", path, 2).shape[0]) for i in blocks)
    last = f"model.{blocks[-1] + 1}.weight"
    if tuple(_need(sd, last, path, 2).shape) != (1, widths[-1]):
        raise ImportModelError(f"{path}: key {last!r} has shape {tuple(sd[last].shape)}")
    n_in = int(sd[f"model.{blocks[0]}.fc.weight"].shape[1])
    if n_in % max_atoms:
        raise ImportModelError(
            f"{path}: key 'model.{blocks[0]}.fc.weight' takes {n_in} inputs, not a multiple of "
            f"max_atoms={max_atoms}"
        )
    layout, extra = _layout(n_features or n_in // max_atoms, layout, extra, path, "model.*")
    cfg = ReleasedEnergyConfig(
        widths=widths,
        max_atoms=max_atoms,
        dropout=0.1,
        input_dropout=0.1 if blocks[0] == 2 else 0.0,  # their optional input Dropout shifts indices
        use_norm=f"model.{blocks[0]}.norm.weight" in sd,
        token_layout=layout,
        extra_properties=extra,
    )
    if cfg.n_features * max_atoms != n_in:
        raise ImportModelError(
            f"{path}: {n_in} inputs != max_atoms {max_atoms} x {cfg.n_features} features"
        )
    return cfg


def read_stats(path, kind: str, n_features: int, y_keys=None) -> dict[str, torch.Tensor]:
    """x_mean, x_std, y_mean, y_std for ``kind`` from a norm-stats file."""
    obj = safe_load(path)
    if not isinstance(obj, Mapping):
        raise ImportModelError(f"{path}: holds a {type(obj).__name__}, expected a dict of tensors")
    has = sorted(map(str, obj))
    has = ", ".join(has[:6]) + (f" ... ({len(has)} keys)" if len(has) > 6 else "")
    for key in ("x_mean", "x_std"):
        if key not in obj:
            raise ImportModelError(
                f"{path}: missing key {key!r} (not a norm-stats file? has {has})"
            )
    options = y_keys or (FORCE_Y if kind == "force" else ENERGY_Y)
    pair = next((p for p in options if all(k in obj for k in p)), None)
    if pair is None:
        want = " or ".join("/".join(p) for p in options)
        raise ImportModelError(f"{path}: missing key {want} ({kind} output stats; has {has})")
    out = {}
    for name, key in zip(BUFFERS, ("x_mean", "x_std", *pair), strict=True):
        if not torch.is_tensor(obj[key]):
            raise ImportModelError(
                f"{path}: key {key!r} is a {type(obj[key]).__name__}, not a tensor"
            )
        t = torch.as_tensor(obj[key], dtype=torch.float32).reshape(-1)
        if not torch.isfinite(t).all():
            raise ImportModelError(f"{path}: key {key!r} has non-finite values")
        out[name] = t
    for name in ("x_mean", "x_std"):
        n = out[name].numel()
        if n == n_features + 1:  # their per-atom weight column, dropped as Runner(hasWeighting)
            out[name] = out[name][:-1]
        elif n != n_features:
            raise ImportModelError(
                f"{path}: key {name!r} has {n} values; the model takes {n_features} features"
            )
    n_out = 3 if kind == "force" else 1
    for name, key in zip(("y_mean", "y_std"), pair, strict=True):
        if out[name].numel() != n_out:
            raise ImportModelError(
                f"{path}: key {key!r} has {out[name].numel()} values, expected {n_out}"
            )
    return out


def fill(model, sd: dict, stats: dict, path) -> None:
    """Load the authors' tensors + our stats into ``model``; any key mismatch names the key."""
    own = model.state_dict()
    theirs = {k for k in own if k not in BUFFERS}
    missing, extra = sorted(theirs - set(sd)), sorted(set(sd) - theirs)
    if missing or extra:
        detail = f"missing key {missing[0]!r}" if missing else f"unexpected key {extra[0]!r}"
        more = len(missing) + len(extra) - 1
        raise ImportModelError(f"{path}: {detail}" + (f" (+{more} more)" if more else ""))
    for k in sorted(theirs):
        if sd[k].shape != own[k].shape:
            raise ImportModelError(
                f"{path}: key {k!r} has shape {tuple(sd[k].shape)}, expected {tuple(own[k].shape)}"
            )
    model.load_state_dict({**sd, **stats}, strict=True)


def build_imported(kind: str, weights, stats_path, **opts):
    """(model in eval mode, its config) from the authors' files."""
    sd = read_state_dict(weights)
    layout, extra = opts.get("token_layout"), tuple(opts.get("extra_properties") or ())
    if kind == "force":
        cfg = force_config(sd, weights, opts.get("n_heads", 8), layout, extra)
        model = ReleasedForceModel(cfg)
    else:
        cfg = energy_config(
            sd, weights, opts.get("max_atoms", 220), layout, extra, opts.get("n_features")
        )
        model = ReleasedEnergyModel(cfg)
    stats = read_stats(stats_path, kind, cfg.n_features)
    fill(model, sd, stats, weights)
    return model.eval(), cfg


def element_rows_from(path) -> object:
    """ElementTable of the 9 descriptors found in one of the authors' token files."""
    from adapt.released_tokens import table_from_native

    obj = safe_load(path)
    if isinstance(obj, Mapping):
        if "X" not in obj:
            raise ImportModelError(f"{path}: missing key 'X' (the authors' token tensors)")
        obj = obj["X"]
    if torch.is_tensor(obj):
        obj = list(obj) if obj.ndim == 3 else [obj]
    if not isinstance(obj, list | tuple) or not all(torch.is_tensor(t) for t in obj):
        raise ImportModelError(f"{path}: expected tensors of tokens (n, 12 or 13)")
    try:
        return table_from_native([t.numpy() for t in obj], str(path))
    except ValueError as exc:
        raise ImportModelError(str(exc)) from None


def import_released(
    out,
    norm_stats,
    force=None,
    energy=None,
    energy_stats=None,
    element_rows=None,
    level_of_theory: str = "unknown",
    **opts,
) -> Path:
    """Write RUN_DIR/force and/or RUN_DIR/energy from the authors' files; returns RUN_DIR."""
    from adapt.checkpoint import save_checkpoint
    from adapt.config import config_to_dict
    from adapt.tokens import default_table

    if force is None and energy is None:
        raise ImportModelError("give --force and/or --energy")
    out = Path(out)
    built = {}
    if force is not None:
        built["force"] = (force, norm_stats, *build_imported("force", force, norm_stats, **opts))
        opts = {**opts, "n_features": built["force"][3].n_features}
    if energy is not None:
        stats = energy_stats or norm_stats
        built["energy"] = (energy, stats, *build_imported("energy", energy, stats, **opts))
    table = None
    if any(cfg.token_layout == "descriptors12" for *_, cfg in built.values()):
        table = element_rows_from(element_rows) if element_rows else default_table()
    for kind, (weights, stats_path, model, cfg) in built.items():
        meta = {
            "kind": kind,
            "arch": "released",
            "preset": "imported",
            "model_config": config_to_dict(cfg),
            "n_params": sum(p.numel() for p in model.parameters()),
            "normalisation": {k: getattr(model, k).tolist() for k in BUFFERS}
            | {
                "rule": "x' = (x - x_mean) / (0.3 (x_std + 1e-6)); y = y' 0.3 (y_std + 1e-6) + y_mean"
            },
            "element_table": table.to_dict()
            if table is not None and cfg.token_layout == "descriptors12"
            else None,
            "data": {
                "name": "imported",
                "level_of_theory": level_of_theory,
                "content_sha256": None,
            },
            "training_cells": [],
            "imported_from": {
                "weights": str(Path(weights).resolve()),
                "weights_sha256": file_sha256(weights),
                "norm_stats": str(Path(stats_path).resolve()),
                "norm_stats_sha256": file_sha256(stats_path),
                "element_rows": str(Path(element_rows).resolve()) if element_rows else None,
                "n_heads_note": "not stored in the state dict; given (default 8, their config)",
            },
            "epoch": None,
            "val_loss": None,
        }
        save_checkpoint(out / kind, model, meta)
    return out
