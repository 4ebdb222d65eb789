"""A forces-only dataset (the ADAPT authors' force file on its own) end to end: import, info,
training of force models, eval and report, with the energy metrics left out and said so."""

import json

import numpy as np
import pytest

from adapt.native_format import write_native_forces
from adapt.testing import torch_threads
from benchmarks.cli import main
from benchmarks.data.dataset import Dataset
from benchmarks.testing import generated_dataset

EDGE = 5.431  # Å: the generated dataset's 1x1x1 diamond cell


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def forces_only(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fo")
    src = generated_dataset(tmp / "src", n_trajectories=6)
    write_native_forces(src.frames("all", "all"), tmp / "trainset.pt")
    assert main(["data", "import", str(tmp / "trainset.pt"), "--out", str(tmp / "ds"),
                 "--cell", str(EDGE)]) == 0  # fmt: skip
    return Dataset(tmp / "ds")


def test_import_and_info(forces_only, capsys):
    assert forces_only.labels == ("forces",)
    assert main(["data", "info", str(forces_only.root), "--no-leakage"]) == 0
    text = capsys.readouterr().out
    assert "labels           forces" in text
    assert "energy (eV/atom) not available: the dataset has no energies" in text
    assert main(["data", "info", str(forces_only.root), "--json", "--no-leakage"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["energy_eV_per_atom"] is None and info["forces_eV_per_A"]["component_mean_abs"] > 0


def test_energy_training_refused_in_one_line(forces_only, tmp_path, capsys):
    rc = main(["train", "adapt-energy", "--data", str(forces_only.root), "--out",
               str(tmp_path / "run"), "--epochs", "1"])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "has no energy (labels: forces)" in err and len(err.splitlines()) == 1


def test_force_model_trains_evaluates_and_reports_without_energy(forces_only, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "adapt-force", "--data", str(forces_only.root), "--out", str(run),
                 "--preset", "tiny", "--epochs", "1"]) == 0  # fmt: skip
    res = tmp_path / "res"
    for spec in (f"adapt:{run}", "zero"):
        capsys.readouterr()
        assert main(["eval", "--model", spec, "--data", str(forces_only.root), "--split", "all",
                     "--selection", "all", "--json"] + (["--out", str(res)] if spec != "zero" else [])) == 0  # fmt: skip
        rows = json.loads(capsys.readouterr().out)
        metrics = {r["metric"] for r in rows}
        assert "force_mae" in metrics and not any(m.startswith("energy") for m in metrics)
        assert all("no_reference_energy" in r["flags"] for r in rows)
    main(["eval", "--model", "zero", "--data", str(forces_only.root), "--split", "all",
          "--selection", "all"])  # fmt: skip
    assert "energy metrics: not available" in capsys.readouterr().out
    assert main(["report", str(res)]) == 0
    report = (res / "report.md").read_text()
    assert "energy metrics are not available (–), not zero" in report
    main_row = next(line for line in report.splitlines() if line.startswith("| ADAPT tiny | adapt"))
    cells = [c.strip() for c in main_row.split("|")]
    assert cells[5] == cells[6] == "–"  # Energy MAE, Energy MAE aligned: not available, not 0


def test_mace_training_files_carry_no_energy(forces_only, tmp_path):
    from ase.io import read

    from baselines.mace_train import fit_e0s, write_mace_extxyz

    frames = forces_only.frames("train", "all")
    write_mace_extxyz(frames, tmp_path / "train.extxyz")
    back = read(tmp_path / "train.extxyz", ":")
    assert all("REF_energy" not in a.info and "REF_forces" in a.arrays for a in back)
    assert set(fit_e0s(frames).values()) == {0.0}
    np.testing.assert_allclose(back[0].arrays["REF_forces"], frames[0].get_forces())
