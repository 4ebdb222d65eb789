"""Prediction with a trained ADAPT+ and ``PlusCalculator``, ADAPT+ as an ASE calculator.

:func:`predict` evaluates a list of structures in length-bucketed padded batches and returns
energies (eV) and forces (eV/Å), detached, in the input order. The calculator gives ``energy``,
``free_energy``, ``energies`` (per atom) and ``forces``; it works on any cell (periodic or not)
and any number of atoms.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from adapt.plus.checkpoint import load_checkpoint
from adapt.plus.data import batch_plan, collate, to_item
from adapt.plus.model import PlusModel
from adapt.tokens import ElementTable


def predict(
    model: PlusModel,
    table: ElementTable,
    structures: list[Atoms],
    max_batch_atoms: int = 2048,
    device: str | torch.device | None = None,
) -> list[dict]:
    """[{"energy": float eV, "energies": (n,) eV, "forces": (n, 3) eV/Å}] for each structure."""
    device = device or next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    items = [to_item(a, table, labels=False) for a in structures]
    out: list[dict | None] = [None] * len(items)
    was_training = model.training
    model.eval()
    try:
        for idx in batch_plan([len(it) for it in items], max_batch_atoms):
            b = collate([items[k] for k in idx], device, dtype)
            with torch.no_grad():
                res = model(b["species"], b["pos"], b["cell"], b["pbc"], b["valid"])
            for row, k in enumerate(idx):
                n = len(items[k])
                out[k] = {
                    "energy": float(res["energy"][row].detach()),
                    "energies": res["energies"][row, :n].detach().cpu().double().numpy(),
                    "forces": res["forces"][row, :n].detach().cpu().double().numpy(),
                }
    finally:
        model.train(was_training)
    return out  # type: ignore[return-value]


class PlusCalculator(Calculator):
    """ASE calculator over a trained ADAPT+ (``PlusCalculator.load(RUN_DIR)``)."""

    implemented_properties = ["energy", "free_energy", "energies", "forces"]

    def __init__(self, model: PlusModel, table: ElementTable, meta: dict | None = None, **kw):
        super().__init__(**kw)
        self.model, self.table, self.meta = model, table, meta or {}

    @classmethod
    def load(cls, run_dir: str | Path, device: str = "cpu") -> PlusCalculator:
        model, table, meta = load_checkpoint(run_dir, device)
        return cls(model, table, meta)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        res = predict(self.model, self.table, [self.atoms])[0]
        self.results = {
            "energy": res["energy"],
            "free_energy": res["energy"],
            "energies": np.asarray(res["energies"]),
            "forces": np.asarray(res["forces"]),
        }
