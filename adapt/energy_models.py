"""ADAPT energy networks (paper Sec. 2.2, App. E): tokens -> one total energy per structure.

All three take raw tokens (B, T, 12) with T <= ``max_atoms`` and a valid mask (B, T), and return
energies (B,) in eV. A structure with more atoms than ``max_atoms`` raises
:class:`OversizeStructureError` (never truncation).

    mlp_residual (primary, Sec. 2.2.1): x = the structure's tokens zero-padded to max_atoms rows
        and flattened (B, max_atoms*12);
            t_0 = σ(W_0 x + b_0);          h_0 = LN(P_0 t_0 + t_0)
            t_i = σ(W_i h_{i-1} + b_i);    h_i = LN(P_i t_i + t_i)      i = 1..n_blocks-1
            y   = W_k h_k + b_k
        dropout after each ReLU σ; P_i have no bias.
    mlp (baseline): the same flattened input through n_blocks ReLU layers and a linear output.
    decoder (App. E): M = encoder(X) (the force model's embedding + encoder blocks), then a
        learned query token q (1, d_model):
            h_0 = LN(q + Attn(q, M, M));  h_1 = LN(h_0 + MLP(h_0));  y = W h_1 + b
        with dropout after Attn and MLP and padding keys masked. It needs no padding to
        max_atoms but keeps the same size limit.

Targets are standardised: the network predicts (E - n_atoms * e0) / e_scale, with e0 the mean
energy per atom and e_scale the spread of the residual on the training split; both are buffers
saved with the weights. The MLPs see atoms in the order given (they are not permutation
invariant, as in the paper).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from adapt.config import EnergyModelConfig
from adapt.force_model import MultiHeadAttention, Normaliser, TokenEncoder


class OversizeStructureError(ValueError):
    """A structure with more atoms than the energy model's max_atoms."""


class EnergyModel(nn.Module):
    """Common part: normalisation, size check, target de-standardisation."""

    def __init__(self, cfg: EnergyModelConfig):
        super().__init__()
        self.cfg = cfg
        self.norm = Normaliser(cfg.n_features)
        # float64: n_atoms * e0 is ~1e3 eV, where float32 would lose ~1e-4 eV
        self.register_buffer("e0", torch.zeros((), dtype=torch.float64))  # eV per atom
        self.register_buffer("e_scale", torch.ones((), dtype=torch.float64))  # eV

    def check_size(self, valid: torch.Tensor) -> None:
        n = int(valid.sum(dim=1).max()) if valid.numel() else 0
        if n > self.cfg.max_atoms:  # (pad() puts real rows first, so n <= max_atoms suffices)
            raise OversizeStructureError(
                f"structure has {n} atoms, more than this energy model's max_atoms="
                f"{self.cfg.max_atoms}; retrain with a larger --max-atoms (no truncation is done)"
            )

    def network(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward_standardised(self, tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """(B,) network output in standardised units (what the loss sees)."""
        self.check_size(valid)
        tokens, valid = tokens[:, : self.cfg.max_atoms], valid[:, : self.cfg.max_atoms]
        x = self.norm(tokens, valid)  # (B, T, 12), padding rows zero
        return self.network(x, valid)

    def forward(self, tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        y = self.forward_standardised(tokens, valid).double()
        n_atoms = valid[:, : self.cfg.max_atoms].sum(dim=1).double()
        return y * self.e_scale + n_atoms * self.e0  # (B,) eV, float64


def _flat_padded(x: torch.Tensor, max_atoms: int) -> torch.Tensor:
    # (B, T, F) -> (B, max_atoms * F), zero rows appended
    x = F.pad(x, (0, 0, 0, max_atoms - x.shape[1]))
    return x.reshape(x.shape[0], -1)


class MLPResidualEnergy(EnergyModel):
    def __init__(self, cfg: EnergyModelConfig):
        super().__init__(cfg)
        n_in = cfg.max_atoms * cfg.n_features
        widths = [n_in] + [cfg.hidden] * cfg.n_blocks
        self.w = nn.ModuleList(nn.Linear(widths[i], widths[i + 1]) for i in range(cfg.n_blocks))
        self.p = nn.ModuleList(
            nn.Linear(cfg.hidden, cfg.hidden, bias=False) for _ in range(cfg.n_blocks)
        )
        self.ln = nn.ModuleList(nn.LayerNorm(cfg.hidden) for _ in range(cfg.n_blocks))
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.hidden, 1)

    def network(self, x, valid):
        h = _flat_padded(x, self.cfg.max_atoms)  # (B, max_atoms * 12)
        for w, p, ln in zip(self.w, self.p, self.ln, strict=True):
            t = self.drop(F.relu(w(h)))  # (B, hidden)
            h = ln(p(t) + t)
        return self.out(h).squeeze(-1)  # (B,)


class MLPEnergy(EnergyModel):
    def __init__(self, cfg: EnergyModelConfig):
        super().__init__(cfg)
        layers: list[nn.Module] = []
        width = cfg.max_atoms * cfg.n_features
        for _ in range(cfg.n_blocks):
            layers += [nn.Linear(width, cfg.hidden), nn.ReLU(), nn.Dropout(cfg.dropout)]
            width = cfg.hidden
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def network(self, x, valid):
        return self.mlp(_flat_padded(x, self.cfg.max_atoms)).squeeze(-1)  # (B,)


class DecoderEnergy(EnergyModel):
    def __init__(self, cfg: EnergyModelConfig):
        super().__init__(cfg)
        self.encoder = TokenEncoder(cfg, (cfg.d_model,))
        self.query = nn.Parameter(torch.randn(1, 1, cfg.d_model) * 0.02)  # q, the "dummy" token
        self.attn = MultiHeadAttention(cfg.d_model, cfg.n_heads)
        self.ln0 = nn.LayerNorm(cfg.d_model)
        self.mlp = nn.Sequential(
            nn.Linear(cfg.d_model, cfg.d_ff), nn.ReLU(), nn.Linear(cfg.d_ff, cfg.d_model)
        )
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.drop = nn.Dropout(cfg.dropout)
        self.out = nn.Linear(cfg.d_model, 1)

    def network(self, x, valid):
        keys = valid[:, None, None, :]  # (B, 1, 1, T)
        m = self.encoder(x, keys)  # (B, T, d_model)
        q = self.query.expand(x.shape[0], -1, -1)  # (B, 1, d_model)
        h0 = self.ln0(q + self.drop(self.attn(q, m, keys)))
        h1 = self.ln1(h0 + self.drop(self.mlp(h0)))
        return self.out(h1)[:, 0, 0]  # (B,)


ARCHS = {"mlp_residual": MLPResidualEnergy, "mlp": MLPEnergy, "decoder": DecoderEnergy}


def build_energy_model(cfg: EnergyModelConfig) -> EnergyModel:
    return ARCHS[cfg.arch](cfg)
