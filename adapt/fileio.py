"""Files written so that a reader (or a run interrupted half-way) sees the old file or the whole
new one, never half a file that looks complete; and file hashes.

This is the ground floor of the repository: adapt/ uses it for checkpoints, and the layers above
(baselines, benchmarks, reports) use the same functions for every file they write.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

_UMASK = os.umask(0o022)
os.umask(_UMASK)


def atomic_write(path: str | Path, write: Callable[[str], None], suffix: str = ".tmp") -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, fsync it, give it ordinary
    permissions (mkstemp makes 0600) and move it over ``path``; on any error the temporary file is
    removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a text file atomically."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def json_safe(obj):
    """JSON-safe copy: NaN/inf -> None, numpy scalars -> Python, paths -> str."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    if isinstance(obj, Path):
        return str(obj)
    return obj


def write_json(path: str | Path, data: Any) -> None:
    """Atomic JSON write (indent 1, trailing newline); NaN/inf become null (JSON has no NaN)."""
    write_text_atomic(path, json.dumps(json_safe(data), indent=1, default=str) + "\n")


def digest(material: Any) -> str:
    """sha256 of the canonical JSON of ``material`` (sorted keys)."""
    text = json.dumps(json_safe(material), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 hex digest of a file's bytes (checkpoints, trajectories, potentials)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()
