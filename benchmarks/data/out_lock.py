"""One writer per output directory: a lock, and no half-written directory left behind.

:func:`exclusive_out` takes an exclusive ``flock`` on ``OUT/.lock`` for the duration of a
command that fills ``OUT`` (``data import``; two at once into one ``--out`` used to interleave
their files). A second command refuses at once with one line. A directory the command created
(or found empty) is removed again when the command fails, so a rerun is not blocked by a stub.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path

from benchmarks.data.dataset import DatasetError

LOCK_NAME = ".lock"


@contextlib.contextmanager
def exclusive_out(out: str | Path, what: str = "import"):
    """Hold ``OUT/.lock``; DatasetError when another process holds it or OUT is not empty."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out}: exists and is not a directory")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise DatasetError(
            f"{out}: another `{what}` is writing into this directory (lock {out / LOCK_NAME} "
            "held); wait for it or use another --out"
        ) from None
    try:
        others = [p for p in out.iterdir() if p.name != LOCK_NAME]
        if others:
            raise DatasetError(f"{out}: exists and is not empty; {what} into a new directory")
        created = True  # empty when we took it: ours to clean up
        yield out
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    else:
        (out / LOCK_NAME).unlink(missing_ok=True)
    finally:
        os.close(fd)
