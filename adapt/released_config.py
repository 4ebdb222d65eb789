"""Frozen configs and presets of the ``released`` ADAPT variant: the authors' published code.

Source: github.com/EvanDramko/ADAPT_Released (MIT licence), read at these commits:

* force model   ``MLFF_arch/encoderBase.py`` (98c52f8, 57711d2), sizes from
  ``configs/force_model_hyperparam.py`` (5bdf76e): d_model 256, d_ff 512, 8 layers, 8 heads,
  dropout 0.05, Adam lr 5e-5, batch 64, 80 epochs, gradient clipping at norm 1, loss
  ``utils/evals.weightedMSE`` (5bdf76e; ``weighted_norm`` here: sum_i m_i |dF_i|, with the
  paper's Eq. 12 m_i, since the weight column of their data files cannot be read here);
* energy model  ``MLFF_arch/energyMLFF.py`` (5bdf76e), sizes from
  ``configs/energy_model_hyperparams.py`` (5bdf76e): layer sizes [220*12, 4096, 4096, 4096, 4096,
  128, 1], dropout 0.1, Adam lr 5e-5, batch 64, 100 epochs, MSE;
* normalisation ``utils/normalizer.py`` (98c52f8, 57711d2): x' = (x - mean) / (0.3 (std + 1e-6)).

The printed equations of the paper stay the ``paper`` variant (:mod:`adapt.config`). ``tiny`` is
ours (tests, CPU demos); ``small`` is the authors' configuration; ``large`` uses the paper's App. C
large sizes (512/1024) in the authors' architecture.

Token layouts (``token_layout``):

* ``descriptors12``: x, y, z (Å) + the 9 element descriptors of :mod:`adapt.tokens` (the layout of
  their paper-era ``.pt`` data; the 13th column of those files is the per-atom loss weight and
  never enters the model);
* ``z``: x, y, z (Å), Z, then each name of ``extra_properties`` (per-atom arrays of the structure,
  in order), as their extxyz converter builds it (``data/xyz_extxyz_converter.py``, 57711d2).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapt.config import TrainConfig

ARCHS = ("paper", "released")
LAYOUTS = ("descriptors12", "z")
RESCALE = 0.3  # their RESCALE_FACTOR
EPS = 1e-6  # their eps


def layout_width(layout: str, extra_properties: tuple[str, ...]) -> int:
    if layout not in LAYOUTS:
        raise ValueError(f"unknown token layout {layout!r}; use one of {LAYOUTS}")
    if layout == "descriptors12" and extra_properties:
        raise ValueError("extra_properties need token_layout='z'")
    return 12 if layout == "descriptors12" else 4 + len(extra_properties)


@dataclass(frozen=True)
class ReleasedForceConfig:
    """The authors' ``TransformerEncoder``; ``embed_width`` is their fixed 128 of ``lin1``."""

    d_model: int = 256
    d_ff: int = 512
    n_layers: int = 8
    n_heads: int = 8
    dropout: float = 0.05
    embed_width: int = 128
    token_layout: str = "descriptors12"
    extra_properties: tuple[str, ...] = ()

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        layout_width(self.token_layout, tuple(self.extra_properties))

    @property
    def n_features(self) -> int:
        return layout_width(self.token_layout, tuple(self.extra_properties))


@dataclass(frozen=True)
class ReleasedEnergyConfig:
    """The authors' ``nrgMLP``: flattened (max_atoms x n_features) tokens, residual blocks of
    ``widths``, then Linear(widths[-1], 1). ``input_dropout`` > 0 adds their optional Dropout
    after the Flatten (it shifts the Sequential indices by one, as in their code)."""

    widths: tuple[int, ...] = (4096, 4096, 4096, 4096, 128)
    max_atoms: int = 220
    dropout: float = 0.1
    input_dropout: float = 0.0
    use_norm: bool = True
    token_layout: str = "descriptors12"
    extra_properties: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.widths or min(self.widths) < 1 or self.max_atoms < 1:
            raise ValueError("need at least one block width >= 1 and max_atoms >= 1")
        layout_width(self.token_layout, tuple(self.extra_properties))

    @property
    def n_features(self) -> int:
        return layout_width(self.token_layout, tuple(self.extra_properties))


_FORCE = {
    "tiny": ReleasedForceConfig(d_model=32, d_ff=64, n_layers=2, n_heads=4, dropout=0.0),
    "small": ReleasedForceConfig(),
    "large": ReleasedForceConfig(d_model=512, d_ff=1024),
}
_ENERGY = {
    "tiny": ReleasedEnergyConfig(widths=(64, 64, 16), dropout=0.0),
    "small": ReleasedEnergyConfig(),
    "large": ReleasedEnergyConfig(),
}
_TRAIN = {
    ("force", "tiny"): TrainConfig(epochs=20, batch_size=8, lr=1e-3, loss="weighted_norm"),
    ("force", "small"): TrainConfig(epochs=80, batch_size=64, lr=5e-5, loss="weighted_norm"),
    ("force", "large"): TrainConfig(epochs=750, batch_size=64, lr=5e-5, loss="weighted_norm"),
    ("energy", "tiny"): TrainConfig(epochs=50, batch_size=16, lr=1e-3, loss="mse"),
    ("energy", "small"): TrainConfig(epochs=100, batch_size=64, lr=5e-5, loss="mse"),
    ("energy", "large"): TrainConfig(epochs=100, batch_size=64, lr=5e-5, loss="mse"),
}


def released_preset(kind: str, preset: str):
    """(model config, train config) of a ``released`` preset."""
    table = _FORCE if kind == "force" else _ENERGY
    if kind not in ("force", "energy") or preset not in table:
        raise ValueError(f"no released preset {kind}/{preset}; presets: {sorted(table)}")
    return table[preset], _TRAIN[(kind, preset)]


def released_config_from_dict(kind: str, d: dict):
    d = dict(d)
    d["extra_properties"] = tuple(d.get("extra_properties", ()))
    if kind == "energy":
        d["widths"] = tuple(d["widths"])
        return ReleasedEnergyConfig(**d)
    return ReleasedForceConfig(**d)


def presets_for(kind: str, preset: str, variant: str = "paper"):
    """(model config, train config) of ``preset`` in ``variant`` ("paper" | "released")."""
    from adapt import config

    if variant == "released":
        return released_preset(kind, preset)
    if variant != "paper":
        raise ValueError(f"unknown ADAPT variant {variant!r}; use one of {ARCHS}")
    base = config.force_preset(preset) if kind == "force" else config.energy_preset(preset)
    return base, config.train_preset(kind, preset)
