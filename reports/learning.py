"""Learning-curve table and figure, from learning.csv (benchmarks/tasks/learning.py).

Table: one row per model and training fraction (train trajectories, frames, training seconds,
force and energy MAE on the same test frames). Figure: force MAE against training frames and
against training seconds, both axes logarithmic, one line per model.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib import ticker
from matplotlib.figure import Figure

from reports.figures import COLORS, save
from reports.format import Table, integer, sig


def learning_tables(learning: pd.DataFrame, order: list[str]) -> list[Table]:
    if learning.empty:
        return []
    tables = []
    for ds in dict.fromkeys(learning["dataset"]):
        d = learning[learning["dataset"] == ds]
        names = [n for n in order if n in set(d["model"])] + sorted(set(d["model"]) - set(order))
        rows = []
        for name in names:
            for _, r in d[d["model"] == name].sort_values("fraction").iterrows():
                rows.append(
                    {
                        "Model": name,
                        "Train fraction": r["fraction"],
                        "Train trajectories": r["n_train_trajectories"],
                        "Train frames": r["n_train_frames"],
                        "Training (s)": r["train_s"],
                        "Force MAE (eV/Å)": r["force_mae"],
                        "Energy MAE (eV)": r["energy_mae"],
                        "Energy MAE (meV/atom)": r["energy_mae_per_atom"],
                    }
                )
        sel = ", ".join(
            dict.fromkeys(f"{a}/{b}" for a, b in zip(d["split"], d["selection"], strict=True))
        )
        tables.append(
            Table(
                key=f"learning__{ds}",
                title=f"Learning curves on {ds}",
                frame=pd.DataFrame(rows),
                formats={
                    "Train fraction": sig(3),
                    "Train trajectories": integer,
                    "Train frames": integer,
                    "Training (s)": sig(3),
                    "Force MAE (eV/Å)": sig(4),
                    "Energy MAE (eV)": sig(4),
                    "Energy MAE (meV/atom)": sig(4),
                },
                caption="Each trained model retrained from scratch on nested subsets of the train "
                "split (whole trajectories, seeded) and scored on the same held-out frames "
                f"({sel}). Training seconds: sum of the trainers' per-epoch times; comparable "
                "within one run.",
            )
        )
    return tables


def learning_figure(learning: pd.DataFrame, order: list[str], out: Path) -> bool:
    """Log-log force MAE vs training frames and vs training seconds; False when nothing to draw."""
    d = learning[pd.to_numeric(learning["force_mae"], errors="coerce") > 0]
    if d.empty:
        return False
    names = [n for n in order if n in set(d["model"])] + sorted(set(d["model"]) - set(order))
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax_n, ax_t = fig.subplots(1, 2)
    for i, name in enumerate(names):
        r = d[d["model"] == name].sort_values("fraction")
        kw = dict(marker="o", ms=4, color=COLORS[i % 10], label=name)
        ax_n.plot(r["n_train_frames"], r["force_mae"], **kw)
        t = r[pd.to_numeric(r["train_s"], errors="coerce") > 0]
        ax_t.plot(t["train_s"], t["force_mae"], **kw)
    for ax, xlabel in ((ax_n, "training frames"), (ax_t, "training time (s)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        # 1-2-5 ticks in plain numbers: a curve often spans less than a decade
        ax.xaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_locator(ticker.MaxNLocator(nbins=6))
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(ticker.FuncFormatter(_plain))
            axis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel(xlabel)
        ax.set_ylabel("force MAE (eV/Å)")
        ax.grid(which="both", alpha=0.3)
    ax_n.legend(fontsize=8)
    fig.suptitle("Learning curves: force MAE on the same test frames", fontsize=10)
    save(fig, out)
    return True


def _plain(v: float, _pos=None) -> str:
    """Tick label: 3 significant digits, never an exponent (1000, not 1e+03)."""
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.3g}"
