"""Tiny ADAPT+ models and structures for tests (random weights, seeded)."""

from __future__ import annotations

import numpy as np
import torch
from ase import Atoms
from ase.build import bulk

from adapt.plus.checkpoint import build_model
from adapt.plus.config import PlusModelConfig
from adapt.plus.model import PlusModel
from adapt.tokens import default_table

TEST_CONFIG = PlusModelConfig(
    d_model=16,
    n_layers=2,
    n_heads=2,
    d_ff=32,
    local_heads=1,
    n_channels=4,
    n_rbf=8,
    cutoff=4.0,
    bond_order=True,
    mixed_power=True,
    attn_temperature=2.0,
)


def random_model(
    forces: str = "conservative", seed: int = 0, dtype=torch.float64, **overrides
) -> PlusModel:
    """A small ADAPT+ with random weights (and random element references) in ``dtype``."""
    from dataclasses import replace

    torch.manual_seed(seed)
    model = build_model(replace(TEST_CONFIG, forces=forces, **overrides), default_table())
    with torch.no_grad():
        for layer in model.layers:  # the channel mixing starts at the identity: make it random
            if hasattr(layer, "power_mix"):
                layer.power_mix.normal_(0.0, 0.5)
        model.e_ref.uniform_(-5.0, -3.0)
        model.scale.fill_(50.0)  # eV/Å: large enough that random forces are O(0.01-1)
    return model.to(dtype).eval()


def si_structure(kind: str = "cubic", seed: int = 0, rattle: float = 0.1) -> Atoms:
    """A rattled Si cell with a C and a Ge: ``cubic`` (8 atoms), ``primitive`` (2 atoms, Si + C),
    or ``triclinic`` (the 2-atom cell sheared)."""
    if kind == "cubic":
        atoms = bulk("Si", "diamond", a=5.43, cubic=True)
        atoms.symbols[[1, 5]] = ["C", "Ge"]
    else:
        atoms = bulk("Si", "diamond", a=5.43)
        atoms.symbols[1] = "C"
        if kind == "triclinic":
            cell = atoms.cell[:] + np.array([[0.3, 0.1, 0.0], [0.0, -0.2, 0.4], [0.1, 0.0, 0.2]])
            atoms.set_cell(cell, scale_atoms=True)
    atoms.rattle(rattle, seed=seed)
    return atoms
