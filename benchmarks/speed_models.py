"""The speed suite's contenders: paper-size architectures with random weights, as torch modules.

Cost depends on the architecture, not on the weights, so no checkpoint is needed (CHGNet's
weights ship inside its wheel and are used as they are). Each builder returns a :class:`Bench`:

    prepare(frames)   list of ase.Atoms -> the model's batch input (tokens, graphs); untimed,
                      like a training data loader that caches its graphs
    infer(batch)      energy/forces of the batch (conservative models: forward + dE/dr)
    train(batch)      one optimiser step: forward, force + energy loss, backward, Adam step

``SPEED_MODELS`` maps the names a speed suite lists to builders. A model whose package or
environment is missing raises :class:`baselines.interface.ModelUnavailable` with the reason.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from baselines.interface import ModelUnavailable


@dataclass
class Bench:
    name: str
    family: str
    n_params: int
    prepare: Callable[[list], object]
    infer: Callable[[object], object]
    train: Callable[[object], object] | None
    analytic_flops: Callable[[int], int] | None = None  # forward FLOPs per structure of n atoms
    note: str = ""
    countable: bool = True  # False: FLOPs from analytic_flops (a compiled graph hides its ops)


def _adam(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.Adam(model.parameters(), lr=1e-4)


def _step(opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()


# ---------------------------------------------------------------- ADAPT (paper equations)


def adapt_force(preset: str, device: str, amp: str = "none", cpu_amp: bool = False) -> Bench:
    """The paper's force Transformer (adapt.force_model). ``amp``: "none" (fp32), "bf16"
    (autocast to bfloat16) or "tf32" (fp32 weights, TF32 tensor-core matmuls): GPU paths, so
    they refuse a CPU device unless ``cpu_amp`` (tests run the bf16 path on CPU that way)."""
    from adapt.batching import pad
    from adapt.checkpoint import build_model
    from adapt.config import config_to_dict, force_preset
    from adapt.flops import force_forward_flops
    from adapt.tokens import default_table, tokenize

    if amp not in ("none", "bf16", "tf32"):
        raise ValueError(f"amp must be none, bf16 or tf32, got {amp!r}")
    dev_type = torch.device(device).type
    if amp != "none" and dev_type != "cuda" and not cpu_amp:
        raise ModelUnavailable(f"{amp} rows are for CUDA devices")
    cfg = force_preset(preset)
    torch.manual_seed(0)
    model = build_model("force", config_to_dict(cfg)).to(device)
    table = default_table()
    opt = _adam(model)

    def prepare(frames):
        tokens, valid = pad([tokenize(a, table) for a in frames])
        target = torch.randn(*tokens.shape[:2], 3) * valid[..., None]
        return tokens.to(device), valid.to(device), target.to(device)

    @contextlib.contextmanager
    def precision():
        old = torch.backends.cuda.matmul.allow_tf32
        torch.backends.cuda.matmul.allow_tf32 = amp == "tf32"
        try:
            with torch.autocast(dev_type, dtype=torch.bfloat16, enabled=amp == "bf16"):
                yield
        finally:
            torch.backends.cuda.matmul.allow_tf32 = old

    def infer(batch):
        model.eval()
        with torch.inference_mode(), precision():
            return model(batch[0], batch[1])

    def train(batch):
        model.train()
        with precision():
            pred = model(batch[0], batch[1]).float()
        _step(opt, ((pred - batch[2]) ** 2).sum() / (3 * batch[1].sum()))

    return Bench(
        name=f"ADAPT {preset}" + ("" if amp == "none" else f" {amp}"),
        family="adapt",
        n_params=sum(p.numel() for p in model.parameters()),
        prepare=prepare,
        infer=infer,
        train=train,
        analytic_flops=lambda n: force_forward_flops(cfg, n),
        note="force Transformer (Eqs. 1-11)" + ("" if amp == "none" else f", {amp}"),
    )


def adapt_compiled(preset: str, device: str) -> Bench:
    """ADAPT inference through torch.compile (inductor, weights frozen as constants so Linear
    layers are prepacked and fused with their pointwise neighbours); the compile time is spent
    in the untimed first call. No training row: compiling the backward pass was not tried."""
    bench = adapt_force(preset, device)
    from adapt.checkpoint import build_model
    from adapt.config import config_to_dict, force_preset

    torch.manual_seed(0)
    eager = build_model("force", config_to_dict(force_preset(preset))).to(device).eval()
    compiled = torch.compile(eager, options={"freezing": True})

    def infer(batch):
        with torch.no_grad():
            return compiled(batch[0], batch[1])

    bench.name, bench.infer, bench.countable = f"ADAPT {preset} compiled", infer, False
    bench.train = None  # the eager step: the plain row already times it
    bench.note = "torch.compile (inductor, freezing) inference"
    return bench


def adapt_plus(preset: str, device: str) -> Bench:
    """ADAPT+ (adapt.plus), conservative forces: energy forward + dE/dr."""
    from adapt.plus.checkpoint import build_model
    from adapt.plus.config import model_preset, train_preset
    from adapt.plus.data import collate, to_item
    from adapt.plus.train import batch_loss
    from adapt.tokens import default_table

    table = default_table()
    torch.manual_seed(0)
    model = build_model(model_preset(preset), table).to(device)
    tcfg = train_preset(preset)
    opt = _adam(model)

    def prepare(frames):
        rng = np.random.default_rng(0)
        items = [to_item(a, table, labels=False) for a in frames]
        for it in items:
            it.forces = rng.normal(size=it.pos.shape)
            it.energy = -4.6 * len(it)
        return collate(items, device)

    def infer(b):
        model.eval()
        return model(b["species"], b["pos"], b["cell"], b["pbc"], b["valid"])

    def train(b):
        model.train()
        _step(opt, batch_loss(model, b, tcfg)[0])

    return Bench(
        name=f"ADAPT+ {preset}",
        family="adapt+",
        n_params=sum(p.numel() for p in model.parameters()),
        prepare=prepare,
        infer=infer,
        train=train,
        note=f"{model.cfg.forces} forces",
    )


# ---------------------------------------------------------------- GNN baselines


MACE_PAPER = dict(channels=256, max_L=2, correlation=3, max_ell=3, radial_MLP=(64, 64, 64))


def mace(device: str, tmp: Path) -> Bench:
    """MACE at the paper's retraining size (256 channels, L=2, correlation 3), float32."""
    from mace.tools import torch_geometric

    from baselines.mace import MaceForceField
    from baselines.testing import tiny_mace_model

    ff = MaceForceField(
        tiny_mace_model(tmp / "mace-paper.model", dtype="float32", **MACE_PAPER), device
    )
    model = ff.model
    opt = _adam(model)

    def prepare(frames):
        batch = torch_geometric.Batch.from_data_list([ff._graph(a) for a in frames]).to(device)
        data = {k: v for k, v in batch.to_dict().items() if torch.is_tensor(v)}
        n = data["positions"].shape[0]
        return data, torch.randn(n, 3, device=device), torch.randn(len(frames), device=device)

    def infer(b):
        model.eval()
        return model(dict(b[0]), compute_force=True, compute_stress=False, training=False)

    def train(b):
        model.train()
        out = model(dict(b[0]), compute_force=True, compute_stress=False, training=True)
        _step(opt, ((out["forces"] - b[1]) ** 2).mean() + ((out["energy"] - b[2]) ** 2).mean())

    return Bench("MACE paper", "mace", ff.info.n_params, prepare, infer, train, note="float32")


# M3Gnet width; 4 blocks, max_l = max_n = 4 for both. 128 units is mattersim's default and gives
# 1.16 M parameters (the 1M checkpoint's size, baselines/testing.py); 256 units gives 4.55 M, our
# reading of the 5M checkpoint (its file is not here to check the width against).
MATTERSIM_UNITS = {"1M": 128, "5M": 256}


def mattersim(size: str, device: str) -> Bench:
    """MatterSim's M3Gnet at the 1M or 5M checkpoint's width (random weights)."""
    from loguru import logger
    from mattersim.datasets.utils.build import build_dataloader
    from mattersim.forcefield.m3gnet.m3gnet import M3Gnet
    from mattersim.forcefield.potential import Potential, batch_to_dict

    logger.disable("mattersim")
    torch.manual_seed(0)
    net = M3Gnet(device=device, num_blocks=4, units=MATTERSIM_UNITS[size], max_l=4, max_n=4)
    potential = Potential(net, device=device)
    opt = _adam(net)

    def prepare(frames):
        loader = build_dataloader(list(frames), batch_size=len(frames), only_inference=True)
        (graph,) = list(loader)
        n = sum(len(a) for a in frames)
        return graph, torch.randn(n, 3, device=device), torch.randn(len(frames), device=device)

    def run(b):
        return potential(
            batch_to_dict(b[0], device=device), include_forces=True, include_stresses=False
        )

    def infer(b):
        net.eval()
        return run(b)

    def train(b):
        net.train()
        out = run(b)
        _step(
            opt, ((out["forces"] - b[1]) ** 2).mean() + ((out["total_energy"] - b[2]) ** 2).mean()
        )

    return Bench(
        f"MatterSim {size}",
        "mattersim",
        sum(p.numel() for p in net.parameters()),
        prepare,
        infer,
        train,
        note=f"M3Gnet 4 blocks x {MATTERSIM_UNITS[size]} units",
    )


def chgnet(device: str) -> Bench:
    """CHGNet 0.3.0 (its packaged weights; the cost is the architecture's)."""
    from chgnet.model import CHGNet
    from pymatgen.io.ase import AseAtomsAdaptor

    with contextlib.redirect_stdout(io.StringIO()):
        model = CHGNet.load(model_name="0.3.0", use_device=device, verbose=False)
    opt = _adam(model)

    def prepare(frames):
        graphs = [
            model.graph_converter(AseAtomsAdaptor.get_structure(a)).to(device) for a in frames
        ]
        n = sum(len(a) for a in frames)
        return graphs, torch.randn(n, 3, device=device), torch.randn(len(frames), device=device)

    def infer(b):
        model.eval()
        return model(b[0], task="ef")

    def train(b):
        model.train()
        out = model(b[0], task="ef")
        forces = torch.cat(list(out["f"]))
        _step(opt, ((forces - b[1]) ** 2).mean() + ((out["e"] - b[2]) ** 2).mean())

    n = sum(p.numel() for p in model.parameters())
    return Bench("CHGNet", "chgnet", n, prepare, infer, train, note="0.3.0 weights")


def sevennet(device: str) -> Bench:
    """SevenNet-0 in its own environment (.venv-sevennet) behind a worker: inference is timed
    end to end through its force field (graphs built in the worker, pipe included); there is no
    training step over the pipe, so it has no training columns."""
    from baselines import sevennet as family
    from baselines.registry import LoadContext, load_model

    if not family.python().is_file():
        raise ModelUnavailable(".venv-sevennet not built (bash scripts/setup_sevennet.sh)")
    ff = load_model("sevennet", LoadContext(device=device))
    return Bench(
        "SevenNet",
        "sevennet",
        ff.info.n_params,
        prepare=list,
        infer=lambda frames: ff.predict(frames, batch_size=len(frames)),
        train=None,
        note="out-of-process worker; inference includes graph building and the pipe",
    )


def build(name: str, device: str, tmp: Path) -> Bench:
    """The Bench for a speed-suite model name (see SPEED_MODELS)."""
    if name not in SPEED_MODELS:
        raise ValueError(f"unknown speed model {name!r}; known: {sorted(SPEED_MODELS)}")
    return SPEED_MODELS[name](device, tmp)


SPEED_MODELS: dict[str, Callable[[str, Path], Bench]] = {
    "ADAPT tiny": lambda dev, tmp: adapt_force("tiny", dev),
    "ADAPT small": lambda dev, tmp: adapt_force("small", dev),
    "ADAPT large": lambda dev, tmp: adapt_force("large", dev),
    "ADAPT small bf16": lambda dev, tmp: adapt_force("small", dev, amp="bf16"),
    "ADAPT large bf16": lambda dev, tmp: adapt_force("large", dev, amp="bf16"),
    "ADAPT small compiled": lambda dev, tmp: adapt_compiled("small", dev),
    "ADAPT tiny compiled": lambda dev, tmp: adapt_compiled("tiny", dev),
    "ADAPT small tf32": lambda dev, tmp: adapt_force("small", dev, amp="tf32"),
    "ADAPT+ tiny": lambda dev, tmp: adapt_plus("tiny", dev),
    "ADAPT+ small": lambda dev, tmp: adapt_plus("small", dev),
    "MACE paper": lambda dev, tmp: mace(dev, tmp),
    "MatterSim 1M": lambda dev, tmp: mattersim("1M", dev),
    "MatterSim 5M": lambda dev, tmp: mattersim("5M", dev),
    "CHGNet": lambda dev, tmp: chgnet(dev),
    "SevenNet": lambda dev, tmp: sevennet(dev),
}
