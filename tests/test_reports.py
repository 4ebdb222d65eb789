"""The report generator on a results directory written here by hand (no model, no dataset).

The synthetic run: ADAPT tiny, MACE retrained, CHGNet (lot_mismatch, aligned energies), the zero
baseline without energy (no_energy), MatterSim skipped; optional ablation variants.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from baselines import registry
from benchmarks.predictions import PredictionSet
from benchmarks.results import ResultsDir, ResultsError, load_results
from reports import cli
from reports.figures import force_angles
from reports.format import EMPTY, fixed, markdown_table, sig
from reports.render import write_report

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DATASET = "si-defects"
KINDS = ("substitutional", "vacancy")
# model -> (family, force noise eV/Å, energy offset eV or None, flags, group)
MODELS = {
    "ADAPT tiny": ("adapt", 0.010, 0.05, "", "main"),
    "MACE retrained": ("mace", 0.020, 0.10, "", "main"),
    "CHGNet 0.3.0": ("chgnet", 0.040, 250.0, "lot_mismatch", "foundation"),
    "zero": ("zero", None, None, "no_energy", "main"),
}
ABLATIONS = {
    "ADAPT energy mlp": ("adapt", 0.010, 0.30, "", "energy_architectures"),
    "ADAPT energy decoder": ("adapt", 0.010, 0.60, "", "energy_architectures"),
    "ADAPT r=4": ("adapt", 0.030, 0.05, "", "attention_radius"),
    "ADAPT full attention": ("adapt", 0.012, 0.05, "", "attention_radius"),
}


def _predictions(rng, noise, offset, n_frames=12, n_atoms=16):
    ref = rng.normal(scale=0.5, size=(n_frames * n_atoms, 3))
    pred = np.zeros_like(ref) if noise is None else ref + rng.normal(scale=noise, size=ref.shape)
    e_ref = -4.6 * n_atoms + rng.normal(scale=0.5, size=n_frames)
    e_pred = (
        np.full(n_frames, np.nan)
        if offset is None
        else e_ref + offset + rng.normal(scale=0.02, size=n_frames)
    )
    mask = np.zeros(n_frames * n_atoms, bool)
    mask[::4] = True
    return {
        "traj_id": np.array([f"t{i // 3:03d}" for i in range(n_frames)]),
        "step": np.arange(n_frames) % 3,
        "n_atoms": np.full(n_frames, n_atoms),
        "energy_ref": e_ref,
        "energy_pred": e_pred,
        "forces_ref": ref,
        "forces_pred": pred,
        "symbols": np.array(["Si"] * (n_frames * n_atoms)),
        "defect_mask": mask,
        "defect_kind": np.array([KINDS[(i // 3) % 2] for i in range(n_frames)]),
        "flags": np.array([""] * n_frames),
    }


def expected_force_mae(model: str) -> float:
    """The value written for (model, early, all atoms): distinct per model."""
    noise = {**MODELS, **ABLATIONS}[model][1]
    return 0.4 if noise is None else round(noise * 0.8, 6)


def make_results(root: Path, ablations: bool = False) -> Path:
    rng = np.random.default_rng(0)
    out = ResultsDir(root)
    models = {**MODELS, **(ABLATIONS if ablations else {})}
    metrics = []
    for name, (family, noise, offset, flags, _) in models.items():
        for sel, scale in (("early", 1.0), ("all", 0.5)):
            base = expected_force_mae(name) * scale
            subsets = {"all": 1.0, "defect": 2.0, "bulk": 0.7} | {f"kind={k}": 1.1 for k in KINDS}
            for subset, f in subsets.items():
                vals = {
                    "force_mae": base * f,
                    "force_mae_vector": base * f * 1.9,
                    "force_rmse": base * f * 1.25,
                    "force_angle": np.nan if noise is None else 30 * f * scale,
                    "force_magnitude_error": base * f * 1.1,
                }
                if not subset.startswith(("defect", "bulk")):
                    e = np.nan if offset is None else abs(offset)
                    vals |= {"energy_mae": e, "energy_mae_per_atom": 1000 * e / 16}
                    if flags == "lot_mismatch":
                        vals |= {"energy_mae_aligned": 0.08, "energy_mae_aligned_per_atom": 5.0}
                units = {"force_angle": "deg", "energy_mae": "eV", "energy_mae_aligned": "eV"}
                for metric, value in vals.items():
                    unit = units.get(metric, "meV/atom" if "per_atom" in metric else "eV/Å")
                    metrics.append(
                        dict(
                            model=name,
                            family=family,
                            dataset=DATASET,
                            split="test",
                            selection=sel,
                            subset=subset,
                            metric=metric,
                            value=value,
                            unit=unit,
                            n=192,
                            flags=flags,
                        )  # fmt: skip
                    )
            ps = PredictionSet(**_predictions(rng, noise, offset))
            out.write_predictions(ps, name, DATASET, "test", sel)
    out.write_table("metrics.csv", metrics)
    rows = [
        dict(name=n, spec=f"{f}:x", group=g, display_name=n, family=f, n_params=1000 * (i + 1),
             device="cpu", dtype="float32", level_of_theory="PBE (MPtrj)" if fl == "lot_mismatch" else "tersoff",
             conservative=f != "adapt", predicts_energy=o is not None, predicts_forces=True,
             checkpoint="", checkpoint_sha256="ab" * 32, status="ok", reason="")
        for i, (n, (f, _, o, fl, g)) in enumerate(models.items())
    ]  # fmt: skip
    for row in rows:  # as the runner writes them; the attention radius comes from run.json
        fam = registry.family(row["family"])
        row |= {"origin": fam.origin_of(row["family"] != "chgnet", row["group"]), "role": fam.role}
        if row["group"] == "energy_architectures":
            row["energy_arch"] = row["name"].split()[-1]
    rows.append(
        dict(name="MatterSim 5M", spec="mattersim:5M", group="foundation", family="mattersim",
             status="skipped", reason="checkpoint not found: put MatterSim-v1.0.0-5M.pth in ~/.cache/mattersim")
    )  # fmt: skip
    out.write_table("models.csv", rows)
    relax = []
    for name, (family, *_rest) in models.items():
        for t, outcome in enumerate(["converged", "converged", "not_converged", "exploded"]):
            ok = outcome != "exploded"
            relax.append(
                dict(model=name, family=family, dataset=DATASET, traj_id=f"t{t:03d}",
                     defect_kind=KINDS[t % 2], outcome=outcome, steps=10 * (t + 1), wall_s=0.5 * (t + 1),
                     final_fmax=0.005, soap_similarity=0.9999 if ok else np.nan,
                     delta_q=0.1 * (t + 1) if ok else np.nan, rmsd=0.01 if ok else np.nan,
                     optimizer="FIRE", fmax_target=0.01, max_steps=300)
            )  # fmt: skip
    out.write_table("relax.csv", relax)
    timing = []
    for i, (name, (family, *_rest)) in enumerate(models.items()):
        for task, sizes in (("inference", (64, 216)), ("scaling", (8, 64, 216, 512))):
            for n in sizes:
                s = 1e-4 * (i + 1) * n ** (1 + 0.3 * (family == "adapt"))
                timing.append(
                    dict(model=name, family=family, task=task, n_atoms=n, batch=1, repeats=5,
                         median_s=s, per_structure_s=s, atoms_steps_per_s=n / s, peak_mem_mb=12.5,
                         device="cpu", hardware="Test CPU x2", run_id="abc123", comparable_within="one run")
                )  # fmt: skip
    timing.append(
        dict(model="ADAPT tiny", family="adapt", task="train:adapt-force", batch=np.nan, repeats=3,
             median_s=2.0, per_structure_s=0.01, frames_per_s=100.0, total_s=6.0, device="cpu",
             hardware="Test CPU x2", comparable_within="one training run")
    )  # fmt: skip
    out.write_table("timing.csv", timing)
    suite_models = [{"name": n, "group": g, "train": []} for n, (*_x, g) in models.items()]
    if ablations:
        suite_models[-4]["train"] = [{"kind": "adapt-energy", "overrides": [["arch", "mlp"]]}]
        suite_models[-3]["train"] = [{"kind": "adapt-energy", "overrides": [["arch", "decoder"]]}]
        suite_models[-2]["train"] = [
            {"kind": "adapt-force", "overrides": [["attention_radius", 4.0]]}
        ]
        suite_models[-1]["train"] = [{"kind": "adapt-force", "overrides": []}]
    run = {
        "status": "complete_with_failures",
        "models": [{"name": n, "status": "ok"} for n in models],  # the runner's status list
        "steps": {"failed": [{"step": "relax zero t003", "error": "RuntimeError: boom"}]},
        "suite": {"name": "synthetic", "seed": 7, "models": suite_models,
                  "datasets": [{"name": DATASET, "source": "default"}]},
        "provenance": {"run_id": "abc123", "started_utc": "2025-01-01T00:00:00Z",
                       "finished_utc": "2025-01-01T00:10:00Z", "git_sha": "deadbeef",
                       "hardware": "Test CPU x2", "device": "cpu", "seed": 7,
                       "packages": {"torch": "2.13.0", "mattersim": None}},
        "datasets": [{"name": DATASET, "level_of_theory": "tersoff", "content_sha256": "cd" * 32}],
    }  # fmt: skip
    (root / "run.json").write_text(json.dumps(run))
    return root


def table_rows(md: str, title: str) -> dict[str, list[str]]:
    """Rows (first cell -> cells) of the Markdown table following the caption ``**title.**``."""
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"**{title}.**"))
    rows = {}
    for line in lines[start + 4 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0]] = cells
    return rows


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = make_results(tmp_path_factory.mktemp("results"))
    md, page = write_report(root)
    return root, md, page


def test_main_table_rows_values_and_order(report):
    root, md_path, _ = report
    md = md_path.read_text()
    rows = table_rows(md, f"Accuracy on {DATASET} (paper Fig. 4 layout)")
    assert list(rows) == ["ADAPT tiny", "MACE retrained", "CHGNet 0.3.0 †", "zero"]
    adapt = rows["ADAPT tiny"]
    assert float(adapt[3]) == pytest.approx(expected_force_mae("ADAPT tiny"), abs=5e-5)
    assert float(adapt[4]) == pytest.approx(0.05, abs=5e-5)  # energy MAE (eV)
    assert adapt[2] == "1,000"  # parameter count
    assert rows["CHGNet 0.3.0 †"][6] == "mismatch †"
    assert float(rows["CHGNet 0.3.0 †"][5]) == pytest.approx(0.08)  # aligned energy MAE
    assert rows["zero"][4] == EMPTY and rows["zero"][7] == EMPTY  # no energy, no angle
    assert "level-of-theory mismatch" in md and "`no_energy`" in md


def test_report_sections_and_skipped_models(report):
    _, md_path, html_path = report
    md, page = md_path.read_text(), html_path.read_text()
    for title in ("Relaxations on", "Inference timing", "Training timing", "per defect kind",
                  "Frame selections compared", "Skipped or failed models", "Definitions", "Provenance"):  # fmt: skip
        assert title in md and title in page
    relax = table_rows(md, f"Relaxations on {DATASET}")
    assert relax["ADAPT tiny"][1:6] == [
        "4",
        "2",
        "1",
        "1",
        "0",
    ]  # n, converged, not, exploded, error
    assert "MatterSim-v1.0.0-5M.pth" in md and "MatterSim-v1.0.0-5M.pth" in page
    assert "comparable only within one run" in md.lower()
    training = table_rows(md, "Training timing")
    assert training["ADAPT tiny"][1:4] == ["train:adapt-force", "3", "2.00"]
    assert "100" in training["ADAPT tiny"]  # frames/s
    assert "Failed step `relax zero t003`: RuntimeError: boom" in md
    assert "`complete_with_failures`" in md
    assert "deadbeef" in md and "tersoff" in md
    # no ablation variants in this run: no Table 1 / Table 2
    assert "paper Table 1" not in md and "paper Table 2" not in md


def test_html_is_self_contained_with_tables_and_figures(report):
    root, _, html_path = report
    page = html_path.read_text()
    assert page.count("<table>") >= 8 and '<td class="num">0.0080</td>' in page
    assert "<script" not in page and "<link" not in page and "http" not in page
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert len(srcs) == 4  # force, energy, angle, timing
    for src in srcs:
        assert not src.startswith("/") and (root / src).is_file()


def test_figures_are_valid_pngs(report):
    root, md_path, _ = report
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md_path.read_text())
    names = {Path(link).name.split("__")[0] for link in links}
    assert names == {"force_scatter", "energy_scatter", "angle_error", "timing_scaling.png"}
    for link in links:
        data = (root / link).read_bytes()
        assert data[:8] == PNG_MAGIC and len(data) > 5000


def test_missing_optional_files_still_render(tmp_path):
    root = make_results(tmp_path / "r")
    (root / "relax.csv").unlink()
    (root / "timing.csv").write_text("")
    for f in (root / "predictions").glob("*.npz"):
        f.unlink()
    md, page = write_report(root)
    text = md.read_text()
    assert "`relax.csv` is absent" in text and "`timing.csv` is empty" in text
    assert "No relaxations in this run" in text and "No timings in this run" in text
    assert "![" not in text and "<img" not in page.read_text()
    assert "ADAPT tiny" in table_rows(text, f"Accuracy on {DATASET} (paper Fig. 4 layout)")


def test_ablation_tables(tmp_path):
    md = write_report(make_results(tmp_path / "r", ablations=True))[0].read_text()
    t1 = table_rows(md, "Energy architectures (paper Table 1 style)")
    assert [r[0] for r in t1.values()] == ["Transformer decoder", "MLP only"]
    t2 = table_rows(md, "Attention radius ablation (paper Table 2 style)")
    assert [r[0] for r in t2.values()] == ["4", "full"]
    main = table_rows(md, f"Accuracy on {DATASET} (paper Fig. 4 layout)")
    assert not any("energy" in m or "r=4" in m for m in main)  # variants stay out of Fig. 4


def main(argv: list[str]) -> int:
    """`adapt-bench report ...` through reports.cli alone (as benchmarks.cli dispatches it)."""
    parser = argparse.ArgumentParser(prog="adapt-bench")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_report_and_errors(tmp_path, capsys):
    root = make_results(tmp_path / "r")
    (root / "timing.csv").unlink()
    assert main(["report", str(root)]) == 0
    out = capsys.readouterr().out.split()
    assert out == [str(root / "report.md"), str(root / "report.html")]
    (root / "metrics.csv").unlink()
    assert main(["report", str(root)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "metrics.csv" in err
    assert main(["report", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
    with pytest.raises(ResultsError, match="run.json"):
        load_results(tmp_path)


def test_formatting_and_markdown_table():
    assert fixed(4)(0.012345) == "0.0123" and fixed(4)(np.nan) == EMPTY and fixed(2)(None) == EMPTY
    assert (
        sig(3)(0.000123456) == "0.000123"
        and sig(3)(1234.5) == "1,234"
        and sig(3)(1e-9) == "1.00e-09"
    )
    md = markdown_table(pd.DataFrame({"a": ["x|y"], "b": ["1.0"]}), right={"b"})
    assert md.splitlines()[1] == "| ---- | --: |" and "x\\|y" in md


def test_force_angles_of_known_vectors():
    d = SimpleNamespace(
        forces_ref=np.array([[1.0, 0, 0], [1, 0, 0], [0, 2, 0], [1, 1, 0]]),
        forces_pred=np.array([[0.0, 3, 0], [-1, 0, 0], [0, 0, 0], [2, 2, 0]]),
        defect_mask=np.array([True, False, False, True]),
    )
    angles, mask = force_angles(d)
    np.testing.assert_allclose(angles, [90.0, 180.0, 0.0], atol=1e-4)  # zero vector left out
    assert mask.tolist() == [True, False, True]
