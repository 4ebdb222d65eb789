"""Write ``report.md`` and ``report.html`` (plus ``figures/*.png``) for a results directory.

The report is built once as a list of blocks (headings, paragraphs, tables, figures) and written
twice: Markdown with relative image links, and one self-contained HTML page (inline CSS, no
scripts, figures as relative ``<img>`` links). Both files are written atomically.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adapt.fileio import write_text_atomic
from benchmarks.results import ResultsError, find_key, load_results, slug
from reports import figures
from reports.ablations import attention_radius_table, energy_arch_table
from reports.blocks import Block, Bullets, Heading, Image, Para, to_html, to_markdown
from reports.definitions import definitions
from reports.provenance import provenance_blocks
from reports.runtime_tables import inference_table, relax_tables, training_table
from reports.speed import speed_blocks
from reports.tables import (
    View,
    energy_table,
    force_region_table,
    kind_table,
    main_table,
    main_views,
    model_flags,
    pivot,
    selection_table,
    skipped_table,
    view_models,
)
from reports.variants import variant_tables

__all__ = ["ResultsError", "write_report"]


def write_report(results_dir: str | Path) -> tuple[Path, Path]:
    """Draw the report of ``results_dir``; returns (report.md, report.html).

    Raises :class:`ResultsError` (message names the missing or broken file) when the directory
    is not a results directory.
    """
    res = load_results(results_dir)
    blocks = build_blocks(res)
    title = f"adapt-bench report: {_suite_name(res.run)}"
    md_path, html_path = res.root / "report.md", res.root / "report.html"
    write_text_atomic(md_path, to_markdown(title, blocks))
    write_text_atomic(html_path, to_html(title, blocks))
    for path in (md_path, html_path):
        path.chmod(0o644)  # readable like any report (temporary files are created 0600)
    return md_path, html_path


def _suite_name(run: dict) -> str:
    suite = run.get("suite")
    if isinstance(suite, dict) and suite.get("name"):
        return str(suite["name"])
    return str(run.get("name") or run.get("suite_name") or suite or "run")


def build_blocks(res) -> list[Block]:
    blocks: list[Block] = [Para(_summary_line(res))]
    if res.metrics.empty and not res.speed.empty:  # a speed-only run (task "speed")
        return blocks + speed_blocks(res.speed) + provenance_blocks(res)
    missing = _run_problems(res.run) + res.absent
    if missing:
        blocks += [Heading(2, "Not in this run"), Bullets(missing)]
    views = main_views(res)
    blocks.append(Heading(2, "Accuracy"))
    if not views:
        blocks.append(Para("metrics.csv has no rows, so there is no accuracy table."))
    for view in views:
        blocks += _accuracy_blocks(res, view)
    blocks += _relax_blocks(res)
    blocks += _timing_blocks(res)
    blocks += _learning_blocks(res)
    blocks += speed_blocks(res.speed)
    ablations = [
        t for v in views for t in (energy_arch_table(res, v), attention_radius_table(res, v)) if t
    ]
    if ablations:
        blocks += [Heading(2, "Ablations"), *ablations]
    variants = variant_tables(res, views)
    if variants:
        blocks += [Heading(2, "ADAPT variants (paper vs released)"), *variants]
    skipped = skipped_table(res)
    blocks += [Heading(2, "Skipped or failed models")]
    if skipped:
        blocks.append(skipped)
    elif res.models.empty:
        blocks.append(Para("Unknown: models.csv is absent or empty."))
    else:
        blocks.append(Para("None: every model of the suite was evaluated."))
    blocks += definitions(res)
    blocks += provenance_blocks(res)
    return blocks


def _run_problems(run: dict) -> list[str]:
    """run.json's own account: an unfinished run, steps that failed."""
    out = []
    status = run.get("status")
    if status and status != "complete":
        out.append(f"The run's status is `{status}`: tables hold what finished.")
    steps = run.get("steps") if isinstance(run.get("steps"), dict) else {}
    for f in steps.get("failed") or []:
        if isinstance(f, dict):
            out.append(f"Failed step `{f.get('step', '?')}`: {f.get('error', '')}")
    return out


def _summary_line(res) -> str:
    run = res.run
    n_models = len(set(res.metrics["model"]))
    datasets = ", ".join(f"`{d}`" for d in dict.fromkeys(res.metrics["dataset"])) or "none"
    plural = "model" if n_models == 1 else "models"
    parts = [f"{n_models} {plural} evaluated on {datasets}" if n_models else "No model evaluated"]
    for key, what in (("run_id", "run"), ("started_utc", "started"), ("finished_utc", "finished")):
        value = find_key(run, key)
        if value:
            parts.append(f"{what} {value}")
    return "; ".join(parts) + ". Definitions and provenance are at the end."


def _accuracy_blocks(res, view: View) -> list[Block]:
    out: list[Block] = [Heading(3, f"{view.dataset}"), main_table(res, view)]
    out += _figure_blocks(res, view)
    for metric in ("force_mae", "energy_mae"):
        t = kind_table(res, view, metric)
        if t:
            out.append(t)
    out += [force_region_table(res, view), energy_table(res, view)]
    sel = selection_table(res, view.dataset, view.split)
    if sel:
        out.append(sel)
    return out


FORCE_CAPTION = (
    "Paper Fig. 5 style: every force component of every atom; y = x is ideal; the same axes for "
    "every model; dense panels are hexbin histograms (colour: log count)."
)
ENERGY_CAPTION = (
    "Paper Fig. 6 style: total energy per structure; each panel has its own square axes, since "
    "raw energies of a model on another level of theory are offset."
)
ANGLE_CAPTION = (
    "Per-atom angle between predicted and reference force vectors (paper Appendix C.1), all atoms "
    "and defect-region atoms; atoms with a zero force vector have no angle."
)


def _figure_blocks(res, view: View) -> list[Block]:
    files = res.predictions_for(view.dataset, view.split, view.selection)
    models = [m for m in view_models(res, view) if m in files]
    models += [m for m in files if m not in models and m not in set(res.metrics["model"])]
    preds, problems = {}, []
    for name in models:
        try:
            preds[name] = files[name].load()
        except (OSError, ValueError, KeyError, ResultsError) as exc:
            problems.append(f"{files[name].path.name} could not be read: {exc}")
    if not preds:
        return (
            [Para(f"No predictions for {view.describe()}: no figures.")]
            if not problems
            else [Bullets(problems)]
        )
    allv = pivot(res, view, "all")
    maes = {m: _metric(allv, m, "force_mae") for m in preds}
    emaes = {m: _metric(allv, m, "energy_mae") for m in preds}
    flags = model_flags(res, view)
    marks = {m: "†" for m in preds if "lot_mismatch" in flags.get(m, set())}
    tag = f"{view.dataset}, {view.split}, {view.selection}"
    out: list[Block] = []
    specs = [
        ("force_scatter", "Predicted vs reference force components", FORCE_CAPTION,
         lambda p: figures.force_scatter(preds, maes, p, f"Forces ({tag})")),
        ("energy_scatter", "Predicted vs reference energies", ENERGY_CAPTION,
         lambda p: figures.energy_scatter(preds, emaes, marks, p, f"Energies ({tag})")),
        ("angle_error", "Force angle errors", ANGLE_CAPTION,
         lambda p: figures.angle_violin(preds, p, f"Angle error ({tag})")),
    ]  # fmt: skip
    for key, title, caption, draw in specs:
        rel = Path("figures") / f"{key}__{slug(view.key)}.png"
        if draw(res.root / rel):
            out.append(Image(figures.FigureFile(key, rel, f"{title} ({tag})", caption)))
    if problems:
        out.append(Bullets(problems))
    return out


def _metric(piv, model: str, metric: str) -> float:
    if metric in piv.columns and model in piv.index:
        return float(piv.at[model, metric])
    return np.nan


def _int(value) -> str:
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return "?"


def _relax_blocks(res) -> list[Block]:
    out: list[Block] = [Heading(2, "Relaxations")]
    tables = relax_tables(res)
    if not tables:
        return out + [Para("No relaxations in this run (relax.csv absent or empty).")]
    return out + tables


def _learning_blocks(res) -> list[Block]:
    """Learning curves, only in runs that had the learning task."""
    from reports.learning import learning_figure, learning_tables

    if res.learning.empty:
        return []
    order = list(dict.fromkeys(res.metrics["model"])) if not res.metrics.empty else []
    out: list[Block] = [Heading(2, "Learning curves"), *learning_tables(res.learning, order)]
    rel = Path("figures") / "learning_curves.png"
    if learning_figure(res.learning, order, res.root / rel):
        out.append(
            Image(
                figures.FigureFile(
                    "learning_curves",
                    rel,
                    "Learning curves",
                    "Force MAE on the same held-out frames against training frames (left) and "
                    "training seconds (right), log-log; each point is a model retrained from "
                    "scratch on a nested subset of the train trajectories.",
                )
            )
        )
    return out


def _timing_blocks(res) -> list[Block]:
    out: list[Block] = [Heading(2, "Timing")]
    tables = [t for t in (inference_table(res), training_table(res)) if t]
    if not tables:
        return out + [Para("No timings in this run (timing.csv absent or empty).")]
    out.append(Para("Timings are comparable only within one run: same machine, same load."))
    out += tables
    rel = Path("figures") / "timing_scaling.png"
    order = [t for t in tables[0].frame["Model"]] if tables else []
    if figures.timing_scaling(res.timing, order, res.root / rel):
        out.append(
            Image(
                figures.FigureFile(
                    "timing_scaling",
                    rel,
                    "Cost vs system size",
                    "Single-structure inference on k×k×k diamond-Si supercells, log-log. "
                    "All-to-all attention grows as n² where the GNNs grow as n.",
                )  # fmt: skip
            )
        )
    if "note" in res.timing.columns:
        notes = [f"{m} ({t}, {_int(n)} atoms): {x}" for m, t, n, x in
                 zip(res.timing["model"], res.timing["task"], res.timing["n_atoms"], res.timing["note"], strict=True)
                 if str(x)]  # fmt: skip
        if notes:
            out += [Para("Timing notes:"), Bullets(list(dict.fromkeys(notes)))]
    return out
