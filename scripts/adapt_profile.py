"""Where ADAPT's time goes: torch.profiler breakdown of one forward (inference) and one training
step of a random-weight ADAPT force model on 216-atom Si cells, by kind of operator.

    .venv/bin/python scripts/adapt_profile.py [--preset small] [--batch 8] [--threads 1]

Prints, per phase, the self CPU time of GEMMs (mm/addmm/bmm), fused attention (SDPA), LayerNorm,
element-wise ops (ReLU, add, dropout, copies) and the optimiser, with the GEMMs' share: the
ceiling of "% of GEMM peak" is about that share (the other kinds are memory-bound and do few
FLOPs). The speed suite (`adapt-bench run --suite speed`) measures the achieved % itself.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

KINDS = (
    ("GEMM", ("aten::mm", "aten::addmm", "aten::bmm")),
    ("attention (SDPA)", ("scaled_dot_product",)),
    ("LayerNorm", ("layer_norm",)),
    ("optimiser", ("Optimizer", "lerp", "addcdiv", "addcmul", "sqrt", "_foreach")),
)


def kind_of(name: str) -> str:
    for kind, keys in KINDS:
        if any(k in name for k in keys):
            return kind
    return "element-wise and other"


def breakdown(prof) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for evt in prof.key_averages():
        if evt.key.startswith("Optimizer.") or evt.key.startswith("ProfilerStep"):
            continue  # wrapper ranges: their children are counted
        out[kind_of(evt.key)] += evt.self_cpu_time_total / 1e3  # ms
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="small")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--atoms", type=int, default=216)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)

    import torch
    from torch.profiler import ProfilerActivity, profile

    from benchmarks.speed_models import adapt_force
    from benchmarks.tasks.speed import defect_frames

    torch.set_num_threads(args.threads)
    bench = adapt_force(args.preset, "cpu")
    batch = bench.prepare(defect_frames(args.atoms, args.batch, seed=0))
    for phase, fn in (("inference", bench.infer), ("training step", bench.train)):
        fn(batch)
        fn(batch)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn(batch)
        parts = breakdown(prof)
        total = sum(parts.values())
        print(f"ADAPT {args.preset}, {phase}, batch {args.batch} x {args.atoms} atoms, "
              f"{args.threads} thread(s): {total:.1f} ms self CPU time")  # fmt: skip
        for kind, ms in sorted(parts.items(), key=lambda kv: -kv[1]):
            print(f"  {kind:<24} {ms:8.1f} ms  {100 * ms / total:5.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
