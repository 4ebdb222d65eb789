"""The bad-input sweep (issue 12), through the real CLI: each case is one line on stderr naming
the file, frame and field (or the option), exit code 2, and nothing half-written left behind."""

from __future__ import annotations

import json
import shutil

import ase.io
import numpy as np
import pytest

from adapt.testing import torch_threads
from benchmarks.cli import main
from benchmarks.data.dataset import Dataset, DatasetWriter, Defect, TrajectoryRecord, labelled
from benchmarks.data.out_lock import exclusive_out
from benchmarks.testing import generated_dataset, random_label_dataset, si_cell


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("sweep")


@pytest.fixture(scope="module")
def ds(tmp) -> Dataset:
    return generated_dataset(tmp / "ds", n_trajectories=6)


@pytest.fixture(scope="module")
def adapt_run(tmp, ds):
    """ADAPT tiny force + energy, one epoch each (a real run directory)."""
    for kind in ("adapt-force", "adapt-energy"):
        assert main(["train", kind, "--data", str(ds.root), "--out", str(tmp / "run"),
                     "--epochs", "1"]) == 0  # fmt: skip
    return tmp / "run"


def fails(capsys, argv, *patterns) -> str:
    """main(argv) exits 2 with one stderr line matching every pattern; returns that line."""
    capsys.readouterr()
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse refuses an option value
        rc = exc.code
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2, err
    line = err[-1]
    assert line.startswith(("error:", "adapt-bench")) and "Traceback" not in "\n".join(err)
    for p in patterns:
        assert p in line, (p, line)
    return line


def _dataset(root, frames_per_traj, split="train") -> Dataset:
    """A dataset of the given trajectories (lists of Atoms), written without import checks."""
    writer = DatasetWriter(root)
    for t, frames in enumerate(frames_per_traj):
        rng = np.random.default_rng(t)
        lab = [labelled(a, -4.0 * len(a), rng.normal(size=(len(a), 3))) for a in frames]
        rec = TrajectoryRecord(f"t{t}", "", 0, 0, "Si", Defect(), None, 0.0, False)
        writer.add(rec, lab)
    writer.set_splits({f"t{t}": split for t in range(len(frames_per_traj))})
    return writer.finish("odd", "random", {"name": "odd"})


# --------------------------------------------------------------------------- high


def test_1_second_import_into_the_same_out_refuses(tmp, ds, capsys):
    src = ds.root / "trajectories" / ds.records()[0].file.split("/")[-1]
    out = tmp / "locked"
    with exclusive_out(out, "data import"):  # the first import, still writing
        fails(capsys, ["data", "import", src, "--out", out], "another `data import` is writing")
    assert main(["data", "import", str(src), "--out", str(out)]) == 0  # free again
    assert not (out / ".lock").exists()


def test_2a_eval_of_a_missing_split_is_an_error(tmp, capsys):
    only_train = random_label_dataset(tmp / "train-only", n_traj=2, n_frames=2)
    for rec in only_train.records():
        assert rec.split in ("train", "val", "test")
    _dataset(tmp / "train-only-2", [[si_cell(1)]], split="train")
    fails(capsys, ["eval", "--model", "zero", "--data", tmp / "train-only-2", "--split", "test"],
          "nothing to evaluate", "split 'test'", "splits here: train")  # fmt: skip


def test_2b_eval_batch_size_below_one_is_refused(ds, capsys):
    fails(capsys, ["eval", "--model", "zero", "--data", ds.root, "--batch-size", "-1"],
          "--batch-size", "must be at least 1")  # fmt: skip


def test_2c_check_update_without_metrics_writes_nothing(tmp, capsys):
    res = tmp / "empty-results"
    res.mkdir()
    (res / "metrics.csv").write_text(
        "model,family,dataset,split,selection,subset,metric,value,unit,n,flags\n"
    )
    base = tmp / "base.json"
    fails(capsys, ["check", res, "--baseline", base, "--update"], "no metric with a value")
    assert not base.exists()


# --------------------------------------------------------------------------- medium


def test_4a_non_periodic_structure_is_one_line_and_leaves_no_stub(tmp, ds, capsys):
    frames = ds.read(ds.records()[0])[:3]
    for a in frames:
        a.pbc = False
        a.cell = np.zeros((3, 3))
    ase.io.write(tmp / "nopbc.extxyz", frames)
    out = tmp / "nopbc-ds"
    fails(capsys, ["data", "import", tmp / "nopbc.extxyz", "--out", out],
          "nopbc.extxyz frame 0: field 'pbc'")  # fmt: skip
    assert not out.exists()  # the rerun is not blocked


def test_4b_generate_supercell_zero_is_refused_before_writing(tmp, capsys):
    fails(capsys, ["data", "generate", "--out", tmp / "g0", "--supercell", "0"], "--supercell")
    assert not (tmp / "g0").exists()


@pytest.mark.parametrize("damage", ["edit", "truncate", "delete"])
def test_5_changed_trajectory_files_are_caught(tmp, ds, capsys, damage):
    copy = tmp / f"changed-{damage}"
    shutil.copytree(ds.root, copy)
    assert main(["data", "info", str(copy), "--verify", "--no-leakage"]) == 0
    assert "content sha256 matches the manifest" in capsys.readouterr().out
    path = copy / Dataset(copy).records()[0].file
    if damage == "edit":  # same size, other content
        path.write_text(path.read_text().replace("Si ", "Ge ", 1))
    elif damage == "truncate":
        path.write_bytes(path.read_bytes()[:300])
    else:
        path.unlink()
    expect = "missing (listed in" if damage == "delete" else "changed since the dataset was written"
    fails(capsys, ["data", "info", copy, "--no-leakage"], path.name, expect)
    fails(capsys, ["eval", "--model", "zero", "--data", copy], path.name, expect)


def test_6a_a_zip_that_is_not_a_zip(tmp, capsys):
    (tmp / "bad.zip").write_text("not a zip")
    fails(capsys, ["data", "import", tmp / "bad.zip", "--out", tmp / "bz"],
          "bad.zip: not a readable zip archive")  # fmt: skip
    assert not (tmp / "bz").exists()


@pytest.mark.parametrize(
    "selection, expect",
    [("early:0", "early:K needs K >= 1"), ("early:-1", "early:K needs K >= 1"),
     ("bogus", "unknown frame selection 'bogus'")],
)  # fmt: skip
def test_6b_bad_selections(ds, capsys, selection, expect):
    fails(capsys, ["eval", "--model", "zero", "--data", ds.root, "--selection", selection], expect)


@pytest.mark.parametrize("device", ["gpu9", "cuda", "cuda:7"])
def test_6c_bad_or_absent_devices(ds, capsys, device):
    import torch

    if device != "gpu9" and torch.cuda.is_available() and torch.cuda.device_count() > 7:
        pytest.skip("this machine has that CUDA device")
    line = fails(capsys, ["eval", "--model", "zero", "--data", ds.root, "--device", device],
                 "--device")  # fmt: skip
    assert ("use cpu, cuda or cuda:N" in line) if device == "gpu9" else ("CUDA device" in line)


@pytest.mark.parametrize("epochs", ["-2", "0"])  # 0: sweep item 10 (an untrained checkpoint)
def test_6d_10_train_epochs_below_one(tmp, ds, capsys, epochs):
    for target in ("adapt-force", "mace"):
        fails(capsys, ["train", target, "--data", ds.root, "--out", tmp / f"e{epochs}",
                       "--epochs", epochs], "--epochs", "must be at least 1")  # fmt: skip
    assert not (tmp / f"e{epochs}").exists()


def test_6e_training_into_a_run_of_other_data(tmp, adapt_run, capsys):
    other = random_label_dataset(tmp / "other", n_traj=3, n_frames=2)
    fails(capsys, ["train", "adapt-force", "--data", other.root, "--out", adapt_run,
                   "--epochs", "1"], "holds a different run")  # fmt: skip


def test_6f_7_oversize_and_unknown_elements_are_skipped_counted_and_flagged(
    tmp, adapt_run, capsys, caplog
):
    big = si_cell(4)  # 512 atoms > the energy model's max_atoms 220
    og = si_cell(1)
    og.symbols[3] = "Og"  # no ADAPT token, no CHGNet embedding
    mixed = _dataset(tmp / "mixed", [[si_cell(1), si_cell(1)], [big], [og]], split="test")
    capsys.readouterr()
    assert main(["eval", "--model", f"adapt:{adapt_run}", "--data", str(mixed.root),
                 "--selection", "all", "--json"]) == 0  # fmt: skip
    out = capsys.readouterr()
    rows = json.loads(out.out)
    assert rows and all("skipped=2" in r["flags"] for r in rows)
    assert {r["n"] for r in rows if r["metric"] == "energy_mae" and r["subset"] == "all"} == {2}
    assert "skipped 2 of 4 structures it cannot take" in caplog.text
    only_og = _dataset(tmp / "only-og", [[og]], split="test")
    fails(capsys, ["eval", "--model", "chgnet", "--data", only_og.root, "--selection", "all"],
          "took none of the 1 structures", "Z <= 94")  # fmt: skip
    fails(capsys, ["eval", "--model", f"adapt:{adapt_run}", "--data", only_og.root,
                   "--selection", "all"], "took none of the 1 structures", "Og")  # fmt: skip
    oversize = _dataset(tmp / "oversize", [[big]], split="train")
    fails(capsys, ["train", "adapt-energy", "--data", oversize.root, "--out", tmp / "big-run",
                   "--epochs", "1"], "512 atoms > max_atoms=220")  # fmt: skip


@pytest.mark.parametrize("damage, expect", [
    ("truncated_weights", "model.safetensors: unreadable weights"),
    ("other_d_model", "model.safetensors does not fit this model config"),
    ("broken_json", "checkpoint.json: not valid JSON"),
])  # fmt: skip
def test_6g_damaged_adapt_checkpoints_name_the_file(tmp, ds, adapt_run, capsys, damage, expect):
    run = tmp / f"run-{damage}"
    shutil.copytree(adapt_run, run)
    force = run / "force"
    if damage == "truncated_weights":
        (force / "model.safetensors").write_bytes((force / "model.safetensors").read_bytes()[:999])
    elif damage == "other_d_model":
        meta = json.loads((force / "checkpoint.json").read_text())
        meta["model_config"]["d_model"] *= 2
        (force / "checkpoint.json").write_text(json.dumps(meta))
    else:
        (force / "checkpoint.json").write_text('{"model": ')
    fails(capsys, ["eval", "--model", f"adapt:{run}", "--data", ds.root], str(force), expect)


@pytest.mark.parametrize("content", ["garbage", "extxyz", "truncated"])
def test_6h_mace_spec_at_a_file_that_is_not_a_model(tmp, ds, capsys, content):
    from baselines.testing import tiny_mace_model

    path = tmp / f"{content}.model"
    if content == "garbage":
        path.write_text("garbage\n")
    elif content == "extxyz":
        shutil.copy(ds.root / ds.records()[0].file, path)
    else:
        good = tiny_mace_model(tmp / "good.model", seed=0, dtype="float64")
        path.write_bytes(good.read_bytes()[:2000])
    fails(capsys, ["eval", "--model", f"mace:{path}", "--data", ds.root],
          f"mace:{path}: not a readable MACE model file")  # fmt: skip


# --------------------------------------------------------------------------- low


@pytest.mark.parametrize("symbol", ["X", "Og"])
def test_8_dummy_and_unknown_elements_are_refused_at_import(tmp, ds, capsys, symbol):
    frames = ds.read(ds.records()[0])[:3]
    frames[1].symbols[2] = symbol
    ase.io.write(tmp / f"{symbol}.extxyz", frames)
    fails(capsys, ["data", "import", tmp / f"{symbol}.extxyz", "--out", tmp / f"imp-{symbol}"],
          f"{symbol}.extxyz frame 1: field 'species'", "--allow-any-element")  # fmt: skip
    assert main(["data", "import", str(tmp / f"{symbol}.extxyz"), "--out",
                 str(tmp / f"imp-{symbol}"), "--allow-any-element"]) == 0  # fmt: skip


def test_9_extxyz_errors_name_frame_and_line_and_skip_bad_keeps_the_good_frames(tmp, ds, capsys):
    frames = ds.read(ds.records()[0])[:4]
    ase.io.write(tmp / "t.extxyz", frames)
    text = (tmp / "t.extxyz").read_text().splitlines()
    n = len(frames[0])
    cut = 3 * (n + 2) + 2 + n // 2  # halfway through frame 3's atoms
    (tmp / "t.extxyz").write_text("\n".join(text[:cut]) + "\n")
    line = 3 * (n + 2) + 1
    fails(capsys, ["data", "import", tmp / "t.extxyz", "--out", tmp / "t-imp"],
          f"t.extxyz frame 3 (line {line}): cannot read as extxyz")  # fmt: skip
    assert main(["data", "import", str(tmp / "t.extxyz"), "--out", str(tmp / "t-imp"),
                 "--skip-bad"]) == 0  # fmt: skip
    assert "kept the 3 frames before" in capsys.readouterr().out
    assert sum(r.n_frames for r in Dataset(tmp / "t-imp").records()) == 3


@pytest.mark.parametrize("argv, texts", [
    (["train", "mace"], ["Train MACE", "(default: 0)", "tiny 15, paper 300"]),
    (["check"], ["RESULTS_DIR", "metrics.csv", "else 1e-06", "else 0.1"]),
    (["eval"], ["--batch-size", "structures per predict call"]),
    (["data", "import"], ["REF_energy", "REF_forces", "--labels", "--allow-any-element"]),
])  # fmt: skip
def test_12_help_says_defaults_and_meanings(capsys, argv, texts):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for t in texts:
        assert t in text, t


def test_12_models_listing_does_not_point_at_nothing(capsys, monkeypatch, tmp):
    monkeypatch.setenv("ADAPT_BENCH_CACHE", str(tmp / "empty-cache"))
    assert main(["models"]) == 0
    line = next(x for x in capsys.readouterr().out.splitlines() if "mace:PATH.model" in x)
    assert "listed above" not in line and "none found yet" in line and "pickle" in line
