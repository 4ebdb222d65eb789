"""The defect generator: real reference labels, determinism, splits, resume, defect geometry."""

import json
import warnings

import numpy as np
import pytest
from ase.geometry import get_distances

from benchmarks.data import generate as gen
from benchmarks.data.dataset import Dataset
from benchmarks.data.defects import (
    SI_A,
    build_defect,
    catalogue,
    detect_defects,
    host_shells,
    host_supercell,
    interstitial_sites,
)
from benchmarks.data.references import get_reference, gpaw_available
from benchmarks.testing import generated_dataset

FORCE_TOL = 1e-5  # eV/Å: extxyz keeps 8 decimals
ENERGY_TOL = 1e-6  # eV


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return generated_dataset(tmp_path_factory.mktemp("gen") / "ds")


def test_same_seed_same_dataset_other_seed_differs(tmp_path, tiny):
    again = generated_dataset(tmp_path / "again")
    assert again.sha256 == tiny.sha256
    other = generated_dataset(tmp_path / "other", seed=1)
    assert other.sha256 != tiny.sha256


def test_workers_give_the_same_dataset(tmp_path, tiny):
    ds = gen.generate_dataset(
        tmp_path / "w",
        n_trajectories=6,
        supercell=1,
        seed=0,
        max_steps=40,
        name=tiny.name,
        workers=2,
    )
    assert ds.sha256 == tiny.sha256


def test_splits_are_whole_trajectories_and_configurations(tiny):
    recs = tiny.records()
    assert len({r.id for r in recs}) == len(recs)
    by_split = {s: tiny.records(s) for s in ("train", "val", "test")}
    assert all(by_split.values())
    assert sum(len(v) for v in by_split.values()) == len(recs)
    configs = {s: {r.extra["config"] for r in v} for s, v in by_split.items()}
    assert not configs["train"] & configs["val"]
    assert not configs["train"] & configs["test"]
    assert not configs["val"] & configs["test"]
    assert {r.defect.kind for r in by_split["test"]} == {"complex"}


def test_plan_of_a_default_sized_dataset():
    ref = get_reference("tersoff")
    items = gen.plan(gen.GeneratorSettings(n_trajectories=48), ref)
    splits = [it.split for it in items]
    assert splits.count("test") == 7 and splits.count("val") == 5 and splits.count("train") == 36
    assert all(it.spec.kind == "complex" for it in items if it.split == "test")
    train_kinds = {it.spec.kind for it in items if it.split == "train"}
    assert {
        "vacancy",
        "self_interstitial",
        "substitutional",
        "interstitial",
        "complex",
    } <= train_kinds
    assert all(not {"C", "Ge"} <= it.spec.species for it in items)  # no C-Ge Tersoff terms


def test_recorded_labels_equal_the_reference_calculator(tiny):
    ref = get_reference("tersoff")
    for rec in tiny.records():
        frames = tiny.read(rec)
        for atoms in (frames[0], frames[len(frames) // 2], frames[-1]):
            fresh = atoms.copy()
            fresh.calc = ref.calculator(fresh.get_chemical_symbols())
            assert fresh.get_potential_energy() == pytest.approx(
                atoms.get_potential_energy(), abs=ENERGY_TOL
            )
            np.testing.assert_allclose(fresh.get_forces(), atoms.get_forces(), atol=FORCE_TOL)


def test_tersoff_agrees_with_an_independent_implementation(tiny):
    """LAMMPS SiCGe.tersoff (Si(D), C) and matscipy's Tersoff PRB 39, 5566 Si-C agree."""
    pytest.importorskip("matscipy")
    from matscipy.calculators.manybody import Manybody
    from matscipy.calculators.manybody.explicit_forms import TersoffBrenner
    from matscipy.calculators.manybody.explicit_forms.tersoff_brenner import (
        Tersoff_PRB_39_5566_Si_C,
    )

    rec = next(r for r in tiny.records() if "C" in r.defect.species)
    atoms = tiny.read(rec, [0])[0]
    other = atoms.copy()
    other.calc = Manybody(**TersoffBrenner(Tersoff_PRB_39_5566_Si_C))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(other.get_forces(), atoms.get_forces(), atol=1e-4)
        assert other.get_potential_energy() == pytest.approx(atoms.get_potential_energy(), abs=1e-4)


def test_trajectories_relax_from_large_forces(tiny):
    for rec in tiny.records():
        frames = tiny.read(rec)
        f0 = np.linalg.norm(frames[0].get_forces(), axis=1).max()
        assert f0 > 1.0  # eV/Å: early frames carry large forces
        assert rec.final_fmax < f0
        assert rec.extra["steps"] == rec.n_frames - 1
        if rec.converged:
            assert rec.final_fmax < rec.extra["fmax_target"]
        else:
            assert rec.n_frames == rec.extra["max_steps"] + 1
        assert frames[0].get_cell() == pytest.approx(frames[-1].get_cell())  # fixed cell
    manifest = json.loads((tiny.root / "manifest.json").read_text())
    assert manifest["extra"]["generation"]["trajectory_wall_s_total"] > 0
    assert manifest["reference"]["potential"] == "SiCGe.tersoff"


def test_interrupted_run_resumes(tmp_path, tiny, monkeypatch):
    real = gen.make_trajectory
    calls = []

    def flaky(item, settings, reference):
        if len(calls) == 3:
            raise KeyboardInterrupt
        calls.append(item.id)
        return real(item, settings, reference)

    monkeypatch.setattr(gen, "make_trajectory", flaky)
    settings = gen.GeneratorSettings(
        n_trajectories=6, supercell=1, seed=0, max_steps=40, name=tiny.name
    )
    with pytest.raises(KeyboardInterrupt):
        gen.run_generation(tmp_path / "r", settings)
    assert not (tmp_path / "r" / "manifest.json").exists()
    monkeypatch.setattr(gen, "make_trajectory", real)
    rep = gen.run_generation(tmp_path / "r", settings)
    assert rep.resumed == 3 and rep.generated == 3
    assert rep.dataset.sha256 == tiny.sha256
    with pytest.raises(ValueError, match="made otherwise"):
        gen.run_generation(tmp_path / "r", gen.GeneratorSettings(n_trajectories=7, supercell=1))


def test_stillinger_weber_and_custom_references(tmp_path):
    sw = generated_dataset(tmp_path / "sw", n_trajectories=4, reference="sw")
    assert "Stillinger-Weber" in sw.level_of_theory
    assert all(set(sw.read(r, [0])[0].get_chemical_symbols()) == {"Si"} for r in sw.records())
    ds = gen.generate_dataset(
        tmp_path / "lj",
        reference="ase.calculators.lj:LennardJones",
        n_trajectories=3,
        supercell=1,
        max_steps=3,
        dopants=(),
        reference_kwargs={"sigma": 2.0, "epsilon": 0.1, "rc": 4.0},
    )
    assert ds.level_of_theory.startswith("ase.calculators.lj:LennardJones")
    assert ds.manifest.reference["kwargs"]["sigma"] == 2.0
    with pytest.raises(ValueError, match="cannot label"):
        get_reference("sw").calculator(["Si", "C"])
    with pytest.raises(ValueError, match="together"):
        get_reference("tersoff").calculator(["Si", "C", "Ge"])


@pytest.mark.gpaw
@pytest.mark.skipif(not gpaw_available(), reason="GPAW is not installed")
def test_gpaw_tiny_cell(tmp_path):
    ds = gen.generate_dataset(
        tmp_path / "gpaw",
        reference="gpaw",
        n_trajectories=3,
        supercell=1,
        max_steps=1,
        dopants=(),
    )
    rec = ds.records()[0]
    atoms = ds.read(rec, [0])[0]
    fresh = atoms.copy()
    fresh.calc = get_reference("gpaw").calculator(atoms.get_chemical_symbols())
    np.testing.assert_allclose(fresh.get_forces(), atoms.get_forces(), atol=1e-3)
    assert "PBE" in ds.level_of_theory


# --------------------------------------------------------------------------- defects


def test_interstitial_site_geometry():
    host = host_supercell(1)
    for site, dist, count in (("T", np.sqrt(3) * SI_A / 4, 4), ("H", np.sqrt(11) * SI_A / 8, 6)):
        pts = interstitial_sites(host, site, SI_A)
        _, d = get_distances(pts, host.positions, cell=host.cell, pbc=True)
        assert np.allclose(np.sort(d, axis=1)[:, :count], dist, atol=1e-6)
        assert (np.sort(d, axis=1)[:, count] > dist + 0.1).all()


def test_builders_and_detector_agree():
    host = host_supercell(2)
    sh = host_shells("Si")
    assert sh.coordination == 4 and sh.cutoff == pytest.approx(3.096, abs=0.01)
    specs = {s.name: s for s in catalogue()}
    for name, kind in [
        ("V_Si", "vacancy"),
        ("Si_i(T)", "self_interstitial"),
        ("Si_i(split)", "self_interstitial"),
        ("C_Si", "substitutional"),
        ("Ge_i(H)", "interstitial"),
        ("C_Si+C_i(T1)", "complex"),
        ("V_Si+V_Si", "complex"),
    ]:
        atoms, defect = build_defect(host, specs[name], np.random.default_rng(0))
        assert defect.kind == kind
        found = detect_defects(atoms, reference=host)
        assert found.kind == kind, name
        assert len(found.vacancy_positions) == len(defect.vacancy_positions)
        auto = detect_defects(atoms)
        if kind != "complex":
            assert auto.kind == kind, name
        assert set(defect.sites) - set(_split_partners(defect, atoms)) <= set(auto.sites)
    vac, d = build_defect(host, specs["V_Si"], np.random.default_rng(0))
    auto = detect_defects(vac)
    assert len(auto.sites) == 4  # the four three-fold neighbours
    assert np.allclose(auto.vacancy_positions[0], d.vacancy_positions[0], atol=1e-6)
    assert detect_defects(host).kind == "bulk"


def _split_partners(defect, atoms):
    """Host atoms of a split dumbbell keep four neighbours and need not be detected."""
    return [i for i in defect.sites if atoms.get_chemical_symbols()[i] == "Si"]


def test_cli_generate_and_its_errors(tmp_path, capsys):
    from benchmarks.cli import main

    args = ["data", "generate", "--out", str(tmp_path / "g"), "--supercell", "1"]
    assert main([*args, "--n-trajectories", "3", "--max-steps", "5", "--optimizer", "LBFGS"]) == 0
    assert "3 trajectories" in capsys.readouterr().out
    ds = Dataset(tmp_path / "g")
    assert ds.manifest.extra["generator"]["optimizer"] == "LBFGS"
    assert max(r.n_frames for r in ds.records()) <= 6
    bad = ["data", "generate", "--out", str(tmp_path / "b"), "--reference", "sw", "--dopants", "C"]
    assert main(bad) == 2
    assert "cannot label" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
