"""`adapt-bench train adapt-force | adapt-energy` (-> adapt.train.train_adapt) and
`adapt-bench import-model adapt` (-> adapt.released_import.import_released): parse, then call.

RUN_DIR/force and RUN_DIR/energy are the checkpoint directories, so ``adapt:RUN_DIR`` loads both.
Nothing heavy is imported at module level.
"""

from __future__ import annotations

import argparse
from pathlib import Path

KINDS = {"adapt-force": "force", "adapt-energy": "energy"}


def register_train(train_sub: argparse._SubParsersAction) -> None:
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
        p.add_argument("--epochs", type=int, help="epochs (default: the preset's)")
        p.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N (default cpu)")
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
                choices=["weighted", "log", "mse"],
                help="weighted = Eq. 12 importance weights (default), log = Eq. 13, mse = plain",
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


def cmd_train_adapt(args: argparse.Namespace) -> int:
    from adapt.train import train_adapt

    overrides = {k: getattr(args, k) for k in OPTIONAL if getattr(args, k, None) is not None}
    variant = args.variant or "paper"
    if args.kind == "energy" and overrides.get("arch") in ("paper", "released"):
        variant = overrides.pop("arch")
    if variant == "released":
        overrides.pop("arch", None)
        bad = sorted(set(overrides) & {"loss", "lambda1", "lambda2", "attention_radius"})
        if args.kind == "energy" and bad:
            raise SystemExit(f"--variant released does not take {bad}")
    if args.augment:
        overrides["augment"] = True
    ckpt = train_adapt(
        args.kind,
        args.data,
        args.out / args.kind,
        preset=args.preset,
        epochs=args.epochs,
        device=args.device,
        seed=args.seed,
        variant=variant,
        **overrides,
    )
    print(f"ADAPT {args.kind} checkpoint: {ckpt}  (use it as adapt:{args.out})")
    return 0


def register_import(sub: argparse._SubParsersAction) -> None:
    """`adapt-bench import-model adapt --force F.pth [--energy E.pth] --norm-stats S.pt --out D`."""
    p = sub.add_parser(
        "import-model",
        help="import the ADAPT authors' released weights as a run dir (adapt:RUN_DIR)",
        description=(
            "Read the ADAPT authors' state dicts (saved_models/force_baseline.pth, "
            "energy_baseline.pth of github.com/EvanDramko/ADAPT_Released) and their "
            "utils/norm_stats.pt with torch.load(weights_only=True) (no code is unpickled), infer "
            "the sizes from the tensor shapes and write RUN_DIR/force and RUN_DIR/energy as "
            "safetensors + JSON checkpoints of the 'released' variant. adapt:RUN_DIR then "
            "predicts what their inference code predicts. Bad files: one line naming file and "
            "key, exit status 2."
        ),
    )
    p.add_argument("family", choices=["adapt"], help="model family (adapt)")
    p.add_argument("--force", type=Path, help="their force model state dict (.pth)")
    p.add_argument("--energy", type=Path, help="their energy model state dict (.pth)")
    p.add_argument("--norm-stats", required=True, type=Path, help="their norm_stats.pt")
    p.add_argument(
        "--energy-stats",
        type=Path,
        help="a separate file with y_mean_energy / y_std_energy (default: --norm-stats)",
    )
    p.add_argument("--out", required=True, type=Path, help="run directory to write")
    p.add_argument(
        "--heads",
        type=int,
        default=8,
        help="attention heads of the force model (not stored in the weights; theirs: 8)",
    )
    p.add_argument(
        "--max-atoms", type=int, default=220, help="energy model's atom slots (theirs: 220)"
    )
    p.add_argument(
        "--element-rows",
        type=Path,
        help="one of their token files (.pt, 12/13 columns): take the 9 element descriptors "
        "from it instead of our pymatgen table",
    )
    p.add_argument(
        "--extra-properties",
        default="",
        help="comma-separated per-atom properties after x,y,z,Z (their extxyz layout)",
    )
    p.add_argument(
        "--level-of-theory", default="unknown", help="labels' level of theory (recorded)"
    )
    p.set_defaults(func=cmd_import_model)


def cmd_import_model(args: argparse.Namespace) -> int:
    import sys

    from adapt.released_import import ImportModelError, import_released

    extra = tuple(x for x in args.extra_properties.split(",") if x)
    try:
        run = import_released(
            args.out,
            args.norm_stats,
            force=args.force,
            energy=args.energy,
            energy_stats=args.energy_stats,
            element_rows=args.element_rows,
            level_of_theory=args.level_of_theory,
            n_heads=args.heads,
            max_atoms=args.max_atoms,
            extra_properties=extra,
            token_layout="z" if extra else None,
        )
    except ImportModelError as exc:
        print(f"import-model: {exc}", file=sys.stderr)
        return 2
    print(f"ADAPT (released) run dir: {run}  (use it as adapt:{run})")
    return 0
