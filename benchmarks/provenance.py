"""Where a result came from: package versions, git SHA, hardware, seeds, UTC times, wall time."""

from __future__ import annotations

import platform
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = (
    "adapt-bench",
    "torch",
    "numpy",
    "ase",
    "mace-torch",
    "mattersim",
    "chgnet",
    "dscribe",
    "pandas",
    "e3nn",
)
REPO_ROOT = Path(__file__).resolve().parent.parent


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    """Installed distribution versions (None when not installed)."""
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_sha(root: Path = REPO_ROOT) -> str | None:
    """The checkout's HEAD commit, with "-dirty" when tracked files changed; None outside git."""
    try:
        sha = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{sha}-dirty" if dirty else sha


def hardware(device: str) -> str:
    """One line naming the CPU/GPU (benchmarks.timers.hardware_string when available)."""
    try:
        from benchmarks.timers import hardware_string

        return hardware_string(device)
    except ImportError:  # pragma: no cover - timing module missing
        return f"{platform.processor() or platform.machine()} ({device})"


@dataclass
class Provenance:
    """Filled at the start of a run and closed at its end (``finish``)."""

    device: str
    seed: int
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    started_utc: str = field(default_factory=utc_now)
    finished_utc: str | None = None
    wall_s: float | None = None
    _t0: float = field(default_factory=time.perf_counter, repr=False)

    def finish(self) -> None:
        self.finished_utc = utc_now()
        self.wall_s = round(time.perf_counter() - self._t0, 3)

    def as_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "started_utc": self.started_utc,
            "finished_utc": self.finished_utc,
            "wall_s": self.wall_s,
            "seed": self.seed,
            "device": self.device,
            "hardware": hardware(self.device),
            "git_sha": git_sha(),
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "packages": package_versions(),
            "command": " ".join(sys.argv),
        }
