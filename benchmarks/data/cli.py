"""`adapt-bench data generate|import|get|info`: parse arguments, call plain functions."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

UNITS = "Units: Å, eV, eV/Å."

from benchmarks.cli_types import positive_int  # noqa: E402


def register(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser(
        "data",
        help="make, import, download and inspect defect-trajectory datasets",
        description="Defect-trajectory datasets: directories of extxyz trajectories + manifest.json. "
        + UNITS,
    )
    dsub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    g = dsub.add_parser(
        "generate",
        help="generate relaxation trajectories of point defects in diamond Si",
        description=(
            "Build defects (vacancy, self-interstitials at T/H/<110>-split sites, "
            "substitutionals, interstitials, substitutional-interstitial complexes) in a "
            "k x k x k diamond-Si supercell (8 k^3 atoms), rattle and bond-distort them, relax "
            "each with the reference calculator at fixed cell and record every ionic step. "
            "Test split = complex defects. Resumes an interrupted run in the same DIR. " + UNITS
        ),
    )
    g.add_argument("--out", required=True, type=Path, help="dataset directory to create or resume")
    g.add_argument(
        "--reference",
        default="tersoff",
        help="tersoff (LAMMPS SiCGe.tersoff), sw (LAMMPS Si.sw), gpaw (PBE, LCAO dzp, Gamma), "
        "model:SPEC for any model of `adapt-bench models` as labeller (e.g. model:chgnet, "
        "model:mace:PATH), or module:Class of any ASE calculator (default: %(default)s)",
    )
    g.add_argument(
        "--reference-kwargs",
        default=None,
        help="JSON keyword arguments for gpaw, module:Class or model:SPEC, e.g. "
        '\'{"xc": "PBE"}\' or \'{"device": "cuda"}\'',
    )
    g.add_argument(
        "--n-trajectories",
        type=positive_int,
        default=50,
        help="trajectories to make, >= 3 (default: %(default)s)",
    )
    g.add_argument(
        "--supercell",
        type=_supercells,
        default=2,
        help="k: supercell of 8 k^3 host atoms, or k1,k2,... to mix sizes (trajectories of "
        "every split cycle through them) (default: %(default)s)",
    )
    g.add_argument(
        "--strain",
        type=float,
        default=0.0,
        help="random symmetric cell strain per trajectory, components uniform in "
        "[-X, X] (e.g. 0.02); 0 keeps the ideal cell (default: %(default)s)",
    )
    g.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed; same seed, same dataset (default: %(default)s)",
    )
    g.add_argument(
        "--fmax",
        type=float,
        default=0.01,
        help="relaxations stop when the max atomic force is below this, eV/Å (default: %(default)s)",
    )
    g.add_argument(
        "--max-steps",
        type=int,
        default=200,
        help="ionic step limit per relaxation (default: %(default)s)",
    )
    g.add_argument(
        "--dopants",
        default=None,
        help="comma-separated foreign species, any the reference covers (default: C,Ge; "
        "none for sw)",
    )
    g.add_argument(
        "--optimizer",
        default="BFGS",
        choices=["BFGS", "LBFGS", "FIRE", "BFGSLineSearch"],
        help="ASE optimizer of the reference relaxations; LBFGS avoids BFGS's O(n^3) step, "
        "faster for big cells (default: %(default)s)",
    )
    g.add_argument("--name", default="", help="dataset name (default: si-defects-<reference>)")
    g.add_argument(
        "--workers",
        type=int,
        default=1,
        help="parallel relaxation processes; same result (default: %(default)s)",
    )
    g.set_defaults(func=cmd_generate)

    i = dsub.add_parser(
        "import",
        help="import trajectories (extxyz, ASE, VASP, ADAPT .pt, Liu-He-Mo sets) as a dataset",
        description=(
            "Import trajectories into a new dataset directory. Energies/forces come from the "
            "file's calculator results or info/arrays keys. Bad frames (no forces/energy, NaN/inf, "
            "zero-volume cell, wrong force shape) stop the import with an error naming file, frame "
            "and field, unless --skip-bad. " + UNITS
        ),
    )
    i.add_argument("sources", nargs="+", type=Path, metavar="SRC", help="files, directories, zips")
    i.add_argument("--out", required=True, type=Path, help="new dataset directory")
    i.add_argument(
        "--format",
        default="auto",
        choices=["auto", "extxyz", "ase", "vasp", "adapt-pt", "liu-he-mo"],
        help="input format; auto decides from each file's name (default: %(default)s)",
    )
    i.add_argument("--name", default=None, help="dataset name (default: the --out folder name)")
    i.add_argument("--level-of-theory", default=None, help="e.g. 'PBE (VASP, 520 eV, Gamma)'")
    i.add_argument(
        "--split",
        default="auto",
        choices=["train", "val", "test", "auto"],
        help="split of every trajectory; auto: the source's own split if every trajectory has "
        "one, else 80/10/10 by a hash of the trajectory id (default: %(default)s)",
    )
    i.add_argument("--skip-bad", action="store_true", help="skip bad frames and count them")
    i.add_argument(
        "--drop-copies-of",
        type=Path,
        default=None,
        metavar="DIR",
        help="drop val/test frames that copy a frame of the dataset in DIR (positions within "
        "--copy-tol, minimum image)",
    )
    i.add_argument(
        "--copy-tol", type=float, default=0.01, help="copy tolerance, Å (default: %(default)s)"
    )
    i.add_argument(
        "--host", default=None, help="host element for defect detection (default: most common)"
    )
    i.add_argument(
        "--energy-key",
        default=None,
        help="info key of the energy, eV (default: the calculator's energy, else the first of "
        "energy, REF_energy, DFT_energy, dft_energy, total_energy, Energy)",
    )
    i.add_argument(
        "--forces-key",
        default=None,
        help="arrays key of the forces, eV/Å (default: the calculator's forces, else the first "
        "of forces, REF_forces, DFT_forces, dft_forces, DFT_force, dft_force, force, Forces)",
    )
    i.add_argument(
        "--labels",
        default="auto",
        help="labels to import: energy,forces | forces | energy; auto: those every frame has "
        "(a forces-only source, e.g. the ADAPT authors' force file, makes a forces-only "
        "dataset) (default: %(default)s)",
    )
    i.add_argument(
        "--cell",
        type=float,
        nargs="+",
        default=None,
        help="adapt-pt only: cell edge (one number) or three edge lengths, Å (default: inferred)",
    )
    i.add_argument(
        "--allow-any-element",
        action="store_true",
        help="import the dummy element X and elements beyond Pu (Z > 94) too; no model here "
        "knows them, so they are refused by default",
    )
    i.set_defaults(func=cmd_import)

    ex = dsub.add_parser(
        "export",
        help="write a dataset in the ADAPT authors' .pt layouts",
        description="Write DIR's frames as the ADAPT authors' released files: <split>set.pt (force "
        "dict {'X': [(n, 13)], 'Y': [(n, 3)]}) when it has forces, x_values.pt (M, n_max, 12) + "
        "nrg_values.pt (M,) when it has energies, and norm_stats.pt (the statistics recorded at "
        "import, else fitted on these frames). " + UNITS,
    )
    ex.add_argument("dir", type=Path, help="dataset directory")
    ex.add_argument("--out", required=True, type=Path, help="new folder for the .pt files")
    ex.add_argument(
        "--format", default="adapt-pt", choices=["adapt-pt"], help="(default: %(default)s)"
    )
    ex.add_argument(
        "--split",
        default="all",
        choices=["train", "val", "test", "all"],
        help="which trajectories (default: %(default)s)",
    )
    ex.add_argument(
        "--n-max", type=int, default=220, help="x_values padding rows (default: %(default)s)"
    )
    ex.set_defaults(func=cmd_export)

    gt = dsub.add_parser(
        "get",
        help="download and verify a public dataset (offline: says where to place it)",
        description="Download and verify a public dataset; without NAME, list them.",
    )
    gt.add_argument("name", nargs="?", default=None, metavar="NAME", help="dataset name")
    gt.add_argument("--offline", action="store_true", help="do not try the network")
    gt.set_defaults(func=cmd_get)

    inf = dsub.add_parser(
        "info",
        help="statistics and the cross-split leakage check of a dataset",
        description=(
            "Trajectories, frames, atoms per frame, species, splits, level of theory, force "
            "statistics (eV/Å) and the leakage check: frames in two splits with the same species "
            "and positions within --tol Å (minimum image, so also after a lattice translation). "
            "DIR 'default' is the built-in dataset."
        ),
    )
    inf.add_argument("dir", metavar="DIR", help="dataset directory, or 'default'")
    inf.add_argument("--json", action="store_true", help="print JSON instead of text")
    inf.add_argument(
        "--tol",
        type=float,
        default=0.01,
        help="leakage position tolerance, Å (default: %(default)s)",
    )
    inf.add_argument("--no-leakage", action="store_true", help="skip the leakage check")
    inf.add_argument(
        "--verify",
        action="store_true",
        help="hash every trajectory file and recompute the content sha256 (every open already "
        "checks sizes and mtimes; exit 2 naming the file when the data changed)",
    )
    inf.set_defaults(func=cmd_info)


def _progress(args) -> bool:
    from baselines.paths import progress_enabled

    return progress_enabled() and not getattr(args, "no_progress", False)


def _supercells(text: str) -> int | tuple[int, ...]:
    """``--supercell``: "2" -> 2, "1,2,3" -> (1, 2, 3)."""
    try:
        sizes = tuple(int(k) for k in text.split(",") if k.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected k or k1,k2,...") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: sizes must be integers >= 1")
    return sizes[0] if len(sizes) == 1 else sizes


def cmd_generate(args: argparse.Namespace) -> int:
    from benchmarks.data.generate import GeneratorSettings, run_generation

    try:
        kwargs = json.loads(args.reference_kwargs) if args.reference_kwargs else {}
    except json.JSONDecodeError as exc:
        print(f"error: --reference-kwargs is not JSON ({exc})", file=sys.stderr)
        return 2
    dopants = None
    if args.dopants is not None:
        dopants = tuple(s for s in args.dopants.split(",") if s)
    settings = GeneratorSettings(
        reference=args.reference,
        reference_kwargs=tuple(sorted(kwargs.items())),
        n_trajectories=args.n_trajectories,
        supercell=args.supercell,
        seed=args.seed,
        fmax=args.fmax,
        max_steps=args.max_steps,
        optimizer=args.optimizer,
        dopants=dopants,
        name=args.name,
        strain=args.strain,
    )
    try:
        rep = run_generation(args.out, settings, workers=args.workers, progress=_progress(args))
    except (ValueError, RuntimeError) as exc:  # bad reference, species, or a foreign directory
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ds = rep.dataset
    frames = sum(r.n_frames for r in ds.records())
    print(
        f"{ds.root}: {len(ds.records())} trajectories, {frames} frames "
        f"({rep.generated} made now, {rep.resumed} kept) in {rep.wall_s:.1f} s; "
        f"level of theory: {ds.level_of_theory}"
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from benchmarks.data.dataset import DatasetError
    from benchmarks.data.importers import import_dataset

    cell = None
    if args.cell:
        cell = args.cell[0] if len(args.cell) == 1 else args.cell
    try:
        rep = import_dataset(
            args.sources,
            args.out,
            fmt=args.format,
            name=args.name,
            level_of_theory=args.level_of_theory,
            split=args.split,
            skip_bad=args.skip_bad,
            drop_copies_of=args.drop_copies_of,
            host=args.host,
            energy_key=args.energy_key,
            forces_key=args.forces_key,
            cell=cell,
            copy_tol=args.copy_tol,
            labels=None if args.labels == "auto" else tuple(args.labels.split(",")),
            any_element=args.allow_any_element,
        )
    except (DatasetError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(rep.summary())
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from benchmarks.data.dataset import DatasetError
    from benchmarks.data.import_adapt_pt import export_adapt_pt

    try:
        paths = export_adapt_pt(args.dir, args.out, split=args.split, n_max=args.n_max)
    except (DatasetError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {', '.join(str(p) for p in paths)}")
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    from benchmarks.data.registry import REGISTRY, get

    if args.name is None:
        for d in REGISTRY.values():
            sha = d.sha256 or f"unknown (verified by: {d.verification})"
            print(
                f"{d.name}\n  {d.title}\n  cite: {d.citation}\n  licence: {d.licence}\n"
                f"  url: {d.url if not d.url.startswith('zenodo-api:') else d.homepage}\n"
                f"  sha256: {sha}"
            )
        return 0
    try:
        ok, line = get(args.name, online=not args.offline)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    print(line)
    return 0 if ok else 1


def cmd_info(args: argparse.Namespace) -> int:
    from benchmarks.data.dataset import Dataset, DatasetError
    from benchmarks.data.info import dataset_info, format_info

    try:
        if args.dir == "default":
            from benchmarks.data.default import default_dataset

            ds = default_dataset(progress=_progress(args))
        else:
            ds = Dataset(args.dir)
        verified = None
        if args.verify:
            from benchmarks.data.verify import verify

            verified = verify(ds, full=True)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    info = dataset_info(ds, tol=args.tol, check_leakage=not args.no_leakage)
    if verified is not None:
        info["verified"] = {"files_hashed": verified, "content_sha256": "matches the manifest"}
    if args.json:
        from baselines.json_stdout import emit

        emit(info)
    else:
        print(format_info(info))
        if verified is not None:
            print(f"verified         {verified} files hashed; content sha256 matches the manifest")
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m benchmarks.data.cli data ...`: the data commands on their own."""
    parser = argparse.ArgumentParser(prog="adapt-bench")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
