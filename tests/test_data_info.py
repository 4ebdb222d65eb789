"""`data info` statistics and the cross-split leakage check; the registry; the default dataset."""

import json
import urllib.error
import zipfile

import ase.io
import numpy as np
import pytest
from ase.calculators.singlepoint import SinglePointCalculator

from benchmarks.cli import main
from benchmarks.data import registry
from benchmarks.data.dataset import DatasetWriter
from benchmarks.data.info import dataset_info, find_copies, format_info, same_structure
from benchmarks.testing import generated_dataset, si_cell


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return generated_dataset(tmp_path_factory.mktemp("info") / "ds")


def _moved(atoms, shift, rng, noise=0.0, permute=True):
    """``atoms`` translated by ``shift`` (Å), optionally jittered and with atoms permuted."""
    b = atoms.copy()
    b.positions += shift + rng.normal(scale=noise, size=b.positions.shape) if noise else shift
    forces = atoms.get_forces()
    if permute:
        order = rng.permutation(len(b))
        b, forces = b[order], forces[order]
    b.calc = SinglePointCalculator(b, energy=atoms.get_potential_energy(), forces=forces)
    return b


def test_leakage_finds_planted_copies_also_after_lattice_translation(tmp_path, tiny):
    rng = np.random.default_rng(0)
    writer = DatasetWriter(tmp_path / "leaky")
    for rec in tiny.records():
        writer.add(rec, tiny.read(rec))
    train = [a for r in tiny.records("train") for a in tiny.read(r)]
    picks = rng.choice(len(train), 5, replace=False)
    planted = []
    for k, i in enumerate(picks):
        a = train[i]
        lattice = a.cell[0] * (k - 2) + a.cell[2] * 3  # lattice vectors
        planted.append(_moved(a, lattice, rng, noise=0.002))
    far = _moved(train[0], 0.0, rng)
    far.positions[0] += 0.05  # beyond the tolerance: not a copy
    planted.append(far)
    half = _moved(train[1], 0.5 * train[1].cell[0], rng)  # half a lattice vector: not a copy
    planted.append(half)
    test_rec = tiny.records("test")[0]
    writer.add(type(test_rec)(**{**test_rec.__dict__, "id": "planted"}), planted)
    splits = {r.id: r.split for r in tiny.records()} | {"planted": "test"}
    writer.set_splits(splits)
    ds = writer.finish("leaky", tiny.level_of_theory, {"name": "test"})
    info = dataset_info(ds)
    assert info["leakage"]["copies"] == {"train-val": 0, "train-test": 5, "val-test": 0}
    assert dataset_info(tiny)["leakage"]["copies"]["train-test"] == 0
    assert "train-test 5" in format_info(info)


def test_candidate_search_misses_no_copy():
    """find_copies agrees with the all-pairs comparison on near-copies around the tolerance."""
    rng = np.random.default_rng(1)
    base = si_cell(2, dopant="C")
    base.calc = SinglePointCalculator(base, energy=0.0, forces=np.zeros((len(base), 3)))
    ref, qry = [], []
    for k in range(12):
        a = _moved(base, 0.0, rng, noise=0.05, permute=False)
        ref.append(a)
        for scale in (0.002, 0.004, 0.02):
            b = _moved(a, a.cell[k % 3] * (1 - 2 * (k % 2)), rng, noise=scale)
            qry.append(b)
    hits = find_copies(ref, qry, tol=0.01)
    brute = [next((i for i, a in enumerate(ref) if same_structure(a, b, 0.01)), None) for b in qry]
    assert [h is not None for h in hits] == [b is not None for b in brute]
    assert sum(h is not None for h in hits) >= 12  # the 0.002-Å jitters (max ~0.008 Å) match
    for q, h in zip(qry, hits, strict=True):
        if h is not None:
            assert same_structure(ref[h], q, 0.01)


def test_same_structure_basic_cases():
    rng = np.random.default_rng(2)
    a = si_cell(1)
    a.calc = SinglePointCalculator(a, energy=0.0, forces=np.zeros((len(a), 3)))
    assert same_structure(a, _moved(a, a.cell[1], rng))
    b = _moved(a, 0.0, rng, permute=False)
    b.symbols[0] = "Si"  # other species
    assert not same_structure(a, b)
    for shift in (0.005, 0.02):
        c = _moved(a, np.array([shift, 0, 0]), rng)
        assert same_structure(a, c, 0.01) == (shift < 0.01)


def test_info_statistics_and_cli(tiny, capsys):
    info = dataset_info(tiny)
    assert info["trajectories"] == len(tiny.records())
    assert info["frames"] == sum(r.n_frames for r in tiny.records())
    assert set(info["splits"]) == {"train", "val", "test"}
    assert info["species"]["Si"] > 0
    f = info["forces_eV_per_A"]
    assert f["atom_norm_early_frames"]["mean"] > f["atom_norm_all_frames"]["mean"]
    assert main(["data", "info", str(tiny.root), "--json"]) == 0
    parsed = json.loads(capsys.readouterr().out)
    assert parsed["content_sha256"] == tiny.sha256
    assert main(["data", "info", str(tiny.root)]) == 0
    text = capsys.readouterr().out
    assert "level of theory" in text and "leakage" in text


# --------------------------------------------------------------------------- registry


def test_registry_entries_are_complete():
    names = set(registry.REGISTRY)
    assert {"adapt-si-defects", "liu-he-mo-2023", "si-gap-18"} <= names
    for d in registry.REGISTRY.values():
        assert d.citation and d.licence and d.url and d.homepage
        assert d.sha256 is None or (len(d.sha256) == 64 and int(d.sha256, 16) >= 0)
    assert "17411327" in registry.REGISTRY["adapt-si-defects"].homepage


def test_get_offline_says_in_one_line_where_to_put_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ADAPT_BENCH_CACHE", str(tmp_path))

    def no_network(*a, **k):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(registry.urllib.request, "urlopen", no_network)
    for name in registry.REGISTRY:
        assert main(["data", "get", name]) == 1
        out = capsys.readouterr().out.strip()
        assert len(out.splitlines()) == 1
        assert str(tmp_path / "downloads" / name) in out and "adapt-bench data import" in out


def test_get_verifies_a_placed_file(tmp_path, monkeypatch, capsys, tiny):
    monkeypatch.setenv("ADAPT_BENCH_CACHE", str(tmp_path))
    gap = registry.REGISTRY["si-gap-18"]
    gap.folder().mkdir(parents=True)
    frames = tiny.read(tiny.records()[0])[:3]
    ase.io.write(tmp_path / "g.xyz", frames, format="extxyz")
    with zipfile.ZipFile(gap.path(), "w") as zf:
        zf.write(tmp_path / "g.xyz", gap.member)
    ok, line = registry.get("si-gap-18", online=False)
    assert not ok and "3 frames, expected 2475" in line
    lhm = registry.REGISTRY["liu-he-mo-2023"]
    lhm.folder().mkdir(parents=True)
    with zipfile.ZipFile(lhm.path(), "w") as zf:
        zf.writestr("Silicon_MLIP_datasets-main/Set/DATA.json", "{}")
    assert main(["data", "get", "liu-he-mo-2023", "--offline"]) == 0
    assert "verified" in capsys.readouterr().out


# --------------------------------------------------------------------------- default dataset


def test_default_dataset_is_cached(tmp_path, monkeypatch):
    from benchmarks.data import default as default_mod
    from benchmarks.data import generate

    monkeypatch.setenv("ADAPT_BENCH_CACHE", str(tmp_path))
    small = default_mod.DefaultDatasetSettings(n_trajectories=4, supercell=1, max_steps=10)
    ds = default_mod.default_dataset(progress=False, settings=small)
    assert ds.root == default_mod.default_dataset_dir(small)
    assert ds.root.parent == tmp_path / "datasets" and small.digest() in ds.root.name
    monkeypatch.setattr(generate, "generate_dataset", lambda *a, **k: pytest.fail("regenerated"))
    assert default_mod.default_dataset(progress=False, settings=small).sha256 == ds.sha256
    assert default_mod.DEFAULT.digest() != small.digest()
    assert default_mod.DEFAULT.supercell == 2 and default_mod.DEFAULT.reference == "tersoff"
