"""Retrain MACE from scratch on a dataset's train/val split through mace-torch's own training.

`adapt-bench train mace --data DIR --out RUN_DIR [--preset tiny|cpu|paper] [--epochs N]` runs
``python -m mace.cli.run_train`` in a subprocess (MACE's own CLI, so the model is exactly what
MACE users get) and leaves in RUN_DIR::

    data/train.extxyz data/valid.extxyz   the splits, labels as REF_energy (eV) / REF_forces (eV/Å)
    e0s.json                              per-element reference energies (eV), least squares on train
    mace.model                            the trained model (best validation loss, MACE's choice)
    mace.json                             sidecar: dataset, level of theory, preset, epochs, sha256,
                                          per-epoch training time; baselines.mace reads it
    train.log                             MACE's console output
    mace_work/                            MACE's checkpoints, logs and per-step results

Rerunning the same command after it finished does nothing; after an interruption it resumes from
MACE's latest checkpoint (``--restart_latest``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path

import ase.io
import numpy as np
from ase.data import atomic_numbers

from adapt.fileio import file_sha256, write_text_atomic
from baselines.composition import fit_element_energies
from baselines.family import Trainer

log = logging.getLogger(__name__)

NAME = "mace"  # file stem of everything MACE writes (mace.model, mace_run-SEED.log, ...)


@dataclass(frozen=True)
class MacePreset:
    """A MACE architecture + training recipe (units: Å for r_max)."""

    name: str
    num_channels: int
    max_L: int  # highest order of the hidden equivariant features
    correlation: int  # body order - 1 of each product basis
    num_interactions: int
    r_max: float  # Å
    max_ell: int  # highest order of the edge spherical harmonics
    radial_MLP: str
    default_dtype: str
    epochs: int
    batch_size: int
    lr: float
    max_train_frames: int | None  # evenly thinned to at most this many frames (None: all)
    max_valid_frames: int | None
    energy_weight: float = 1.0  # weighted loss: energy term (per atom) ...
    forces_weight: float = 100.0  # ... and force term; mace_run_train's defaults
    ema_decay: float | None = None  # exponential moving average of the weights (None: off)
    swa_start: int | None = None  # epoch where stage two (higher energy weight, lower lr) starts
    swa_energy_weight: float = 1000.0
    swa_forces_weight: float = 100.0
    lr_gamma: float | None = None  # ExponentialLR decay per epoch (None: ReduceLROnPlateau)

    def mace_args(self) -> list[str]:
        extra = [
            f"--energy_weight={self.energy_weight}",
            f"--forces_weight={self.forces_weight}",
        ]
        if self.ema_decay is not None:
            extra += ["--ema", f"--ema_decay={self.ema_decay}"]
        if self.swa_start is not None:
            extra += [
                "--swa",
                f"--start_swa={self.swa_start}",
                f"--swa_energy_weight={self.swa_energy_weight}",
                f"--swa_forces_weight={self.swa_forces_weight}",
            ]
        if self.lr_gamma is not None:
            extra += ["--scheduler=ExponentialLR", f"--lr_scheduler_gamma={self.lr_gamma}"]
        return extra + [
            "--model=MACE",
            f"--num_channels={self.num_channels}",
            f"--max_L={self.max_L}",
            f"--correlation={self.correlation}",
            f"--num_interactions={self.num_interactions}",
            f"--r_max={self.r_max}",
            f"--max_ell={self.max_ell}",
            f"--radial_MLP={self.radial_MLP}",
            f"--default_dtype={self.default_dtype}",
            f"--batch_size={self.batch_size}",
            f"--valid_batch_size={self.batch_size}",
            f"--lr={self.lr}",
        ]


PRESETS = {
    # The ADAPT paper's retrained MACE (SI: MACE v0.3.14, 300 epochs, float32); other settings are
    # mace_run_train's defaults (weighted loss, amsgrad Adam, ReduceLROnPlateau).
    "paper": MacePreset(
        name="paper",
        num_channels=256,
        max_L=2,
        correlation=3,
        num_interactions=2,
        r_max=5.0,
        max_ell=3,
        radial_MLP="[64, 64, 64]",
        default_dtype="float32",
        epochs=300,
        batch_size=10,
        lr=0.01,
        max_train_frames=None,
        max_valid_frames=None,
    ),
    # The quick suite's retrained MACE: the whole train split in about 4 minutes on 2 CPU cores
    # (docs/mace-cpu-preset.md: what was measured). r_max 3.5 Å holds the first neighbour shell
    # of Si (2.35 Å) and every Tersoff interaction (cutoffs <= 3.1 Å) at a fraction of the edges
    # of 5 Å (~4 vs ~28 per atom); two layers see 7 Å. EMA of the weights, then a stage two that
    # weights energies 10x more for the last epochs.
    "cpu": MacePreset(
        name="cpu",
        num_channels=32,
        max_L=1,
        correlation=2,
        num_interactions=2,
        r_max=3.5,
        max_ell=2,
        radial_MLP="[32, 32]",
        default_dtype="float32",
        epochs=10,
        batch_size=4,
        lr=0.01,
        max_train_frames=None,
        max_valid_frames=100,
        ema_decay=0.99,
        swa_start=7,
        swa_energy_weight=1000.0,
        swa_forces_weight=100.0,
    ),
    # For tests and smoke runs: a few minutes on 2 cores on <= 300 frames, under-trained.
    "tiny": MacePreset(
        name="tiny",
        num_channels=16,
        max_L=1,
        correlation=2,
        num_interactions=2,
        r_max=5.0,
        max_ell=2,
        radial_MLP="[32, 32]",
        default_dtype="float32",
        epochs=15,
        batch_size=8,
        lr=0.01,
        max_train_frames=300,
        max_valid_frames=100,
    ),
}


def thin(frames: list, limit: int | None) -> list:
    """At most ``limit`` frames, evenly spaced over the list (all when limit is None)."""
    if limit is None or len(frames) <= limit:
        return frames
    keep = np.unique(np.linspace(0, len(frames) - 1, limit).round().astype(int))
    return [frames[i] for i in keep]


def write_mace_extxyz(frames, path: Path) -> None:
    """Frames with labels in REF_energy (info, eV) and REF_forces (arrays, eV/Å), no calculator."""
    out = []
    for atoms in frames:
        res = atoms.calc.results
        a = atoms.copy()  # drops the calculator
        # no REF_energy (a forces-only dataset): MACE gives that frame energy weight 0
        a.info = {"REF_energy": float(res["energy"])} if "energy" in res else {}
        a.arrays["REF_forces"] = np.asarray(res["forces"], dtype=float)
        out.append(a)
    path.parent.mkdir(parents=True, exist_ok=True)
    ase.io.write(path, out, format="extxyz")


def fit_e0s(frames) -> dict[int, float]:
    """Per-element energies (eV) minimising sum (E - sum_Z n_Z E0_Z)^2 over the frames (0 for
    every element when the frames carry no energies: a forces-only dataset)."""
    if not all("energy" in a.calc.results for a in frames):
        return dict.fromkeys(sorted({int(z) for a in frames for z in a.numbers}), 0.0)
    mu = fit_element_energies(
        [a.get_chemical_symbols() for a in frames],
        [a.calc.results["energy"] for a in frames],
    )
    return {int(atomic_numbers[e]): v for e, v in mu.items()}


def epoch_times(results_txt: Path, offset: int = 0) -> list[float]:
    """Seconds of optimisation steps per epoch, from MACE's per-step results file.

    ``offset``: byte offset where this invocation's records start (MACE appends on resume).
    """
    per_epoch: dict[int, float] = defaultdict(float)
    if results_txt.is_file():
        with open(results_txt, "rb") as fh:
            fh.seek(offset)
            lines = fh.read().decode().splitlines()
        for line in lines:
            rec = json.loads(line)
            if rec.get("mode") == "opt" and rec.get("epoch") is not None:
                per_epoch[int(rec["epoch"])] += float(rec["time"])
    return [round(per_epoch[e], 3) for e in sorted(per_epoch)]


EPOCH_LINE = re.compile(r"(Initial|Epoch (\d+)): head: \S+, loss=\s*([\d.eE+-]+), (.*)")


def run_streaming(cmd: list[str], log_path: Path, n_epochs: int, desc: str) -> int:
    """Run MACE's CLI, appending its output to ``log_path`` and reporting each validation line.

    Each ``Epoch N: ... loss=..., MAE_E_per_atom=..., MAE_F=...`` line MACE prints becomes a log
    record at INFO and, when progress is on, a step of a bar over the epochs. Returns the exit code.
    """
    from tqdm import tqdm

    from baselines.paths import progress_enabled

    bar = tqdm(total=n_epochs, desc=desc, unit="epoch", disable=not progress_enabled())
    with open(log_path, "a", buffering=1) as fh, bar:  # line-buffered: a live log
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},  # lines as MACE logs them
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            fh.write(line)
            m = EPOCH_LINE.search(line)
            if m is None:
                continue
            errors = m.group(4).strip()
            log.info("%s %s: loss %s, %s", desc, m.group(1).lower(), m.group(3), errors)
            if m.group(2) is not None:
                bar.n = min(int(m.group(2)) + 1, n_epochs)
                bar.set_postfix_str(f"loss {float(m.group(3)):.4g}, {errors}", refresh=True)
        return proc.wait()


def train_mace(
    data,
    out_dir: str | Path,
    preset: str = "tiny",
    epochs: int | None = None,
    device: str = "cpu",
    seed: int = 0,
) -> Path:
    """Train MACE from scratch on ``data``'s train split (val split for model selection).

    ``data``: a dataset object (``benchmarks.data.dataset.Dataset``: ``records``, ``frames``,
    ``read``, ``name``, ``level_of_theory``, ``sha256``, ``root``).

    Returns the path of the trained ``.model``. Skips work already done (same settings), resumes
    an interrupted run, and refuses an ``out_dir`` that holds a run with other settings.
    """
    cfg = PRESETS[preset]
    n_epochs = epochs if epochs is not None else cfg.epochs
    ds = data
    if not ds.has("forces"):
        raise ValueError(
            f"{ds.root}: the dataset has no forces (labels: {', '.join(ds.labels)}); MACE "
            "training here needs forces"
        )
    run = Path(out_dir)
    model_path = run / f"{NAME}.model"
    sidecar = run / f"{NAME}.json"
    # What must match for a run directory to be reused; a larger --epochs continues training.
    settings = {"preset": asdict(cfg), "seed": seed, "dataset_sha256": ds.sha256}
    settings_file = run / "settings.json"
    if settings_file.is_file():
        if json.loads(settings_file.read_text()) != settings:
            raise ValueError(
                f"{run} holds a MACE run with other settings (see {settings_file}); "
                "choose another --out or delete that directory"
            )
        done = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
        if (
            done.get("epochs") == n_epochs
            and model_path.is_file()
            and done.get("model_sha256") == file_sha256(model_path)
        ):
            log.info("%s: already trained, nothing to do", model_path)
            return model_path
    run.mkdir(parents=True, exist_ok=True)
    write_text_atomic(settings_file, json.dumps(settings, indent=1))

    unsplit = all(r.split is None for r in ds.records())
    train = thin(ds.frames("train", "all"), cfg.max_train_frames)
    valid = [] if unsplit else thin(ds.frames("val", "all"), cfg.max_valid_frames)
    write_mace_extxyz(train, run / "data" / "train.extxyz")
    e0s = fit_e0s(train)
    # MACE needs an E0 for every element it sees, validation included: a validation frame with an
    # element absent from train cannot be learned anyway, so it is left out (and counted).
    known = [a for a in valid if set(a.numbers) <= set(e0s)]
    if len(known) < len(valid):
        log.warning(
            "%d of %d validation frames contain elements absent from the train split: left out",
            len(valid) - len(known),
            len(valid),
        )
    valid = known
    split_args = ["--valid_fraction=0.1"]
    if valid:
        write_mace_extxyz(valid, run / "data" / "valid.extxyz")
        split_args = [f"--valid_file={run / 'data' / 'valid.extxyz'}"]
    write_text_atomic(run / "e0s.json", json.dumps({str(z): e for z, e in e0s.items()}))
    first_frames = [ds.read(rec, [0])[0] for rec in ds.records("all")]
    unseen = sorted({int(z) for a in first_frames for z in a.numbers} - set(e0s))
    if unseen:
        log.warning(
            "elements %s (Z) occur only outside the train split: the model will not know them "
            "and refuses frames that contain them",
            unseen,
        )

    work = run / "mace_work"
    cmd = [
        sys.executable,
        "-m",
        "mace.cli.run_train",
        f"--name={NAME}",
        f"--seed={seed}",
        f"--device={device}",
        f"--work_dir={work}",
        f"--model_dir={run}",
        f"--train_file={run / 'data' / 'train.extxyz'}",
        *split_args,
        "--energy_key=REF_energy",
        "--forces_key=REF_forces",
        *([] if ds.has("energy") else ["--energy_weight=0.0"]),
        f"--E0s={run / 'e0s.json'}",
        f"--max_num_epochs={n_epochs}",
        "--error_table=PerAtomMAE",
        # the final error table over the train split costs as much as an epoch; we evaluate
        # the model ourselves (validation errors stay in the log)
        "--skip_evaluate_heads=train_",
        "--plot=False",
        "--save_cpu",
        "--restart_latest",
        *cfg.mace_args(),
    ]
    log.info("training MACE (%s, %d epochs) in %s: %s", preset, n_epochs, run, " ".join(cmd))
    results_txt = work / "results" / f"{NAME}_run-{seed}_train.txt"
    offset = results_txt.stat().st_size if results_txt.is_file() else 0
    start = time.perf_counter()
    returncode = run_streaming(cmd, run / "train.log", n_epochs, f"MACE {preset}")
    wall = time.perf_counter() - start
    if cfg.swa_start is not None and (run / f"{NAME}_stagetwo.model").is_file():
        # MACE saves the stage-one model as NAME.model and the stage-two one beside it
        (run / f"{NAME}_stagetwo.model").replace(model_path)
    if returncode != 0 or not model_path.is_file():
        tail = (run / "train.log").read_text().splitlines()[-15:]
        raise RuntimeError(
            f"MACE training failed (exit {returncode}); see {run / 'train.log'}:\n"
            + "\n".join(tail)
        )
    per_epoch = epoch_times(results_txt, offset)
    meta = {
        "display_name": f"MACE retrained ({preset})",
        "model": model_path.name,
        "model_sha256": file_sha256(model_path),
        "dataset": ds.name,
        "dataset_dir": str(Path(ds.root).resolve()),
        "dataset_sha256": ds.sha256,
        "level_of_theory": ds.level_of_theory,
        "preset": preset,
        "preset_settings": asdict(cfg),
        "epochs": n_epochs,
        "seed": seed,
        "device": device,
        "n_train_frames": len(train),
        "n_valid_frames": len(valid),
        "e0s_eV": {str(z): e for z, e in e0s.items()},
        "trained_on_energy": ds.has("energy"),
        "elements_not_in_train": unseen,
        "epoch_train_s": per_epoch,
        "train_wall_s": round(wall, 1),
        "command": cmd[1:],
    }
    write_text_atomic(sidecar, json.dumps(meta, indent=1))
    log.info("MACE trained: %s (%.0f s)", model_path, wall)
    return model_path


def check_settings(preset: str, options) -> None:
    """Unknown preset or any override: ValueError (the MACE trainer takes preset/epochs/seed)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown MACE preset {preset!r}; use {sorted(PRESETS)}")
    if options:
        raise ValueError(f"mace takes preset, epochs and seed only, got {sorted(options)}")


def train_job(data, out, *, preset, epochs, device, seed, progress=True, **options) -> Path:
    check_settings(preset, options)
    return Path(train_mace(data, out, preset, epochs, device, seed))


TRAINER = Trainer(
    kind="mace",
    presets=tuple(PRESETS),
    train=train_job,
    check=check_settings,
    done=lambda out, preset, epochs: (Path(out) / f"{NAME}.json").is_file(),
    epoch_log=lambda output: Path(output).parent / f"{NAME}.json",
    packages=("mace-torch",),
)
