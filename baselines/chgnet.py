"""CHGNet pretrained weights shipped inside the chgnet wheel: ``chgnet`` / ``chgnet:0.3.0`` /
``chgnet:0.2.0`` / ``chgnet:r2scan`` (no download, works offline).

CHGNet predicts energy per atom; this wrapper returns total energy (eV). Forces are -dE/dr by
autograd (conservative). Batches go through ``CHGNet.predict_structure`` (pymatgen structures).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from adapt.fileio import file_sha256
from baselines.family import Family
from baselines.interface import ForceField, ModelInfo, ModelUnavailable, Prediction
from baselines.registry import LoadContext, ModelStatus

# version -> (weights file inside chgnet/pretrained/, level of theory of its training data)
VERSIONS = {
    "0.3.0": ("0.3.0/chgnet_0.3.0_e29f68s314m37.pth.tar", "PBE/PBE+U (MPtrj)"),
    "0.2.0": ("0.2.0/chgnet_0.2.0_e30f77s348m32.pth.tar", "PBE/PBE+U (MPtrj)"),
    "r2scan": (
        "r2scan/chgnet_r2scan_transfer_learning_e15f36s161m23.pth.tar",
        "r2SCAN (MP-r2SCAN)",
    ),
}
DEFAULT_VERSION = "0.3.0"
DEFAULT_BATCH_SIZE = 16
# CHGNet's forward + force backward holds ~3 MB per atom on CPU (measured: ~2.8 GB at 1,000
# atoms, ~5 GB at 1,728); 16 default-size batches of 65-atom cells peaked at 6.6-7.0 GB in the
# quick suite. Without an explicit batch_size, batches hold at most this many atoms.
DEFAULT_BATCH_ATOMS = 256


def default_batch_size(frames: Sequence[Atoms]) -> int:
    """Structures per CHGNet batch when the caller names none: DEFAULT_BATCH_SIZE, fewer when
    the largest structure times that exceeds DEFAULT_BATCH_ATOMS atoms (at least 1)."""
    largest = max((len(a) for a in frames), default=1)
    return max(1, min(DEFAULT_BATCH_SIZE, DEFAULT_BATCH_ATOMS // max(largest, 1)))


def weights_path(version: str) -> Path:
    spec = importlib.util.find_spec("chgnet")
    return Path(spec.origin).parent / "pretrained" / VERSIONS[version][0]


MAX_Z = 94  # CHGNet's atom embedding covers H..Pu


class CHGNetForceField(ForceField):
    def __init__(self, version: str = DEFAULT_VERSION, device: str = "cpu"):
        from chgnet.model import CHGNet

        with contextlib.redirect_stdout(io.StringIO()):  # it prints its parameter count
            self.model = CHGNet.load(model_name=version, use_device=device, verbose=False)
        self.device = device
        path = weights_path(version)
        self.info = ModelInfo(
            name=f"CHGNet {version}",
            family="chgnet",
            spec="chgnet" if version == DEFAULT_VERSION else f"chgnet:{version}",
            n_params=sum(p.numel() for p in self.model.parameters()),
            device=device,
            dtype=str(next(self.model.parameters()).dtype).removeprefix("torch."),
            level_of_theory=VERSIONS[version][1],
            conservative=True,
            checkpoint=str(path),
            checkpoint_sha256=file_sha256(path),
            # one embedding row per atomic number 1..N (94 for the released models)
            elements=tuple(
                chemical_symbols[z]
                for z in range(1, self.model.atom_embedding.embedding.num_embeddings + 1)
            ),
            extra={"version": version},
        )

    def predict(self, frames: Sequence[Atoms], batch_size: int | None = None) -> list[Prediction]:
        from pymatgen.io.ase import AseAtomsAdaptor

        if not frames:
            return []
        for i, a in enumerate(frames):
            beyond = sorted({int(z) for z in a.numbers if z > MAX_Z})
            if beyond:
                raise ValueError(
                    f"{self.info.spec}: structure {i} has elements {beyond} (Z); CHGNet knows "
                    f"Z <= {MAX_Z} only"
                )
        structures = [AseAtomsAdaptor.get_structure(a) for a in frames]
        preds = self.model.predict_structure(
            structures, task="ef", batch_size=batch_size or default_batch_size(frames)
        )
        if isinstance(preds, dict):  # chgnet returns a bare dict for a single structure
            preds = [preds]
        # "e" is eV/atom for the intensive (default) heads
        return [
            Prediction(
                energy=float(p["e"]) * (len(a) if self.model.is_intensive else 1),
                forces=np.asarray(p["f"], dtype=np.float64),
            )
            for p, a in zip(preds, frames, strict=True)
        ]


def load(arg: str, ctx: LoadContext) -> CHGNetForceField:
    version = arg or DEFAULT_VERSION
    if version not in VERSIONS:
        raise ValueError(f"unknown CHGNet version {version!r}; known: {', '.join(VERSIONS)}")
    if importlib.util.find_spec("chgnet") is None:
        raise ModelUnavailable("chgnet: package missing (run scripts/setup.sh)")
    return CHGNetForceField(version, ctx.device)


def statuses() -> list[ModelStatus]:
    if importlib.util.find_spec("chgnet") is None:
        return [ModelStatus("chgnet", False, "package chgnet missing (run scripts/setup.sh)")]
    rows = []
    for version, (_, lot) in VERSIONS.items():
        spec = "chgnet" if version == DEFAULT_VERSION else f"chgnet:{version}"
        ok = weights_path(version).is_file()
        why = (
            f"pretrained {version} in the chgnet wheel, {lot}"
            if ok
            else "weights missing from wheel"
        )
        rows.append(ModelStatus(spec, ok, why))
    return rows


def _tiny(tmp, data) -> CHGNetForceField:
    return load("", LoadContext())  # the pretrained weights ship in the wheel (small)


FAMILY = Family(
    name="chgnet",
    usage="chgnet[:VERSION]",
    load=load,
    statuses=statuses,
    display="CHGNet",
    origin="pretrained",
    conservative=True,
    packages=("chgnet",),
    tiny=_tiny,
)
