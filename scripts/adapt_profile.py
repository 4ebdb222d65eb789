"""Where ADAPT's time goes: torch.profiler breakdown of one forward (inference) and one training
step of a random-weight ADAPT force model on 216-atom Si cells, by kind of operator.

    .venv/bin/python scripts/adapt_profile.py [--preset small] [--batch 8] [--threads 1]

Prints, per phase, the share of self CPU time of GEMMs (mm/addmm/bmm), fused attention (SDPA),
LayerNorm, element-wise ops (ReLU, add, dropout, copies) and the optimiser
(benchmarks/op_profile.py). The speed suite (`adapt-bench run --suite speed`) reports the same
breakdown beside the achieved % of the GEMM peak and the ceiling it implies.
"""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="small")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--atoms", type=int, default=216)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    import torch

    from benchmarks.op_profile import time_shares
    from benchmarks.speed_models import adapt_force
    from benchmarks.tasks.speed import defect_frames

    torch.set_num_threads(args.threads)
    bench = adapt_force(args.preset, "cpu")
    batch = bench.prepare(defect_frames(args.atoms, args.batch, seed=0))
    for phase, fn in (("inference", bench.infer), ("training step", bench.train)):
        fn(batch)
        fn(batch)
        shares = time_shares(lambda fn=fn: fn(batch))
        print(f"ADAPT {args.preset}, {phase}, batch {args.batch} x {args.atoms} atoms, "
              f"{args.threads} thread(s), share of self CPU time:")  # fmt: skip
        for kind, share in sorted(shares.items(), key=lambda kv: -kv[1]):
            print(f"  {kind:<12} {100 * share:5.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
