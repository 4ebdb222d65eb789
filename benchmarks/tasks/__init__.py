"""What a run does with each model, one module per task; each function computes result rows and
never writes files (benchmarks/plan.py turns them into cached steps, benchmarks/runner.py runs
them):

    accuracy.py    predict a split's selected frames -> PredictionSet + metric rows; per-element
                   reference energies for models trained on another level of theory
    relaxation.py  relax a test trajectory's first frame, compare with its reference final frame
    timing.py      inference per structure at fixed sizes, a scaling sweep, training epoch times
    speed.py       paper-size random-weight models vs the GEMM peak (only when a suite lists it)
    learning.py    learning curves: trained models retrained on nested train subsets, scored on
                   the same test frames (only when a suite lists the task)

The module names are also the code identity of each task's cached results
(benchmarks.source_hash follows their imports).
"""
