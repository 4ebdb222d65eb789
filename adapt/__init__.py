"""ADAPT (arXiv:2509.24115): a graph-free Transformer force field, every atom a token.

    tokens.py         element table + atoms -> (n, 12) tokens (units table in its docstring)
    weights.py        Eq. 12 / Eq. 13 importance weights, defect sites
    batching.py       the one padding function (ragged -> padded + mask)
    config.py         frozen configs, presets tiny / small / large
    force_model.py    the force Transformer, Eqs. 1-11 (+ App. D radius mask)
    energy_models.py  MLP+residual (primary), MLP, Transformer decoder (Sec. 2.2, App. E)
    train.py          train_adapt(kind, data_dir, out_dir, ...), measure_speed(...)
    checkpoint.py     safetensors + JSON checkpoints
    forcefield.py     ADAPTForceField (the project interface), load("RUN_DIR"), statuses()
    calculator.py     ADAPTCalculator (ASE)
    native_format.py  the authors' .pt files
    cli.py            `adapt-bench train adapt-force | adapt-energy`
    samples.py        dataset frames -> training samples, normalisation stats, augmentation
    testing.py        tiny random models and smooth-label datasets for tests

Importing the package imports nothing heavy.
"""
