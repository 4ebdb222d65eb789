"""The ``released`` ADAPT variant: the authors' published networks, module for module.

Parameter names equal the keys of the authors' state dicts (``torch.save(model.state_dict())``
of ``MLFF_arch.encoderBase.TransformerEncoder`` and ``MLFF_arch.energyMLFF.nrgMLP``), so their
``.pth`` files load with ``strict=True`` once our normalisation buffers (``x_mean``, ``x_std``,
``y_mean``, ``y_std``, names of our own) are added. See :mod:`adapt.released_config` for the
source commits and :mod:`adapt.released_import` for reading their files.

Force model, tokens (B, T, F) raw -> forces (B, T, 3) eV/Å::

    x' = (x - x_mean) / (0.3 (x_std + 1e-6))                 (real rows; padding rows 0)
    h  = LN_e(lin3(relu(lin2(relu(lin1(x'))))))  then dropout
    k times:  h = norm1(h + drop(MHA(h, h, h, key_padding_mask)))
              h = norm2(h + drop(linear2(relu(linear1(h)))))
    h  = norm(h);   y' = output_linear(h)                     (Linear(d, 3) with bias)
    F  = y' * 0.3 (y_std + 1e-6) + y_mean                     (per component; padding rows 0)

MHA is ``torch.nn.MultiheadAttention`` (batch_first, in/out projections with biases, attention
dropout = dropout). Their inference (``inference_time_calcs.Runner.getOneStepForces``) runs one
unpadded structure without a mask; batching here masks padding keys, which gives the same
numbers for the real atoms.

Energy model, tokens (B, T, F) with T <= max_atoms -> energies (B,) eV::

    X  = tokens zero-padded to max_atoms rows, THEN normalised on every row (as their
         ``Runner.getStructEnergy`` pads before ``normalize_all``: a padding row becomes
         -x_mean / (0.3 (x_std + 1e-6)), not 0)
    h  = flatten(X)                                           (B, max_atoms * F)
    each block (in -> out):  h = LN(drop(relu(fc(h))) + skip(h)),
         skip = identity when in == out, else a Linear(in, out) with bias
    y' = Linear(widths[-1], 1)(h);   E = y' * 0.3 (y_std + 1e-6) + y_mean
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from adapt.released_config import EPS, RESCALE, ReleasedEnergyConfig, ReleasedForceConfig

BUFFERS = ("x_mean", "x_std", "y_mean", "y_std")  # ours; everything else is the authors' key


class _Normalised(nn.Module):
    """Their normalisation as buffers: input (F,) and output (n_out,) mean / std."""

    def _init_stats(self, n_in: int, n_out: int) -> None:
        self.register_buffer("x_mean", torch.zeros(n_in))
        self.register_buffer("x_std", torch.ones(n_in))
        self.register_buffer("y_mean", torch.zeros(n_out))
        self.register_buffer("y_std", torch.ones(n_out))

    def set_stats(self, x_mean, x_std, y_mean, y_std) -> None:
        with torch.no_grad():
            for name, v in zip(BUFFERS, (x_mean, x_std, y_mean, y_std), strict=True):
                buf = getattr(self, name)
                t = torch.as_tensor(v, dtype=torch.float32).reshape(-1)
                if t.shape != buf.shape:
                    raise ValueError(
                        f"{name}: {tuple(t.shape)} values, expected {tuple(buf.shape)}"
                    )
                buf.copy_(t)

    def normalise(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.x_mean) / (RESCALE * (self.x_std + EPS))

    @property
    def y_scale(self) -> torch.Tensor:
        """0.3 (y_std + 1e-6): one network output unit in eV/Å (force) or eV (energy)."""
        return RESCALE * (self.y_std + EPS)


class EncoderLayer(nn.Module):
    """Their ``TransformerEncoderLayer``: post-LN, two LayerNorms."""

    def __init__(self, d_model: int, d_ff: int, dropout: float, n_heads: int):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.linear1 = nn.Linear(d_model, d_ff)
        self.linear2 = nn.Linear(d_ff, d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)

    def forward(self, h: torch.Tensor, padding: torch.Tensor) -> torch.Tensor:
        # h (B, T, d); padding (B, T) True on padding rows (nn.MultiheadAttention convention)
        a, _ = self.self_attn(h, h, h, key_padding_mask=padding, need_weights=False)
        h = self.norm1(h + self.dropout1(a))
        return self.norm2(h + self.dropout2(self.linear2(F.relu(self.linear1(h)))))


class ReleasedForceModel(_Normalised):
    """tokens (B, T, F) raw, valid (B, T) -> forces (B, T, 3) eV/Å (padding rows 0)."""

    def __init__(self, cfg: ReleasedForceConfig):
        super().__init__()
        self.cfg = cfg
        n_in = cfg.n_features
        self.lin1 = nn.Linear(n_in, cfg.embed_width)
        self.relu1 = nn.ReLU()
        self.lin2 = nn.Linear(cfg.embed_width, cfg.d_model)
        self.relu2 = nn.ReLU()
        self.lin3 = nn.Linear(cfg.d_model, cfg.d_model)
        self.embed_norm = nn.LayerNorm(cfg.d_model)
        self.embed_drop = nn.Dropout(cfg.dropout)
        self.layers = nn.ModuleList(
            EncoderLayer(cfg.d_model, cfg.d_ff, cfg.dropout, cfg.n_heads)
            for _ in range(cfg.n_layers)
        )
        self.norm = nn.LayerNorm(cfg.d_model)
        self.output_linear = nn.Linear(cfg.d_model, 3)
        self._init_stats(n_in, 3)

    @property
    def force_scale(self) -> torch.Tensor:
        """(3,) eV/Å per unit of network output (the trainer divides errors by it)."""
        return self.y_scale

    def network(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Normalised tokens (B, T, F) -> normalised forces (B, T, 3)."""
        h = self.lin3(self.relu2(self.lin2(self.relu1(self.lin1(x)))))
        h = self.embed_drop(self.embed_norm(h))
        padding = ~valid
        for layer in self.layers:
            h = layer(h, padding)
        return self.output_linear(self.norm(h))

    def forward(self, tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        m = valid[..., None]
        x = torch.where(m, self.normalise(tokens), torch.zeros_like(tokens))
        y = self.network(x, valid)  # (B, T, 3) normalised
        return torch.where(m, y * self.y_scale + self.y_mean, torch.zeros_like(y))


class ResidualLinear(nn.Module):
    """Their ``ResidualLinear``: LN(drop(relu(fc(x))) + skip(x))."""

    def __init__(self, n_in: int, n_out: int, dropout: float, use_norm: bool):
        super().__init__()
        self.fc = nn.Linear(n_in, n_out)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.skip = nn.Identity() if n_in == n_out else nn.Linear(n_in, n_out)
        self.norm = nn.LayerNorm(n_out) if use_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.drop(self.act(self.fc(x))) + self.skip(x))


class ReleasedEnergyModel(_Normalised):
    """tokens (B, T, F) raw, valid (B, T), T <= max_atoms -> energies (B,) eV (float64)."""

    def __init__(self, cfg: ReleasedEnergyConfig):
        super().__init__()
        self.cfg = cfg
        n_in = cfg.max_atoms * cfg.n_features
        layers: list[nn.Module] = [nn.Flatten()]
        if cfg.input_dropout > 0:
            layers.append(nn.Dropout(cfg.input_dropout))
        widths = (n_in, *cfg.widths)
        for a, b in zip(widths[:-1], widths[1:], strict=True):
            layers.append(ResidualLinear(a, b, cfg.dropout, cfg.use_norm))
        layers.append(nn.Linear(widths[-1], 1))
        self.model = nn.Sequential(*layers)
        self._init_stats(cfg.n_features, 1)

    def check_size(self, valid: torch.Tensor) -> None:
        from adapt.energy_models import OversizeStructureError

        n = int(valid.sum(dim=1).max()) if valid.numel() else 0
        if n > self.cfg.max_atoms:  # pad() puts real rows first, so n <= max_atoms suffices
            raise OversizeStructureError(
                f"structure has {n} atoms, more than this energy model's max_atoms="
                f"{self.cfg.max_atoms} (no truncation is done)"
            )

    def forward_standardised(self, tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """(B,) normalised energies y' (what the loss sees)."""
        self.check_size(valid)
        x = tokens[:, : self.cfg.max_atoms] * valid[:, : self.cfg.max_atoms, None].to(tokens.dtype)
        x = F.pad(x, (0, 0, 0, self.cfg.max_atoms - x.shape[1]))  # raw zero rows, then normalise
        return self.model(self.normalise(x)).squeeze(-1)

    def standardise_target(self, energy: torch.Tensor, n_atoms: torch.Tensor) -> torch.Tensor:
        """eV (B,) -> the network's target y' (B,)."""
        return (energy - self.y_mean.double()) / self.y_scale.double()

    def forward(self, tokens: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        y = self.forward_standardised(tokens, valid).double()
        return y * self.y_scale.double() + self.y_mean.double()  # (B,) eV


def authors_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's weights under the authors' keys (our normalisation buffers left out)."""
    return {k: v for k, v in model.state_dict().items() if k not in BUFFERS}
