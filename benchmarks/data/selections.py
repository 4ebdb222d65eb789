"""Which frames of a trajectory an evaluation uses.

The ADAPT paper evaluates on structures from the *beginnings* of relaxation trajectories, where
forces are large; late frames have near-zero forces on which a zero predictor looks good.

    all        every frame
    final      the last frame only (the reference-relaxed structure)
    early      the first 20% of the frames, at least 1 and at most 10 (the default for metrics)
    early:K    the first K frames (K an integer >= 1)
    early:F    the first fraction F of the frames (0 < F <= 1), at least 1
"""

from __future__ import annotations

import math

EARLY_FRACTION = 0.2
EARLY_MAX = 10
SELECTIONS = ("early", "all", "final")


def select_frames(n_frames: int, selection: str) -> list[int]:
    """Frame indices (ascending) chosen by ``selection`` from a trajectory of n_frames."""
    if n_frames < 1:
        raise ValueError("a trajectory needs at least one frame")
    name, _, arg = selection.partition(":")
    if name == "all" and not arg:
        return list(range(n_frames))
    if name == "final" and not arg:
        return [n_frames - 1]
    if name == "early":
        if not arg:
            k = min(EARLY_MAX, max(1, math.ceil(EARLY_FRACTION * n_frames)))
        elif arg.isdigit() and int(arg) >= 1:
            k = int(arg)
        else:
            try:
                frac = float(arg)
            except ValueError:
                frac = -1.0
            if not 0 < frac <= 1:
                raise ValueError(f"selection {selection!r}: early:K needs K >= 1 or 0 < K <= 1")
            k = max(1, math.ceil(frac * n_frames))
        return list(range(min(k, n_frames)))
    raise ValueError(f"unknown frame selection {selection!r}; use early[:K], all or final")
