"""`adapt-bench data info`: what a dataset holds, and whether frames leak across splits.

Leakage: two frames are *copies* when they have the same number of atoms, the same species, the
same cell (within ``tol`` Å per component) and a one-to-one matching of same-species atoms whose
minimum-image distances are all within ``tol`` Å. Wrapping into the cell first makes a copy
translated by any lattice vector (or with atoms permuted) still a copy.

Fast on big sets: frames are bucketed by (atom count, composition), and within a bucket a k-d
tree over cheap features finds candidate pairs (see ``_features``: the cell and block means of
sorted, wrap-invariant per-atom coordinates). The features are invariant under permutations and
lattice translations and move by at most ``tol`` when every atom moves by at most ``tol``, so a
tree search with that radius (Chebyshev norm) misses no copy; only candidates get the full
per-atom comparison (species-wise nearest-neighbour matching under minimum image).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.geometry import find_mic
from scipy.spatial import cKDTree

from benchmarks.data.dataset import SPLITS, Dataset
from benchmarks.data.selections import select_frames

COPY_TOL = 0.01  # Å, default position tolerance of the leakage check


# --------------------------------------------------------------------------- copies


@dataclass
class _Frame:
    """What the copy search needs from a frame, computed once."""

    key: tuple  # (n atoms, composition, pbc)
    cell: np.ndarray  # (3, 3) Å
    pbc: np.ndarray
    positions: np.ndarray  # (n, 3) Å
    frac: np.ndarray  # (n, 3) wrapped fractional coordinates (positions if not periodic)
    numbers: np.ndarray  # (n,)
    periodic: bool


def _frame(atoms: Atoms) -> _Frame:
    numbers = atoms.numbers.copy()
    periodic = bool(atoms.pbc.all()) and abs(atoms.cell.volume) > 1e-6
    cell = np.asarray(atoms.cell, dtype=float).copy()
    if periodic:
        frac = np.linalg.solve(cell.T, atoms.positions.T).T % 1.0
        frac[frac >= 1.0] -= 1.0  # -1e-17 % 1.0 == 1.0
    else:
        frac = atoms.positions.copy()
    comp = tuple(zip(*np.unique(numbers, return_counts=True), strict=True))
    key = (len(atoms), tuple((int(z), int(c)) for z, c in comp), tuple(atoms.pbc.tolist()))
    return _Frame(key, cell, atoms.pbc.copy(), atoms.positions.copy(), frac, numbers, periodic)


def _features(f: _Frame, tol: float, blocks: int = 8) -> np.ndarray:
    """Scaled features: frames within ``tol`` of each other differ by at most 1 per component.

    The cell, and block means of sorted per-atom periodic distances to two planes per axis:
    u = L_a * |((s_a - phi + 1/2) mod 1) - 1/2| for phi in {0, 1/4}, where s_a is the fractional
    coordinate and L_a = 1/|b_a| the plane spacing. Each u moves by at most tol when its atom
    moves by tol, sorting and block means keep that bound, and wrapping does not change u.
    """
    cell = f.cell.ravel() / tol
    if not f.periodic:
        srt = np.sort(f.positions, axis=0)
        return np.concatenate([cell, _block_means(srt, blocks).ravel() / tol])
    spacing = 1.0 / np.linalg.norm(np.linalg.inv(f.cell).T, axis=1)  # (3,) Å between planes
    feats = [cell]
    for phi in (0.0, 0.25):
        u = np.abs((f.frac - phi + 0.5) % 1.0 - 0.5) * spacing  # (n, 3) Å
        feats.append(_block_means(np.sort(u, axis=0), blocks).ravel() / (tol * 2.0))
    return np.concatenate(feats)


def _block_means(sorted_values: np.ndarray, blocks: int) -> np.ndarray:
    n = len(sorted_values)
    edges = np.linspace(0, n, min(blocks, n) + 1).round().astype(int)
    return np.array(
        [sorted_values[a:b].mean(axis=0) for a, b in zip(edges[:-1], edges[1:], strict=True)]
    )


def _same(a: _Frame, b: _Frame, tol: float) -> bool:
    if a.key != b.key or not np.allclose(a.cell, b.cell, atol=tol):
        return False
    for z in np.unique(a.numbers):
        ia, ib = np.flatnonzero(a.numbers == z), np.flatnonzero(b.numbers == z)
        tree = cKDTree(a.frac[ia], boxsize=1.0 if a.periodic else None)
        _, nearest = tree.query(b.frac[ib])
        if len(np.unique(nearest)) != len(ib):
            return False
        delta = b.positions[ib] - a.positions[ia[nearest]]
        if a.periodic:
            frac = np.linalg.solve(a.cell.T, delta.T).T
            delta = (frac - np.round(frac)) @ a.cell
            if np.linalg.norm(delta, axis=1).max() > tol:  # skewed cell: full minimum image
                delta, _ = find_mic(delta, a.cell, a.pbc)
        if np.linalg.norm(delta, axis=1).max() > tol:
            return False
    return True


def same_structure(a: Atoms, b: Atoms, tol: float = COPY_TOL) -> bool:
    """True when b is a copy of a (see the module docstring)."""
    return _same(_frame(a), _frame(b), tol)


def find_copies(
    reference: Sequence[Atoms], queries: Sequence[Atoms], tol: float = COPY_TOL
) -> list[int | None]:
    """For each query frame, the index of one reference frame it copies, or None."""
    ref = [_frame(a) for a in reference]
    qry = [_frame(a) for a in queries]
    out: list[int | None] = [None] * len(qry)
    buckets: dict[tuple, list[int]] = defaultdict(list)
    for i, f in enumerate(ref):
        buckets[f.key].append(i)
    by_key: dict[tuple, list[int]] = defaultdict(list)
    for j, f in enumerate(qry):
        by_key[f.key].append(j)
    for key, qs in by_key.items():
        refs = buckets.get(key)
        if not refs:
            continue
        tree = cKDTree(np.array([_features(ref[i], tol) for i in refs]))
        qf = np.array([_features(qry[j], tol) for j in qs])
        for j, cands in zip(qs, tree.query_ball_point(qf, r=1.0, p=np.inf), strict=True):
            for c in sorted(cands):
                if _same(ref[refs[c]], qry[j], tol):
                    out[j] = refs[c]
                    break
    return out


def leakage(frames_by_split: dict[str, list[Atoms]], tol: float = COPY_TOL) -> dict[str, int]:
    """Frames of the later split that copy a frame of the earlier one, per split pair."""
    names = [s for s in SPLITS if frames_by_split.get(s)]
    out = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            hits = find_copies(frames_by_split[a], frames_by_split[b], tol)
            out[f"{a}-{b}"] = sum(h is not None for h in hits)
    return out


# --------------------------------------------------------------------------- statistics


def _stats(values: np.ndarray) -> dict:
    if values.size == 0:
        return {}
    return {
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "p95": float(np.percentile(values, 95)),
        "max": float(values.max()),
    }


def dataset_info(ds: Dataset, tol: float = COPY_TOL, check_leakage: bool = True) -> dict:
    """Counts, species, splits, level of theory, force statistics and the leakage check."""
    frames_by_split: dict[str, list[Atoms]] = defaultdict(list)
    per_split: dict[str, dict] = {}
    species: Counter = Counter()
    kinds: dict[str, Counter] = defaultdict(Counter)
    n_atoms, traj_len, first_fmax, e_per_atom = [], [], [], []
    norms_all, norms_early, components = [], [], []
    converged = 0
    for rec in ds.records():
        frames = ds.read(rec)
        split = rec.split or "unsplit"
        frames_by_split[split].extend(frames)
        d = per_split.setdefault(split, {"trajectories": 0, "frames": 0})
        d["trajectories"] += 1
        d["frames"] += len(frames)
        kinds[split][rec.defect.kind] += 1
        converged += bool(rec.converged)
        traj_len.append(len(frames))
        early = set(select_frames(len(frames), "early"))
        for k, atoms in enumerate(frames):
            n_atoms.append(len(atoms))
            species.update(atoms.get_chemical_symbols())
            if ds.has("energy"):
                e_per_atom.append(atoms.calc.results["energy"] / len(atoms))
            if not ds.has("forces"):
                continue
            f = atoms.calc.results["forces"]
            norm = np.linalg.norm(f, axis=1)
            norms_all.append(norm)
            components.append(np.abs(f).ravel())
            if k in early:
                norms_early.append(norm)
        if ds.has("forces"):
            first_fmax.append(float(np.linalg.norm(frames[0].get_forces(), axis=1).max()))
    cat = np.concatenate
    forces = energy = None
    if ds.has("forces"):
        forces = {
            "component_mean_abs": float(cat(components).mean()),
            "atom_norm_all_frames": _stats(cat(norms_all)),
            "atom_norm_early_frames": _stats(cat(norms_early)),
            "first_frame_fmax": _stats(np.array(first_fmax)),
        }
    if ds.has("energy"):
        energy = {"min": float(min(e_per_atom)), "max": float(max(e_per_atom))}
    info = {
        "name": ds.name,
        "root": str(ds.root),
        "level_of_theory": ds.level_of_theory,
        "reference": ds.manifest.reference.get("name"),
        "content_sha256": ds.sha256,
        "trajectories": len(traj_len),
        "frames": int(sum(traj_len)),
        "converged_trajectories": converged,
        "frames_per_trajectory": {
            "min": min(traj_len),
            "median": float(np.median(traj_len)),
            "max": max(traj_len),
        },
        "atoms_per_frame": {
            "min": min(n_atoms),
            "median": float(np.median(n_atoms)),
            "max": max(n_atoms),
        },
        "species": dict(sorted(species.items(), key=lambda kv: -kv[1])),
        "splits": {s: {**d, "defect_kinds": dict(kinds[s])} for s, d in per_split.items()},
        "labels": list(ds.labels),
        "forces_eV_per_A": forces,  # None: the dataset has no forces
        "energy_eV_per_atom": energy,  # None: the dataset has no energies
        "adapt_norm_stats": [s["source"] for s in ds.manifest.extra.get("adapt_norm_stats", [])],
        "generation": ds.manifest.extra.get("generation"),
    }
    if check_leakage:
        info["leakage"] = {"tolerance_A": tol, "copies": leakage(frames_by_split, tol)}
    return info


def format_info(info: dict) -> str:
    """The info dict as a short, human-readable report."""
    f = info["forces_eV_per_A"]
    lines = [
        f"dataset          {info['name']}  ({info['root']})",
        f"level of theory  {info['level_of_theory']}",
        f"content sha256   {info['content_sha256']}",
        f"trajectories     {info['trajectories']} ({info['converged_trajectories']} converged)"
        f", frames {info['frames']}"
        f" (per trajectory min {info['frames_per_trajectory']['min']}"
        f" / median {info['frames_per_trajectory']['median']:g}"
        f" / max {info['frames_per_trajectory']['max']})",
        f"atoms per frame  min {info['atoms_per_frame']['min']} / median "
        f"{info['atoms_per_frame']['median']:g} / max {info['atoms_per_frame']['max']}",
        "species (atoms)  " + ", ".join(f"{k} {v}" for k, v in info["species"].items()),
        "splits",
    ]
    for s, d in info["splits"].items():
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(d["defect_kinds"].items()))
        lines.append(
            f"  {s:<6} {d['trajectories']:>5} trajectories {d['frames']:>7} frames  ({kinds})"
        )
    lines.append("labels           " + ", ".join(info.get("labels", ("energy", "forces"))))
    if f is None:
        lines.append("forces (eV/Å)    not available: the dataset has no forces")
    else:
        lines += [
            "forces (eV/Å)    mean |component| {:.3f}".format(f["component_mean_abs"]),
            "  per-atom |F|, all frames    " + _fmt_stats(f["atom_norm_all_frames"]),
            "  per-atom |F|, early frames  " + _fmt_stats(f["atom_norm_early_frames"]),
            "  first-frame max |F|         " + _fmt_stats(f["first_frame_fmax"]),
        ]
    e = info["energy_eV_per_atom"]
    if e is None:
        lines.append("energy (eV/atom) not available: the dataset has no energies")
    else:
        lines.append("energy (eV/atom) min {:.4f} / max {:.4f}".format(e["min"], e["max"]))
    if info.get("adapt_norm_stats"):
        lines.append("ADAPT norm stats recorded from " + ", ".join(info["adapt_norm_stats"]))
    gen = info.get("generation")
    if gen:
        lines.append(
            f"generation       {gen.get('trajectory_wall_s_total')} s of relaxations "
            f"({gen.get('wall_s_this_run')} s wall in the last run, {gen.get('workers')} worker(s),"
            f" {gen.get('n_cpus')} CPUs)"
        )
    if "leakage" in info:
        lk = info["leakage"]
        pairs = ", ".join(f"{k} {v}" for k, v in lk["copies"].items()) or "no split pairs"
        lines.append(
            f"leakage          frames copied across splits (tol {lk['tolerance_A']} Å): {pairs}"
        )
    return "\n".join(lines)


def _fmt_stats(d: dict) -> str:
    return " / ".join(f"{k} {v:.3f}" for k, v in d.items())
