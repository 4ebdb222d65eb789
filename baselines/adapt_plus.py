"""The ADAPT+ family: ``adapt+:RUN_DIR`` -> :class:`PlusForceField`, its trainer (suite block
``train.adapt+ = { preset = "tiny", forces = "direct" }``) and its declaration (``FAMILY``).
The model is the standalone library :mod:`adapt.plus`; RUN_DIR is what
``adapt-bench train adapt+ --data DIR --out RUN_DIR`` writes (see :mod:`adapt.plus.checkpoint`).

ADAPT+ is periodic (pair terms over every image within the cutoff) and size-extensive; its
forces are conservative (-dE/dx) or direct (an equivariant pair head), as its config says.
This module imports torch only when a model is loaded or trained.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from ase import Atoms

from baselines.family import Family, ReportColumn, TrainedJob, Trainer
from baselines.interface import ForceField, ModelInfo, ModelUnavailable, Prediction
from baselines.registry import LoadContext, ModelStatus

PRESETS = ("tiny", "small")
TRAIN_HINT = "train one with `adapt-bench train adapt+ --data DIR --out RUN_DIR --preset tiny`"


class PlusForceField(ForceField):
    """A trained ADAPT+ (``adapt.plus.checkpoint.load_checkpoint``), batched predict."""

    def __init__(self, run_dir: Path, device: str = "cpu", spec: str | None = None):
        from adapt.plus.checkpoint import WEIGHTS, load_checkpoint

        self.model, self.table, meta = load_checkpoint(run_dir, device)
        cfg = meta["model_config"]
        self.device = device
        self.info = ModelInfo(
            name=f"ADAPT+ {meta.get('preset', '?')} ({cfg['forces']})",
            family="adapt+",
            spec=spec or f"adapt+:{run_dir}",
            n_params=sum(p.numel() for p in self.model.parameters()),
            device=device,
            dtype="float32",
            level_of_theory=meta.get("data", {}).get("level_of_theory", "unknown"),
            conservative=cfg["forces"] == "conservative",
            checkpoint=str(Path(run_dir) / WEIGHTS),
            checkpoint_sha256=meta.get("weights_sha256"),
            extra={
                "preset": meta.get("preset"),
                "forces": cfg["forces"],
                "cutoff": cfg["cutoff"],
                "l_max": cfg["l_max"],
                "epoch": meta.get("epoch"),
                "val_force_mae": meta.get("val_force_mae"),
                "data_sha256": meta.get("data", {}).get("sha256"),
            },
        )

    def predict(self, frames: Sequence[Atoms], batch_size: int | None = None) -> list[Prediction]:
        from adapt.plus.calculator import predict

        max_atoms = 64 * batch_size if batch_size else 2048
        out = predict(self.model, self.table, list(frames), max_batch_atoms=max_atoms)
        return [Prediction(energy=r["energy"], forces=r["forces"]) for r in out]


def load(arg: str, ctx: LoadContext) -> PlusForceField:
    if not arg:
        raise ModelUnavailable(f"adapt+ needs a run directory: adapt+:RUN_DIR; {TRAIN_HINT}")
    path = Path(arg).expanduser()
    if not (path / "checkpoint.json").is_file():
        why = "does not exist" if not path.exists() else "holds no ADAPT+ checkpoint.json"
        raise ModelUnavailable(f"adapt+:{arg}: {why}; {TRAIN_HINT}")
    return PlusForceField(path, device=ctx.device, spec=f"adapt+:{arg}")


def statuses() -> list[ModelStatus]:
    return [ModelStatus("adapt+:RUN_DIR", True, f"any trained ADAPT+ run dir; {TRAIN_HINT}")]


# ---------------------------------------------------------------- training


def train(data, out, *, preset, epochs, device, seed, progress=True, **options) -> Path:
    """Train ADAPT+ on ``data``'s train/val split into ``out`` (resumes; returns at once when
    finished). ``options``: any adapt.plus config field (forces, lr, l_max, ...)."""
    from adapt.plus.train import train_plus

    if epochs is not None:
        options = {**options, "epochs": int(epochs)}
    weights = None
    if options.get("force_weighting") == "weighted":
        weights = _importance_weights(data, options)
    return Path(
        train_plus(
            data.frames("train", "all"),
            data.frames("val", "all"),
            out,
            preset=preset,
            seed=seed,
            device=device,
            data_info={
                "name": data.name,
                "sha256": data.sha256,
                "level_of_theory": data.level_of_theory,
            },
            train_weights=weights,
            progress=progress,
            **options,
        )
    )


def _importance_weights(data, options) -> list:
    """Eq. 12 per-atom weights of every train frame (defect sites from the trajectory record)."""
    from adapt.weights import importance_weights

    lam1, lam2 = options.get("lambda1", 10.0), options.get("lambda2", 1.0)
    out = []
    for rec in data.records("train"):
        frames = data.read(rec)
        defect = data.defect_of(rec, frames[0])
        for a in frames:
            out.append(importance_weights(a, defect.positions(a), "weighted", lam1, lam2))
    return out


def check(preset: str, options) -> None:
    from adapt.plus.config import apply_overrides, model_preset, train_preset

    apply_overrides(model_preset(preset), train_preset(preset), dict(options))


def done(out: Path, preset: str, epochs: int | None) -> bool:
    from adapt.plus.config import train_preset

    state = Path(out) / "last" / "state.json"
    if not state.is_file() or not (Path(out) / "checkpoint.json").is_file():
        return False
    want = epochs or train_preset(preset).epochs
    return json.loads(state.read_text()).get("epoch", 0) >= want


def spec_for(jobs: tuple[TrainedJob, ...], root: Path) -> str:
    return f"adapt+:{jobs[0].output}"


def _tiny(tmp, data) -> PlusForceField:
    """A tiny conservative ADAPT+ trained one epoch on ``data`` (contract test)."""
    out = train(
        data,
        Path(tmp) / "adapt-plus-tiny",
        preset="tiny",
        epochs=1,
        device="cpu",
        seed=0,
        progress=False,
        d_model=16,
        d_ff=32,
        n_layers=1,
        n_heads=2,
        local_heads=1,
        n_channels=4,
        n_rbf=8,
    )
    return PlusForceField(out)


FAMILY = Family(
    name="adapt+",
    usage="adapt+:RUN_DIR",
    load=load,
    statuses=statuses,
    display="ADAPT+",
    origin="trained here",
    role="subject",
    conservative=None,  # a config switch: ModelInfo.conservative says which
    periodic=True,
    trainers=(
        Trainer(
            kind="adapt+",
            presets=PRESETS,
            train=train,
            check=check,
            done=done,
            epoch_log=lambda output: Path(output) / "metrics.jsonl",
        ),
    ),
    spec_for=spec_for,
    columns=(
        ReportColumn("forces", "Forces", lambda jobs, opts: opts.get("forces", "conservative")),
    ),
    tiny=_tiny,
)
