"""Relax one structure with a model's ASE calculator and classify how it ended.

Outcomes (never NaN; one of OUTCOMES):
    converged       max per-atom |F| <= fmax within max_steps optimizer steps
    not_converged   max_steps steps taken without reaching fmax
    exploded        after some step two atoms came closer than min_distance (minimum image),
                    or a force exceeded max_force, or positions/forces stopped being finite
    error           the calculator or optimizer raised; ``message`` holds the exception

Forces-only mode (``use_energy=False``) is for models whose energy is absent or not consistent
with their forces (ADAPT's separate networks). The calculator is wrapped so energy queries return
0.0 without calling the model (ASE 3.29's Optimizer.log asks for the energy every step) and
FIRE runs with downhill_check=False, i.e. it follows the forces alone. BFGS and LBFGS (no line
search) also move on forces alone, but their Hessian update assumes conservative forces.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.neighborlist import neighbor_list
from ase.optimize import BFGS, FIRE, LBFGS

OUTCOMES = ("converged", "not_converged", "exploded", "error")
OPTIMIZERS = {"FIRE": FIRE, "BFGS": BFGS, "LBFGS": LBFGS}


@dataclass(frozen=True)
class RelaxSettings:
    optimizer: str = "FIRE"  # FIRE | BFGS | LBFGS (ASE)
    fmax: float = 0.01  # eV/Å, convergence on the largest per-atom force norm
    max_steps: int = 300  # optimizer steps
    min_distance: float = 0.5  # Å, closer pairs (minimum image) mean the structure exploded
    max_force: float = 100.0  # eV/Å, a larger per-atom force means the model exploded

    def __post_init__(self):
        if self.optimizer.upper() not in OPTIMIZERS:
            raise ValueError(f"optimizer {self.optimizer!r}: use one of {', '.join(OPTIMIZERS)}")
        if self.fmax <= 0 or self.max_steps < 0 or self.min_distance < 0 or self.max_force <= 0:
            raise ValueError(f"bad relaxation settings: {self}")

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class RelaxResult:
    atoms: Atoms  # the structure where the run stopped (no calculator attached)
    outcome: str  # one of OUTCOMES
    steps: int  # optimizer steps taken
    wall_s: float  # seconds, optimizer setup to stop
    final_fmax: float  # eV/Å, last structure with forces; inf if non-finite, NaN if none
    message: str = ""


class ForcesOnlyCalculator(Calculator):
    """Forces from ``calc``; energy reported as 0.0 without ever asking ``calc`` for it."""

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, calc: Calculator, **kwargs):
        super().__init__(**kwargs)
        self.inner = calc

    def calculate(self, atoms=None, properties=("forces",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        self.results.update(energy=0.0, free_energy=0.0)
        if "forces" in properties:
            forces = self.inner.get_property("forces", self.atoms)
            self.results["forces"] = np.array(forces, dtype=float)


def _explosion(atoms: Atoms, forces: np.ndarray, settings: RelaxSettings) -> str:
    """Why the structure counts as exploded, or '' when it does not."""
    if not np.all(np.isfinite(atoms.positions)):
        return "non-finite positions"
    if not np.all(np.isfinite(forces)):
        return "non-finite forces"
    fmax = float(np.linalg.norm(forces, axis=1).max()) if len(forces) else 0.0
    if fmax > settings.max_force:
        return f"force {fmax:.3g} eV/Å > max_force {settings.max_force} eV/Å"
    if len(atoms) > 1 and settings.min_distance > 0:
        i, j, d = neighbor_list("ijd", atoms, settings.min_distance)
        if len(d):
            k = int(np.argmin(d))
            return (
                f"atoms {i[k]} and {j[k]} at {d[k]:.3f} Å < min_distance {settings.min_distance} Å"
            )
    return ""


def _fmax(forces: np.ndarray | None) -> float:
    if forces is None:
        return math.nan
    if not np.all(np.isfinite(forces)):
        return math.inf
    return float(np.linalg.norm(forces, axis=1).max()) if len(forces) else 0.0


def relax(
    atoms: Atoms,
    calc: Calculator,
    settings: RelaxSettings = RelaxSettings(),
    use_energy: bool = True,
) -> RelaxResult:
    """Relax a copy of ``atoms`` (fixed cell) with ``calc``; the input is not mutated."""
    work = atoms.copy()  # drops any calculator attached to the input
    work.calc = calc if use_energy else ForcesOnlyCalculator(calc)
    opt_cls = OPTIMIZERS[settings.optimizer.upper()]
    forces = None
    steps = 0
    t0 = time.perf_counter()
    try:
        kwargs = {"downhill_check": False} if opt_cls is FIRE else {}
        opt = opt_cls(work, logfile=None, **kwargs)
        outcome, message = "not_converged", ""
        for converged in opt.irun(fmax=settings.fmax, steps=settings.max_steps):
            steps = opt.nsteps
            forces = work.get_forces()
            why = _explosion(work, forces, settings)
            if why:
                outcome, message = "exploded", f"step {steps}: {why}"
                break
            if converged:
                outcome = "converged"
                break
    except Exception as exc:  # noqa: BLE001 - any model failure is an outcome, not a crash
        outcome, message = "error", f"{type(exc).__name__}: {exc}"
    wall = time.perf_counter() - t0
    final = work.copy()
    final.calc = None
    return RelaxResult(
        atoms=final,
        outcome=outcome,
        steps=int(steps),
        wall_s=float(wall),
        final_fmax=_fmax(forces),
        message=message,
    )
