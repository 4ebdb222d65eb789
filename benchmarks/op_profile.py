"""Where a model's time goes: torch.profiler self CPU time by kind of operator.

Kinds: GEMM (mm, addmm, bmm), attention (fused SDPA kernels), LayerNorm, optimiser (Adam's
element-wise updates), element-wise and other (ReLU, adds, dropout, copies, softmax, ...). GEMMs
are compute-bound and run near the GEMM peak; the other kinds are memory-bound and do few or no
counted FLOPs, so the share of time they take bounds the % of the GEMM peak a model can reach:
with every GEMM at the peak P and the rest unchanged, a call of F FLOPs (F_gemm of them in GEMMs)
taking t seconds could at best reach F / (F_gemm / P + (1 - gemm share) t).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

KINDS = (
    ("gemm", ("aten::mm", "aten::addmm", "aten::bmm")),
    ("attention", ("scaled_dot_product",)),
    ("layernorm", ("layer_norm",)),
    ("optimizer", ("lerp", "addcdiv", "addcmul", "_foreach")),
)
GEMM_OPS = ("aten.mm", "aten.addmm", "aten.bmm")


def kind_of(name: str) -> str:
    for kind, keys in KINDS:
        if any(k in name for k in keys):
            return kind
    return "elementwise"


def time_shares(fn: Callable[[], object]) -> dict[str, float]:
    """{kind: share of self CPU time} of one call of ``fn`` (shares sum to 1)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    ms: dict[str, float] = defaultdict(float)
    for evt in prof.key_averages():
        if evt.key.startswith(("Optimizer.", "ProfilerStep", "autograd::engine")):
            continue  # ranges around other ops: their children are counted
        ms[kind_of(evt.key)] += evt.self_cpu_time_total
    total = sum(ms.values()) or 1.0
    return {k: ms.get(k, 0.0) / total for k, _ in (*KINDS, ("elementwise", ()))}


def gemm_bound_ceiling(flops: float, gemm_flops: float, seconds: float, share_gemm: float,
                       peak_flops: float) -> float:  # fmt: skip
    """Best achievable fraction of ``peak_flops`` if every GEMM ran at the peak (see above)."""
    best_s = gemm_flops / peak_flops + (1.0 - share_gemm) * seconds
    return flops / best_s / peak_flops if best_s > 0 else float("nan")
