"""The report's PNG figures (matplotlib Figure objects rendered by Agg; no pyplot, no global
backend switch), drawn from result files only.

force_scatter   predicted vs reference force components, one panel per model, shared axes,
                y = x line, force MAE in the title (paper Fig. 5 style); hexbin (log counts)
                when a panel has more than HEXBIN_ABOVE points
energy_scatter  predicted vs reference energy per structure, one panel per model with an
                energy (paper Fig. 6 style); each panel has its own square limits, since a
                model trained on another level of theory is offset by hundreds of eV
angle_violin    distribution of the per-atom angle between predicted and reference force
                vectors (degrees, cosine clamped to [-1, 1]); atoms where either force is
                shorter than ANGLE_MIN_NORM have no angle and are left out (the zero model has none)
timing_scaling  seconds per structure and atoms·steps/s vs atoms (log-log), one line per model,
                from timing.csv rows with task "scaling"
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # a bare Figure renders with Agg; pyplot is never imported

from adapt.fileio import atomic_write
from benchmarks.metrics import ANGLE_MIN_NORM  # eV/Å: shorter vectors have no direction

HEXBIN_ABOVE = 5000  # force components per panel above which a hexbin replaces the scatter
COLORS = [f"C{i}" for i in range(10)]


@dataclass(frozen=True)
class FigureFile:
    key: str
    path: Path  # relative to the results directory
    title: str
    caption: str


def save(fig: Figure, path: Path) -> None:
    """Write a PNG atomically (a reader never sees half a file)."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"), suffix=".png")


def _grid(n: int, size: float = 3.4) -> tuple[Figure, list]:
    ncols = min(3, max(1, n))
    nrows = -(-n // ncols)
    fig = Figure(figsize=(size * ncols + 0.4, (size + 0.6) * nrows + 0.4), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes[:n]


def _parity(ax, x: np.ndarray, y: np.ndarray, lo: float, hi: float, color: str) -> None:
    """y against x with the y = x line in a square frame; points outside sit on its edge."""
    out = (x < lo) | (x > hi) | (y < lo) | (y > hi)
    xc, yc = np.clip(x, lo, hi), np.clip(y, lo, hi)
    if len(x) > HEXBIN_ABOVE:
        ax.hexbin(
            xc, yc, gridsize=70, bins="log", mincnt=1, extent=(lo, hi, lo, hi), cmap="viridis"
        )
    else:
        few = len(x) < 300
        ax.scatter(
            xc, yc, s=14 if few else 5, alpha=0.7 if few else 0.35, color=color, linewidths=0
        )
    ax.plot([lo, hi], [lo, hi], color="black", lw=0.8, ls="--")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    if out.any():
        ax.text(0.03, 0.97, f"{int(out.sum())} points beyond the frame, drawn on its edge", transform=ax.transAxes,
                va="top", fontsize=7, color="firebrick")  # fmt: skip


def force_scatter(preds: dict[str, dict], maes: dict[str, float], out: Path, title: str) -> bool:
    """Panels of predicted vs reference force components; False when there is nothing to draw."""
    names = [n for n, d in preds.items() if np.isfinite(d.forces_pred).any()]
    if not names:
        return False
    # symmetric frame: the 0.1-99.9 percentile range of the reference components, +10%;
    # rarer large components are drawn on the frame's edge and counted in the panel
    ref = np.concatenate([preds[n].forces_ref.ravel() for n in names])
    ref = ref[np.isfinite(ref)]
    half = 1.1 * max(np.abs(np.percentile(ref, [0.1, 99.9]))) if len(ref) else 1.0
    lo, hi = -max(half, 1e-3), max(half, 1e-3)
    fig, axes = _grid(len(names))
    for i, (ax, name) in enumerate(zip(axes, names, strict=True)):
        d = preds[name]
        x, y = d.forces_ref.ravel(), d.forces_pred.ravel()
        keep = np.isfinite(x) & np.isfinite(y)
        _parity(ax, x[keep], y[keep], lo, hi, COLORS[i % 10])
        ax.set_title(f"{name}\nforce MAE {_f(maes.get(name), 4)} eV/Å", fontsize=9)
        ax.set_xlabel("reference F component (eV/Å)", fontsize=8)
        ax.set_ylabel("predicted F component (eV/Å)", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=10)
    save(fig, out)
    return True


def energy_scatter(
    preds: dict[str, dict], maes: dict[str, float], marks: dict[str, str], out: Path, title: str
) -> bool:
    names = [n for n, d in preds.items() if np.isfinite(d.energy_pred).any()]
    if not names:
        return False
    fig, axes = _grid(len(names))
    for i, (ax, name) in enumerate(zip(axes, names, strict=True)):
        d = preds[name]
        x, y = d.energy_ref, d.energy_pred
        keep = np.isfinite(x) & np.isfinite(y)
        x, y = x[keep], y[keep]
        lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
        pad = 0.05 * max(hi - lo, 1e-3)
        _parity(ax, x, y, lo - pad, hi + pad, COLORS[i % 10])
        note = "\nraw energies, level-of-theory mismatch †" if marks.get(name) else ""
        ax.set_title(f"{name}\nenergy MAE {_f(maes.get(name), 4)} eV{note}", fontsize=9)
        ax.set_xlabel("reference energy (eV)", fontsize=8)
        ax.set_ylabel("predicted energy (eV)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.ticklabel_format(useOffset=False)
    fig.suptitle(title, fontsize=10)
    save(fig, out)
    return True


def force_angles(d: dict) -> tuple[np.ndarray, np.ndarray]:
    """Per-atom angles (deg) between predicted and reference forces, and the defect mask of them."""
    ref, pred = d.forces_ref, d.forces_pred
    nr, npred = np.linalg.norm(ref, axis=1), np.linalg.norm(pred, axis=1)
    ok = (nr > ANGLE_MIN_NORM) & (npred > ANGLE_MIN_NORM) & np.isfinite(nr) & np.isfinite(npred)
    cos = np.einsum("ij,ij->i", ref[ok], pred[ok]) / (nr[ok] * npred[ok])
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))), d.defect_mask[ok]


def angle_violin(preds: dict[str, dict], out: Path, title: str) -> bool:
    names = list(preds)
    if not names:
        return False
    angles = {n: force_angles(preds[n]) for n in names}
    if not any(len(a) for a, _ in angles.values()):
        return False
    # y range: up to the largest 99th percentile (rounded up to 15°), at most 180°
    p99 = max(np.percentile(a, 99) for a, _ in angles.values() if len(a))
    top = float(min(180.0, max(15.0, 15.0 * np.ceil(p99 / 15.0))))
    fig = Figure(figsize=(max(6.0, 1.1 * len(names) + 2), 6.4), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    for ax, region in zip(axes, ("all atoms", "defect-region atoms"), strict=True):
        for i, name in enumerate(names):
            a, mask = angles[name]
            a = a[mask] if region.startswith("defect") else a
            if len(a) < 2:
                ax.text(
                    i + 1, top / 2, "no angle", ha="center", va="center", fontsize=8, rotation=90
                )
                continue
            parts = ax.violinplot(
                [np.minimum(a, top)], positions=[i + 1], widths=0.8, showmedians=True,
                showextrema=False,
            )  # fmt: skip
            for body in parts["bodies"]:
                body.set_facecolor(COLORS[i % 10])
                body.set_alpha(0.55)
            parts["cmedians"].set_color("black")
            ax.plot(i + 1, a.mean(), marker="o", color="black", ms=3)
        ax.set_ylim(0, top)
        ax.set_xlim(0.4, len(names) + 0.6)
        ax.set_ylabel("angle error (deg)", fontsize=8)
        ax.set_title(region, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[-1].set_xticks(range(1, len(names) + 1))
    axes[-1].set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    note = "" if top == 180 else f"; angles above {top:g}° drawn at {top:g}°"
    fig.suptitle(f"{title}\n(line: median, dot: mean{note})", fontsize=10)
    save(fig, out)
    return True


def timing_scaling(timing: pd.DataFrame, order: list[str], out: Path) -> bool:
    t = timing[timing["task"] == "scaling"]
    t = t[pd.to_numeric(t["per_structure_s"], errors="coerce") > 0]
    if t.empty:
        return False
    names = [n for n in order if n in set(t["model"])] + sorted(set(t["model"]) - set(order))
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax_t, ax_r = fig.subplots(1, 2)
    for i, name in enumerate(names):
        r = t[t["model"] == name].sort_values("n_atoms")
        kw = dict(marker="o", ms=4, color=COLORS[i % 10], label=name)
        ax_t.plot(r["n_atoms"], r["per_structure_s"], **kw)
        rate = pd.to_numeric(r["atoms_steps_per_s"], errors="coerce")
        if rate.notna().any():
            ax_r.plot(r["n_atoms"], rate, **kw)
    for ax, ylabel in ((ax_t, "seconds per structure"), (ax_r, "atoms·steps / s")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("atoms in the cell")
        ax.set_ylabel(ylabel)
        ax.grid(which="both", alpha=0.3)
    ax_t.legend(fontsize=8)
    dev = ", ".join(str(v) for v in dict.fromkeys(t["device"]) if str(v))
    fig.suptitle(f"Cost vs system size ({dev}; comparable only within one run)", fontsize=10)
    save(fig, out)
    return True


def _f(value, decimals: int) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{decimals}f}"
