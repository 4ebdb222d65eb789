"""Measure ADAPT training frames/s and inference structures/s on a 216-atom Si cell.

    .venv/bin/python scripts/adapt_speed.py [--presets tiny small] [--n-atoms 216]
        [--batch-size 8] [--steps 5] [--device cpu] [--threads N] [--kind force|energy]

Fresh (untrained) models; see adapt.train.measure_speed for what is timed. Prints one JSON line
per preset. Numbers on a shared CPU are noisy: rerun when comparing.
"""

from __future__ import annotations

import argparse
import json
import platform


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--presets", nargs="+", default=["tiny", "small"])
    p.add_argument("--kind", default="force", choices=["force", "energy"])
    p.add_argument("--n-atoms", type=int, default=216)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = p.parse_args(argv)

    import torch

    from adapt.train import measure_speed

    if args.threads:
        torch.set_num_threads(args.threads)
    for preset in args.presets:
        row = measure_speed(
            preset,
            n_atoms=args.n_atoms,
            kind=args.kind,
            batch_size=args.batch_size,
            steps=args.steps,
            device=args.device,
        )
        row["cpu"] = platform.processor() or platform.machine()
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
