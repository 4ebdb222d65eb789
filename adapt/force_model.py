"""The ADAPT force Transformer, exactly as paper Eqs. 1-11.

    tokens (B, T, 12)  --normalise-->  Eq. 1 embedding MLP (ReLU) -> (B, T, d_model)
    k encoder blocks, each (post-LN, Eqs. 2-4, with dropout on the Attn and FFN outputs):
        H1    = LN_1(X + Dropout(Attn(X)))
        H2    = Dropout(FFN(LN_2(H1)))        # Eq. 3 applies LN to H1 *again*, as printed
        X_out = LN_3(H2 + H1)
    Eq. 11 linear projection (no bias) -> (B, T, 3) forces, eV/Å

Eq. 3 as printed normalises H1 a second time, although H1 is already the output of a LayerNorm;
we implement it as written (three LayerNorms per block, each with its own γ, β). Attention
follows Eqs. 7-9: per-head Q/K/V projections and the output projection W_O have no bias; the
softmax runs through ``torch.nn.functional.scaled_dot_product_attention`` (fused kernels) with a
boolean mask (True = may attend). The FFN is Eq. 10 (ReLU, with biases).

Masks (App. D): padding keys are never visible, so padding rows cannot change a real atom's
output. With ``attention_radius`` r (Å) a real atom only sees real atoms within raw Cartesian
distance r (no minimum image: the paper computes it "between raw coordinates") and always
itself, so no query row is ever fully masked (which would give NaN).

Input normalisation (per-feature mean/std of the training tokens) and the output force scale
are buffers of the model, so they are saved and loaded with its weights.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from adapt.config import ForceModelConfig


def embedding_mlp(n_in: int, hidden: tuple[int, ...], d_out: int) -> nn.Sequential:
    """Eq. 1: W_k σ(... σ(W_0 x + b_0) ...) + b_k, applied to each token independently."""
    layers: list[nn.Module] = []
    width = n_in
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, d_out))
    return nn.Sequential(*layers)


class MultiHeadAttention(nn.Module):
    """Eqs. 7-9 through F.scaled_dot_product_attention; query and key/value inputs may differ."""

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        self.n_heads = n_heads
        self.d_k = d_model // n_heads
        self.w_q = nn.Linear(d_model, d_model, bias=False)  # the h heads' W_Q_i side by side
        self.w_k = nn.Linear(d_model, d_model, bias=False)
        self.w_v = nn.Linear(d_model, d_model, bias=False)
        self.w_o = nn.Linear(d_model, d_model, bias=False)  # Eq. 9

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        B, T, _ = x.shape
        return x.view(B, T, self.n_heads, self.d_k).transpose(1, 2)  # (B, h, T, d_k)

    def forward(
        self, q_in: torch.Tensor, kv_in: torch.Tensor, mask: torch.Tensor | None
    ) -> torch.Tensor:
        # q_in (B, Tq, d), kv_in (B, Tk, d), mask bool broadcastable to (B, h, Tq, Tk) or None
        q, k, v = (
            self._heads(self.w_q(q_in)),
            self._heads(self.w_k(kv_in)),
            self._heads(self.w_v(kv_in)),
        )
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # (B, h, Tq, d_k)
        B, _, Tq, _ = out.shape
        return self.w_o(out.transpose(1, 2).reshape(B, Tq, self.n_heads * self.d_k))


class EncoderBlock(nn.Module):
    """Eqs. 2-4 (post-LN), dropout on the Attn and FFN outputs."""

    def __init__(self, d_model: int, d_ff: int, n_heads: int, dropout: float):
        super().__init__()
        self.attn = MultiHeadAttention(d_model, n_heads)
        self.ln1 = nn.LayerNorm(d_model)
        self.ln2 = nn.LayerNorm(d_model)
        self.ln3 = nn.LayerNorm(d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model))
        self.drop1 = nn.Dropout(dropout)
        self.drop2 = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h1 = self.ln1(x + self.drop1(self.attn(x, x, mask)))  # Eq. 2
        h2 = self.drop2(self.ffn(self.ln2(h1)))  # Eq. 3
        return self.ln3(h2 + h1)  # Eq. 4


class TokenEncoder(nn.Module):
    """Embedding MLP + k encoder blocks: normalised tokens (B, T, F) -> (B, T, d_model).

    ``cfg``: any config with n_features, d_model, d_ff, n_layers, n_heads, dropout (the force
    model's or the decoder energy model's); ``embed_hidden``: the embedding MLP's hidden widths.
    """

    def __init__(self, cfg, embed_hidden: tuple[int, ...]):
        super().__init__()
        self.embed = embedding_mlp(cfg.n_features, tuple(embed_hidden), cfg.d_model)
        self.blocks = nn.ModuleList(
            EncoderBlock(cfg.d_model, cfg.d_ff, cfg.n_heads, cfg.dropout)
            for _ in range(cfg.n_layers)
        )

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.embed(x)  # (B, T, d_model)
        for block in self.blocks:
            h = block(h, mask)
        return h


def attention_mask(
    positions: torch.Tensor, valid: torch.Tensor, radius: float | None = None
) -> torch.Tensor:
    """Boolean SDPA mask (True = may attend).

    positions (B, T, 3) Å raw coordinates, valid (B, T). Without radius: (B, 1, 1, T) key padding
    mask. With radius: (B, 1, T, T), key j visible to query i iff j is real and |r_i - r_j| <= r,
    or j == i (so no row is empty).
    """
    keys = valid[:, None, None, :]  # (B, 1, 1, T)
    if radius is None:
        return keys
    dist = torch.cdist(positions.float(), positions.float())  # (B, T, T)
    T = positions.shape[1]
    eye = torch.eye(T, dtype=torch.bool, device=positions.device)
    return (keys & (dist <= radius)[:, None]) | eye[None, None]


def sdpa_mask(
    positions: torch.Tensor, valid: torch.Tensor, radius: float | None = None
) -> torch.Tensor | None:
    """The mask the model hands to SDPA: :func:`attention_mask`, or None when it would allow
    every pair (no radius, no padding row), so SDPA runs its unmasked fused kernel. The same
    attention weights either way (tests/test_adapt_fast_paths.py); a speed switch only."""
    if radius is None and bool(valid.all()):
        return None
    return attention_mask(positions, valid, radius)


def allowed_fraction(positions: torch.Tensor, valid: torch.Tensor, radius: float | None) -> float:
    """Fraction of real atom pairs (i, j), self pairs included, that the radius mask allows."""
    if radius is None:
        return 1.0
    mask = attention_mask(positions, valid, radius)[:, 0]  # (B, T, T)
    pair = valid[:, :, None] & valid[:, None, :]
    return float((mask & pair).sum() / pair.sum())


class Normaliser(nn.Module):
    """Per-feature (x - mean) / std for real tokens; padding rows stay exactly zero."""

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("token_mean", torch.zeros(n_features))
        self.register_buffer("token_std", torch.ones(n_features))

    def forward(self, tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        x = (tokens - self.token_mean) / self.token_std
        return x * valid[..., None].to(x.dtype)

    def set_stats(self, mean, std) -> None:
        self.token_mean.copy_(torch.as_tensor(mean, dtype=torch.float32))
        self.token_std.copy_(torch.as_tensor(std, dtype=torch.float32))


class ADAPTForceModel(nn.Module):
    """tokens (B, T, 12) raw (Å and element descriptors), valid (B, T) -> forces (B, T, 3) eV/Å."""

    def __init__(self, cfg: ForceModelConfig):
        super().__init__()
        self.cfg = cfg
        self.norm = Normaliser(cfg.n_features)
        self.encoder = TokenEncoder(cfg, cfg.embed_hidden)
        self.w_out = nn.Linear(cfg.d_model, 3, bias=False)  # Eq. 11
        self.register_buffer("force_scale", torch.ones(()))  # eV/Å per unit of network output

    def forward(self, tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        mask = sdpa_mask(tokens[..., :3], valid, self.cfg.attention_radius)
        x = self.norm(tokens, valid)  # (B, T, 12)
        h = self.encoder(x, mask)  # (B, T, d_model)
        y = self.w_out(h)  # (B, T, 3), units of force_scale
        return y * self.force_scale * valid[..., None].to(y.dtype)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
