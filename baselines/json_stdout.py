"""`--json` commands (and `eval`) print their result and nothing else on stdout, whatever
third-party code prints.

:func:`json_only_stdout` is held around a command: inside it file descriptor 1 and
``sys.stdout`` point at stderr, so prints from mace, mattersim, chgnet, e3nn, C extensions or
subprocesses that inherit fd 1 land on stderr. The command hands its result to :func:`emit`;
the JSON is written to the real stdout when the block ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys

_pending: list[str] | None = None


def emit(obj, indent: int | None = 1) -> None:
    """Print ``obj`` as strict JSON on stdout (non-finite numbers become null), after the
    json_only_stdout block when one is open."""
    text = json.dumps(
        _finite(obj), indent=indent, allow_nan=False, ensure_ascii=False, default=_default
    )
    if _pending is None:
        print(text)
    else:
        _pending.append(text)


def emit_text(text: str) -> None:
    """Print ``text`` on stdout (after the json_only_stdout block, when one is open)."""
    if _pending is None:
        print(text)
    else:
        _pending.append(text)


def _finite(obj):
    import math

    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def _default(obj):
    import numpy as np

    if isinstance(obj, np.generic):
        return _finite(obj.item())
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


@contextlib.contextmanager
def json_only_stdout():
    """Send everything printed inside to stderr; write what :func:`emit` got to stdout after."""
    global _pending
    sys.stdout.flush()
    saved_fd = os.dup(1)
    saved_stdout = sys.stdout
    _pending = []
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_fd, 1)
        os.close(saved_fd)
        sys.stdout = saved_stdout
        texts, _pending = _pending, None
        for text in texts:
            print(text)
        sys.stdout.flush()
