"""Normalisation statistics of the ``released`` variant, computed as the authors' code does.

Force (``utils/normalizer.fit_stats_from_ragged`` at 57711d2), over every real atom of the
training split: per-feature mean and population std of the tokens, except that x, y, z share
one mean and one std (all three columns pooled); the three force components likewise share one
mean and std. Each std is clamped to >= 1e-8. Energy (``trainEnergy._makeStats``, 5bdf76e): the
same token stats (their energy training reuses the force ``norm_stats.pt``), and the mean and
sample std (n - 1) of the total energies, eV.
"""

from __future__ import annotations

import numpy as np

CLAMP = 1e-8


def released_normalisation(samples, kind: str) -> dict:
    """{"x_mean", "x_std" (F,), "y_mean", "y_std" (3,) or (1,)} as lists, from Samples."""
    x = np.concatenate([s.tokens for s in samples]).astype(np.float64)
    x_mean, x_std = x.mean(0), x.std(0)
    x_mean[:3], x_std[:3] = x[:, :3].mean(), x[:, :3].std()
    if kind == "force":
        f = np.concatenate([s.forces for s in samples]).astype(np.float64)
        y_mean, y_std = np.full(3, f.mean()), np.full(3, f.std())
    else:
        e = np.array([s.energy for s in samples], dtype=np.float64)
        y_mean = np.array([e.mean()])
        y_std = np.array([e.std(ddof=1) if len(e) > 1 else 0.0])
    return {
        "x_mean": x_mean.tolist(),
        "x_std": np.maximum(x_std, CLAMP).tolist(),
        "y_mean": y_mean.tolist(),
        "y_std": np.maximum(y_std, CLAMP).tolist(),
        "rule": "x' = (x - x_mean) / (0.3 (x_std + 1e-6)); y = y' 0.3 (y_std + 1e-6) + y_mean",
    }


def set_released_normalisation(model, stats: dict) -> None:
    model.set_stats(stats["x_mean"], stats["x_std"], stats["y_mean"], stats["y_std"])
