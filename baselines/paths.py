"""Where adapt-bench keeps things it makes on its own (the built-in dataset, trained models)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$ADAPT_BENCH_CACHE, else ~/.cache/adapt-bench (created on demand)."""
    root = Path(os.environ.get("ADAPT_BENCH_CACHE", Path.home() / ".cache" / "adapt-bench"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def progress_enabled() -> bool:
    """Progress bars are on unless ADAPT_BENCH_NO_PROGRESS is set (CI sets it)."""
    return not os.environ.get("ADAPT_BENCH_NO_PROGRESS")
