"""The speed report, from speed.csv (benchmarks/tasks/speed.py): throughput and % of the GEMM
peak per model, the ratio table against ADAPT small with the paper's claim as the reference row,
and cost per atom against system size.

% of peak = a model's achieved FLOP/s (counted matrix-product FLOPs / measured time) over the
run's fp32 GEMM peak, the better of the two peak measurements taken before and after the models.
"""

from __future__ import annotations

import math

import pandas as pd

from reports.blocks import Block, Bullets, Heading, Para
from reports.format import Table, integer, sig

REFERENCE = "ADAPT small"
# The paper (Sec. 4): ADAPT small 2.24 min/epoch on 1 A100, 80 epochs; MACE 8.5 min/epoch on 16
# A100s, 300 epochs: per epoch 8.5 x 16 / 2.24 = 60.7x the device time, whole training > 227x.
PAPER_EPOCH_RATIO = 8.5 * 16 / 2.24
PAPER_TOTAL_RATIO = 8.5 * 16 * 300 / (2.24 * 80)


def precision_of(model: str) -> str:
    """The GEMM precision a speed row is compared with: "ADAPT small bf16" -> "bf16"."""
    last = str(model).rsplit(" ", 1)[-1]
    return last if last in ("bf16", "tf32") else "fp32"


def _gemm(speed: pd.DataFrame, precision: str = "fp32") -> pd.DataFrame:
    task = speed["task"].astype(str)
    if precision == "fp32":
        return speed[task.str.startswith("gemm") & ~task.str.contains(":")]
    return speed[task.str.startswith("gemm") & task.str.endswith(f":{precision}")]


def peak_gflops(speed: pd.DataFrame, precision: str = "fp32") -> float:
    """The run's GEMM peak (GFLOP/s) at ``precision``: the best of its measurements (NaN if
    none; tf32/bf16 peaks are measured on CUDA only)."""
    g = _gemm(speed, precision)
    vals = pd.to_numeric(g["achieved_gflops"], errors="coerce").dropna()
    return float(vals.max()) if len(vals) else math.nan


def _models(speed: pd.DataFrame) -> list[str]:
    m = speed[speed["task"].isin(["infer", "train"])]
    return list(dict.fromkeys(m["model"]))


def summary(speed: pd.DataFrame) -> pd.DataFrame:
    """One row per model: batch-1 and best-batch inference, training, FLOPs and % of peak."""
    rows = []
    for name in _models(speed):
        peak = peak_gflops(speed, precision_of(name))
        d = speed[speed["model"] == name]
        inf = d[d["task"] == "infer"].sort_values("batch")
        tr = d[d["task"] == "train"]
        b1 = inf[inf["batch"] == 1]
        best = inf.loc[inf["per_structure_s"].idxmin()] if len(inf) else None
        t = tr.iloc[0] if len(tr) else None
        rows.append(
            {
                "Model": name,
                "Params": d["n_params"].dropna().iloc[0]
                if d["n_params"].notna().any()
                else math.nan,
                "Infer s/structure (batch 1)": b1["per_structure_s"].iloc[0]
                if len(b1)
                else math.nan,
                "Best batch": best["batch"] if best is not None else math.nan,
                "Infer s/structure (best)": best["per_structure_s"]
                if best is not None
                else math.nan,
                "Train batch": t["batch"] if t is not None else math.nan,
                "Train frames/s": t["frames_per_s"] if t is not None else math.nan,
                "Epoch min (252k frames)": t["epoch_min"] if t is not None else math.nan,
                "GFLOP/structure (fwd)": best["flops_per_structure"] / 1e9
                if best is not None
                else math.nan,
                "Infer GFLOP/s": best["achieved_gflops"] if best is not None else math.nan,
                "Infer % of peak": 100 * best["achieved_gflops"] / peak
                if best is not None
                else math.nan,
                "Train GFLOP/s": t["achieved_gflops"] if t is not None else math.nan,
                "Train % of peak": 100 * t["achieved_gflops"] / peak if t is not None else math.nan,
            }
        )
    return pd.DataFrame(rows)


def ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Each model's inference time and epoch time over ADAPT small's; the paper's claim first."""
    rows = [
        {
            "Model": "Paper: MACE (16 A100) / ADAPT small (1 A100)",
            "Inference x ADAPT small": math.nan,
            "Epoch time x ADAPT small": PAPER_EPOCH_RATIO,
            "Note": f"8.5 min x 16 GPUs / 2.24 min per epoch; whole training (300 vs 80 epochs) "
            f"{PAPER_TOTAL_RATIO:.0f}x",
        }
    ]
    ref = table[table["Model"] == REFERENCE]
    if ref.empty:
        return pd.DataFrame(rows)
    r = ref.iloc[0]
    for _, m in table.iterrows():
        rows.append(
            {
                "Model": m["Model"],
                "Inference x ADAPT small": m["Infer s/structure (best)"]
                / r["Infer s/structure (best)"],
                "Epoch time x ADAPT small": m["Epoch min (252k frames)"]
                / r["Epoch min (252k frames)"],
                "Note": "this run, same machine",
            }
        )
    return pd.DataFrame(rows)


SCALING_REFERENCE = "MACE paper"


def scaling(speed: pd.DataFrame) -> pd.DataFrame:
    """Per-atom inference cost (ms/atom, batch 1) by system size, one row per model and size,
    with the ratio to MACE paper's cost at the same size when MACE was timed there."""
    s = speed[speed["task"] == "scaling"]
    ref = s[s["model"] == SCALING_REFERENCE].set_index("n_atoms")["per_atom_s"]
    rows = [
        {
            "Model": r["model"],
            "Atoms": r["n_atoms"],
            "s/structure": r["per_structure_s"],
            "ms/atom": 1e3 * r["per_atom_s"],
            f"x {SCALING_REFERENCE}": r["per_atom_s"] / ref[r["n_atoms"]]
            if r["n_atoms"] in ref.index
            else math.nan,
        }
        for _, r in s.iterrows()
    ]
    return pd.DataFrame(rows)


def _main_atoms(speed: pd.DataFrame) -> float:
    inf = speed[speed["task"] == "infer"]["n_atoms"].dropna()
    return float(inf.iloc[0]) if len(inf) else math.nan


PHASES = {"profile:infer": "inference", "profile:train": "training step"}


def profile_table(speed: pd.DataFrame) -> pd.DataFrame:
    """Time shares by operator kind and the GEMM-bound ceiling of % of peak (op_profile.py).

    Everything but "Timed % of peak" comes from the one profiled call (its wall time
    ``profile_s``), so shares, the GEMMs' own rate and the ceiling are consistent with each other
    even when the machine's load changes between calls."""
    from benchmarks.op_profile import gemm_bound_ceiling

    prof = speed[speed["task"].isin(list(PHASES))]
    rows = []
    for _, r in prof.iterrows():
        peak = peak_gflops(speed, precision_of(r["model"])) * 1e9
        flops = r["flops_per_structure"] * r["batch"]
        gemm = r["gemm_flops_per_structure"] * r["batch"]
        t = r["profile_s"]
        own = gemm / (r["share_gemm"] * t) / peak if r["share_gemm"] else math.nan
        rows.append(
            {
                "Model": r["model"],
                "Phase": PHASES[r["task"]],
                "Batch": r["batch"],
                "Profiled call s": t,
                "GEMM % of time": 100 * r["share_gemm"],
                "Attention %": 100 * r["share_attention"],
                "LayerNorm %": 100 * r["share_layernorm"],
                "Element-wise %": 100 * r["share_elementwise"],
                "Optimiser %": 100 * r["share_optimizer"],
                "GEMM share of FLOPs %": 100 * gemm / flops if flops else math.nan,
                "Timed % of peak": 100 * flops / r["median_s"] / peak,
                "Profiled % of peak": 100 * flops / t / peak,
                "GEMMs' own % of peak": 100 * own,
                "Ceiling % of peak": 100
                * gemm_bound_ceiling(flops, gemm, t, r["share_gemm"], peak),
            }
        )
    return pd.DataFrame(rows)


def speed_blocks(speed: pd.DataFrame) -> list[Block]:
    if speed.empty:
        return []
    peak = peak_gflops(speed)
    gemm = _gemm(speed)
    first = speed.iloc[0]
    out: list[Block] = [
        Heading(2, "Speed"),
        Para(
            f"Device {first['device']}, {integer(first['threads'])} torch threads. fp32 GEMM peak "
            f"of this run: {peak:.1f} GFLOP/s (best of "
            + ", ".join(
                f"{r['task'].removeprefix('gemm_')} {r['achieved_gflops']:.1f}"
                for _, r in gemm.iterrows()
            )
            + f"). Random weights at paper sizes on a {integer(_main_atoms(speed))}-atom Si "
            "defect supercell; times are "
            "medians of timed calls on prepared batches (tokens/graphs built beforehand). "
            "FLOPs are the matrix products counted by FlopCounterMode (CPU SDPA added); for ADAPT "
            "the closed form of adapt/flops.py gives the same count. tf32/bf16 rows (CUDA only) are "
            "compared with the GEMM peak of their own precision. Comparable within this run only."
        ),
    ]
    table = summary(speed)
    fmt = {c: sig(3) for c in table.columns if c != "Model"}
    fmt |= {"Params": integer, "Best batch": integer, "Train batch": integer}
    out.append(Table("speed", "Throughput and % of the GEMM peak", table, fmt))
    ref = table[table["Model"] == REFERENCE]
    if len(ref):
        r = ref.iloc[0]
        out.append(
            Para(
                f"{REFERENCE} reaches {r['Infer % of peak']:.1f} % of the GEMM peak in inference "
                f"(batch {integer(r['Best batch'])}) and {r['Train % of peak']:.1f} % in training "
                "(targets: 80 % and 70 %); the profile table below shows where the rest goes."
            )
        )
    rat = ratios(table)
    out.append(
        Table(
            "speed_ratios",
            f"Ratio to {REFERENCE} (>1: slower than ADAPT small)",
            rat,
            {"Inference x ADAPT small": sig(3), "Epoch time x ADAPT small": sig(3)},
        )
    )
    sc = scaling(speed)
    if not sc.empty:
        out.append(
            Table(
                "speed_scaling",
                "Cost per atom against system size (batch 1)",
                sc,
                {
                    "Atoms": integer,
                    "s/structure": sig(3),
                    "ms/atom": sig(3),
                    f"x {SCALING_REFERENCE}": sig(3),
                },
            )  # fmt: skip
        )
    prof = profile_table(speed)
    if not prof.empty:
        out.append(
            Table(
                "speed_profile",
                "Where the time goes (torch.profiler) and the ceiling it implies",
                prof,
                {c: sig(3) for c in prof.columns if c not in ("Model", "Phase")}
                | {"Batch": integer},
                caption="Timed: the throughput table's median call; the other columns come from "
                "one profiled call (under load the two differ). GEMMs' own % of peak: the GEMM "
                "FLOPs over the time the profiler gives the GEMMs. Ceiling: the % of peak reached if every GEMM ran at the peak and "
                "attention, LayerNorm and element-wise ops took the time they take; they are "
                "memory-bound and do few counted FLOPs.",
            )
        )
    skipped = speed[speed["task"] == "skipped"]
    if len(skipped):
        out += [
            Para("Not timed here:"),
            Bullets([f"{r['model']}: {r['note']}" for _, r in skipped.iterrows()]),
        ]
    return out
