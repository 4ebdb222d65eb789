"""The speed suite (task "speed"): a tiny run end to end, table and CSV structure, the GEMM peak
and % of peak columns filled, the ratio table with the paper's reference row, config errors,
and the GPU-precision / compiled code paths run on CPU. No assertion depends on how fast
anything is."""

import math
import shutil

import pandas as pd
import pytest
import torch

from benchmarks.results import SPEED_COLUMNS
from benchmarks.runner import run_suite
from benchmarks.suite import SuiteError, load_suite, parse_suite
from reports.render import write_report
from reports.speed import PAPER_EPOCH_RATIO, PAPER_TOTAL_RATIO, profile_table, ratios, summary

TINY = {
    "name": "speed-tiny",
    "tasks": ["speed"],
    "speed": {
        "models": ["ADAPT small", "ADAPT tiny", "ADAPT+ tiny", "ADAPT small bf16"],
        "n_atoms": 8,
        "batches": [1, 2],
        "train_batch": 2,
        "repeats": 2,
        "warmup": 0,
        "max_call_s": 1.0,
        "scaling_models": ["ADAPT+ tiny"],
        "scaling_atoms": [8, 64],
        "scaling_repeats": 1,
        "profile_models": ["ADAPT small"],
        "gemm_burst_s": 0.02,
        "threads": 1,
    },
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("speed")
    threads = torch.get_num_threads()
    try:
        summary_ = run_suite(parse_suite(TINY, "tiny.toml"), out)
    finally:
        torch.set_num_threads(threads)
    write_report(out)
    return out, summary_


def test_speed_csv_has_every_measurement(tiny_run):
    out, run = tiny_run
    assert run.ok, run.failed
    speed = pd.read_csv(out / "speed.csv")
    assert list(speed.columns[: len(SPEED_COLUMNS)]) == SPEED_COLUMNS
    tasks = speed.groupby("model")["task"].apply(set).to_dict()
    assert tasks["GEMM peak"] == {"gemm_before", "gemm_after"}
    assert tasks["ADAPT small"] == {"infer", "train", "profile:infer", "profile:train"}
    assert tasks["ADAPT+ tiny"] == {"infer", "train", "scaling"}
    assert tasks["ADAPT small bf16"] == {"skipped"}  # a CUDA path: said why, not timed
    assert "CUDA" in speed[speed["model"] == "ADAPT small bf16"]["note"].iloc[0]
    gemm = speed[speed["model"] == "GEMM peak"]
    assert (gemm["achieved_gflops"] > 0).all() and (gemm["threads"] == 1).all()
    adapt = speed[(speed["model"] == "ADAPT small") & (speed["task"] == "infer")]
    assert list(adapt["batch"]) == [1, 2]
    # ADAPT's counted FLOPs are its closed form
    assert (adapt["flops_per_structure"] == adapt["analytic_flops_per_structure"]).all()
    scaling = speed[speed["task"] == "scaling"]
    assert list(scaling["n_atoms"]) == [8, 64] and (scaling["per_atom_s"] > 0).all()
    train = speed[speed["task"] == "train"]
    assert (train["epoch_min"] - 252_000 / train["frames_per_s"] / 60).abs().max() < 1e-6


def test_summary_fills_peak_and_ratio_columns(tiny_run):
    out, _ = tiny_run
    speed = pd.read_csv(out / "speed.csv", keep_default_na=False, na_values=[""])
    table = summary(speed)
    assert list(table["Model"]) == ["ADAPT small", "ADAPT tiny", "ADAPT+ tiny"]
    for col in ("Infer % of peak", "Train % of peak", "Infer s/structure (best)",
                "Epoch min (252k frames)", "GFLOP/structure (fwd)"):  # fmt: skip
        assert table[col].notna().all() and (table[col] > 0).all(), col
    rat = ratios(table)
    assert rat["Model"].iloc[0].startswith("Paper")
    assert math.isclose(rat["Epoch time x ADAPT small"].iloc[0], 8.5 * 16 / 2.24)
    assert 227 < PAPER_TOTAL_RATIO < 229 and 60 < PAPER_EPOCH_RATIO < 61
    small = rat[rat["Model"] == "ADAPT small"].iloc[0]
    assert small["Inference x ADAPT small"] == 1.0 and small["Epoch time x ADAPT small"] == 1.0


def test_profile_rows_explain_the_time(tiny_run):
    out, _ = tiny_run
    speed = pd.read_csv(out / "speed.csv", keep_default_na=False, na_values=[""])
    prof = speed[speed["task"].str.startswith("profile")]
    shares = prof[[c for c in speed.columns if c.startswith("share_")]]
    assert ((shares.sum(axis=1) - 1).abs() < 1e-9).all() and (prof["share_gemm"] > 0).all()
    # GEMM FLOPs are ADAPT's FLOPs without the attention products
    inf = prof[prof["task"] == "profile:infer"].iloc[0]
    attention = 8 * 4 * 8 * 8 * 256  # n_layers 4 T^2 d at T = 8 atoms
    assert inf["flops_per_structure"] - inf["gemm_flops_per_structure"] == attention
    table = profile_table(speed)
    assert list(table["Phase"]) == ["training step", "inference"]
    assert (table["Ceiling % of peak"] > 0).all() and table["Timed % of peak"].notna().all()
    # the ceiling assumes GEMMs at the peak: above the profiled % exactly when they ran below it
    above = table["Ceiling % of peak"] >= table["Profiled % of peak"]
    assert (above == (table["GEMMs' own % of peak"] <= 100)).all()


def test_report_has_the_speed_tables(tiny_run):
    out, _ = tiny_run
    md = (out / "report.md").read_text()
    for text in ("## Speed", "GEMM peak of this run", "Throughput and % of the GEMM peak",
                 "Ratio to ADAPT small", "Paper: MACE (16 A100)", "Cost per atom",
                 "Where the time goes",
                 "ADAPT small bf16: bf16 rows are for CUDA devices"):  # fmt: skip
        assert text in md, text
    assert "## Accuracy" not in md  # a speed-only run has no accuracy section


def test_builtin_speed_suite_parses():
    suite = load_suite("speed")
    assert suite.tasks == ("speed",) and not suite.models and not suite.datasets
    assert {"ADAPT small", "ADAPT large", "ADAPT+ small", "MACE paper", "MatterSim 1M",
            "MatterSim 5M", "CHGNet", "SevenNet"} <= set(suite.speed.models)  # fmt: skip
    assert suite.speed.n_atoms == 216 and suite.speed.scaling_atoms == (64, 216, 1000)


@pytest.mark.parametrize(
    "speed, key",
    [
        ({"models": ["ADAPT huge"]}, "speed.models"),
        ({"models": ["ADAPT tiny"], "scaling_models": ["MACE paper"]}, "speed.scaling_models"),
        ({"n_atoms": 100}, "speed.n_atoms"),
        ({"repeat": 3}, "speed.repeat"),
    ],
)
def test_bad_speed_tables_name_the_key(speed, key):
    with pytest.raises(SuiteError, match=key.replace(".", r"\.")):
        parse_suite({"tasks": ["speed"], "speed": speed}, "s.toml")


def test_other_suites_still_need_models():
    with pytest.raises(SuiteError, match="datasets"):
        parse_suite({"tasks": ["metrics"]}, "s.toml")


def test_bf16_path_runs_on_cpu_and_stays_close_to_fp32():
    from benchmarks.speed_models import adapt_force
    from benchmarks.tasks.speed import defect_frames

    frames = defect_frames(8, 2, seed=0)
    fp32, bf16 = adapt_force("tiny", "cpu"), adapt_force("tiny", "cpu", amp="bf16", cpu_amp=True)
    batch = fp32.prepare(frames)
    ref, low = fp32.infer(batch).float(), bf16.infer(batch).float()
    assert low.shape == ref.shape
    assert (low - ref).abs().max() < 0.05 * ref.abs().max() + 1e-3
    bf16.train(batch)  # forward + backward + Adam under autocast


@pytest.mark.skipif(
    shutil.which("cc") is None, reason="torch.compile (inductor) needs a C compiler"
)
def test_compiled_inference_equals_eager():
    from benchmarks.speed_models import adapt_compiled, adapt_force
    from benchmarks.tasks.speed import defect_frames

    batch = adapt_force("tiny", "cpu").prepare(defect_frames(8, 2, seed=0))
    eager, compiled = adapt_force("tiny", "cpu"), adapt_compiled("tiny", "cpu")
    assert torch.allclose(compiled.infer(batch), eager.infer(batch), atol=1e-5)
