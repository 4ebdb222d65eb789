import json

import numpy as np
import pytest

from benchmarks.data.dataset import Dataset, DatasetError, DatasetWriter, labelled
from benchmarks.data.selections import select_frames
from benchmarks.testing import random_label_dataset, si_cell


def test_roundtrip_keeps_labels_and_splits(tmp_path):
    ds = random_label_dataset(tmp_path / "ds")
    again = Dataset(tmp_path / "ds")
    assert again.sha256 == ds.sha256 and len(ds.sha256) == 64
    assert {r.split for r in again.records()} == {"train", "val", "test"}
    train_ids = {r.id for r in again.records("train")}
    test_ids = {r.id for r in again.records("test")}
    assert train_ids and test_ids and not train_ids & test_ids
    rec = again.records()[0]
    frames = again.read(rec)
    assert len(frames) == rec.n_frames == 4
    assert frames[2].info["traj_id"] == rec.id and frames[2].info["step"] == 2
    assert frames[0].get_forces().shape == (8, 3)
    assert rec.final_fmax == pytest.approx(np.linalg.norm(frames[-1].get_forces(), axis=1).max())


def test_incomplete_directory_is_refused(tmp_path):
    writer = DatasetWriter(tmp_path / "ds")
    with pytest.raises(DatasetError, match="no manifest.json"):
        Dataset(tmp_path / "ds")
    assert writer.done() == set()


def test_bad_frame_names_file_frame_and_field(tmp_path):
    writer = DatasetWriter(tmp_path / "ds")
    a = si_cell()
    bad = labelled(a, energy=0.0, forces=np.full((len(a), 3), np.nan))
    from benchmarks.data.dataset import Defect, TrajectoryRecord

    rec = TrajectoryRecord("x", "", 0, 0, "Si", Defect(), None, 0.0, False)
    with pytest.raises(DatasetError, match=r"x frame 1: field 'forces': NaN"):
        writer.add(rec, [labelled(a, 0.0, np.zeros((len(a), 3))), bad])


def test_content_hash_changes_with_content(tmp_path):
    a = random_label_dataset(tmp_path / "a", seed=0)
    b = random_label_dataset(tmp_path / "b", seed=1)
    assert a.sha256 != b.sha256
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["format_version"] == 1


def test_writer_resumes_from_partial(tmp_path):
    root = tmp_path / "ds"
    a = si_cell()
    from benchmarks.data.dataset import Defect, TrajectoryRecord

    rec = TrajectoryRecord("t0", "", 0, 0, "Si", Defect(), None, 0.0, False)
    DatasetWriter(root).add(rec, [labelled(a, 1.0, np.zeros((len(a), 3)))])
    resumed = DatasetWriter(root)
    assert resumed.done() == {"t0"}


@pytest.mark.parametrize(
    "n, selection, expected",
    [
        (30, "all", list(range(30))),
        (30, "final", [29]),
        (30, "early", list(range(6))),
        (100, "early", list(range(10))),
        (3, "early", [0]),
        (30, "early:3", [0, 1, 2]),
        (10, "early:0.5", [0, 1, 2, 3, 4]),
        (2, "early:5", [0, 1]),
    ],
)
def test_selections(n, selection, expected):
    assert select_frames(n, selection) == expected


@pytest.mark.parametrize("bad", ["late", "early:0", "early:-1", "early:abc", "final:2"])
def test_bad_selection(bad):
    with pytest.raises(ValueError):
        select_frames(10, bad)
