"""data generate beyond one fixed cell and Tersoff: mixed supercells, cell strain, and any
registry model as the labeller (``--reference model:SPEC``)."""

import numpy as np
import pytest

from baselines.registry import LoadContext, load_model
from baselines.testing import tiny_mace_model
from benchmarks.cli import main
from benchmarks.data.dataset import Dataset
from benchmarks.data.defects import SI_A
from benchmarks.data.generate import generate_dataset
from benchmarks.data.references import get_reference


def test_mixed_supercells_and_strain(tmp_path):
    ds = generate_dataset(
        tmp_path / "ds", n_trajectories=6, supercell=(1, 2), strain=0.03, max_steps=2
    )
    sizes = {split: set() for split in ("train", "val", "test")}
    for rec in ds.records():
        (first,) = ds.read(rec, [0])
        k = rec.extra["supercell"]
        sizes[rec.split].add(k)
        eps = np.asarray(rec.extra["strain"])
        assert np.allclose(eps, eps.T) and np.abs(eps).max() <= 0.03 and np.abs(eps).max() > 0
        ideal = SI_A * k * np.eye(3)
        assert np.allclose(first.cell[:], ideal @ (np.eye(3) + eps), atol=1e-4)
        assert abs(rec.n_atoms - 8 * k**3) <= 2  # vacancies / interstitials
    assert sizes["train"] == {1, 2}  # sizes cycle within every split
    again = generate_dataset(
        tmp_path / "again", n_trajectories=6, supercell=(1, 2), strain=0.03, max_steps=2
    )
    assert again.sha256 == ds.sha256  # seeded: the strains are part of the determinism


@pytest.fixture(scope="module")
def tiny_mace(tmp_path_factory):
    return tiny_mace_model(tmp_path_factory.mktemp("m") / "tiny.model", dtype="float64")


def test_a_registry_model_labels_a_dataset(tmp_path, tiny_mace):
    out = tmp_path / "ds"
    rc = main(
        [
            "data", "generate", "--out", str(out), "--reference", f"model:mace:{tiny_mace}",
            "--n-trajectories", "3", "--supercell", "1", "--max-steps", "3",
            "--dopants", "B,N,P",
        ]
    )  # fmt: skip
    assert rc == 0
    ds = Dataset(out)
    assert "as labeller" in ds.level_of_theory and f"model:mace:{tiny_mace}" in ds.level_of_theory
    assert ds.manifest.reference["model_spec"] == f"mace:{tiny_mace}"
    model = load_model(f"mace:{tiny_mace}", LoadContext())
    for rec in ds.records():
        frames = ds.read(rec)
        preds = model.predict(frames)
        for atoms, pred in zip(frames, preds, strict=True):  # the labels ARE the model's output
            assert atoms.get_potential_energy() == pytest.approx(pred.energy, abs=1e-6)
            assert np.allclose(atoms.get_forces(), pred.forces, atol=1e-5)


def test_model_labeller_refuses_elements_it_does_not_cover(tiny_mace):
    ref = get_reference(f"model:mace:{tiny_mace}")
    with pytest.raises(ValueError, match=r"cannot label \['Sn'\]"):
        ref.check_species({"Si", "Sn"})


def test_model_labeller_needs_energy_and_forces():
    with pytest.raises(ValueError, match="predicts no energy"):
        get_reference("model:zero")  # zero without training data predicts no energy
    with pytest.raises(ValueError, match="takes only 'device'"):
        get_reference("model:zero", {"xc": "PBE"})
