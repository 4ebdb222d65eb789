"""Nested train subsets for learning curves: nested, seeded, by whole trajectory."""

import pytest

from benchmarks.data.dataset import Dataset
from benchmarks.data.subsets import nested_train_subsets, subset_dataset
from benchmarks.testing import generated_dataset, random_label_dataset


@pytest.fixture()
def ds(tmp_path):
    return random_label_dataset(tmp_path / "ds", n_traj=20, n_frames=3)


def test_subsets_are_nested_seeded_and_by_trajectory(ds):
    train = sorted(r.id for r in ds.records("train"))
    subsets = nested_train_subsets(ds, (0.125, 0.25, 0.5, 1.0), seed=0)
    sizes = [len(ids) for ids in subsets.values()]
    n = len(train)
    assert sizes == [max(1, -(-n // 8)), -(-n // 4), -(-n // 2), n]  # ceil(f n)
    chain = list(subsets.values())
    for small, big in zip(chain, chain[1:], strict=False):
        assert big[: len(small)] == small  # nested: a prefix of the next one
    assert sorted(chain[-1]) == train and len(set(chain[-1])) == n  # whole trajectories, once
    assert nested_train_subsets(ds, seed=0) == subsets  # seeded
    elements = set()
    for r in ds.records("train"):
        elements |= set(ds.read(r, [0])[0].get_chemical_symbols())
    smallest_covering = next(ids for ids in chain if len(ids) >= len(elements))
    covered = set()
    for tid in smallest_covering:
        rec = next(r for r in ds.records("train") if r.id == tid)
        covered |= set(ds.read(rec, [0])[0].get_chemical_symbols())
    assert covered == elements  # small subsets still hold every element of the train split
    others = [nested_train_subsets(ds, seed=s)[0.25] for s in (1, 2, 3)]
    assert any(o != subsets[0.25] for o in others)  # the seed matters


def test_subset_dataset_keeps_val_and_test_whole(ds, tmp_path):
    ids = nested_train_subsets(ds, seed=0)[0.25]
    sub = subset_dataset(ds, ids, tmp_path / "sub")
    assert sorted(r.id for r in sub.records("train")) == sorted(ids)
    for split in ("val", "test"):
        assert [r.id for r in sub.records(split)] == [r.id for r in ds.records(split)]
    assert sub.frames("test", "all")[0].get_forces().tolist() == (
        ds.frames("test", "all")[0].get_forces().tolist()
    )
    assert sub.sha256 != ds.sha256 and sub.level_of_theory == ds.level_of_theory
    assert Dataset(tmp_path / "sub").manifest.extra["subset_of"]["content_sha256"] == ds.sha256
    assert subset_dataset(ds, ids, tmp_path / "sub").sha256 == sub.sha256  # reused
    with pytest.raises(ValueError, match="holds another dataset"):
        subset_dataset(ds, ids[:1], tmp_path / "sub")
    with pytest.raises(ValueError, match="not train trajectories"):
        subset_dataset(ds, [ds.records("test")[0].id], tmp_path / "other")


def test_small_subsets_hold_every_train_element(tmp_path):
    ds = generated_dataset(tmp_path / "gen", n_trajectories=10)  # Si, C, Ge; 7 train trajectories

    def elements(ids):
        recs = {r.id: r for r in ds.records("train")}
        return {s for t in ids for s in ds.read(recs[t], [0])[0].get_chemical_symbols()}

    everything = elements([r.id for r in ds.records("train")])
    assert everything == {"Si", "C", "Ge"}
    # seed 1: a plain permutation's first 4 trajectories miss an element (checked when written)
    subsets = nested_train_subsets(ds, (0.125, 0.25, 0.5, 1.0), seed=1)
    for ids in subsets.values():
        if len(ids) >= len(everything):
            assert elements(ids) == everything
