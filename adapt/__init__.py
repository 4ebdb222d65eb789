"""ADAPT (arXiv:2509.24115): a graph-free Transformer force field, every atom a token.

    tokens.py         element table + atoms -> (n, 12) tokens (units table in its docstring)
    weights.py        Eq. 12 / Eq. 13 importance weights
    batching.py       the one padding function (ragged -> padded + mask)
    config.py         frozen configs, presets tiny / small / large
    force_model.py    the force Transformer, Eqs. 1-11 (+ App. D radius mask)
    energy_models.py  MLP+residual (primary), MLP, Transformer decoder (Sec. 2.2, App. E)
    train.py          train_adapt(kind, dataset, out_dir, ...), measure_speed(...)
    checkpoint.py     safetensors + JSON checkpoints
    native_format.py  the authors' .pt files
    samples.py        dataset frames -> training samples, normalisation stats, augmentation
    testing.py        tiny random checkpoints for tests
    fileio.py         atomic file writes, JSON, file sha256 (used by every layer above too)

Importing the package imports nothing heavy. adapt/ is a standalone model library (torch, numpy,
ase, safetensors): it imports nothing from baselines/, benchmarks/ or reports/ (pyproject.toml,
[tool.importlinter]). The project's adapter (ForceField, ASE calculator, `adapt:RUN_DIR`) is
baselines/adapt.py; `adapt-bench train adapt-*` is benchmarks/train_commands.py.
"""
