"""argparse types that refuse a bad option value with one line (argparse: exit 2, usage + error)."""

from __future__ import annotations

import argparse
import re


def positive_int(text: str) -> int:
    """An integer >= 1 (epochs, batch sizes, counts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value}: must be at least 1")
    return value


def device(text: str) -> str:
    """cpu, cuda or cuda:N, checked against this machine (torch imported only for cuda)."""
    if text == "cpu":
        return text
    m = re.fullmatch(r"cuda(?::(\d+))?", text)
    if m is None:
        raise argparse.ArgumentTypeError(f"{text!r}: use cpu, cuda or cuda:N")
    import torch

    if not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(
            f"{text}: no CUDA device here (torch {torch.__version__}"
            f"{', a CPU-only build' if torch.version.cuda is None else ''}); use cpu"
        )
    index = int(m.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise argparse.ArgumentTypeError(
            f"{text}: this machine has {torch.cuda.device_count()} CUDA device(s)"
        )
    return text
