"""The ADAPT authors' released file layouts, written here exactly as their scripts save them
(torch.save of a dict of tensor lists, of bare tensors, of a stats dict), imported, exported
back and compared; every file read with weights_only=True."""

import numpy as np
import pytest
import torch

from adapt.released_files import kind_of, read_norm_stats, read_released
from adapt.testing import torch_threads
from adapt.tokens import tokenize
from benchmarks.data.dataset import Dataset, DatasetError
from benchmarks.data.import_adapt_pt import export_adapt_pt
from benchmarks.data.importers import import_dataset
from benchmarks.testing import si_cell

POS_ATOL = 1e-4  # Å, float32 positions
EDGE = 2 * 5.431  # Å, the cell of si_cell(2)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with torch_threads(1):
        yield


def _structures(n=4, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        a = si_cell(2, dopant=("C", "Ge", None, "C")[i % 4])
        a.positions += rng.normal(scale=0.04, size=a.positions.shape)
        out.append((a, rng.normal(size=(len(a), 3)), -5.4 * len(a) + rng.normal()))
    return out


def _authors_tokens(atoms):
    """(n, 12) as in their files: positions + descriptors, their Si electron affinity 133.6."""
    t = tokenize(atoms).astype(np.float64)
    t[:, :3] = atoms.positions
    t[np.array(atoms.get_chemical_symbols()) == "Si", 9] = 133.6
    return t


def write_force_dict(path, structs):
    X = [
        torch.tensor(np.c_[_authors_tokens(a), np.linspace(1, 2, len(a))], dtype=torch.float32)
        for a, _, _ in structs
    ]
    Y = [torch.tensor(f, dtype=torch.float32) for _, f, _ in structs]
    torch.save({"X": X, "Y": Y}, path)


def write_energy_pair(folder, structs, n_max=70):
    folder.mkdir(parents=True, exist_ok=True)
    X = torch.zeros(len(structs), n_max, 12)
    for i, (a, _, _) in enumerate(structs):
        X[i, : len(a)] = torch.tensor(_authors_tokens(a))
    torch.save(X, folder / "x_values.pt")
    torch.save(
        torch.tensor([e for _, _, e in structs], dtype=torch.float32), folder / "nrg_values.pt"
    )


def write_norm_stats(path):
    g = torch.Generator().manual_seed(0)
    torch.save(
        {
            "x_mean": torch.rand(13, generator=g),
            "x_std": torch.rand(13, generator=g) + 0.5,
            "y_mean_force": torch.zeros(3),
            "y_std_force": torch.full((3,), 0.7),
            "y_mean_energy": torch.tensor([-345.6]),
            "y_std_energy": torch.tensor([2.5]),
        },
        path,
    )


def _check_frames(structs, frames, forces=True, energy=True):
    assert len(frames) == len(structs)
    for (a, f, e), b in zip(structs, frames, strict=True):
        assert b.get_chemical_symbols() == a.get_chemical_symbols()
        np.testing.assert_allclose(b.positions, a.positions, atol=POS_ATOL)
        res = b.calc.results
        assert ("forces" in res) == forces and ("energy" in res) == energy
        if forces:
            np.testing.assert_allclose(res["forces"], f, atol=1e-6)
        if energy:
            assert res["energy"] == pytest.approx(e, abs=1e-3)


def test_kinds_of_every_layout(tmp_path):
    structs = _structures(2)
    write_force_dict(tmp_path / "trainset.pt", structs)
    write_energy_pair(tmp_path, structs)
    write_norm_stats(tmp_path / "norm_stats.pt")
    kinds = {
        p: kind_of(torch.load(tmp_path / p, weights_only=True))
        for p in ("trainset.pt", "x_values.pt", "nrg_values.pt", "norm_stats.pt")
    }
    assert kinds == {
        "trainset.pt": "forces",
        "x_values.pt": "x-values",
        "nrg_values.pt": "energies",
        "norm_stats.pt": "norm-stats",
    }
    stats = read_norm_stats(tmp_path / "norm_stats.pt")
    assert stats["x_mean"]["shape"] == [13] and stats["y_std_energy"]["values"] == [2.5]


def test_force_file_alone_imports_forces_only_and_exports_back(tmp_path):
    structs = _structures()
    write_force_dict(tmp_path / "trainset.pt", structs)
    rep = import_dataset([tmp_path / "trainset.pt"], tmp_path / "ds", fmt="adapt-pt", split="train")
    ds = rep.dataset
    assert ds.labels == ("forces",) and not ds.has("energy")
    assert "forces only (no energy)" in rep.summary()
    frames = [ds.read(r)[0] for r in sorted(ds.records(), key=lambda r: r.id)]
    _check_frames(structs, frames, energy=False)
    out = export_adapt_pt(ds.root, tmp_path / "back")
    assert sorted(p.name for p in out) == ["norm_stats.pt", "trainset.pt"]
    raw = torch.load(tmp_path / "back" / "trainset.pt", weights_only=True)
    assert set(raw) == {"X", "Y"} and raw["X"][0].shape == (64, 13) and raw["Y"][0].shape == (64, 3)
    again = read_released([tmp_path / "back" / "trainset.pt"], cell=EDGE).forces[0][1]
    _check_frames(structs, again, energy=False)
    stats = torch.load(tmp_path / "back" / "norm_stats.pt", weights_only=True)
    assert set(stats) == {"x_mean", "x_std", "y_mean_force", "y_std_force"}
    x = torch.cat(raw["X"]).double()
    assert stats["x_mean"][:3].unique().numel() == 1  # coordinates pooled, as the authors fit
    assert float(stats["x_mean"][0]) == pytest.approx(float(x[:, :3].mean()), rel=1e-5)


def test_energy_pair_and_folder_import_energies_only_and_round_trip(tmp_path):
    structs = _structures()
    write_energy_pair(tmp_path / "mini_energy_dataset", structs)
    for k, src in enumerate(
        (
            [
                tmp_path / "mini_energy_dataset" / "x_values.pt",
                tmp_path / "mini_energy_dataset" / "nrg_values.pt",
            ],
            [tmp_path / "mini_energy_dataset"],
        )
    ):
        ds = import_dataset(
            src, tmp_path / f"ds{k}", fmt="adapt-pt", split="train", cell=EDGE
        ).dataset
        assert ds.labels == ("energy",)
        frames = [ds.read(r)[0] for r in sorted(ds.records(), key=lambda r: r.id)]
        _check_frames(structs, frames, forces=False)
        assert frames[0].info.get("cell_inferred") is None
    export_adapt_pt(tmp_path / "ds1", tmp_path / "back", n_max=70)
    X = torch.load(tmp_path / "back" / "x_values.pt", weights_only=True)
    E = torch.load(tmp_path / "back" / "nrg_values.pt", weights_only=True)
    assert torch.is_tensor(X) and X.shape == (4, 70, 12) and torch.is_tensor(E) and E.shape == (4,)
    assert not (tmp_path / "back" / "trainset.pt").exists()
    again = read_released([tmp_path / "back"], cell=EDGE).energies[0][1]
    _check_frames(structs, again, forces=False)


def test_force_and_energy_files_pair_and_norm_stats_are_recorded_and_written_back(tmp_path):
    structs = _structures()
    folder = tmp_path / "release"
    folder.mkdir()
    write_force_dict(folder / "trainset.pt", structs)
    write_energy_pair(folder, structs[::-1])
    write_norm_stats(folder / "norm_stats.pt")
    ds = import_dataset([folder], tmp_path / "ds", fmt="adapt-pt", split="train").dataset
    assert ds.labels == ("energy", "forces")
    frames = [ds.read(r)[0] for r in sorted(ds.records(), key=lambda r: r.id)]
    _check_frames(structs, frames)
    recorded = ds.manifest.extra["adapt_norm_stats"]
    assert recorded[0]["source"].endswith("norm_stats.pt")
    assert recorded[0]["stats"]["y_mean_energy"]["values"] == pytest.approx([-345.6])
    export_adapt_pt(ds.root, tmp_path / "back", n_max=70)
    orig = torch.load(folder / "norm_stats.pt", weights_only=True)
    back = torch.load(tmp_path / "back" / "norm_stats.pt", weights_only=True)
    assert set(back) == set(orig)
    for key in orig:
        torch.testing.assert_close(back[key], orig[key])
    assert {"trainset.pt", "x_values.pt", "nrg_values.pt"} <= {
        p.name for p in (tmp_path / "back").iterdir()
    }


def test_newer_converter_layout_xyz_z_with_meta(tmp_path):
    structs = _structures(2)
    X = [torch.tensor(np.c_[a.positions, a.numbers], dtype=torch.float32) for a, _, _ in structs]
    Y = [torch.tensor(f, dtype=torch.float32) for _, f, _ in structs]
    meta = {"x_feature_names": ["pos_0", "pos_1", "pos_2", "Z"], "x_dim": 4, "n_frames": 2}
    torch.save({"X": X, "Y": Y, "meta": meta}, tmp_path / "train.ragged.pt")
    frames = read_released([tmp_path / "train.ragged.pt"], cell=EDGE).forces[0][1]
    _check_frames(structs, frames, energy=False)


@pytest.mark.parametrize(
    "case, match",
    [
        ("partial_pair", r"trainset.pt structure \d: field 'energy': no structure of the energy"),
        ("lonely_x", r"x_values.pt: structures \(M, n_max, 12\) without one energy tensor"),
        ("lonely_energies", r"nrg_values.pt: energies without their structures"),
        ("wrong_count", r"nrg_values.pt: 3 energies but .*x_values.pt holds 4 structures"),
        ("not_torch", r"junk.pt: not a readable torch .pt file"),
        ("pickled_object", r"obj.pt: not a readable torch .pt file"),
        ("foreign_dict", r"other.pt: not an ADAPT released layout .* found a dict with keys"),
        ("only_stats", r"no structures \(only normalisation statistics\)"),
        ("bad_force_shape", r"trainset.pt structure 1: X \(64, 13\) / Y \(63, 3\)"),
    ],
)
def test_bad_released_files_are_one_line(tmp_path, case, match):
    structs = _structures()
    src = tmp_path / "src"
    src.mkdir()
    if case == "partial_pair":
        write_force_dict(src / "trainset.pt", structs)
        write_energy_pair(src, structs[:2])
    elif case == "lonely_x":
        write_energy_pair(src, structs)
        (src / "nrg_values.pt").unlink()
    elif case == "lonely_energies":
        write_energy_pair(src, structs)
        (src / "x_values.pt").unlink()
    elif case == "wrong_count":
        write_energy_pair(src, structs)
        torch.save(torch.zeros(3), src / "nrg_values.pt")
    elif case == "not_torch":
        (src / "junk.pt").write_text("not a torch file")
    elif case == "pickled_object":
        torch.save({"X": [object()]}, src / "obj.pt")  # needs pickle: refused by weights_only
    elif case == "foreign_dict":
        torch.save({"a": torch.zeros(2)}, src / "other.pt")
    elif case == "only_stats":
        write_norm_stats(src / "norm_stats.pt")
    elif case == "bad_force_shape":
        write_force_dict(src / "trainset.pt", structs)
        raw = torch.load(src / "trainset.pt", weights_only=True)
        raw["Y"][1] = raw["Y"][1][:63]
        torch.save(raw, src / "trainset.pt")
    with pytest.raises(DatasetError, match=match) as info:
        import_dataset([src], tmp_path / "out", fmt="adapt-pt", cell=EDGE)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()  # nothing half-written left behind


def test_labels_forces_keeps_forces_of_a_partial_pair(tmp_path):
    structs = _structures()
    write_force_dict(tmp_path / "trainset.pt", structs)
    write_energy_pair(tmp_path / "e", structs[:2])
    ds = import_dataset(
        [tmp_path / "trainset.pt", tmp_path / "e"], tmp_path / "ds", fmt="adapt-pt",
        labels=("forces",), split="train",
    ).dataset  # fmt: skip
    assert ds.labels == ("forces",) and Dataset(ds.root).has("forces")
