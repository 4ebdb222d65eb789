"""The `released` ADAPT variant: the authors' files in, their predictions out.

The reference forward passes below are written from the authors' published code
(github.com/EvanDramko/ADAPT_Released: MLFF_arch/encoderBase.py, MLFF_arch/energyMLFF.py,
utils/normalizer.py, inference_time_calcs.Runner) with plain torch ops on the state dict, one
structure at a time and unpadded, as their Runner runs it: nothing from adapt.released.
"""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from adapt.released import ReleasedEnergyModel, ReleasedForceModel, authors_state_dict
from adapt.released_config import ReleasedEnergyConfig, ReleasedForceConfig
from adapt.released_import import ImportModelError, import_released, safe_load
from adapt.testing import torch_threads
from adapt.tokens import default_table, tokenize
from baselines.adapt import load_run
from benchmarks.testing import si_cell

R, EPS = 0.3, 1e-6


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with torch_threads(1):
        yield


def _ln(x, sd, key):
    return F.layer_norm(x, x.shape[-1:], sd[key + ".weight"], sd[key + ".bias"], 1e-5)


def _lin(x, sd, key):
    return x @ sd[key + ".weight"].T + sd[key + ".bias"]


def reference_forces(sd, stats, tokens, n_heads):
    """Their Runner.getOneStepForces on one unpadded structure: tokens (n, 12) -> (n, 3) eV/Å."""
    x = (tokens - stats["x_mean"][:-1]) / (R * (stats["x_std"][:-1] + EPS))  # weight column dropped
    h = _lin(F.relu(_lin(F.relu(_lin(x, sd, "lin1")), sd, "lin2")), sd, "lin3")
    h = _ln(h, sd, "embed_norm")
    n_layers = 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("layers."))
    for i in range(n_layers):
        p = f"layers.{i}."
        d = h.shape[-1]
        qkv = h @ sd[p + "self_attn.in_proj_weight"].T + sd[p + "self_attn.in_proj_bias"]
        q, k, v = qkv[:, :d], qkv[:, d : 2 * d], qkv[:, 2 * d :]
        dk = d // n_heads
        heads = []
        for j in range(n_heads):
            s = slice(j * dk, (j + 1) * dk)
            w = torch.softmax(q[:, s] @ k[:, s].T / math.sqrt(dk), dim=-1)
            heads.append(w @ v[:, s])
        a = _lin(torch.cat(heads, dim=-1), sd, p + "self_attn.out_proj")
        h = _ln(h + a, sd, p + "norm1")
        h = _ln(h + _lin(F.relu(_lin(h, sd, p + "linear1")), sd, p + "linear2"), sd, p + "norm2")
    y = _lin(_ln(h, sd, "norm"), sd, "output_linear")
    return y * (R * (stats["y_std_force"] + EPS)) + stats["y_mean_force"]


def reference_energy(sd, stats, tokens, max_atoms):
    """Their Runner.getStructEnergy: pad raw tokens with zero rows to max_atoms, normalise every
    row, nrgMLP, de-normalise. tokens (n, 12) -> eV."""
    x = torch.cat([tokens, torch.zeros(max_atoms - len(tokens), tokens.shape[1])])
    x = (x - stats["x_mean"][:-1]) / (R * (stats["x_std"][:-1] + EPS))
    h = x.reshape(1, -1)
    i = 1
    while f"model.{i}.fc.weight" in sd:
        p = f"model.{i}."
        t = F.relu(_lin(h, sd, p + "fc"))
        skip = _lin(h, sd, p + "skip") if p + "skip.weight" in sd else h
        h = _ln(t + skip, sd, p + "norm")
        i += 1
    y = _lin(h, sd, f"model.{i}")[0, 0]
    return float(y * (R * (stats["y_std_energy"][0] + EPS)) + stats["y_mean_energy"][0])


def _stats(rng):
    """A norm_stats.pt dict as their code saves it: 13 x values (the last = weight column)."""
    table = default_table()
    toks = np.concatenate([tokenize(si_cell(1, dopant=d), table) for d in ("C", "Ge", "Fe")])
    x_mean = np.concatenate([toks.mean(0), [1.5]])
    x_std = np.concatenate([toks.std(0) + 0.1, [0.7]])
    return {
        "x_mean": torch.tensor(x_mean, dtype=torch.float32),
        "x_std": torch.tensor(x_std, dtype=torch.float32),
        "y_mean_force": torch.tensor([0.01, -0.02, 0.03]),
        "y_std_force": torch.tensor([0.4, 0.5, 0.6]),
        "y_mean_energy": torch.tensor([-430.0]),
        "y_std_energy": torch.tensor([3.0]),
    }


def _authors_files(tmp_path, seed=0):
    torch.manual_seed(seed)
    fcfg = ReleasedForceConfig(d_model=16, d_ff=24, n_layers=2, n_heads=4, embed_width=128)
    ecfg = ReleasedEnergyConfig(widths=(48, 48, 8), max_atoms=70)
    force_sd = authors_state_dict(ReleasedForceModel(fcfg))
    energy_sd = authors_state_dict(ReleasedEnergyModel(ecfg))
    with torch.no_grad():  # fresh LayerNorms are (1, 0): make them matter
        for sd in (force_sd, energy_sd):
            for k, v in sd.items():
                if "norm" in k:
                    v.add_(0.1 * torch.randn_like(v))
    stats = _stats(np.random.default_rng(seed))
    paths = {n: tmp_path / f"{n}" for n in ("force.pth", "energy.pth", "norm_stats.pt")}
    torch.save(force_sd, paths["force.pth"])
    torch.save(energy_sd, paths["energy.pth"])
    torch.save(stats, paths["norm_stats.pt"])
    return paths, force_sd, energy_sd, stats


def _frames():
    rng = np.random.default_rng(1)
    out = []
    for k, d in ((1, "C"), (2, "Ge"), (1, None)):
        a = si_cell(k, dopant=d) if d else si_cell(k)
        a.positions += rng.normal(scale=0.1, size=a.positions.shape)
        out.append(a)
    return out


def test_authors_key_layout():
    model = ReleasedForceModel(ReleasedForceConfig(n_layers=1))
    keys = set(authors_state_dict(model))
    assert {
        "lin1.weight",
        "embed_norm.bias",
        "layers.0.self_attn.in_proj_weight",
        "layers.0.self_attn.out_proj.bias",
        "layers.0.norm2.weight",
        "norm.weight",
        "output_linear.bias",
    } <= keys
    energy = ReleasedEnergyModel(ReleasedEnergyConfig())
    sd = authors_state_dict(energy)
    assert sd["model.1.fc.weight"].shape == (4096, 2640) and "model.1.skip.weight" in sd
    assert "model.2.skip.weight" not in sd and sd["model.5.skip.weight"].shape == (128, 4096)
    assert sd["model.6.weight"].shape == (1, 128)
    # the authors' energy_baseline.pth is 292,253,736 bytes of float32 (Git LFS pointer)
    n = sum(v.numel() for v in sd.values())
    assert 4 * n == pytest.approx(292_253_736, rel=1e-4)


def test_import_matches_independent_forward(tmp_path):
    paths, force_sd, energy_sd, stats = _authors_files(tmp_path)
    from benchmarks.cli import main

    run = tmp_path / "run"
    argv = ["import-model", "adapt", "--force", str(paths["force.pth"]), "--energy"]
    argv += [str(paths["energy.pth"]), "--norm-stats", str(paths["norm_stats.pt"])]
    assert main([*argv, "--out", str(run), "--heads", "4", "--max-atoms", "70"]) == 0
    ff = load_run(run)
    assert ff.force.arch == ff.energy.arch == "released"
    frames = _frames()
    preds = ff.predict(frames, batch_size=2)  # mixed sizes: padding and masks exercised
    table = default_table()
    for atoms, p in zip(frames, preds, strict=True):
        toks = torch.tensor(tokenize(atoms, table))
        want_f = reference_forces(force_sd, stats, toks, n_heads=4).numpy()
        np.testing.assert_allclose(p.forces, want_f, atol=1e-5, rtol=1e-5)
        want_e = reference_energy(energy_sd, stats, toks, max_atoms=70)
        assert p.energy == pytest.approx(want_e, abs=1e-5 * max(1.0, abs(want_e)))
    assert "unseen_cell" in preds[0].flags  # imported: no training cells recorded


def test_norm_stats_round_trip(tmp_path):
    paths, *_, stats = _authors_files(tmp_path)
    run = import_released(
        tmp_path / "run", paths["norm_stats.pt"], force=paths["force.pth"], n_heads=4
    )
    ff = load_run(run)
    m = ff.force.model
    np.testing.assert_array_equal(m.x_mean.numpy(), stats["x_mean"][:-1].numpy())
    np.testing.assert_array_equal(m.x_std.numpy(), stats["x_std"][:-1].numpy())
    np.testing.assert_array_equal(m.y_mean.numpy(), stats["y_mean_force"].numpy())
    np.testing.assert_array_equal(m.y_std.numpy(), stats["y_std_force"].numpy())
    saved = ff.force.meta["normalisation"]
    np.testing.assert_allclose(saved["x_mean"], stats["x_mean"][:-1].numpy(), rtol=1e-7)


def _expect(match, **kw):
    with pytest.raises(ImportModelError, match=match):
        import_released(**kw)


def test_bad_files(tmp_path):
    paths, force_sd, _, stats = _authors_files(tmp_path)
    ns, fp = paths["norm_stats.pt"], paths["force.pth"]
    out = tmp_path / "run"
    _expect("no such file", out=out, norm_stats=ns, force=tmp_path / "nope.pth")
    lfs = tmp_path / "lfs.pth"
    lfs.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:28\nsize 292253736\n")
    _expect("Git LFS pointer", out=out, norm_stats=ns, force=lfs)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a torch file")
    _expect("junk.pth: not readable", out=out, norm_stats=ns, force=junk)
    broken = dict(force_sd)
    del broken["layers.1.norm2.bias"]
    torch.save(broken, tmp_path / "broken.pth")
    _expect(
        r"broken.pth: missing key 'layers.1.norm2.bias'",
        out=out,
        norm_stats=ns,
        force=tmp_path / "broken.pth",
        n_heads=4,
    )
    wrong = dict(force_sd, **{"norm.weight": torch.ones(7)})
    torch.save(wrong, tmp_path / "wrong.pth")
    _expect(
        r"wrong.pth: key 'norm.weight' has shape \(7,\)",
        out=out,
        norm_stats=ns,
        force=tmp_path / "wrong.pth",
        n_heads=4,
    )
    _expect("not divisible by n_heads 3", out=out, norm_stats=ns, force=fp, n_heads=3)
    torch.save({k: v for k, v in stats.items() if k != "y_std_force"}, tmp_path / "s1.pt")
    _expect(
        "s1.pt: missing key y_mean_force/y_std_force",
        out=out,
        norm_stats=tmp_path / "s1.pt",
        force=fp,
        n_heads=4,
    )
    torch.save(dict(stats, x_std=torch.ones(5)), tmp_path / "s2.pt")
    _expect(
        r"s2.pt: key 'x_std' has 5 values",
        out=out,
        norm_stats=tmp_path / "s2.pt",
        force=fp,
        n_heads=4,
    )
    torch.save({k: v for k, v in stats.items() if "energy" not in k}, tmp_path / "s3.pt")
    _expect(
        "s3.pt: missing key y_mean_energy",
        out=out,
        norm_stats=tmp_path / "s3.pt",
        energy=paths["energy.pth"],
        max_atoms=70,
    )
    assert not out.exists()  # nothing half-written


class Payload:  # a pickled class instance: weights_only must refuse it
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_weights_only_holds_even_when_mace_disabled_it(tmp_path, monkeypatch):
    path = tmp_path / "evil.pth"
    torch.save({"lin1.weight": Payload()}, path)
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")  # what `import mace` does
    with pytest.raises(ImportModelError, match="evil.pth: not readable"):
        safe_load(path)
    import os

    assert os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] == "1"  # restored afterwards


def test_train_released_and_paper_on_the_same_data(tmp_path):
    import json

    from adapt.train import train_adapt
    from benchmarks.testing import smooth_label_dataset

    ds = smooth_label_dataset(tmp_path / "ds", n_traj=3, n_frames=2, k=1)
    runs = {}
    for variant in ("released", "paper"):
        run = tmp_path / variant
        for kind in ("force", "energy"):
            train_adapt(
                kind,
                ds,
                run / kind,
                preset="tiny",
                epochs=20,
                seed=0,
                variant=variant,
                progress=False,
            )
        runs[variant] = load_run(run)
    rel = runs["released"]
    assert rel.force.arch == "released" and runs["paper"].force.arch == "paper"
    assert type(rel.force.model).__name__ == "ReleasedForceModel"
    assert type(rel.energy.model).__name__ == "ReleasedEnergyModel"
    assert "released" in rel.info.name
    rows = [
        json.loads(x) for x in (tmp_path / "released/force/metrics.jsonl").read_text().splitlines()
    ]
    losses = [r["train_loss"] for r in rows]  # their loss: sum of m_i |dF_i|
    assert losses[-1] < 0.85 * losses[0] and losses[-1] < losses[len(losses) // 2]  # it learns
    frames = [ds.read(r)[0] for r in ds.records()]
    for p in rel.predict(frames):
        assert np.isfinite(p.forces).all() and np.isfinite(p.energy)
    # a rerun resumes (returns at once); the other variant in the same dir is refused
    again = dict(preset="tiny", epochs=20, progress=False)
    train_adapt("force", ds, tmp_path / "released/force", variant="released", **again)
    with pytest.raises(ValueError, match="different run"):
        train_adapt("force", ds, tmp_path / "released/force", **again)


def test_checkpoints_without_arch_load_as_paper(tmp_path):
    import json

    from adapt.checkpoint import META, load_checkpoint, save_checkpoint
    from adapt.testing import tiny_checkpoint

    ck = tiny_checkpoint("force")
    meta = {k: v for k, v in ck.meta.items() if k != "arch"}
    save_checkpoint(tmp_path / "force", ck.model, meta)
    assert "arch" not in json.loads((tmp_path / "force" / META).read_text())
    back = load_checkpoint(tmp_path / "force")
    assert back.arch == "paper" and type(back.model).__name__ == "ADAPTForceModel"


def test_cli_bad_file_is_one_line_and_exit_2(tmp_path, capsys):
    from benchmarks.cli import main

    paths, *_ = _authors_files(tmp_path)
    argv = [
        "import-model",
        "adapt",
        "--force",
        str(paths["force.pth"]),
        "--out",
        str(tmp_path / "r"),
    ]
    assert main([*argv, "--norm-stats", str(paths["force.pth"]), "--heads", "4"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "force.pth: missing key" in err and "x_mean" in err


def test_cli_trains_the_released_energy_model(tmp_path):
    from benchmarks.cli import main
    from benchmarks.testing import smooth_label_dataset

    ds = smooth_label_dataset(tmp_path / "ds", n_traj=3, n_frames=2, k=1)
    out = tmp_path / "run"
    argv = ["train", "adapt-energy", "--data", str(ds.root), "--out", str(out), "--epochs", "2"]
    assert main([*argv, "--arch", "released"]) == 0
    ff = load_run(out)
    assert ff.energy.arch == "released" and ff.energy.meta["model_config"]["widths"] == [64, 64, 16]
    assert np.isfinite(ff.predict([ds.read(r)[0] for r in ds.records()])[0].energy)


def test_weighted_norm_loss_is_their_weighted_mse():
    """utils/evals.weightedMSE (5bdf76e): sum over atoms of m_i |pred'_i - y'_i| (not squared)."""
    from adapt.train import batch_loss

    torch.manual_seed(0)
    model = ReleasedForceModel(ReleasedForceConfig(d_model=8, d_ff=8, n_layers=1, n_heads=2))
    model.set_stats(torch.zeros(12), torch.ones(12), torch.zeros(3), torch.tensor([0.5, 1.0, 2.0]))
    model.eval()
    tokens = torch.randn(2, 5, 12)
    valid = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    forces = torch.randn(2, 5, 3) * valid[..., None]
    weights = torch.rand(2, 5) * valid
    batch = (tokens, valid, forces, weights, torch.zeros(2, dtype=torch.float64))
    loss, _, _ = batch_loss(model, "force", batch, False, loss_name="weighted_norm")
    with torch.no_grad():
        scale = 0.3 * (torch.tensor([0.5, 1.0, 2.0]) + 1e-6)
        pred_n = (model(tokens, valid) - model.y_mean) / scale
        y_n = (forces - model.y_mean) / scale
        want = ((pred_n - y_n).norm(dim=-1) * weights)[valid].sum()
    assert float(loss.detach()) == pytest.approx(float(want), rel=1e-5)


def test_cli_refuses_paper_only_options_for_released(tmp_path):
    from benchmarks.cli import main

    argv = ["train", "adapt-force", "--data", str(tmp_path), "--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit, match="--attention-radius: options of the paper variant"):
        main([*argv, "--arch", "released", "--attention-radius", "4"])
