"""FLOP counts of the ADAPT networks: analytic for the force Transformer, counted for anything.

One FLOP is one floating-point multiply or add (a multiply-add is 2 FLOPs). Only the matrix
products are counted (Linear layers, QK^T and attention x V): LayerNorm, softmax, ReLU, dropout
and the optimiser's element-wise updates are left out, as is usual for "model FLOPs"; they cost
time but few FLOPs, which is why a Transformer cannot run at 100 % of the GEMM peak.

:func:`force_forward_flops` is the closed form for one forward pass of
:class:`adapt.force_model.ADAPTForceModel` on T real atoms (full attention; an attention radius
masks pairs but the dense kernel still computes them)::

    embed  2 T (12 h_1 + h_1 h_2 + ... + h_k d)
    layer  8 T d^2 (W_Q, W_K, W_V, W_O) + 4 T^2 d (QK^T, AV) + 4 T d d_ff (FFN)   x n_layers
    head   6 T d

:func:`counted_flops` runs a callable under ``torch.utils.flop_counter.FlopCounterMode`` with the
CPU fused-attention kernels added (torch 2.13 counts SDPA only for its CUDA kernels), so it counts
forward + backward of any model; tests/test_adapt_fast_paths.py checks that both agree.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count


def force_forward_flops(cfg, n_atoms: int) -> int:
    """FLOPs of one forward pass of the force model (``cfg``: ForceModelConfig) on ``n_atoms``."""
    T, d = int(n_atoms), cfg.d_model
    widths = (cfg.n_features, *cfg.embed_hidden, d)
    embed = 2 * T * sum(a * b for a, b in zip(widths[:-1], widths[1:], strict=True))
    layer = 8 * T * d * d + 4 * T * T * d + 4 * T * d * cfg.d_ff
    return embed + cfg.n_layers * layer + 2 * T * d * 3


def _cpu_sdpa(q, k, v, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(q, k, v)


def _cpu_sdpa_backward(grad_out, q, k, v, *args, out_shape=None, **kwargs) -> int:
    return sdpa_backward_flop_count(grad_out, q, k, v)


def _custom_mapping() -> dict:
    aten = torch.ops.aten
    return {
        aten._scaled_dot_product_flash_attention_for_cpu: _cpu_sdpa,
        aten._scaled_dot_product_flash_attention_for_cpu_backward: _cpu_sdpa_backward,
    }


def counted_flops(fn: Callable[[], object]) -> tuple[int, object]:
    """(FLOPs of the matrix products ``fn()`` ran, its return value), CPU SDPA included."""
    with FlopCounterMode(display=False, custom_mapping=_custom_mapping()) as counter:
        result = fn()
    return int(counter.get_total_flops()), result


def counted_flops_by_op(fn: Callable[[], object]) -> dict[str, int]:
    """{aten op name: FLOPs} of the matrix products ``fn()`` ran (CPU SDPA included)."""
    with FlopCounterMode(display=False, custom_mapping=_custom_mapping()) as counter:
        fn()
    return {str(op): int(n) for op, n in counter.get_flop_counts().get("Global", {}).items()}
