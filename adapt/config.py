"""Frozen configs for the ADAPT networks and their training, and the named presets.

The paper fixes only the force Transformer's sizes (App. C): ``small`` d_model 256, d_ff 512,
8 layers, 8 heads, dropout 0.05 (80 epochs) and ``large`` 512/1024/8/8/0.05 (750 epochs). Every
other number here (embedding MLP depth, energy-network widths, batch sizes, learning rates,
λ1/λ2 of Eq. 12) is not given in the paper and is our documented choice. ``tiny`` is for tests
and CPU demos.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

PRESETS = ("tiny", "small", "large")
ENERGY_ARCHS = ("mlp_residual", "mlp", "decoder")
LOSSES = ("weighted", "log", "mse", "weighted_norm")  # Eq. 12, Eq. 13 (shifted positive), plain
# MSE, and the authors' code: sum_i m_i |dF_i| (Eq. 12 weights, L2 norm not squared, summed)


@dataclass(frozen=True)
class ForceModelConfig:
    """The force Transformer (Eqs. 1-11).

    embed_hidden:      hidden widths of the embedding MLP (Eq. 1): 12 -> *embed_hidden -> d_model
    attention_radius:  Å; None = full all-to-all attention (the paper's model); a number keeps,
                       for each atom, only keys within that raw Cartesian distance (App. D, Table 2)
    """

    d_model: int = 256
    d_ff: int = 512
    n_layers: int = 8
    n_heads: int = 8
    dropout: float = 0.05
    embed_hidden: tuple[int, ...] = (256,)
    attention_radius: float | None = None
    n_features: int = 12

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if self.attention_radius is not None and self.attention_radius <= 0:
            raise ValueError("attention_radius must be > 0 Å (or None for full attention)")


@dataclass(frozen=True)
class EnergyModelConfig:
    """An energy network (Sec. 2.2, App. E).

    arch:       "mlp_residual" (the paper's primary model), "mlp", or "decoder"
    max_atoms:  structures are padded to this many atoms (zero rows); more is an error
    hidden:     width of the MLP / MLP+residual layers
    n_blocks:   number of (ReLU layer [+ residual LN]) blocks
    d_model, d_ff, n_layers, n_heads: the decoder's encoder stack and head
    """

    arch: str = "mlp_residual"
    max_atoms: int = 220
    hidden: int = 512
    n_blocks: int = 4
    dropout: float = 0.05
    d_model: int = 128
    d_ff: int = 256
    n_layers: int = 2
    n_heads: int = 4
    n_features: int = 12

    def __post_init__(self):
        if self.arch not in ENERGY_ARCHS:
            raise ValueError(f"unknown energy arch {self.arch!r}; use one of {ENERGY_ARCHS}")
        if self.max_atoms < 1:
            raise ValueError("max_atoms must be >= 1")
        if self.arch == "decoder" and self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings shared by force and energy training.

    loss:        force loss: "weighted" (Eq. 12), "log" (Eq. 13), "mse"; energy training is MSE
    lambda1/2:   Å² constants of Eqs. 12-13
    grad_clip:   max global gradient norm (None: no clipping)
    augment:     random rotation (forces rotated too) + translation of each training frame
    translate:   Å, half-width of the uniform random shift used by ``augment``
    amp:         "none" | "bf16" (autocast); tf32: allow TF32 matmuls on CUDA
    """

    epochs: int = 80
    batch_size: int = 16
    lr: float = 1e-4
    weight_decay: float = 0.0
    grad_clip: float | None = 1.0
    loss: str = "weighted"
    lambda1: float = 10.0
    lambda2: float = 1.0
    augment: bool = False
    translate: float = 1.0
    amp: str = "none"
    tf32: bool = True
    bucket: bool = True

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"unknown loss {self.loss!r}; use one of {LOSSES}")
        if self.amp not in ("none", "bf16"):
            raise ValueError(f"amp must be 'none' or 'bf16', got {self.amp!r}")
        if self.epochs < 0 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("need epochs >= 0, batch_size >= 1, lr > 0")


_FORCE = {
    "tiny": ForceModelConfig(
        d_model=32, d_ff=64, n_layers=2, n_heads=4, dropout=0.0, embed_hidden=(32,)
    ),
    "small": ForceModelConfig(
        d_model=256, d_ff=512, n_layers=8, n_heads=8, dropout=0.05, embed_hidden=(256,)
    ),
    "large": ForceModelConfig(
        d_model=512, d_ff=1024, n_layers=8, n_heads=8, dropout=0.05, embed_hidden=(512,)
    ),
}
_ENERGY = {
    "tiny": EnergyModelConfig(
        hidden=64, n_blocks=2, dropout=0.0, d_model=32, d_ff=64, n_layers=1, n_heads=4
    ),
    "small": EnergyModelConfig(hidden=512, n_blocks=4, dropout=0.05),
    "large": EnergyModelConfig(
        hidden=1024, n_blocks=6, dropout=0.05, d_model=256, d_ff=512, n_layers=4, n_heads=8
    ),
}
_TRAIN = {
    ("force", "tiny"): TrainConfig(epochs=20, batch_size=8, lr=1e-3),
    ("force", "small"): TrainConfig(epochs=80, batch_size=16, lr=1e-4),
    ("force", "large"): TrainConfig(epochs=750, batch_size=16, lr=5e-5),
    ("energy", "tiny"): TrainConfig(epochs=50, batch_size=16, lr=1e-3, loss="mse"),
    ("energy", "small"): TrainConfig(epochs=400, batch_size=32, lr=1e-4, loss="mse"),
    ("energy", "large"): TrainConfig(epochs=400, batch_size=32, lr=5e-5, loss="mse"),
}


def _check_preset(preset: str) -> None:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; use one of {PRESETS}")


def force_preset(preset: str) -> ForceModelConfig:
    _check_preset(preset)
    return _FORCE[preset]


def energy_preset(preset: str) -> EnergyModelConfig:
    _check_preset(preset)
    return _ENERGY[preset]


def train_preset(kind: str, preset: str) -> TrainConfig:
    _check_preset(preset)
    if kind not in ("force", "energy"):
        raise ValueError(f"kind must be 'force' or 'energy', got {kind!r}")
    return _TRAIN[(kind, preset)]


def apply_overrides(model_cfg, train_cfg: TrainConfig, overrides: dict):
    """Split ``overrides`` between the model and train configs; an unknown key is an error."""
    m_names = {f.name for f in fields(model_cfg)}
    t_names = {f.name for f in fields(train_cfg)}
    m_over = {k: v for k, v in overrides.items() if k in m_names}
    t_over = {k: v for k, v in overrides.items() if k in t_names and k not in m_names}
    unknown = set(overrides) - m_names - t_names
    if unknown:
        raise TypeError(
            f"unknown setting(s) {sorted(unknown)}; model: {sorted(m_names)}, train: {sorted(t_names)}"
        )
    if "embed_hidden" in m_over:
        m_over["embed_hidden"] = tuple(m_over["embed_hidden"])
    return replace(model_cfg, **m_over), replace(train_cfg, **t_over)


def config_to_dict(cfg) -> dict:
    d = asdict(cfg)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def force_config_from_dict(d: dict) -> ForceModelConfig:
    d = dict(d)
    d["embed_hidden"] = tuple(d.get("embed_hidden", ()))
    return ForceModelConfig(**d)


def energy_config_from_dict(d: dict) -> EnergyModelConfig:
    return EnergyModelConfig(**d)


def train_config_from_dict(d: dict) -> TrainConfig:
    return TrainConfig(**d)
