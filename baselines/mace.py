"""MACE through mace-torch: ``mace:PATH.model`` (retrained here, or any local MACE model file).

A ``.model`` file is a pickled torch module (MACE's own format): load only files you trust.
Predictions batch several structures into one graph (MACE's own ``AtomicData`` + ``Batch``), so
a batch gives the same numbers as one-by-one calls. Forces are -dE/dr by autograd (conservative).

Provenance comes from the sidecar ``<name>.json`` that ``adapt-bench train mace`` writes next to
the model (dataset, level of theory, preset, epochs, training time); a model without one (e.g. a
downloaded foundation model) reports level_of_theory "unknown (foundation model?)".
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from adapt.fileio import file_sha256
from baselines import mace_train
from baselines.family import Family
from baselines.interface import ForceField, ModelInfo, ModelUnavailable, Prediction
from baselines.paths import cache_dir
from baselines.registry import LoadContext, ModelStatus

log = logging.getLogger(__name__)

UNKNOWN_LOT = "unknown (foundation model?)"
FOUNDATION_HINT = (
    "foundation models (MACE-MP-0, MPA-0, OMAT-0) cannot be fetched here: copy their .model "
    "file to this machine"
)
DEFAULT_BATCH_SIZE = 8


def sidecar_path(model_path: str | Path) -> Path:
    """``x.model`` -> ``x.json`` (``x_compiled.model`` shares ``x.json``)."""
    p = Path(model_path)
    stem = p.stem.removesuffix("_compiled")
    return p.with_name(stem + ".json")


def read_sidecar(model_path: str | Path) -> dict:
    path = sidecar_path(model_path)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        log.warning("%s: unreadable sidecar (%s); ignoring it", path, exc)
        return {}


class MaceForceField(ForceField):
    """A MACE model file driven in batches (mace's MACECalculator does the loading and dtype)."""

    def __init__(self, path: str | Path, device: str = "cpu", dtype: str | None = None):
        import mace  # noqa: F401  (import before e3nn/torch.load, see docs/dependencies.md)
        import torch
        from mace import data as mace_data
        from mace.calculators import MACECalculator

        self.path = Path(path)
        if not self.path.is_file():
            raise ModelUnavailable(f"mace:{path}: no such file")
        # MACE's format is a pickled module: weights_only=False is the only way to read it (so a
        # mace: file can run code when loaded: load only model files you trust).
        try:
            model = torch.load(self.path, map_location=device, weights_only=False)
            if not isinstance(model, torch.nn.Module):
                raise TypeError(f"holds a {type(model).__name__}, not a model")
            next(model.parameters())
        except Exception as exc:  # noqa: BLE001 - any unreadable file is one line naming it
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise ValueError(
                f"mace:{path}: not a readable MACE model file ({type(exc).__name__}: {first})"
            ) from exc
        model_dtype = str(next(model.parameters()).dtype).removeprefix("torch.")
        self._calc = MACECalculator(models=model, device=device, default_dtype=dtype or model_dtype)
        self.model = self._calc.models[0]
        self.dtype = self._calc.default_dtype
        self.device = device
        self._keyspec = mace_data.KeySpecification(
            info_keys=dict(self._calc.info_keys),
            arrays_keys={**self._calc.arrays_keys, self._calc.charges_key: "charges"},
        )
        meta = read_sidecar(self.path)
        self.info = ModelInfo(
            name=meta.get("display_name", f"MACE {self.path.stem}"),
            family="mace",
            spec=f"mace:{path}",
            n_params=sum(p.numel() for p in self.model.parameters()),
            device=device,
            dtype=self.dtype,
            level_of_theory=meta.get("level_of_theory", UNKNOWN_LOT),
            conservative=True,
            # a model trained on a forces-only dataset learnt no energies (energy weight 0)
            predicts_energy=meta.get("trained_on_energy", True),
            checkpoint=str(self.path),
            checkpoint_sha256=file_sha256(self.path),
            elements=tuple(chemical_symbols[z] for z in self._calc.z_table.zs),
            extra={
                "r_max": self._calc.r_max,
                "atomic_numbers": list(self._calc.z_table.zs),
                "head": self._calc.head,
                **{
                    k: meta[k]
                    for k in ("preset", "dataset", "dataset_sha256", "epochs")
                    if k in meta
                },
            },
        )

    def _graph(self, atoms: Atoms):
        from mace import data as mace_data
        from mace.tools import torch_tools

        calc = self._calc
        unknown = sorted(set(atoms.numbers.tolist()) - set(calc.z_table.zs))
        if unknown:
            raise ValueError(
                f"{self.info.spec}: elements {unknown} (Z) are not in this MACE model "
                f"(it knows {calc.z_table.zs})"
            )
        with torch_tools.default_dtype(self.dtype):
            config = mace_data.config_from_atoms(
                atoms, key_specification=self._keyspec, head_name=calc.head
            )
            return mace_data.AtomicData.from_config(
                config, z_table=calc.z_table, cutoff=calc.r_max, heads=calc.available_heads
            )

    def predict(self, frames: Sequence[Atoms], batch_size: int | None = None) -> list[Prediction]:
        import torch
        from mace.tools import torch_geometric

        size = batch_size or DEFAULT_BATCH_SIZE
        torch_dtype = next(self.model.parameters()).dtype
        out: list[Prediction] = []
        for start in range(0, len(frames), size):
            chunk = frames[start : start + size]
            batch = torch_geometric.Batch.from_data_list([self._graph(a) for a in chunk])
            batch = batch.to(self.device)
            data = {
                k: (v.to(torch_dtype) if torch.is_floating_point(v) else v)
                for k, v in batch.to_dict().items()
                if torch.is_tensor(v)
            }
            res = self.model(data, compute_force=True, compute_stress=False, training=False)
            energies = res["energy"].detach().cpu().numpy().astype(np.float64)
            forces = res["forces"].detach().cpu().numpy().astype(np.float64)
            ptr = batch["ptr"].cpu().numpy()
            for i in range(len(chunk)):
                out.append(
                    Prediction(
                        energy=float(energies[i]) if self.info.predicts_energy else None,
                        forces=forces[ptr[i] : ptr[i + 1]].copy(),
                    )
                )
        return out


def load(arg: str, ctx: LoadContext) -> MaceForceField:
    if not arg:
        raise ValueError("mace needs a model file: mace:PATH.model")
    if importlib.util.find_spec("mace") is None:
        raise ModelUnavailable("mace: package mace-torch missing (run scripts/setup.sh)")
    return MaceForceField(Path(arg).expanduser(), device=ctx.device)


def search_roots() -> list[Path]:
    """Where statuses() looks for MACE models: runs trained by hand (`adapt-bench train mace
    --out CACHE/runs/...`) and the runner's training cache (benchmarks.training)."""
    return [cache_dir() / "runs", cache_dir() / "trained"]


def find_models(root: Path) -> list[Path]:
    """MACE model files under ``root`` (MACE's checkpoints/ and *_compiled copies left out)."""
    if not root.is_dir():
        return []
    return sorted(
        p
        for p in root.rglob("*.model")
        if "checkpoints" not in p.parts and not p.stem.endswith("_compiled")
    )


def statuses() -> list[ModelStatus]:
    if importlib.util.find_spec("mace") is None:
        return [
            ModelStatus(
                "mace:PATH.model", False, "package mace-torch missing (run scripts/setup.sh)"
            )
        ]
    rows = []
    for path in (p for root in search_roots() for p in find_models(root)):
        meta = read_sidecar(path)
        what = (
            f"retrained, preset {meta.get('preset', '?')}, {meta.get('epochs', '?')} epochs on "
            f"{meta.get('dataset', '?')} ({meta.get('level_of_theory', '?')})"
            if meta
            else f"local MACE model, level of theory {UNKNOWN_LOT}"
        )
        rows.append(ModelStatus(f"mace:{path}", True, what))
    found = (
        f"{len(rows)} found under {cache_dir()}/runs and /trained, listed above"
        if rows
        else f"none found yet under {cache_dir()}/runs or /trained"
    )
    rows.append(
        ModelStatus(
            "mace:PATH.model",
            True,
            f"any local MACE .model: `adapt-bench train mace` makes one ({found}); "
            f"{FOUNDATION_HINT}; a .model file is a pickle (mace-torch's format, and importing "
            "mace sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD): load only files you trust",
        )
    )
    return rows


def _tiny(tmp: Path, data) -> MaceForceField:
    from baselines.testing import tiny_mace_model

    path = tiny_mace_model(Path(tmp) / "mace" / "tiny.model", seed=0, dtype="float64")
    return load(str(path), LoadContext())


FAMILY = Family(
    name="mace",
    usage="mace:PATH.model",
    load=load,
    statuses=statuses,
    display="MACE",
    origin="either",  # retrained here by a suite, or a downloaded foundation model
    conservative=True,
    packages=("mace-torch",),
    trainers=(mace_train.TRAINER,),
    spec_for=lambda jobs, root: f"mace:{jobs[0].output}",
    tiny=_tiny,
)
