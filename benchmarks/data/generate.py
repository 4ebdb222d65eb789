"""`adapt-bench data generate`: defect relaxation trajectories labelled by a reference calculator.

For each planned trajectory: build a defect configuration in a diamond-Si supercell
(:mod:`benchmarks.data.defects`), perturb it the way defect workflows do (ShakeNBreak-style: the
nearest neighbours of the defect are pushed out or pulled in by a bond distortion drawn from
``bond_distortions``, then every atom is rattled by Gaussian noise; a draw whose largest force
exceeds ``max_initial_fmax`` is redrawn, up to ``MAX_DRAWS`` times), and relax it at fixed cell
with an ASE optimizer, recording every ionic step (energy eV, forces eV/Å) until the largest
per-atom force is below ``fmax`` or ``max_steps`` is reached (``converged`` in the record).
ShakeNBreak itself is not installed here; the perturbation is written with numpy/ASE.

Splits are by whole trajectory and by *configuration*: each defect configuration appears in one
split only, so relaxed end points of different trajectories cannot leak across splits. The test
split holds complex (substitutional-interstitial and other multi-site) defects only, as in the
ADAPT paper; train and val draw from the simple defects and the remaining complexes.

Deterministic for a seed: every trajectory has its own RNG seeded by (seed, index). Each finished
trajectory is written at once (DatasetWriter), so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import json
import logging
import platform
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.geometry import find_mic, get_distances
from threadpoolctl import threadpool_limits

from adapt.fileio import write_text_atomic
from benchmarks.data.dataset import (
    Dataset,
    DatasetWriter,
    Defect,
    TrajectoryRecord,
    labelled,
)
from benchmarks.data.defects import (
    SI_A,
    DefectSpec,
    build_defect,
    catalogue,
    host_shells,
    host_supercell,
)
from benchmarks.data.references import Reference, get_reference

log = logging.getLogger(__name__)

OPTIMIZERS = ("BFGS", "LBFGS", "FIRE", "BFGSLineSearch")
MIN_DISTANCE_FRACTION = 0.7  # rattled atoms keep at least 0.7 x the host bond length apart
MAX_DRAWS = 10  # perturbation draws per trajectory before the gentlest one is taken


@dataclass(frozen=True)
class GeneratorSettings:
    """Everything that determines a generated dataset (kept in the manifest; resuming needs equal).

    Lengths in Å, forces in eV/Å. ``dopants=None`` means the reference's default: C and Ge for
    tersoff and custom calculators, none for sw (Si only). ``supercell``: k, or a tuple of k
    values mixed within every split (trajectory j of a split gets the (j mod n)-th). ``strain``:
    each trajectory's cell is deformed by a random symmetric strain with components drawn
    uniformly in [-strain, strain] (0: the ideal host cell).
    """

    reference: str = "tersoff"
    reference_kwargs: tuple[tuple[str, object], ...] = ()
    n_trajectories: int = 50
    supercell: int | tuple[int, ...] = 2
    seed: int = 0
    host: str = "Si"
    lattice_constant: float = SI_A
    dopants: tuple[str, ...] | None = None
    rattle_std: float = 0.05  # Å; each trajectory draws its std uniformly in [0.5, 1.5] x this
    bond_distortions: tuple[float, ...] = (-0.2, -0.1, 0.0, 0.1, 0.2)  # fractions of the distance
    n_distorted: int = 4  # nearest neighbours of the defect centre that are distorted
    max_initial_fmax: float | None = 20.0  # eV/Å: redraw perturbations starting above this
    fmax: float = 0.01  # eV/Å, convergence criterion of the reference relaxation
    max_steps: int = 200  # ionic steps after the initial frame
    optimizer: str = "BFGS"
    maxstep: float = 0.2  # Å, the optimizer's largest atomic step
    val_fraction: float = 0.1
    test_fraction: float = 0.15
    name: str = ""
    strain: float = 0.0  # largest strain component (dimensionless)

    def supercells(self) -> tuple[int, ...]:
        sizes = (self.supercell,) if isinstance(self.supercell, int) else tuple(self.supercell)
        if not sizes or any(int(k) < 1 for k in sizes):
            raise ValueError(f"supercell {self.supercell!r}: sizes must be integers >= 1")
        return tuple(int(k) for k in sizes)

    def resolved_dopants(self) -> tuple[str, ...]:
        if self.dopants is not None:
            return tuple(self.dopants)
        return () if self.reference == "sw" else ("C", "Ge")


@dataclass(frozen=True)
class PlannedTrajectory:
    index: int
    id: str
    spec: DefectSpec
    split: str
    supercell: int = 2


@dataclass
class GenerationReport:
    dataset: Dataset
    generated: int
    resumed: int
    wall_s: float
    extra: dict = field(default_factory=dict)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def plan(settings: GeneratorSettings, reference: Reference) -> list[PlannedTrajectory]:
    """The trajectories to make: configuration and split of each (deterministic for the seed)."""
    n = settings.n_trajectories
    if n < 3:
        raise ValueError("n_trajectories must be at least 3 (one each for train, val and test)")
    settings.supercells()  # every size >= 1, else one clear error
    if settings.dopants is not None:  # asked for explicitly: each must be labellable
        for x in settings.dopants:
            reference.check_species({settings.host, x})
    specs = []
    for spec in catalogue(settings.resolved_dopants(), settings.host):
        try:
            reference.check_species(spec.species | {settings.host})
        except ValueError:
            continue
        specs.append(spec)
    simple = [s for s in specs if s.kind != "complex"]
    complexes = [s for s in specs if s.kind == "complex"]
    if not complexes or not simple:
        raise ValueError("the defect catalogue needs simple and complex configurations")
    rng = np.random.default_rng([settings.seed, 0xC0FFEE])
    complexes = [complexes[i] for i in rng.permutation(len(complexes))]
    n_test_cfg = max(1, round(len(complexes) / 3))
    test_cfgs = complexes[:n_test_cfg]
    rest = simple + complexes[n_test_cfg:]
    rest = [rest[i] for i in rng.permutation(len(rest))]
    n_val_cfg = max(1, round(0.2 * len(rest)))
    val_cfgs, train_cfgs = rest[:n_val_cfg], rest[n_val_cfg:]
    n_test = max(1, round(settings.test_fraction * n))
    n_val = max(1, round(settings.val_fraction * n))
    n_train = n - n_test - n_val
    if n_train < 1:
        raise ValueError(f"n_trajectories={n} leaves no training trajectory")
    if not 0.0 <= settings.strain < 0.5:
        raise ValueError(f"strain {settings.strain}: use a value in [0, 0.5)")
    sizes = settings.supercells()
    out: list[PlannedTrajectory] = []
    for split, cfgs, count in (
        ("train", train_cfgs, n_train),
        ("val", val_cfgs, n_val),
        ("test", test_cfgs, n_test),
    ):
        for j in range(count):
            spec = cfgs[j % len(cfgs)]
            i = len(out)
            k = sizes[j % len(sizes)]
            tag = f"-k{k}" if len(sizes) > 1 else ""
            out.append(PlannedTrajectory(i, f"t{i:04d}-{_slug(spec.name)}{tag}", spec, split, k))
    return out


def perturb(
    atoms: Atoms, defect: Defect, rng: np.random.Generator, settings: GeneratorSettings
) -> dict:
    """Bond-distort the defect's neighbours, then rattle every atom (in place). Returns the draw."""
    sh = host_shells(settings.host)
    centre = _defect_centre(atoms, defect)
    vec, dist = get_distances(centre[None], atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
    dist = dist[0].copy()
    dist[list(defect.sites)] = np.inf  # distort the host neighbours, not the defect atoms
    nearest = np.argsort(dist, kind="stable")[: settings.n_distorted]
    distortion = float(rng.choice(settings.bond_distortions))
    atoms.positions[nearest] += distortion * vec[0, nearest]
    std = settings.rattle_std * float(rng.uniform(0.5, 1.5))
    base = atoms.positions.copy()
    d_min = MIN_DISTANCE_FRACTION * sh.d1
    for _attempt in range(50):
        atoms.positions = base + rng.normal(scale=std, size=base.shape)
        _, d = get_distances(atoms.positions, cell=atoms.cell, pbc=atoms.pbc)
        d[np.diag_indices(len(atoms))] = np.inf
        if d.min() >= d_min:
            break
    return {
        "bond_distortion": distortion,
        "distorted_atoms": [int(i) for i in nearest],
        "rattle_std": std,
    }


def apply_strain(atoms: Atoms, max_strain: float, rng: np.random.Generator) -> np.ndarray:
    """Deform the cell (atoms follow) by I + ε, ε symmetric with components uniform in
    [-max_strain, max_strain]; returns ε (3, 3). No-op (ε = 0, rng untouched) when max_strain is 0.
    """
    if max_strain == 0:
        return np.zeros((3, 3))
    eps = rng.uniform(-max_strain, max_strain, size=(3, 3))
    eps = (eps + eps.T) / 2
    atoms.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + eps), scale_atoms=True)
    return eps


def _defect_centre(atoms: Atoms, defect: Defect) -> np.ndarray:
    pts = defect.positions(atoms)
    if len(pts) == 0:
        return np.asarray(atoms.cell).sum(axis=0) / 2
    rel, _ = find_mic(pts - pts[0], atoms.cell, atoms.pbc)
    return pts[0] + rel.mean(axis=0)


def relax_recording(
    atoms: Atoms, reference: Reference, settings: GeneratorSettings
) -> tuple[list[Atoms], bool]:
    """Relax at fixed cell with the reference; every evaluated step as a labelled frame.

    ``atoms`` may carry a calculator of ``reference`` already (its cached results are reused).
    """
    import ase.optimize

    if settings.optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer {settings.optimizer!r}: use one of {OPTIMIZERS}")
    work = atoms
    if work.calc is None:
        work = atoms.copy()
        work.calc = reference.calculator(work.get_chemical_symbols())
    opt_cls = getattr(ase.optimize, settings.optimizer)
    kwargs = {"logfile": None}
    if settings.optimizer in ("BFGS", "LBFGS", "FIRE"):
        kwargs["maxstep"] = settings.maxstep
    opt = opt_cls(work, **kwargs)
    frames: list[Atoms] = []
    converged = False
    for step_converged in opt.irun(fmax=settings.fmax, steps=settings.max_steps):
        frames.append(labelled(work, work.get_potential_energy(), work.get_forces()))
        converged = step_converged
    _close(work.calc)
    return frames, bool(converged)


def _close(calc) -> None:
    lmp = getattr(calc, "lmp", None)
    if lmp is not None:
        try:
            lmp.close()
        except Exception:  # pragma: no cover
            pass


def make_trajectory(
    item: PlannedTrajectory, settings: GeneratorSettings, reference: Reference
) -> tuple[TrajectoryRecord, list[Atoms]]:
    """Build, perturb and relax one planned trajectory."""
    t0 = time.perf_counter()
    rng = np.random.default_rng([settings.seed, item.index])
    host = host_supercell(item.supercell, settings.lattice_constant, settings.host)
    built, defect = build_defect(host, item.spec, rng, a=settings.lattice_constant)
    strain = apply_strain(
        built, settings.strain, np.random.default_rng([settings.seed, item.index, 7])
    )
    calc = reference.calculator(built.get_chemical_symbols())
    best = None
    for attempt in range(MAX_DRAWS):  # redraw perturbations that start above the force cap
        atoms = built.copy()
        draw = perturb(atoms, defect, rng, settings)
        atoms.calc = calc
        f0 = float(np.linalg.norm(atoms.get_forces(), axis=1).max())
        if best is None or f0 < best[0]:
            best = (f0, atoms, {**draw, "redraws": attempt})
        if settings.max_initial_fmax is None or f0 <= settings.max_initial_fmax:
            break
    _, atoms, draw = best  # its calculator recomputes if a later draw was evaluated last
    frames, converged = relax_recording(atoms, reference, settings)
    record = TrajectoryRecord(
        id=item.id,
        file="",
        n_frames=0,
        n_atoms=0,
        host=settings.host,
        defect=defect,
        split=item.split,
        final_fmax=0.0,
        converged=converged,
        extra={
            "config": item.spec.name,
            "perturbation": draw,
            "optimizer": settings.optimizer,
            "fmax_target": settings.fmax,
            "max_steps": settings.max_steps,
            "steps": len(frames) - 1,
            "initial_fmax": float(np.linalg.norm(frames[0].get_forces(), axis=1).max()),
            **({"supercell": item.supercell} if len(settings.supercells()) > 1 else {}),
            **({"strain": strain.round(6).tolist()} if settings.strain else {}),
            "wall_s": round(time.perf_counter() - t0, 3),
        },
    )
    log.info("%s: %d frames, converged=%s", item.id, len(frames), converged)
    return record, frames


def _worker(args):
    item, settings = args
    ref = get_reference(settings.reference, dict(settings.reference_kwargs) or None)
    with threadpool_limits(limits=1):
        return make_trajectory(item, settings, ref)


def generate_dataset(
    out_dir: str | Path,
    reference: str = "tersoff",
    n_trajectories: int = 50,
    supercell: int | tuple[int, ...] = 2,
    seed: int = 0,
    *,
    reference_kwargs: dict | None = None,
    workers: int = 1,
    progress: bool = False,
    **settings_kw,
) -> Dataset:
    """Generate (or finish generating) a dataset in ``out_dir``; see the module docstring.

    Extra keyword arguments are :class:`GeneratorSettings` fields (fmax, max_steps, dopants, ...).
    ``workers`` > 1 relaxes trajectories in that many processes (same result).
    """
    settings = GeneratorSettings(
        reference=reference,
        reference_kwargs=tuple(sorted((reference_kwargs or {}).items())),
        n_trajectories=n_trajectories,
        supercell=supercell,
        seed=seed,
        **settings_kw,
    )
    return run_generation(Path(out_dir), settings, workers=workers, progress=progress).dataset


def run_generation(
    out_dir: Path, settings: GeneratorSettings, workers: int = 1, progress: bool = False
) -> GenerationReport:
    """Generate into ``out_dir``, resuming a partial run of the same settings.

    A complete dataset of the same settings is returned as it is; a directory holding another
    dataset (or a partial run of other settings) is refused.
    """
    t0 = time.perf_counter()
    wanted = settings_json(settings)
    if (out_dir / "manifest.json").is_file():
        ds = Dataset(out_dir)
        if ds.manifest.extra.get("generator") == wanted:
            return GenerationReport(ds, 0, len(ds.records()), 0.0, ds.manifest.extra)
        raise ValueError(f"{out_dir}: already holds a dataset made otherwise; use a new directory")
    marker = out_dir / ".generator.json"
    if marker.is_file() and json.loads(marker.read_text()) != wanted:
        raise ValueError(f"{out_dir}: holds a partial run with other settings; use a new directory")
    ref = get_reference(settings.reference, dict(settings.reference_kwargs) or None)
    items = plan(settings, ref)
    writer = DatasetWriter(out_dir)
    write_text_atomic(marker, json.dumps(wanted, indent=1))
    done = writer.done()
    todo = [it for it in items if it.id not in done]
    bar = _progress_bar(len(items), len(done), progress)
    # One BLAS thread: the optimizers' small dense algebra is far slower multi-threaded on a
    # busy machine (measured 2 s vs 63 s for 12 trajectories of 64 atoms on 2 shared cores).
    with threadpool_limits(limits=1):
        if workers > 1 and len(todo) > 1:
            import multiprocessing as mp

            with mp.get_context("fork").Pool(workers) as pool:
                jobs = [(it, settings) for it in todo]
                for record, frames in pool.imap_unordered(_worker, jobs):
                    writer.add(record, frames)
                    bar.update(1)
        else:
            for it in todo:
                record, frames = make_trajectory(it, settings, ref)
                writer.add(record, frames)
                bar.update(1)
    bar.close()
    wall = time.perf_counter() - t0
    records = writer.records()
    name = settings.name or f"si-defects-{settings.reference.replace(':', '-')}"
    extra = {
        "generator": wanted,
        "generation": {
            "wall_s_this_run": round(wall, 2),
            "trajectory_wall_s_total": round(sum(r.extra.get("wall_s", 0.0) for r in records), 2),
            "resumed_trajectories": len(done),
            "workers": workers,
            "cpu": platform.processor() or platform.machine(),
            "n_cpus": _cpu_count(),
        },
        "splits": "by defect configuration; test = complex defects only",
    }
    ds = writer.finish(
        name=name,
        level_of_theory=ref.level_of_theory,
        reference=ref.to_dict(),
        created_by=created_by("adapt-bench data generate"),
        extra=extra,
    )
    marker.unlink(missing_ok=True)
    return GenerationReport(ds, len(todo), len(done), wall, extra)


def settings_json(settings: GeneratorSettings) -> dict:
    """The settings as they read back from a manifest (JSON types)."""
    d = {**asdict(settings), "reference_kwargs": dict(settings.reference_kwargs)}
    if not d["strain"]:  # datasets made before strain existed keep matching their manifests
        del d["strain"]
    return json.loads(json.dumps(d))


def created_by(tool: str) -> dict:
    """``created_by`` of a manifest: tool, package version, git SHA, UTC time."""
    from benchmarks.provenance import git_sha, package_versions, utc_now

    return {
        "tool": tool,
        "version": package_versions(("adapt-bench",))["adapt-bench"],
        "git_sha": git_sha(),
        "utc": utc_now(),
    }


def _cpu_count() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(total: int, initial: int, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, desc="trajectories", unit="traj")
