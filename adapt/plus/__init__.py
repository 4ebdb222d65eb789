"""ADAPT+: a periodic, rotation-invariant, graph-free attention force field (issue 8).

A family beside the paper's ADAPT (which stays as published). Tokens are element descriptors
only; geometry enters every attention layer as dense pair terms computed from positions and the
cell over all periodic images within the cutoff; an angular density adds three-body information;
energies are sums of per-atom terms; forces are direct (equivariant head) or conservative.

    config.py      frozen model / training configs, presets tiny and small
    geometry.py    periodic (i, j, image) pairs of a padded batch, radial basis, envelope
    spherical.py   real spherical harmonics l <= 3
    model.py       the network
    data.py        ASE frames -> padded batches, length-bucketed batch plans, element references
    train.py       train_plus(train_frames, val_frames, out_dir, ...): resumable, EMA, best-on-val
    checkpoint.py  safetensors + JSON run directories
    calculator.py  predict(...) and PlusCalculator (ASE)

Imports torch, numpy, ase, safetensors and adapt's element table only.
"""
