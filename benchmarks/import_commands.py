"""`adapt-bench import-model adapt`: the ADAPT authors' released weights -> a run dir
(adapt.released_import.import_released). Parses, then calls; nothing heavy at module level.
"""

from __future__ import annotations

import argparse
from pathlib import Path


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
