"""Metrics, prediction sets and structure comparison against hand-computed values."""

import logging
import math

import numpy as np
import pytest
from ase.build import bulk
from ase.data import atomic_masses, atomic_numbers
from ase.geometry import get_distances

from baselines.interface import Prediction
from baselines.zero import ZeroForceField
from benchmarks.data.dataset import Defect
from benchmarks.metrics import (
    DEFECT_RADIUS,
    aligned_energies,
    defect_region_mask,
    energy_errors,
    fit_element_references,
    force_errors,
    metric_rows,
    metrics_over,
)
from benchmarks.predictions import PredictionSet
from benchmarks.results import ResultsDir, load_results
from benchmarks.structure_compare import (
    compare_structures,
    delta_q,
    local_soap_similarity,
    rmsd,
    soap_similarity,
)
from benchmarks.testing import si_cell

TOL = 1e-12
FORCE_METRICS = [m.name for m in metrics_over("atoms")]
ENERGY_METRICS = [m.name for m in metrics_over("structures")]
ALIGNED_ENERGY_METRICS = [m.name for m in metrics_over("structures", aligned=True)]


# ---------------------------------------------------------------- forces
def test_force_errors_hand_computed():
    pred = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    ref = np.array([[0.0, 2.0, 0.0], [1.0, 0.0, 0.0]])
    # diff = [[1, -2, 0], [0, 1, 0]]; angles 90° and 45°; norms pred (1, √2), ref (2, 1)
    res = force_errors(pred, ref)
    assert res["force_mae"] == pytest.approx(4 / 6, abs=TOL)  # components
    assert res["force_mae_vector"] == pytest.approx((math.sqrt(5) + 1) / 2, abs=TOL)  # per atom
    assert res["force_rmse"] == pytest.approx(1.0, abs=TOL)  # sqrt(6 / 6)
    assert res["force_angle"] == pytest.approx(67.5, abs=1e-9)  # mean(90, 45)
    assert res["force_magnitude_error"] == pytest.approx((1 + math.sqrt(2) - 1) / 2, abs=TOL)
    assert res["n_atoms"] == 2 and res["n_angle"] == 2


@pytest.mark.parametrize(
    "pred, ref, angle",
    [
        ([0.0, 3.0, 0.0], [5.0, 0.0, 0.0], 90.0),
        ([1.0, 1.0, 0.0], [2.0, 0.0, 0.0], 45.0),
        ([-1.0, 0.0, 0.0], [1.0, 0.0, 0.0], 180.0),
        ([0.1, 0.2, 0.3], [0.3, 0.6, 0.9], 0.0),  # parallel: clamped cosine, no NaN
    ],
)
def test_force_angle_known_vectors(pred, ref, angle):
    res = force_errors(np.array([pred]), np.array([ref]))
    assert res["force_angle"] == pytest.approx(angle, abs=1e-6)


def test_force_angle_skips_zero_vectors_and_counts():
    pred = np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    ref = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    res = force_errors(pred, ref)
    assert res["n_angle"] == 1 and res["force_angle"] == pytest.approx(0.0, abs=1e-6)
    assert res["force_magnitude_error"] == pytest.approx(2 / 3, abs=TOL)
    zero = force_errors(np.zeros((3, 3)), ref)
    assert zero["n_angle"] == 0 and math.isnan(zero["force_angle"])


def test_force_errors_component_vs_vector_mae():
    # one atom, error (3, 4, 0): component MAE 7/3, vector MAE 5
    res = force_errors(np.array([[3.0, 4.0, 0.0]]), np.zeros((1, 3)))
    assert res["force_mae"] == pytest.approx(7 / 3, abs=TOL)
    assert res["force_mae_vector"] == pytest.approx(5.0, abs=TOL)
    assert res["force_rmse"] == pytest.approx(math.sqrt(25 / 3), abs=TOL)


def test_force_errors_drops_nonfinite_rows_and_checks_shape():
    pred = np.array([[np.nan, 0, 0], [1.0, 0, 0]])
    res = force_errors(pred, np.array([[1.0, 0, 0], [2.0, 0, 0]]))
    assert res["n_atoms"] == 1 and res["force_mae"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="shape"):
        force_errors(np.zeros((2, 3)), np.zeros((3, 3)))


# ---------------------------------------------------------------- energies
def test_energy_errors_hand_computed():
    res = energy_errors(
        np.array([1.0, 2.0, np.nan]), np.array([0.0, 4.0, 1.0]), np.array([2, 4, 8])
    )
    assert res["energy_mae"] == pytest.approx(1.5)  # eV per structure
    assert res["energy_mae_per_atom"] == pytest.approx(500.0)  # meV/atom: mean(1/2, 2/4) eV
    assert res["n_structures"] == 2


def _random_compositions(rng, n, elements=("Si", "C", "Ge")):
    frames = []
    for _ in range(n):
        counts = {"Si": int(rng.integers(60, 66)), "C": int(rng.integers(0, 3))}
        counts["Ge"] = int(rng.integers(0, 2)) if "Ge" in elements else 0
        frames.append([e for e, c in counts.items() for _ in range(c)])
    return frames


def test_fit_element_references_recovers_synthetic():
    rng = np.random.default_rng(1)
    mu = {"Si": -4.63, "C": -7.37, "Ge": -4.11}
    frames = _random_compositions(rng, 40)
    energies = np.array([sum(mu[s] for s in f) for f in frames])
    refs = fit_element_references(frames, energies)
    assert refs.keys() == mu.keys()
    for e, v in mu.items():
        assert refs[e] == pytest.approx(v, abs=1e-9)


def test_aligned_energies_remove_per_element_offsets():
    rng = np.random.default_rng(2)
    mu_data = {"Si": -4.63, "C": -7.37, "Ge": -4.11}
    offset = {"Si": 0.8, "C": -1.5, "Ge": 0.3}  # another level of theory
    train = _random_compositions(rng, 30)
    e_data = np.array([sum(mu_data[s] for s in f) for f in train]) + rng.normal(0, 0.01, 30)
    e_model = e_data + np.array([sum(offset[s] for s in f) for f in train])
    refs_model = fit_element_references(train, e_model)
    refs_data = fit_element_references(train, e_data)
    test = [["Si"] * 61 + ["C"] * 3, ["Si"] * 63 + ["Ge"], ["Si"] * 63 + ["N"]]  # N unseen
    e_ref = np.array([sum(mu_data.get(s, -8.0) for s in f) for f in test])
    e_pred = e_ref + np.array([sum(offset.get(s, 0.0) for s in f) for f in test])
    out = aligned_energies(e_pred, test, refs_model, refs_data)
    np.testing.assert_allclose(out[:2], e_ref[:2], atol=1e-8)
    assert math.isnan(out[2])


def test_fit_element_references_rank_deficient(caplog):
    # every training frame is Si63C1: Si and C cannot be separated; the minimum-norm solution
    # still reproduces that composition's energy exactly
    frames = [["Si"] * 63 + ["C"]] * 5
    energies = np.full(5, 63 * -4.6 - 7.0)
    with caplog.at_level(logging.WARNING, logger="benchmarks.metrics"):
        refs = fit_element_references(frames, energies)
    assert "rank 1" in caplog.text
    assert 63 * refs["Si"] + refs["C"] == pytest.approx(63 * -4.6 - 7.0)
    with pytest.raises(ValueError, match="no finite"):
        fit_element_references(frames, np.full(5, np.nan))


# ---------------------------------------------------------------- defect region
def test_defect_mask_minimum_image():
    atoms = si_cell(2)  # 64 atoms, C at the origin (a corner of the cell)
    mask = defect_region_mask(atoms, Defect("substitutional", ("C",), (0,)))
    # the site + 4 first + 12 second neighbours (2.35 and 3.84 Å < 4.2 Å < 4.50 Å), most of
    # them only through periodic images
    assert DEFECT_RADIUS == 4.2 and mask.sum() == 17 and mask[0]
    vac = atoms.copy()
    del vac[0]
    vmask = defect_region_mask(vac, Defect("vacancy", vacancy_positions=((0.0, 0.0, 0.0),)))
    assert vmask.sum() == 16
    wrapped = defect_region_mask(vac, Defect("vacancy", vacancy_positions=((10.862,) * 3,)))
    np.testing.assert_array_equal(vmask, wrapped)  # same site, one lattice vector away
    assert not defect_region_mask(atoms, Defect("bulk")).any()
    assert defect_region_mask(atoms, Defect("substitutional", ("C",), (0,)), radius=3.0).sum() == 5


# ---------------------------------------------------------------- prediction sets and rows
def test_prediction_set_from_frames_save_load(random_dataset, tmp_path):
    rec = random_dataset.records("test")[0]
    frames = random_dataset.read(rec)
    preds = ZeroForceField({"Si": -4.6, "C": -4.6}).predict(frames)
    ps = PredictionSet.from_frames(frames, preds, [rec.defect] * len(frames))
    assert len(ps) == len(frames) and ps.forces_ref.shape == (8 * len(frames), 3)
    assert ps.traj_id[0] == rec.id and ps.step.tolist() == list(range(len(frames)))
    assert ps.defect_mask.sum() == 8 * len(frames)  # whole 8-atom cell is within 4.2 Å of C
    out = ResultsDir(tmp_path / "out")
    name = "ADAPT r=4 Å (ablation)"  # the file name is slugged; the name is stored inside
    path = out.write_predictions(ps, name, "si-defects", "test", "early:2")
    with np.load(path, allow_pickle=False) as data:
        assert data["symbols"].dtype.kind == "U" and data["traj_id"].dtype.kind == "U"
    (out.root / "run.json").write_text("{}")
    out.write_table("metrics.csv", [])
    (found,) = load_results(out.root).predictions
    assert (found.model, found.dataset, found.split, found.selection) == (
        name,
        "si-defects",
        "test",
        "early:2",
    )
    assert load_results(out.root).predictions_for("si-defects", "test", "early:2") == {name: found}
    back = found.load()
    for name in ("traj_id", "step", "energy_pred", "forces_ref", "symbols", "defect_mask"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ps, name))
    assert [s.stop - s.start for s in back.frame_slices()] == [8] * len(frames)
    nofe = PredictionSet.from_frames(frames[:1], [Prediction(None, None, ("a", "b"))], [rec.defect])
    assert np.isnan(nofe.energy_pred).all() and np.isnan(nofe.forces_pred).all()
    assert nofe.flags[0] == "a;b"


def _two_frame_set(energy_pred=(1.0, -2.0)):
    # frame 0: 2 atoms (kind vacancy, atom 0 in defect region); frame 1: 1 atom (kind bulk)
    return PredictionSet(
        traj_id=["a", "b"], step=[0, 0], n_atoms=[2, 1],
        energy_ref=[0.0, 0.0], energy_pred=list(energy_pred),
        forces_ref=[[1, 0, 0], [0, 1, 0], [0, 0, 1]],
        forces_pred=[[1, 0, 0], [0, 2, 0], [0, 0, 4]],
        symbols=["Si", "Si", "C"], defect_mask=[True, False, False],
        defect_kind=["vacancy", "bulk"], flags=["unseen_cell", ""],
    )  # fmt: skip


def test_metric_rows_subsets_units_and_flags():
    rows = metric_rows(
        _two_frame_set(), model="m", family="f", dataset="d", split="test", selection="early",
        flags="lot_mismatch",
    )  # fmt: skip
    by = {(r["subset"], r["metric"]): r for r in rows}
    assert {r["subset"] for r in rows} == {"all", "defect", "bulk", "kind=vacancy", "kind=bulk"}
    assert by[("all", "force_mae")]["value"] == pytest.approx(4 / 9)  # |Δ| = 0,1,3 of 9 comps
    assert by[("defect", "force_mae")]["value"] == 0.0 and by[("defect", "force_mae")]["n"] == 1
    assert by[("bulk", "force_mae_vector")]["value"] == pytest.approx(2.0)
    assert by[("all", "energy_mae")]["value"] == pytest.approx(1.5)
    assert by[("all", "energy_mae_per_atom")]["value"] == pytest.approx(1000 * (0.5 + 2.0) / 2)
    assert by[("kind=bulk", "energy_mae")]["n"] == 1
    assert ("defect", "energy_mae") not in by  # energies are per structure
    assert by[("all", "force_angle")]["unit"] == "deg"
    assert by[("all", "energy_mae_per_atom")]["unit"] == "meV/atom"
    assert by[("kind=vacancy", "force_mae")]["flags"] == "lot_mismatch;unseen_cell"
    assert by[("kind=bulk", "force_mae")]["flags"] == "lot_mismatch"
    keys = {"model", "family", "dataset", "split", "selection", "subset", "metric", "value",
            "unit", "n", "flags"}  # fmt: skip
    assert all(r.keys() == keys for r in rows)
    assert not any(m in ALIGNED_ENERGY_METRICS for _, m in by)


def test_metric_rows_no_energy_and_aligned():
    rows = metric_rows(
        _two_frame_set((np.nan, np.nan)), model="m", family="f", dataset="d", split="test",
        selection="all",
    )  # fmt: skip
    assert not any(r["metric"] in ENERGY_METRICS for r in rows)
    assert all("no_energy" in r["flags"].split(";") for r in rows)
    assert {r["metric"] for r in rows} == set(FORCE_METRICS)
    refs_model, refs_data = {"Si": 0.5, "C": -2.0}, {"Si": 0.0, "C": 0.0}
    rows = metric_rows(
        _two_frame_set(), model="m", family="f", dataset="d", split="test", selection="all",
        train_energy_refs=(refs_model, refs_data),
    )  # fmt: skip
    by = {(r["subset"], r["metric"]): r["value"] for r in rows}
    assert by[("all", "energy_mae_aligned")] == pytest.approx(0.0)  # 1 - 2·0.5, -2 + 2
    assert by[("all", "energy_mae_aligned_per_atom")] == pytest.approx(0.0)


# ---------------------------------------------------------------- structure comparison
def test_delta_q_and_rmsd_known_displacement():
    a = si_cell(1, dopant=None)
    b = a.copy()
    b.positions[3] += [0.1, 0.0, 0.0]
    m_si = atomic_masses[atomic_numbers["Si"]]  # ASE's (IUPAC 2016) 28.085 amu
    assert delta_q(b, a) == pytest.approx(math.sqrt(m_si) * 0.1, abs=TOL)
    assert delta_q(b, a) == pytest.approx(math.sqrt(28.0855) * 0.1, abs=1e-5)
    assert rmsd(b, a) == pytest.approx(0.1 / math.sqrt(8), abs=TOL)


def test_minimum_image_in_delta_q_and_rmsd():
    a = si_cell(1)
    b = a.copy()
    b.positions[0] -= a.cell[0]  # same site, one lattice vector away
    b.positions[5] += a.cell[1] + a.cell[2]
    assert delta_q(b, a) == pytest.approx(0.0, abs=1e-9)
    assert rmsd(b, a) == pytest.approx(0.0, abs=1e-9)
    c = a.copy()
    c.positions[0] += [-0.05, 0.0, 0.0]  # C at the origin moves across the cell face
    c.wrap()
    m_c = atomic_masses[atomic_numbers["C"]]
    assert delta_q(c, a) == pytest.approx(math.sqrt(m_c) * 0.05, abs=1e-9)


def test_soap_similarity_identical_and_distorted():
    a = si_cell(1)
    assert soap_similarity(a, a.copy()) == pytest.approx(1.0, abs=1e-12)
    b = a.copy()
    b.rattle(0.2, seed=3)
    s = soap_similarity(b, a)
    assert 0.0 < s < 1.0 - 1e-6
    res = compare_structures(b, a)
    assert res.keys() == {"soap_similarity", "soap_similarity_defect", "delta_q", "rmsd"}
    assert res["soap_similarity"] == s and math.isnan(res["soap_similarity_defect"])


def test_defect_region_soap_sees_only_the_defect_region():
    ref = si_cell(4)  # 512 atoms, C on site 0; the region: atoms within 4.2 Å of it
    defect = Defect("substitutional", ("C",), (0,))
    _, d = get_distances(ref.positions[:1], ref.positions, cell=ref.cell, pbc=True)
    # outside every region atom's SOAP reach (r_cut 5 Å + the Gaussians' 1 Å-sigma tails)
    far = d[0] > DEFECT_RADIUS + 5.0 + 4.0
    moved_far = ref.copy()
    moved_far.positions[far] += np.random.default_rng(0).normal(scale=0.1, size=(far.sum(), 3))
    res = compare_structures(moved_far, ref, defect=defect)
    assert res["soap_similarity_defect"] == pytest.approx(1.0, abs=1e-12)
    assert res["soap_similarity"] < 1.0 - 1e-7  # the global average does see the far moves
    near = ref.copy()  # one neighbour of the dopant moves 0.1 Å
    neighbour = int(np.argsort(d[0])[1])
    near.positions[neighbour] += [0.1, 0.0, 0.0]
    res = compare_structures(near, ref, defect=defect)
    region, overall = 1 - res["soap_similarity_defect"], 1 - res["soap_similarity"]
    assert region > 10 * overall > 0  # 17 region atoms vs a 512-atom average
    mask = defect_region_mask(ref, defect)
    assert mask.sum() == 17  # C + 4 first + 12 second neighbours
    assert local_soap_similarity(near, ref, mask) == res["soap_similarity_defect"]


def test_structure_mismatch_names_what_differs():
    a = si_cell(1)
    b = si_cell(1, dopant=None)
    with pytest.raises(ValueError, match="0: C vs Si"):
        delta_q(a, b)
    with pytest.raises(ValueError, match="atom count"):
        rmsd(a, a[:-1])
    with pytest.raises(ValueError, match="cell"):
        compare_structures(b, bulk("Si", "diamond", a=5.5, cubic=True))


def test_predictions_of_adapt_and_adapt_plus_do_not_share_a_file(random_dataset, tmp_path):
    """The labels "ADAPT tiny" and "ADAPT+ tiny" once slugged to one file name: the second overwrote the
    first, and the step cache (file sha256) never hit on a warm run."""
    rec = random_dataset.records("test")[0]
    frames = random_dataset.read(rec)
    ps = PredictionSet.from_frames(
        frames, ZeroForceField({"Si": -4.6, "C": -4.6}).predict(frames), [rec.defect] * len(frames)
    )
    out = ResultsDir(tmp_path / "out")
    paths = {
        out.write_predictions(ps, m, "d", "test", "early") for m in ("ADAPT tiny", "ADAPT+ tiny")
    }
    assert len(paths) == 2
    (out.root / "run.json").write_text("{}")
    out.write_table("metrics.csv", [])
    found = load_results(out.root).predictions_for("d", "test", "early")
    assert set(found) == {"ADAPT tiny", "ADAPT+ tiny"}
