"""Force and energy error metrics: one :class:`Metric` entry each, pure functions of arrays
(they never call a model).

A metric is one entry in :data:`METRICS` (:func:`register_metric`): name, unit, report label,
which direction is better, the definition the report quotes, and the function. The runner's
metric rows, the report's tables and definitions, and `adapt-bench check` read this registry.

Per atom i, F_i is the reference force and F̂_i the predicted one (eV/Å); per structure s,
E_s / Ê_s are total energies (eV) and n_s its atom count. Atom metrics get the (N, 3) eV/Å
arrays of the atoms whose forces are finite in both; structure metrics the (M,) energies (eV) and
atom counts of the structures whose energies are finite in both.

Subsets (the ``subset`` column): ``all`` atoms/structures; ``defect`` = atoms within
DEFECT_RADIUS of a defect site or vacancy (minimum image, positions of the frame evaluated);
``bulk`` = the other atoms; ``kind=<kind>`` = the frames of trajectories of that defect kind.
Energy metrics exist per structure, so they are given for ``all`` and per kind only.

Level-of-theory alignment. A model trained on other data (e.g. CHGNet on PBE/MPtrj, scored on
a Tersoff-labelled set) can be off by a constant per element. Per-element reference energies
μ_e (eV/atom) are fitted by least squares, E_s ≈ Σ_e c_se μ_e (c_se = number of atoms of
element e in structure s), on the *training split*, once on the model's predictions (μ^model)
and once on the reference labels (μ^data). A test structure's aligned prediction is
Ê_s − Σ_e c_se μ^model_e + Σ_e c_se μ^data_e, compared with E_s. Frames containing an element
absent from either fit get no aligned energy (NaN, left out; the row's n says how many were
kept). When the training compositions do not determine every μ_e (rank-deficient composition
matrix, e.g. every training structure is Si63C1), numpy's lstsq returns the minimum-norm
solution: the shift is then exact for any composition that is a linear combination of training
compositions and a documented (minimum-norm) choice otherwise; a warning is logged.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from ase import Atoms
from ase.geometry import get_distances

from baselines.composition import fit_element_energies

if TYPE_CHECKING:
    from benchmarks.data.dataset import Defect
    from benchmarks.predictions import PredictionSet

log = logging.getLogger(__name__)

# Atoms within this distance (Å, minimum image) of a defect site or vacancy form the defect
# region. In diamond Si (a = 5.431 Å) the first three neighbour shells of a lattice site lie at
# 2.35, 3.84 and 4.50 Å, so 4.2 Å takes the first and second shells (4 + 12 atoms around a
# substitutional site or vacancy; both the 4 + 6 neighbours of a tetrahedral interstitial).
DEFECT_RADIUS = 4.2
# Force vectors shorter than this (eV/Å) have no direction; such atoms are left out of the angle.
ANGLE_MIN_NORM = 1e-8


@dataclass(frozen=True)
class Metric:
    """One accuracy metric.

    over     "atoms": compute(f_pred (N, 3), f_ref (N, 3)) -> (value, n atoms used), eV/Å in;
             "structures": compute(e_pred (M,), e_ref (M,), n_atoms (M,)) -> value, eV in
    aligned  a structure metric computed on level-of-theory aligned predictions
    better   "lower" (errors) or "higher" (similarities): what `adapt-bench check` calls a
             regression
    """

    name: str
    unit: str
    label: str
    better: str
    definition: str
    over: str
    compute: Callable
    aligned: bool = False

    def __post_init__(self):
        if self.over not in ("atoms", "structures") or self.better not in ("lower", "higher"):
            raise ValueError(f"metric {self.name}: over atoms|structures, better lower|higher")


METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    METRICS[metric.name] = metric
    return metric


def metrics_over(over: str, aligned: bool = False) -> list[Metric]:
    """The registered metrics of one kind, in registration order (the row order)."""
    return [m for m in METRICS.values() if m.over == over and m.aligned == aligned]


def _angle(f_pred: np.ndarray, f_ref: np.ndarray) -> tuple[float, int]:
    norm_pred = np.linalg.norm(f_pred, axis=1)
    norm_ref = np.linalg.norm(f_ref, axis=1)
    has_dir = (norm_pred >= ANGLE_MIN_NORM) & (norm_ref >= ANGLE_MIN_NORM)
    if not has_dir.any():
        return math.nan, 0
    cos = np.einsum("ij,ij->i", f_pred[has_dir], f_ref[has_dir])
    cos /= norm_pred[has_dir] * norm_ref[has_dir]
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))).mean()), int(has_dir.sum())


def _magnitude(f_pred: np.ndarray, f_ref: np.ndarray) -> tuple[float, int]:
    norms = np.linalg.norm(f_pred, axis=1) - np.linalg.norm(f_ref, axis=1)
    return float(np.abs(norms).mean()), len(f_ref)


ALIGNED_TEXT = " after level-of-theory alignment (per-element reference energies, see below)"
for _m in (
    Metric("force_mae", "eV/Å", "Force MAE", "lower",
           "mean over atoms i and Cartesian components a of |F̂_ia − F_ia|, F the reference and "
           "F̂ the predicted force. This is the number of the paper's Fig. 4.",
           "atoms", lambda p, r: (float(np.abs(p - r).mean()), len(r))),
    Metric("force_mae_vector", "eV/Å", "Force MAE, vectors", "lower",
           "mean over atoms of the norm of the per-atom error vector |F̂_i − F_i|; larger than "
           "the component MAE for the same predictions.",
           "atoms", lambda p, r: (float(np.linalg.norm(p - r, axis=1).mean()), len(r))),
    Metric("force_rmse", "eV/Å", "Force RMSE", "lower",
           "square root of the mean over atoms and components of (F̂_ia − F_ia)².",
           "atoms", lambda p, r: (float(np.sqrt(((p - r) ** 2).mean())), len(r))),
    Metric("force_angle", "deg", "Angle error", "lower",
           "mean over atoms of arccos(F̂_i·F_i / (|F̂_i| |F_i|)) · 180/π with the cosine clamped "
           "to [−1, 1] (paper Appendix C.1). Atoms where either force is shorter than "
           f"{ANGLE_MIN_NORM:g} eV/Å have no direction and are left out (the row's n counts the "
           "atoms kept), so a model that predicts zero forces has no angle (–). 0° is a perfect "
           "direction, 90° an uncorrelated one.",
           "atoms", _angle),
    Metric("force_magnitude_error", "eV/Å", "Magnitude error", "lower",
           "mean over atoms of ||F̂_i| − |F_i||. With the angle it tells a model that learned the "
           "forces from one that scores a small MAE by predicting small forces everywhere.",
           "atoms", _magnitude),
    Metric("energy_mae", "eV", "Energy MAE", "lower",
           "mean over structures of |Ê_s − E_s| of total energies.",
           "structures", lambda p, r, n: float(np.abs(p - r).mean())),
    Metric("energy_mae_per_atom", "meV/atom", "Energy MAE", "lower",
           "1000 · mean over structures of |Ê_s − E_s| / n_s.",
           "structures", lambda p, r, n: float(1000.0 * (np.abs(p - r) / n).mean())),
    Metric("energy_mae_aligned", "eV", "Energy MAE aligned", "lower",
           "energy MAE" + ALIGNED_TEXT + ".",
           "structures", lambda p, r, n: float(np.abs(p - r).mean()), aligned=True),
    Metric("energy_mae_aligned_per_atom", "meV/atom", "Energy MAE aligned", "lower",
           "energy MAE per atom" + ALIGNED_TEXT + ".",
           "structures", lambda p, r, n: float(1000.0 * (np.abs(p - r) / n).mean()), aligned=True),
):  # fmt: skip
    register_metric(_m)


def _finite_rows(f_pred, f_ref) -> tuple[np.ndarray, np.ndarray]:
    f_pred = np.asarray(f_pred, dtype=float).reshape(-1, 3)
    f_ref = np.asarray(f_ref, dtype=float).reshape(-1, 3)
    if f_pred.shape != f_ref.shape:
        raise ValueError(f"force arrays differ in shape: pred {f_pred.shape}, ref {f_ref.shape}")
    ok = np.isfinite(f_pred).all(axis=1) & np.isfinite(f_ref).all(axis=1)
    return f_pred[ok], f_ref[ok]


def force_metrics(f_pred: np.ndarray, f_ref: np.ndarray) -> dict[str, tuple[float, int]]:
    """{metric: (value, n atoms used)} for every atom metric, on the rows where both (N, 3) eV/Å
    arrays are finite; {} when there are none."""
    f_pred, f_ref = _finite_rows(f_pred, f_ref)
    if len(f_ref) == 0:
        return {}
    return {m.name: m.compute(f_pred, f_ref) for m in metrics_over("atoms")}


def force_errors(f_pred: np.ndarray, f_ref: np.ndarray) -> dict[str, float]:
    """Every atom metric's value plus ``n_atoms`` (atoms used) and ``n_angle`` (atoms kept for
    the angle); NaN metrics and zero counts with no finite rows."""
    res = force_metrics(f_pred, f_ref)
    if not res:
        return dict.fromkeys((m.name for m in metrics_over("atoms")), math.nan) | {
            "n_atoms": 0,
            "n_angle": 0,
        }
    values = {k: v for k, (v, _) in res.items()}
    return values | {"n_atoms": res["force_mae"][1], "n_angle": res["force_angle"][1]}


def energy_errors(
    e_pred: np.ndarray, e_ref: np.ndarray, n_atoms: np.ndarray, aligned: bool = False
) -> dict[str, float]:
    """Every (aligned) structure metric's value over the structures where both energies (eV)
    are finite, plus ``n_structures`` (how many); NaN metrics when there are none."""
    e_pred = np.asarray(e_pred, dtype=float)
    e_ref = np.asarray(e_ref, dtype=float)
    n_atoms = np.asarray(n_atoms, dtype=float)
    ok = np.isfinite(e_pred) & np.isfinite(e_ref)
    names = [m.name for m in metrics_over("structures", aligned)]
    if not ok.any():
        return dict.fromkeys(names, math.nan) | {"n_structures": 0}
    p, r, n = e_pred[ok], e_ref[ok], n_atoms[ok]
    values = {m.name: m.compute(p, r, n) for m in metrics_over("structures", aligned)}
    return values | {"n_structures": int(ok.sum())}


def fit_element_references(
    symbols_per_frame: Sequence[Sequence[str]], energies: np.ndarray
) -> dict[str, float]:
    """Per-element reference energies μ_e (eV/atom): least squares E_s ≈ Σ_e c_se μ_e.

    Frames with a non-finite energy are left out (ValueError when none is left). Rank
    deficiency gives lstsq's minimum-norm solution and a logged warning (module docstring).
    """
    return fit_element_energies(symbols_per_frame, energies)


def aligned_energies(
    e_pred: np.ndarray,
    symbols_per_frame: Sequence[Sequence[str]],
    refs_model: dict[str, float],
    refs_data: dict[str, float],
) -> np.ndarray:
    """(M,) eV: Ê_s − Σ_e c_se μ^model_e + Σ_e c_se μ^data_e; NaN where an element of frame s
    is missing from either reference set."""
    e_pred = np.asarray(e_pred, dtype=float)
    out = np.full(len(e_pred), np.nan)
    for i, syms in enumerate(symbols_per_frame):
        counts = Counter(syms)
        if all(e in refs_model and e in refs_data for e in counts):
            shift = sum(c * (refs_data[e] - refs_model[e]) for e, c in counts.items())
            out[i] = e_pred[i] + shift
    return out


def defect_region_mask(atoms: Atoms, defect: Defect, radius: float = DEFECT_RADIUS) -> np.ndarray:
    """(n,) bool: atoms within ``radius`` Å (minimum image) of a defect site or vacancy position.

    Sites are taken at their positions in ``atoms``; the site atoms themselves are included.
    All False when the defect has no sites and no vacancies (bulk / unknown).
    """
    centres = defect.positions(atoms)
    if len(centres) == 0:
        return np.zeros(len(atoms), dtype=bool)
    pbc = atoms.pbc if atoms.cell.rank == 3 else False
    _, dist = get_distances(centres, atoms.positions, cell=atoms.cell, pbc=pbc)
    return (dist <= radius).any(axis=0)


def _join_flags(*groups) -> str:
    seen: list[str] = []
    for group in groups:
        words = group.split(";") if isinstance(group, str) else group
        for w in words:
            w = w.strip()
            if w and w not in seen:
                seen.append(w)
    return ";".join(seen)


def metric_rows(
    ps: PredictionSet,
    *,
    model: str,
    family: str,
    dataset: str,
    split: str,
    selection: str,
    flags: str = "",
    train_energy_refs: tuple[dict, dict] | None = None,
) -> list[dict]:
    """Tidy metric rows for one prediction set.

    Keys: model, family, dataset, split, selection, subset, metric, value, unit, n, flags.
    Force metrics for subsets all / defect / bulk / kind=<kind> (a subset with no atoms is
    skipped; n = atoms, or atoms kept for force_angle); energy metrics for all and per kind
    (n = structures). ``train_energy_refs=(refs_model, refs_data)`` adds the aligned energy
    metrics. No energy rows when the model predicts no energy (flag ``no_energy``) or the dataset
    has none (flag ``no_reference_energy``: a forces-only dataset); no force rows when it predicts
    no forces (flag ``no_forces``) or the dataset has none (``no_reference_forces``). Per-frame prediction flags
    (e.g. ``unseen_cell``) of a subset's frames are added to its rows' flags. A value may be
    NaN (e.g. force_angle of a zero-force model); writers store it as empty.
    """
    has_forces = bool(np.isfinite(ps.forces_pred).any())
    has_energy = bool(np.isfinite(ps.energy_pred).any())
    ref_forces = bool(np.isfinite(ps.forces_ref).any())
    ref_energy = bool(np.isfinite(ps.energy_ref).any())
    run_flags = _join_flags(
        flags,
        [] if has_energy else ["no_energy"],
        [] if has_forces else ["no_forces"],
        [] if ref_energy or not len(ps) else ["no_reference_energy"],
        [] if ref_forces or not len(ps) else ["no_reference_forces"],
    )
    has_forces, has_energy = has_forces and ref_forces, has_energy and ref_energy
    base = dict(model=model, family=family, dataset=dataset, split=split, selection=selection)
    atom_frame = np.repeat(np.arange(len(ps.n_atoms)), ps.n_atoms)
    kinds = sorted(set(ps.defect_kind.tolist()))
    rows: list[dict] = []

    def add(subset, frame_sel, metric, unit, value, n):
        frame_flags = [f for fl in ps.flags[frame_sel] for f in str(fl).split(";")]
        rows.append(
            base
            | dict(subset=subset, metric=metric, value=float(value), unit=unit, n=int(n))
            | dict(flags=_join_flags(run_flags, sorted(set(frame_flags))))
        )

    if has_forces:
        atom_subsets = [
            ("all", np.ones(len(atom_frame), dtype=bool)),
            ("defect", ps.defect_mask),
            ("bulk", ~ps.defect_mask),
        ] + [(f"kind={k}", ps.defect_kind[atom_frame] == k) for k in kinds]
        for subset, amask in atom_subsets:
            if not amask.any():
                continue
            res = force_metrics(ps.forces_pred[amask], ps.forces_ref[amask])
            if not res:
                continue
            frame_sel = np.unique(atom_frame[amask])
            for metric, (value, n) in res.items():
                add(subset, frame_sel, metric, METRICS[metric].unit, value, n)

    if has_energy:
        frame_subsets = [("all", np.ones(len(ps.n_atoms), dtype=bool))] + [
            (f"kind={k}", ps.defect_kind == k) for k in kinds
        ]
        aligned = None
        if train_energy_refs is not None:
            refs_model, refs_data = train_energy_refs
            aligned = aligned_energies(
                ps.energy_pred, ps.symbols_per_frame(), refs_model, refs_data
            )
        for subset, fmask in frame_subsets:
            frame_sel = np.flatnonzero(fmask)
            for pred, is_aligned in ((ps.energy_pred, False), (aligned, True)):
                if pred is None:
                    continue
                res = energy_errors(
                    pred[fmask], ps.energy_ref[fmask], ps.n_atoms[fmask], is_aligned
                )
                n = res.pop("n_structures")
                for metric, value in res.items() if n else ():
                    add(subset, frame_sel, metric, METRICS[metric].unit, value, n)
    return rows
