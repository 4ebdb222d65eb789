"""CPU inference time per structure for every model family, side by side in one process.

    .venv/bin/python scripts/time_baselines.py [--atoms 216] [--repeats 5] [--threads N]

Models are randomly initialised at the sizes that matter (no weights are needed: cost depends on
the architecture, not the values), except CHGNet, whose real weights ship in its wheel:
zero, ADAPT tiny and small (paper size), MACE tiny preset and paper preset architectures, MatterSim
1M architecture (4 blocks, 128 units), CHGNet 0.3.0. Protocol: benchmarks.timers.time_inference
(one warm-up call, then the median of ``--repeats`` calls of predict([structure]), freshly rattled).
Timings are comparable only within one run on one machine.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from baselines.registry import LoadContext, load_model
from benchmarks.testing import random_label_dataset, si_cell
from benchmarks.timers import hardware_string, time_inference

log = logging.getLogger("time_baselines")


def adapt_model(size: str):
    from adapt.testing import tiny_checkpoint
    from baselines.adapt import ADAPTForceField
    from baselines.testing import tiny_adapt_forcefield

    if size == "tiny":
        return tiny_adapt_forcefield(seed=0, energy=True)
    force = tiny_checkpoint(
        "force", 0, d_model=256, d_ff=512, n_layers=8, n_heads=8, dropout=0.05, embed_hidden=(256,)
    )
    energy = tiny_checkpoint("energy", 1, hidden=512, n_blocks=4, dropout=0.05)
    return ADAPTForceField(force, energy, spec="adapt:<small random>", device="cpu")


def models(tmp: Path):
    from baselines.testing import tiny_mace_model, tiny_mattersim_checkpoint

    ds = random_label_dataset(tmp / "ds")
    yield "zero", lambda: load_model("zero", LoadContext(train_data=ds))
    yield "ADAPT tiny (random)", lambda: adapt_model("tiny")
    yield "ADAPT small, paper size (random)", lambda: adapt_model("small")
    mace_tiny = dict(channels=16, max_L=1, correlation=2, max_ell=2, radial_MLP=(32, 32))
    mace_paper = dict(channels=256, max_L=2, correlation=3, max_ell=3, radial_MLP=(64, 64, 64))
    for name, kw in (("tiny", mace_tiny), ("paper", mace_paper)):
        path = tmp / f"mace-{name}.model"
        yield (
            f"MACE {name} preset (random)",
            lambda path=path, kw=kw: load_model(
                f"mace:{tiny_mace_model(path, dtype='float32', **kw)}"
            ),
        )
    ms = tmp / "mattersim-1M.pth"
    yield (
        "MatterSim 1M size (random)",
        lambda: load_model(f"mattersim:{tiny_mattersim_checkpoint(ms, size='1M')}"),
    )
    yield "CHGNet 0.3.0", lambda: load_model("chgnet")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--atoms", type=int, default=216, choices=[8, 64, 216, 512])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = p.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    k = round((args.atoms / 8) ** (1 / 3))
    frame = si_cell(k)
    print(f"{len(frame)} atoms (Si, one C), batch 1, {hardware_string('cpu')}")
    print(f"{'model':<34} {'params':>10} {'dtype':>8} {'median s':>9} {'repeats':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in models(Path(tmp)):
            try:
                ff = build()
            except Exception as exc:  # report and go on: one broken family must not hide others
                print(f"{name:<34} unavailable: {exc}")
                continue
            res = time_inference(ff, [frame], repeats=args.repeats, warmup=1, batch_size=1)
            print(
                f"{name:<34} {ff.info.n_params:>10,} {ff.info.dtype:>8} "
                f"{res.per_structure_s:>9.4f} {res.repeats:>7}"
            )


if __name__ == "__main__":
    main()
