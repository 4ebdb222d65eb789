"""Importers: round trips from extxyz / ASE / VASP / ADAPT .pt / Liu-He-Mo, and every bad input."""

import json
import zipfile

import ase.io
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

from benchmarks.cli import main
from benchmarks.data.dataset import Dataset, DatasetError
from benchmarks.data.importers import import_dataset
from benchmarks.testing import generated_dataset

TOL = 1e-5  # Å, eV, eV/Å: text formats keep 6-8 decimals


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return generated_dataset(tmp_path_factory.mktemp("src") / "ds")


def _assert_same_frames(a, b, tol=TOL):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x.get_chemical_symbols() == y.get_chemical_symbols()
        np.testing.assert_allclose(x.positions, y.positions, atol=tol)
        np.testing.assert_allclose(x.cell, y.cell, atol=tol)
        np.testing.assert_allclose(x.get_forces(), y.get_forces(), atol=tol)
        assert x.get_potential_energy() == pytest.approx(y.get_potential_energy(), abs=tol)


def _species_sorted(frames):
    """Frames reordered Si first (VASP groups atoms by species)."""
    order = np.argsort([s != "Si" for s in frames[0].get_chemical_symbols()], kind="stable")
    out = []
    for f in frames:
        g = f[order]
        g.calc = SinglePointCalculator(
            g, energy=f.get_potential_energy(), forces=f.get_forces()[order]
        )
        out.append(g)
    return out


def write_outcar(path, frames):
    """A minimal OUTCAR that ASE's vasp-out reader parses: one ionic step per frame."""
    a0 = frames[0]
    species = list(dict.fromkeys(a0.get_chemical_symbols()))
    counts = [a0.get_chemical_symbols().count(s) for s in species]
    lines = [f" POTCAR:    PAW_PBE {s} 05Jan2001" for s in species] * 2
    lines.append("   ions per type =  " + "  ".join(map(str, counts)))
    for a in frames:
        lines += [
            " ---------- Iteration    1(   1)  ----------",
            "      direct lattice vectors                 reciprocal lattice vectors",
        ]
        lines += ["    " + " ".join(f"{x:14.9f}" for x in v) + "   0.0 0.0 0.0" for v in a.cell]
        lines += [
            " POSITION                                       TOTAL-FORCE (eV/Angst)",
            " " + "-" * 83,
        ]
        for p, f in zip(a.positions, a.get_forces(), strict=True):
            lines.append("  " + " ".join(f"{x:12.7f}" for x in [*p, *f]))
        e = a.get_potential_energy()
        lines += [
            " " + "-" * 83,
            "  FREE ENERGIE OF THE ION-ELECTRON SYSTEM (eV)",
            "  " + "-" * 51,
            f"  free  energy   TOTEN  =     {e:18.8f} eV",
            "",
            f"  energy  without entropy=     {e:18.8f}  energy(sigma->0) =     {e:18.8f}",
            "",
        ]
    path.write_text("\n".join(lines) + "\n")


def write_vasprun(path, frames):
    """A minimal vasprun.xml that ASE's vasp-xml reader parses."""

    def struct(a, name=""):
        basis = "".join(f"<v>{' '.join(f'{x:.10f}' for x in v)}</v>" for v in a.cell)
        pos = "".join(
            f"<v>{' '.join(f'{x:.10f}' for x in s)}</v>" for s in a.get_scaled_positions(wrap=False)
        )
        n = f' name="{name}"' if name else ""
        return (
            f'<structure{n}><crystal><varray name="basis">{basis}</varray></crystal>'
            f'<varray name="positions">{pos}</varray></structure>'
        )

    rc = "".join(f"<rc><c>{s}</c><c>1</c></rc>" for s in frames[0].get_chemical_symbols())
    calcs = ""
    for a in frames:
        e = a.get_potential_energy()
        en = "".join(
            f'<i name="{k}">{e:.8f}</i>' for k in ("e_fr_energy", "e_wo_entrp", "e_0_energy")
        )
        f = "".join(f"<v>{' '.join(f'{x:.8f}' for x in v)}</v>" for v in a.get_forces())
        calcs += (
            f"<calculation><scstep><energy>{en}</energy></scstep>{struct(a)}"
            f'<varray name="forces">{f}</varray><energy>{en}</energy></calculation>'
        )
    path.write_text(
        '<?xml version="1.0"?><modeling><kpoints><varray name="kpointlist"><v>0 0 0</v></varray>'
        '<varray name="weights"><v>1</v></varray></kpoints><parameters></parameters>'
        f'<atominfo><atoms>{len(frames[0])}</atoms><array name="atoms"><set>{rc}</set></array>'
        f"</atominfo>{struct(frames[0], 'initialpos')}{calcs}</modeling>"
    )


def test_own_trajectory_files_round_trip(tmp_path, source):
    files = [source.root / r.file for r in source.records()]
    rep = import_dataset(files, tmp_path / "imp", split="auto")
    ds = rep.dataset
    assert rep.trajectories == len(files) and rep.skipped_frames == 0
    assert {r.id for r in ds.records()} == {r.id for r in source.records()}
    for rec in source.records():
        mine = next(r for r in ds.records() if r.id == rec.id)
        _assert_same_frames(source.read(rec), ds.read(mine), tol=1e-8)
        assert mine.defect.sites or mine.defect.vacancy_positions  # detected on frame 0


def test_extxyz_with_info_and_arrays_keys(tmp_path, source):
    out = []
    for rec in source.records():
        for a in source.read(rec):
            b = a.copy()
            b.info = {"REF_energy": a.get_potential_energy(), "traj_id": rec.id, "split": rec.split}
            b.arrays["REF_forces"] = a.get_forces().copy()
            out.append(b)
    ase.io.write(tmp_path / "all.extxyz", out, format="extxyz")
    ds = import_dataset([tmp_path / "all.extxyz"], tmp_path / "imp").dataset
    assert {r.id: r.split for r in ds.records()} == {r.id: r.split for r in source.records()}
    for rec in source.records():
        _assert_same_frames(
            source.read(rec), ds.read(next(r for r in ds.records() if r.id == rec.id))
        )


def test_ase_trajectory_and_explicit_split(tmp_path, source):
    rec = source.records()[0]
    ase.io.write(tmp_path / "relax.traj", source.read(rec))
    ds = import_dataset(
        [tmp_path / "relax.traj"], tmp_path / "imp", split="test", level_of_theory="Tersoff"
    ).dataset
    (r,) = ds.records()
    assert r.split == "test" and ds.level_of_theory == "Tersoff"
    _assert_same_frames(source.read(rec), ds.read(r), tol=1e-8)


@pytest.mark.parametrize("kind", ["vasprun", "outcar"])
def test_vasp_one_trajectory_per_file(tmp_path, source, kind):
    recs = [r for r in source.records() if r.defect.species][:2]
    expected = {}
    for k, rec in enumerate(recs):
        frames = _species_sorted(source.read(rec))
        folder = tmp_path / f"run{k}"
        folder.mkdir()
        name = "vasprun.xml" if kind == "vasprun" else "OUTCAR"
        (write_vasprun if kind == "vasprun" else write_outcar)(folder / name, frames)
        expected[f"run{k}_{'vasprun' if kind == 'vasprun' else 'OUTCAR'}"] = frames
    ds = import_dataset([tmp_path], tmp_path / "imp", split="train").dataset
    assert {r.id for r in ds.records()} == set(expected)
    for r in ds.records():
        _assert_same_frames(expected[r.id], ds.read(r))
    assert "VASP" in ds.level_of_theory


def test_adapt_native_pt_pairs_forces_with_energies(tmp_path, source):
    native = pytest.importorskip("adapt.native_format")
    frames = [source.read(r, [0])[0] for r in source.records()]
    native.write_native_forces(frames, tmp_path / "forces.pt", dtype=__import__("torch").float64)
    native.write_native_energies(
        frames[::-1], tmp_path / "energies.pt", n_max=12, dtype=__import__("torch").float64
    )
    cell = float(frames[0].cell[0, 0])
    ds = import_dataset(
        [tmp_path / "forces.pt", tmp_path / "energies.pt"],
        tmp_path / "imp",
        split="train",
        cell=cell,
    ).dataset
    got = [ds.read(r)[0] for r in sorted(ds.records(), key=lambda r: r.id)]
    _assert_same_frames(frames, got)
    alone = import_dataset([tmp_path / "forces.pt"], tmp_path / "imp2", cell=cell).dataset
    assert alone.labels == ("forces",)  # the force file alone: a forces-only dataset


def test_liu_he_mo_set_directory(tmp_path, source):
    frames = [source.read(r, [0])[0] for r in source.records() if r.n_atoms == 8]
    folder = tmp_path / "repo" / "Vacancy-RE_Testing_Set"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "structure_poscars.zip", "w") as zf:
        for i, a in enumerate(frames):
            ase.io.write(tmp_path / "p.vasp", a, format="vasp", direct=True)
            zf.write(tmp_path / "p.vasp", f"{i}.POSCAR.vasp")
    data = {
        "Energies": {"DFT_K4": [a.get_potential_energy() for a in frames]},
        "Forces": {"DFT_K4": [a.get_forces().tolist() for a in frames]},
    }
    (folder / "DATA.json").write_text(json.dumps(data))
    with zipfile.ZipFile(tmp_path / "repo.zip", "w") as zf:
        for p in folder.iterdir():
            zf.write(p, f"Silicon_MLIP_datasets-main/{folder.name}/{p.name}")
    for src in (tmp_path / "repo", tmp_path / "repo.zip"):
        out = tmp_path / f"imp-{src.suffix or 'dir'}"
        ds = import_dataset([src], out).dataset
        assert {r.split for r in ds.records()} == {"test"}
        got = [ds.read(r)[0] for r in sorted(ds.records(), key=lambda r: r.id)]
        _assert_same_frames(frames, got)


# --------------------------------------------------------------------------- bad inputs


def _bad(kind, atoms):
    a = atoms.copy()
    e, f = atoms.get_potential_energy(), atoms.get_forces().copy()
    if kind == "no_forces":
        a.calc = SinglePointCalculator(a, energy=e)
    elif kind == "no_energy":
        a.calc = SinglePointCalculator(a, forces=f)
    elif kind == "nan_forces":
        f[1, 2] = np.nan
        a.calc = SinglePointCalculator(a, energy=e, forces=f)
    elif kind == "inf_energy":
        a.calc = SinglePointCalculator(a, energy=np.inf, forces=f)
    elif kind == "zero_volume":
        a.cell[2] = [0.0, 0.0, 0.0]
        a.calc = SinglePointCalculator(a, energy=e, forces=f)
    elif kind == "wrong_shape":
        a.arrays["REF_forces"] = f[:, :2].copy()
        a.info["REF_energy"] = e
    return a


@pytest.mark.parametrize(
    "kind, field",
    [
        ("no_forces", "forces"),
        ("no_energy", "energy"),
        ("nan_forces", "forces"),
        ("inf_energy", "energy"),
        ("zero_volume", "cell"),
        ("wrong_shape", "forces"),
    ],
)
def test_every_bad_input_names_file_frame_and_field(tmp_path, source, kind, field):
    frames = source.read(source.records()[0])[:4]
    frames[2] = _bad(kind, frames[2])
    path = tmp_path / "bad.traj"
    ase.io.write(path, frames)
    with pytest.raises(DatasetError, match=rf"bad\.traj frame 2: field '{field}'") as err:
        import_dataset([path], tmp_path / "imp")
    assert str(path) in str(err.value)
    rep = import_dataset([path], tmp_path / "skip", skip_bad=True)
    assert rep.skipped_frames == 1 and rep.frames == 3
    assert rep.dataset.manifest.extra["import"]["skipped_frames"] == 1


def test_unreadable_and_missing_sources(tmp_path):
    (tmp_path / "junk.xyz").write_text("this is not\nan xyz file\n")
    with pytest.raises(DatasetError, match=r"junk.xyz frame 0 \(line 1\): cannot read"):
        import_dataset([tmp_path / "junk.xyz"], tmp_path / "imp")
    with pytest.raises(DatasetError, match="no such file"):
        import_dataset([tmp_path / "nothing.xyz"], tmp_path / "imp")


def test_drop_copies_from_the_held_out_side(tmp_path, source):
    rec = source.records("train")[0]
    frames = source.read(rec)
    moved = []
    for k, a in enumerate(frames):
        b = a.copy()
        if k % 2 == 0:  # a copy, translated by a lattice vector
            b.positions += a.cell[0] - 2 * a.cell[1]
        else:  # not a copy
            b.positions[0] += 0.1
        b.calc = SinglePointCalculator(b, energy=a.get_potential_energy(), forces=a.get_forces())
        moved.append(b)
    ase.io.write(tmp_path / "held.traj", moved)
    rep = import_dataset(
        [tmp_path / "held.traj"], tmp_path / "imp", split="test", drop_copies_of=source.root
    )
    assert rep.dropped_copies == (len(frames) + 1) // 2
    assert rep.frames == len(frames) // 2
    assert "dropped" in rep.summary()
    rep = import_dataset(
        [tmp_path / "held.traj"], tmp_path / "imp2", split="train", drop_copies_of=source.root
    )
    assert rep.dropped_copies == 0  # only held-out splits lose frames


def test_cli_import_reports_and_errors(tmp_path, source, capsys):
    files = [str(source.root / r.file) for r in source.records()]
    assert main(["data", "import", *files, "--out", str(tmp_path / "imp"), "--name", "x"]) == 0
    assert "imported" in capsys.readouterr().out
    assert Dataset(tmp_path / "imp").name == "x"
    frames = source.read(source.records()[0])[:2]
    frames[1] = _bad("nan_forces", frames[1])
    ase.io.write(tmp_path / "bad.traj", frames)
    assert main(["data", "import", str(tmp_path / "bad.traj"), "--out", str(tmp_path / "b")]) == 2
    assert "frame 1: field 'forces'" in capsys.readouterr().err
    assert (
        main(
            [
                "data",
                "import",
                str(tmp_path / "bad.traj"),
                "--out",
                str(tmp_path / "c"),
                "--skip-bad",
            ]
        )
        == 0
    )
    assert "skipped 1 bad frames" in capsys.readouterr().out
