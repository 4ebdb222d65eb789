"""Tiny, seeded test systems and datasets made here (no downloads), shared by tests and demos."""

from __future__ import annotations

import numpy as np

from adapt.testing import si_cell  # noqa: F401 (tests import it from here too)
from benchmarks.data.dataset import Dataset, DatasetWriter, Defect, TrajectoryRecord, labelled


def synthetic_dataset(
    root,
    label,
    *,
    name: str,
    level_of_theory: str,
    n_traj: int,
    n_frames: int,
    k: int = 1,
    seed: int = 0,
    jitter: float = 0.05,
    splits=("train", "train", "train", "val", "test", "test"),
    id_prefix: str = "t",
) -> Dataset:
    """Jittered ``si_cell(k)`` frames (one C dopant at atom 0, recorded as the defect site),
    labelled by ``label(atoms, rng) -> (energy eV, forces (n, 3) eV/Å)``; trajectory t gets split
    ``splits[t % len(splits)]``."""
    rng = np.random.default_rng(seed)
    writer = DatasetWriter(root)
    assigned = {}
    for t in range(n_traj):
        frames = []
        for _ in range(n_frames):
            a = si_cell(k)
            a.positions += rng.normal(scale=jitter, size=a.positions.shape)
            energy, forces = label(a, rng)
            frames.append(labelled(a, energy=energy, forces=forces))
        rec = TrajectoryRecord(
            id=f"{id_prefix}{t:03d}",
            file="",
            n_frames=0,
            n_atoms=0,
            host="Si",
            defect=Defect("substitutional", ("C",), (0,)),
            split=None,
            final_fmax=0.0,
            converged=False,
        )
        writer.add(rec, frames)
        assigned[rec.id] = splits[t % len(splits)]
    writer.set_splits(assigned)
    return writer.finish(name, level_of_theory, {"name": name})


def random_label_dataset(
    root, n_traj: int = 6, n_frames: int = 4, k: int = 1, seed: int = 0
) -> Dataset:
    """A structurally valid dataset with random (unphysical) labels, for format-level tests."""

    def label(a, rng):
        return -4.6 * len(a) + rng.normal(), rng.normal(size=(len(a), 3))

    return synthetic_dataset(
        root,
        label,
        name="random-labels",
        level_of_theory="random numbers (format tests only)",
        n_traj=n_traj,
        n_frames=n_frames,
        k=k,
        seed=seed,
    )


def generated_dataset(
    root, n_trajectories: int = 6, supercell: int = 1, seed: int = 0, reference: str = "tersoff"
) -> Dataset:
    """A tiny dataset with real labels (Tersoff by default), made in about a second.

    ``supercell`` 1 gives 6-10-atom cells; relaxations stop at fmax 0.01 eV/Å or 40 steps. Always
    has train, val and test splits (test = complex defects), like the generator's datasets.
    """
    from benchmarks.data.generate import generate_dataset

    return generate_dataset(
        root,
        reference=reference,
        n_trajectories=max(3, n_trajectories),
        supercell=supercell,
        seed=seed,
        max_steps=40,
        name=f"generated-{reference}-k{supercell}-s{seed}",
    )


def smooth_label_dataset(
    root,
    n_traj: int = 4,
    n_frames: int = 3,
    k: int = 1,
    seed: int = 0,
    splits=("train", "train", "val", "test"),
):
    """A dataset with smooth, learnable labels: Lennard-Jones (σ 2.1 Å, ε 0.1 eV, rc 4 Å) on
    jittered Si cells with one C dopant (atom 0, recorded as the defect site)."""
    from ase.calculators.lj import LennardJones

    calc = LennardJones(sigma=2.1, epsilon=0.1, rc=4.0, smooth=True)

    def label(a, rng):
        a.calc = calc
        return a.get_potential_energy(), a.get_forces()

    return synthetic_dataset(
        root,
        label,
        name="lj-smooth",
        level_of_theory="Lennard-Jones (test labels)",
        n_traj=n_traj,
        n_frames=n_frames,
        k=k,
        seed=seed,
        jitter=0.1,
        splits=splits,
        id_prefix="lj",
    )


def metrics_run(tmp, specs: list[str]):
    """Run a metrics-only suite of ``specs`` on a random-label dataset in ``tmp`` (the caller sets
    $ADAPT_BENCH_CACHE); returns (RunSummary, results dir)."""
    from benchmarks.runner import run_suite
    from benchmarks.suite import parse_suite

    ds = random_label_dataset(tmp / "ds")
    suite = parse_suite(
        {
            "name": "toy",
            "tasks": ["metrics"],
            "datasets": [{"source": str(ds.root), "splits": ["test"], "selections": ["all"]}],
            "models": [{"spec": s} for s in specs],
        },
        source="toy.toml",
    )
    return run_suite(suite, tmp / "out"), tmp / "out"
