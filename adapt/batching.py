"""Ragged structures -> padded tensors. :func:`pad` is the one function in adapt-bench that pads.

Mask convention: ``valid[b, i]`` is True for a real atom and False for a padding row (the
opposite of ``nn.MultiheadAttention``'s ``key_padding_mask``; the same as the boolean
``attn_mask`` of ``F.scaled_dot_product_attention``, where True means "may attend").
Padding rows are zeros, as in the paper ("dummy atoms where all values are 0").
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def pad(
    arrays: Sequence[np.ndarray | torch.Tensor],
    pad_to: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Stack per-structure arrays of shape (n_i, *F) into (B, T, *F) with zero padding.

    T = ``pad_to`` or max n_i (``pad_to`` smaller than a structure is a ValueError).
    Returns (padded (B, T, *F), valid (B, T) bool).
    """
    if not len(arrays):
        raise ValueError("nothing to pad: empty batch")
    tensors = [torch.as_tensor(np.asarray(a) if not torch.is_tensor(a) else a) for a in arrays]
    sizes = [t.shape[0] for t in tensors]
    longest = max(sizes)
    T = longest if pad_to is None else int(pad_to)
    if longest > T:
        raise ValueError(f"a structure has {longest} atoms, more than the padded length {T}")
    feat = tensors[0].shape[1:]
    out = torch.zeros((len(tensors), T, *feat), dtype=dtype)
    valid = torch.zeros((len(tensors), T), dtype=torch.bool)
    for b, t in enumerate(tensors):
        if t.shape[1:] != feat:
            raise ValueError(
                f"structure {b} has feature shape {tuple(t.shape[1:])}, expected {tuple(feat)}"
            )
        out[b, : sizes[b]] = t.to(dtype)
        valid[b, : sizes[b]] = True
    return out, valid


def unpad(padded: torch.Tensor, valid: torch.Tensor) -> list[torch.Tensor]:
    """Inverse of :func:`pad`: the real rows of each structure."""
    return [padded[b, valid[b]] for b in range(padded.shape[0])]


def make_batches(
    sizes: Sequence[int],
    batch_size: int,
    rng: np.random.Generator | None = None,
    bucket: bool = True,
) -> list[np.ndarray]:
    """Index batches over structures of the given atom counts.

    With ``rng`` the order is shuffled (training); without, it is deterministic (inference).
    ``bucket`` groups structures of similar size so a batch wastes little padding; batch order
    is shuffled again afterwards so sizes do not come in a fixed sequence.
    """
    sizes = np.asarray(sizes)
    order = rng.permutation(len(sizes)) if rng is not None else np.arange(len(sizes))
    if bucket:
        order = order[np.argsort(sizes[order], kind="stable")]
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None and bucket:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches
