"""MatterSim (M3GNet architecture) checkpoints: ``mattersim:1M``, ``mattersim:5M``, ``mattersim:PATH``.

Names resolve to mattersim's own cache directory, ``~/.local/mattersim/pretrained_models/``
(``mattersim-v1.0.0-1M.pth`` / ``-5M.pth``, as in ``mattersim.forcefield.potential``). This wrapper
never downloads: a missing file is :class:`ModelUnavailable` with one line saying where to put it
(mattersim itself would try the network and, offline, fail with a traceback).

Predictions run in batches through mattersim's own ``build_dataloader`` + ``Potential.forward``;
forces are -dE/dr by autograd (conservative). Weights are float32.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ase import Atoms

from adapt.fileio import file_sha256
from baselines.family import Family
from baselines.interface import ForceField, ModelInfo, ModelUnavailable, Prediction
from baselines.registry import LoadContext, ModelStatus

CHECKPOINTS = {"1M": "mattersim-v1.0.0-1M.pth", "5M": "mattersim-v1.0.0-5M.pth"}
LEVEL_OF_THEORY = "PBE/PBE+U (MatterSim-v1 training set)"
DEFAULT_BATCH_SIZE = 8


def checkpoint_dir() -> Path:
    """mattersim's cache directory, resolved like mattersim does (at call time, from $HOME)."""
    return Path(os.path.expanduser("~/.local/mattersim/pretrained_models"))


def resolve(arg: str) -> tuple[Path, str]:
    """Spec argument -> (checkpoint path, display name); raises ModelUnavailable if absent."""
    name = arg.upper().removeprefix("MATTERSIM-V1.0.0-").removesuffix(".PTH")
    if name in CHECKPOINTS:
        path = checkpoint_dir() / CHECKPOINTS[name]
        if not path.is_file():
            raise ModelUnavailable(
                f"mattersim:{name}: checkpoint not found and it cannot be downloaded here; put "
                f"{CHECKPOINTS[name]} at {path} (or use mattersim:PATH.pth)"
            )
        return path, f"MatterSim v1.0.0 {name}"
    path = Path(arg).expanduser()
    if not path.is_file():
        raise ModelUnavailable(f"mattersim:{arg}: no such checkpoint file")
    return path, f"MatterSim {path.stem}"


class MatterSimForceField(ForceField):
    def __init__(self, path: Path, name: str, spec: str, device: str = "cpu"):
        from loguru import logger
        from mattersim.forcefield.potential import Potential

        logger.disable("mattersim")  # it logs every load and batch at INFO to stderr
        self.potential = Potential.from_checkpoint(
            load_path=str(path), device=device, load_training_state=False
        )
        self.device = device
        args = self.potential.model.model_args
        self.cutoff = float(args["cutoff"])
        self.threebody_cutoff = float(args["threebody_cutoff"])
        self.info = ModelInfo(
            name=name,
            family="mattersim",
            spec=spec,
            n_params=sum(p.numel() for p in self.potential.model.parameters()),
            device=device,
            dtype=str(next(self.potential.model.parameters()).dtype).removeprefix("torch."),
            level_of_theory=LEVEL_OF_THEORY,
            conservative=True,
            checkpoint=str(path),
            checkpoint_sha256=file_sha256(path),
            extra={k: args[k] for k in ("num_blocks", "units", "cutoff", "threebody_cutoff")},
        )

    def predict(self, frames: Sequence[Atoms], batch_size: int | None = None) -> list[Prediction]:
        from mattersim.datasets.utils.build import build_dataloader

        if not frames:
            return []
        loader = build_dataloader(
            list(frames),  # build_dataloader converts copies; inputs stay untouched
            model_type="m3gnet",
            cutoff=self.cutoff,
            threebody_cutoff=self.threebody_cutoff,
            batch_size=batch_size or DEFAULT_BATCH_SIZE,
            shuffle=False,
            only_inference=True,
        )
        energies, forces, _ = self.potential.predict_properties(loader, include_forces=True)
        if len(energies) != len(frames):  # mattersim drops frames it cannot convert
            raise RuntimeError(
                f"{self.info.spec}: got {len(energies)} predictions for {len(frames)} frames"
            )
        return [
            Prediction(energy=float(e), forces=np.asarray(f, dtype=np.float64))
            for e, f in zip(energies, forces, strict=True)
        ]


def load(arg: str, ctx: LoadContext) -> MatterSimForceField:
    if not arg:
        raise ValueError(
            "mattersim needs a checkpoint: mattersim:1M, mattersim:5M or mattersim:PATH"
        )
    if importlib.util.find_spec("mattersim") is None:
        raise ModelUnavailable("mattersim: package missing (run scripts/setup.sh)")
    path, name = resolve(arg)
    return MatterSimForceField(path, name, f"mattersim:{arg}", ctx.device)


def statuses() -> list[ModelStatus]:
    if importlib.util.find_spec("mattersim") is None:
        return [ModelStatus("mattersim:1M|5M|PATH.pth", False, "package mattersim missing")]
    rows = []
    for name in CHECKPOINTS:
        try:
            path, _ = resolve(name)
            rows.append(ModelStatus(f"mattersim:{name}", True, f"checkpoint {path}"))
        except ModelUnavailable as exc:
            rows.append(ModelStatus(f"mattersim:{name}", False, str(exc).partition(": ")[2]))
    rows.append(ModelStatus("mattersim:PATH.pth", True, "any checkpoint saved by mattersim"))
    return rows


def _tiny(tmp: Path, data) -> MatterSimForceField:
    from baselines.testing import tiny_mattersim_checkpoint

    path = tiny_mattersim_checkpoint(Path(tmp) / "mattersim" / "tiny.pth", seed=0)
    return load(str(path), LoadContext())


FAMILY = Family(
    name="mattersim",
    usage="mattersim:1M|5M|PATH.pth",
    load=load,
    statuses=statuses,
    display="MatterSim",
    origin="pretrained",
    level_of_theory=LEVEL_OF_THEORY,
    conservative=True,
    packages=("mattersim",),
    tiny=_tiny,
)
