"""`adapt-bench train adapt-force | adapt-energy | adapt+ | mace`: parse, open the dataset, call the trainer.

ADAPT: RUN_DIR/force and RUN_DIR/energy are the checkpoint directories, so ``adapt:RUN_DIR`` loads
both (adapt.train.train_adapt). MACE: baselines.mace_train.train_mace. Nothing heavy is imported
at module level.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from benchmarks.cli_types import device, positive_int

KINDS = {"adapt-force": "force", "adapt-energy": "energy"}


def register_train(train_sub: argparse._SubParsersAction) -> None:
    _register_adapt(train_sub)
    _register_plus(train_sub)
    _register_mace(train_sub)


def _register_adapt(train_sub: argparse._SubParsersAction) -> None:
    for target, kind in KINDS.items():
        what = "force Transformer (Eqs. 1-11)" if kind == "force" else "energy model (Sec. 2.2)"
        p = train_sub.add_parser(
            target,
            help=f"train the ADAPT {what} on a dataset directory (writes RUN_DIR/{kind})",
            description=(
                f"Train the ADAPT {what} on DIR's train split, validating on its val split every "
                f"epoch. The best-on-validation checkpoint goes to RUN_DIR/{kind}/ (safetensors + "
                "JSON) with metrics.jsonl; rerunning the same command resumes (a finished run "
                "returns at once; a larger --epochs continues). Units: Å, eV, eV/Å."
            ),
        )
        p.add_argument(
            "--data", required=True, type=Path, help="dataset directory (with manifest.json)"
        )
        p.add_argument(
            "--out",
            required=True,
            type=Path,
            help=f"run directory; the checkpoint is RUN_DIR/{kind}",
        )
        p.add_argument(
            "--preset",
            default="tiny",
            choices=["tiny", "small", "large"],
            help="model size (small/large = paper App. C); default tiny",
        )
        p.add_argument(
            "--variant",
            dest="variant",
            choices=["paper", "released"],
            default="paper",
            help="paper = the printed equations (default); released = the authors' code "
            "(docs/adapt-variants.md lists the differences)",
        )
        p.add_argument("--epochs", type=positive_int, help="epochs, >= 1 (default: the preset's)")
        p.add_argument(
            "--device", default="cpu", type=device, help="cpu | cuda | cuda:N (default cpu)"
        )
        p.add_argument(
            "--seed", type=int, default=0, help="seed for init, shuffling, dropout (default 0)"
        )
        p.add_argument(
            "--batch-size", type=int, help="structures per batch (default: the preset's)"
        )
        p.add_argument("--lr", type=float, help="Adam learning rate (default: the preset's)")
        p.add_argument("--amp", choices=["none", "bf16"], help="bf16 autocast (default none)")
        p.add_argument(
            "--augment", action="store_true", help="random rotation + translation of frames"
        )
        if kind == "force":
            p.add_argument(
                "--arch",
                dest="variant",
                choices=["paper", "released"],
                help="same as --variant",
            )
            p.add_argument(
                "--loss",
                choices=["weighted", "log", "mse", "weighted_norm"],
                help="weighted = Eq. 12 importance weights (paper variant's default), log = Eq. "
                "13, mse = plain, weighted_norm = the authors' code: sum of m_i |dF_i| (released "
                "variant's default)",
            )
            p.add_argument("--lambda1", type=float, help="λ1 of Eq. 12, Å² (default 10)")
            p.add_argument("--lambda2", type=float, help="λ2 of Eqs. 12-13, Å² (default 1)")
            p.add_argument(
                "--attention-radius",
                type=float,
                help="Å: each atom attends only to atoms this close (Table 2 ablation; default all)",
            )
        else:
            p.add_argument(
                "--arch",
                choices=["mlp_residual", "mlp", "decoder", "paper", "released"],
                help="energy network of the paper variant (default mlp_residual, the paper's "
                "choice; paper = mlp_residual), or released = the authors' code (= --variant released)",
            )
            p.add_argument(
                "--max-atoms", type=int, help="pad structures to this many atoms (default 220)"
            )
        _add_nproc(p)
        p.set_defaults(func=cmd_train_adapt, kind=kind)


OPTIONAL = (
    "batch_size",
    "lr",
    "amp",
    "loss",
    "lambda1",
    "lambda2",
    "attention_radius",
    "arch",
    "max_atoms",
)


def _add_nproc(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--nproc",
        type=positive_int,
        default=1,
        help="data-parallel processes on this node (torchrun; one per GPU with --device cuda, "
        "gloo on CPU); the global batch stays the same. Under torchrun this is ignored "
        "(README: Multi-GPU training)",
    )


def cmd_train_adapt(args: argparse.Namespace) -> int:
    from adapt.train import train_adapt
    from baselines.paths import progress_enabled
    from benchmarks.data.dataset import Dataset
    from benchmarks.distributed_launch import joined, relaunch

    rc = relaunch(args)
    if rc is not None:
        return rc

    overrides = {k: getattr(args, k) for k in OPTIONAL if getattr(args, k, None) is not None}
    variant = args.variant or "paper"
    if args.kind == "energy" and overrides.get("arch") in ("paper", "released"):
        variant = overrides.pop("arch")
    if variant == "released":  # the authors' code has neither option
        bad = sorted(set(overrides) & {"arch", "attention_radius"})
        if bad:
            flags = ", ".join("--" + b.replace("_", "-") for b in bad)
            raise SystemExit(f"{flags}: options of the paper variant, not of --variant released")
    if args.augment:
        overrides["augment"] = True
    with joined(args.device) as dist:
        ckpt = train_adapt(
            args.kind,
            Dataset(args.data),
            args.out / args.kind,
            preset=args.preset,
            epochs=args.epochs,
            device=args.device,
            seed=args.seed,
            variant=variant,
            progress=progress_enabled(),
            dist=dist,
            **overrides,
        )
    if dist.is_main:
        print(f"ADAPT {args.kind} checkpoint: {ckpt}  (use it as adapt:{args.out})")
    return 0


def _register_plus(train_sub: argparse._SubParsersAction) -> None:
    p = train_sub.add_parser(
        "adapt+",
        help="train ADAPT+ (periodic, angular, size-extensive attention force field)",
        description=(
            "Train ADAPT+ (adapt.plus) on DIR's train split, validating on its val split every "
            "epoch (EMA weights). RUN_DIR gets model.safetensors + checkpoint.json (the best "
            "epoch), metrics.jsonl and last/ (resume state); rerunning resumes. Load it as "
            "adapt+:RUN_DIR. Units: Å, eV, eV/Å."
        ),
    )
    p.add_argument("--data", required=True, type=Path, help="dataset directory")
    p.add_argument("--out", required=True, type=Path, help="run directory")
    p.add_argument("--preset", default="tiny", choices=["tiny", "small"], help="default tiny")
    p.add_argument(
        "--forces",
        choices=["direct", "conservative"],
        help="conservative: F = -dE/dr (default); direct: equivariant pair head (faster)",
    )
    p.add_argument("--epochs", type=int, help="epochs (default: the preset's)")
    p.add_argument("--lr", type=float, help="AdamW learning rate (default: the preset's)")
    p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (default cpu)")
    p.add_argument("--seed", type=int, default=0, help="default 0")
    p.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="any adapt.plus config field, e.g. l_max=0 loss=mse (JSON values)",
    )
    _add_nproc(p)
    p.set_defaults(func=cmd_train_plus)


def cmd_train_plus(args: argparse.Namespace) -> int:
    import json

    from baselines.adapt_plus import train
    from baselines.paths import progress_enabled
    from benchmarks.data.dataset import Dataset
    from benchmarks.distributed_launch import joined, relaunch

    rc = relaunch(args)
    if rc is not None:
        return rc
    options = {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set {item!r}: expected NAME=VALUE")
        try:
            options[name] = json.loads(value)
        except json.JSONDecodeError:
            options[name] = value
    for name in ("forces", "lr"):
        if getattr(args, name) is not None:
            options[name] = getattr(args, name)
    with joined(args.device) as dist:
        out = train(
            Dataset(args.data),
            args.out,
            preset=args.preset,
            epochs=args.epochs,
            device=args.device,
            seed=args.seed,
            progress=progress_enabled(),
            dist=dist,
            **options,
        )
    if dist.is_main:
        print(f"ADAPT+ run: {out}  (use it as adapt+:{out})")
    return 0


def _register_mace(train_sub: argparse._SubParsersAction) -> None:
    from baselines.mace_train import PRESETS

    p = train_sub.add_parser(
        "mace",
        help="train MACE from scratch on a dataset's train/val split",
        description="Train MACE (mace-torch's mace_run_train) from scratch on DIR's train split, "
        "selecting on its val split; writes RUN_DIR/mace.model (use it as mace:RUN_DIR/"
        "mace.model) and a sidecar mace.json. Reruns skip finished work; a larger --epochs "
        "continues. A forces-only dataset trains with energy weight 0 (the model then predicts "
        "no energy). Units: Å, eV, eV/Å.",
    )
    p.set_defaults(func=cmd_train_mace)
    p.add_argument(
        "--data", required=True, help="dataset directory (its train/val splits are used)"
    )
    p.add_argument("--out", required=True, help="run directory for the model, logs and checkpoints")
    p.add_argument(
        "--preset",
        choices=sorted(PRESETS),
        default="tiny",
        help="tiny: 16 channels, max_L 1, correlation 2, 15 epochs, <=300 train and <=100 "
        "validation frames (tests, CPU minutes, under-trained); cpu: 32 channels, max_L 1, "
        "r_max 3.5 Å, whole train split, 10 epochs with EMA and a high-energy-weight stage two "
        "(the quick suite's MACE, ~4 min on 2 cores); paper: the ADAPT paper's MACE, 256 "
        "channels, max_L 2, correlation 3, 300 epochs (GPU)",
    )
    p.add_argument(
        "--epochs",
        type=positive_int,
        default=None,
        help="epochs, >= 1 (default: the preset's, tiny 15, paper 300)",
    )
    p.add_argument(
        "--device", default="cpu", type=device, help="cpu | cuda | cuda:N (default: cpu)"
    )
    p.add_argument("--seed", type=int, default=0, help="MACE's --seed (default: %(default)s)")


def cmd_train_mace(args: argparse.Namespace) -> int:
    from baselines.mace_train import train_mace
    from benchmarks.data.dataset import Dataset

    path = train_mace(
        Dataset(args.data), args.out, args.preset, args.epochs, args.device, args.seed
    )
    print(f"mace:{path}")
    return 0
