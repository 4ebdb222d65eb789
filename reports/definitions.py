"""The report's "Definitions" section: what every number means, in words.

Each accuracy metric's text is its entry in the metric registry (benchmarks.metrics.METRICS);
the rest follows the docstrings of the code that computes the numbers (benchmarks.data.selections,
benchmarks.relax, benchmarks.structure_compare, benchmarks.timers), with the constants imported
from there so the text cannot drift from the code.
"""

from __future__ import annotations

from benchmarks.data.selections import EARLY_FRACTION, EARLY_MAX
from benchmarks.metrics import DEFECT_RADIUS, METRICS
from benchmarks.results import Results, find_key
from reports.blocks import Block, Bullets, Heading, Para


def definitions(res: Results) -> list[Block]:
    try:
        radius = float(find_key(res.run, "defect_radius") or DEFECT_RADIUS)
    except (TypeError, ValueError):
        radius = DEFECT_RADIUS
    pct = round(100 * EARLY_FRACTION)
    accuracy = [f"**{m.label}** ({m.unit}): {m.definition}" for m in METRICS.values()] + [
        f"**Defect region / bulk**: atoms within {radius:g} Å (minimum image) of a defect site "
        "or vacancy position of the evaluated frame (in diamond Si the first two neighbour "
        "shells), and the other atoms. Force metrics are given for all atoms, the defect region "
        "and the bulk; energies exist per structure, so only for all structures and per kind.",
        "**Per defect kind** (`kind=<kind>`): the frames of the trajectories of that defect kind.",
        "**Alignment** (level-of-theory mismatch): a model trained on other reference "
        "data (e.g. a PBE foundation model scored on another level of theory) is off by a "
        "constant per element. Per-element reference energies μ_e are fitted by least squares "
        "(E_s ≈ Σ_e c_se μ_e, c_se atoms of element e) on the training split, once on the model's "
        "predictions and once on the reference labels; a test prediction is shifted by "
        "Σ_e c_se (μ^data_e − μ^model_e) before the MAE. Such models carry the `lot_mismatch` "
        "flag (marked † and `mismatch` in the LoT column); read their aligned column.",
    ]
    selection = [
        f"**early** (the default, as in the paper): the first {pct}% of the frames of every "
        f"trajectory, at least 1 and at most {EARLY_MAX}: starting structures of relaxations, where "
        "forces are large and a model's errors decide the relaxation. `early:K` takes K frames.",
        "**all**: every frame. Late relaxation frames have near-zero forces, on which the zero "
        "baseline looks deceptively good; compare with its row.",
        "**final**: the last (reference-relaxed) frame only.",
        "**split**: `test` is the held-out trajectories (splits are by whole trajectory, never by "
        "frame); `all` is used when a dataset has no split.",
    ]
    relax = [
        "Each model relaxes the first frame of every held-out test trajectory with an ASE "
        "optimizer (forces only where the model's energy is not consistent with its forces).",
        "**converged**: the largest per-atom |F| reached fmax within the step cap; "
        "**not_converged**: the step cap was reached; **exploded**: two atoms came closer than a "
        "minimum distance, a force exceeded a bound, or positions/forces stopped being finite; "
        "**error**: the calculator or optimizer raised.",
        "**SOAP similarity**: cosine similarity of the structure-averaged SOAP vectors of the "
        "model's final structure and the reference's final frame (dscribe, the ADAPT authors' "
        "settings: r_cut 5 Å, n_max 8, l_max 6, periodic, averaged); 1 for identical structures. "
        "Averaged SOAP is insensitive (values within 1e-4 of 1), so tables show **1 − SOAP "
        "similarity** in scientific notation, median and worst case over the relaxations. "
        "**1 − SOAP defect**: the same settings per atom, without averaging: the cosine "
        "similarity of each atom's SOAP vector in the two structures, averaged over the atoms "
        "within 4.2 Å (minimum image) of a defect site or vacancy of the reference structure, "
        "where a relaxation moves atoms most.",
        "**ΔQ** (amu½·Å): sqrt(Σ_i m_i |Δr_i|²), masses in amu, displacements under the minimum "
        "image convention: the mass-weighted configuration-coordinate distance. **RMSD** (Å): "
        "sqrt(mean_i |Δr_i|²).",
        "Means and medians are over the relaxations that have the value (an exploded or failed "
        "run has no final structure to compare).",
    ]
    timing = [
        "Inference: `ForceField.predict` on rattled copies of the structures (fresh displacements "
        "before every call, so no cache short-cuts), after untimed warm-up calls; the median of "
        "the timed repeats; on CUDA timed with CUDA events between synchronisations. "
        "s/structure = call time / structures per call; atoms·steps/s = atoms evaluated per "
        "second.",
        "Peak memory: CUDA peak allocation on GPU; growth of the process's peak resident size "
        "on CPU (a lower bound).",
        "Training: median seconds per epoch and training frames per second, from the trainers' "
        "logs.",
        "Every timing records its device and hardware string and is comparable only within one "
        "run.",
    ]
    return [
        Heading(2, "Definitions"),
        Heading(3, "Accuracy metrics"),
        Bullets(accuracy),
        Heading(3, "Frame selections and splits"),
        Bullets(selection),
        Heading(3, "Relaxations"),
        Bullets(relax),
        Heading(3, "Timing"),
        Bullets(timing),
        Heading(3, "Model order and markers"),
        Para(
            "Rows are ordered: the models under study (ADAPT) first, then models trained here on "
            "the benchmark's data, then pretrained models, trivial references (the zero "
            "baseline) last; within each group by force MAE. "
            "† level-of-theory mismatch, ‡ ADAPT on a cell absent from its training data. "
            "– means empty: not applicable, not predicted (a model without energy) or not run."
        ),
    ]
