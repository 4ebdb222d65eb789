"""How the two ADAPT variants differ: ``paper`` (the printed equations, adapt/force_model.py and
adapt/energy_models.py) vs ``released`` (the authors' code, adapt/released.py).

:data:`DIFFERENCES` is the one source of the table in docs/adapt-variants.md and in reports
(``reports/variants.py``); a test keeps the document in step. Sources are files of
github.com/EvanDramko/ADAPT_Released (commits in :mod:`adapt.released_config`).
"""

from __future__ import annotations

COLUMNS = ("Aspect", "paper (printed equations)", "released (authors' code)", "Source")

DIFFERENCES: tuple[tuple[str, str, str, str], ...] = (
    (
        "Token embedding",
        "Eq. 1 MLP: Linear(12, d) - ReLU - Linear(d, d)",
        "Linear(12, 128) - ReLU - Linear(128, d) - ReLU - Linear(d, d) - LayerNorm - Dropout",
        "MLFF_arch/encoderBase.py",
    ),
    (
        "LayerNorms per encoder block",
        "3: LN1(X + Attn), FFN(LN2(H1)) (Eq. 3 normalises H1 again), LN3(H2 + H1)",
        "2: norm1(x + drop(MHA(x))), norm2(x + drop(FFN(x))) (standard post-LN)",
        "MLFF_arch/encoderBase.py",
    ),
    (
        "Attention",
        "Eqs. 7-9: Q/K/V/O projections without bias, no attention dropout",
        "torch nn.MultiheadAttention: in/out projections with biases, attention dropout, "
        "key-padding mask",
        "MLFF_arch/encoderBase.py",
    ),
    (
        "After the last block",
        "nothing",
        "a final LayerNorm",
        "MLFF_arch/encoderBase.py",
    ),
    (
        "Force output layer",
        "Linear(d, 3) without bias (Eq. 11)",
        "Linear(d, 3) with bias",
        "MLFF_arch/encoderBase.py",
    ),
    (
        "Input normalisation",
        "(x - mean) / std per feature; std floored (1 Å for x, y, z; 10% of the element "
        "table's spread for descriptors)",
        "(x - mean) / (0.3 (std + 1e-6)); x, y, z share one mean and std; std clamped >= 1e-8",
        "utils/normalizer.py",
    ),
    (
        "Force output scale",
        "y x RMS of the training forces",
        "y 0.3 (std + 1e-6) + mean (components pooled)",
        "utils/normalizer.py, inference_time_calcs.py",
    ),
    (
        "Force loss (default)",
        "Eq. 12: sum_i m_i sum_j (dF_ij)^2 (here divided by 3 sum_i m_i)",
        "utils/evals.weightedMSE: sum_i m_i |dF_i| (L2 norm, not squared; summed over the "
        "batch), m_i = the 13th column of their data; `--loss weighted_norm` here, with Eq. 12 m_i",
        "utils/evals.py (5bdf76e), trainForce.py",
    ),
    (
        "Energy network",
        "residual MLP, 4 blocks of width 512, skip projection without bias in every block, "
        "dropout 0.05 (3.2 M parameters, small)",
        "blocks 4096, 4096, 4096, 4096, 128 on the flattened 220 x 12 tokens; skip = identity "
        "when widths agree, Linear with bias when they differ; LayerNorm; dropout 0.1; "
        "Linear(128, 1) (73.1 M parameters)",
        "MLFF_arch/energyMLFF.py, configs/energy_model_hyperparams.py",
    ),
    (
        "Energy target",
        "(E - n e0) / e_scale, e0 = mean energy per atom",
        "(E - mean) / (0.3 (std + 1e-6)) of the total energy",
        "trainEnergy.py, utils/normalizer.py",
    ),
    (
        "Energy padding rows",
        "zero after normalisation",
        "zero before normalisation, so -mean / (0.3 (std + 1e-6)) after it",
        "inference_time_calcs.py (Runner.getStructEnergy)",
    ),
    (
        "Attention radius mask (App. D, Table 2)",
        "available (attention_radius)",
        "absent",
        "MLFF_arch/encoderBase.py",
    ),
    (
        "Element descriptors (token columns 3-11)",
        "pymatgen + ASE values (adapt/tokens.py), e.g. Si E_EA 134.07 kJ/mol",
        "the values stored in their data files (no text table in the repository; "
        "--element-rows reads them from such a file)",
        "data/mini_force_dataset/*.pt (binary)",
    ),
    (
        "Token layouts",
        "12 columns",
        "12 columns (+ a 13th, the per-atom loss weight, never a model input), or since "
        "v0.3.1 x, y, z, Z + any per-atom extxyz properties",
        "configs/force_model_hyperparam.py, data/xyz_extxyz_converter.py",
    ),
    (
        "Force model parameters (small / large)",
        "4.28 M / 17.08 M",
        "4.32 M / 17.16 M",
        "(counted here)",
    ),
    (
        "Training defaults (small)",
        "Adam, batch 16, lr 1e-4, 80 epochs, gradient clip 1",
        "Adam, batch 64, lr 5e-5, 80 epochs (energy: 100), gradient clip 1",
        "configs/*.py, trainForce.py",
    ),
)


def markdown() -> str:
    """The table as GitHub Markdown."""
    rows = [COLUMNS, ("---",) * len(COLUMNS), *DIFFERENCES]
    return "\n".join("| " + " | ".join(r) + " |" for r in rows) + "\n"
