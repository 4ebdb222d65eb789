"""``ADAPTCalculator``: ADAPT as an ASE calculator (forces from the force model, energy from the
energy model), usable in ASE optimizers.

A property whose model is absent raises ASE's ``PropertyNotImplementedError``. Note that ASE
3.29's optimizers log the energy every step, so a force-only model raises inside e.g. ``BFGS``;
``missing_energy="nan"`` reports NaN energy instead, for optimizers that only use forces (BFGS,
LBFGS, FIRE without ``downhill_check``). A prediction on a cell the model never saw in training
warns (:class:`UnseenCellWarning`, once per distinct cell) and ``results["flags"]`` carries
``"unseen_cell"``.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
from ase.calculators.calculator import all_changes

from baselines.interface import ForceFieldCalculator

log = logging.getLogger(__name__)


class UnseenCellWarning(UserWarning):
    """ADAPT predicted on a cell absent from its training data (its tokens carry no lattice)."""


class ADAPTCalculator(ForceFieldCalculator):
    def __init__(self, forcefield, missing_energy: str = "raise", **kwargs):
        if missing_energy not in ("raise", "nan"):
            raise ValueError("missing_energy must be 'raise' or 'nan'")
        super().__init__(forcefield, **kwargs)
        self.missing_energy = missing_energy
        self._warned: list[np.ndarray] = []

    @classmethod
    def load(cls, run_dir, device: str = "cpu", missing_energy: str = "raise") -> ADAPTCalculator:
        """Calculator from a run dir (``RUN_DIR/force``, ``RUN_DIR/energy``) or checkpoint dir."""
        from baselines.adapt import load_run

        return cls(load_run(run_dir, device=device), missing_energy=missing_energy)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        info = self.forcefield.info
        props = list(properties)
        fill_nan = not info.predicts_energy and self.missing_energy == "nan"
        if fill_nan:
            props = [p for p in props if p not in ("energy", "free_energy")] or ["forces"]
        super().calculate(atoms, props, system_changes)
        if fill_nan:
            self.results["energy"] = self.results["free_energy"] = float("nan")
        if "unseen_cell" in self.results.get("flags", ()):
            self._warn(self.atoms.cell[:])

    def _warn(self, cell: np.ndarray) -> None:
        if any(np.allclose(cell, c, atol=1e-3, rtol=0) for c in self._warned):
            return
        self._warned.append(np.array(cell))
        msg = (
            f"ADAPT ({self.forcefield.info.spec}) never saw this cell in training "
            f"(lengths {np.round(np.linalg.norm(cell, axis=1), 3).tolist()} Å): its tokens carry no "
            "lattice, so predictions here are extrapolation"
        )
        log.warning(msg)
        warnings.warn(msg, UnseenCellWarning, stacklevel=3)
