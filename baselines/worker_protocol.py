"""The request/response protocol between adapt-bench and a model worker process.

A model family whose packages cannot share our environment (SevenNet: e3nn >= 0.5 vs MACE's
0.4.4) runs in a worker: a Python script started with *its own* environment's interpreter,
reading requests on stdin and answering on stdout. This module is all both sides share; it needs
only the standard library and numpy, so the worker's environment needs nothing of ours.

Frame: 8-byte little-endian unsigned length, then that many bytes of an ``.npz`` archive
(``numpy.savez``; read with ``allow_pickle=False``). Every message is a dict of arrays; strings
travel as 0-d unicode arrays. Requests (key ``op``):

    info      -> name, family, level_of_theory, dtype, conservative (str "1"/"0"), n_params
                 (int64), checkpoint, checkpoint_sha256, extra_json (str, a JSON object)
    predict   numbers (N,) int64, positions (N, 3) float64 Å, cells (M, 3, 3) float64 Å,
              pbc (M, 3) bool, n_atoms (M,) int64 (N = sum n_atoms; frames concatenated)
              -> energy (M,) float64 eV, forces (N, 3) float64 eV/Å
    close     -> (empty) and the worker exits

Any failure answers ``error`` (str, one line) instead; the worker then waits for the next request.
"""

from __future__ import annotations

import io
import os
import struct
import sys
from typing import BinaryIO

import numpy as np

HEADER = struct.Struct("<Q")
MAX_FRAME = 1 << 34  # 16 GiB: a length beyond this is a corrupt stream, not a message


class ProtocolError(RuntimeError):
    """The other side sent something that is not a frame of this protocol (or hung up)."""


def pack(message: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in message.items()})
    body = buf.getvalue()
    return HEADER.pack(len(body)) + body


def write_message(stream: BinaryIO, message: dict) -> None:
    stream.write(pack(message))
    stream.flush()


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise ProtocolError(f"stream ended after {n - left} of {n} bytes")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_message(stream: BinaryIO) -> dict | None:
    """The next message, or None at a clean end of stream (before a header)."""
    head = stream.read(HEADER.size)
    if not head:
        return None
    if len(head) < HEADER.size:
        head += _read_exact(stream, HEADER.size - len(head))
    (n,) = HEADER.unpack(head)
    if n > MAX_FRAME:
        raise ProtocolError(f"frame length {n} is not plausible (corrupt stream?)")
    try:
        with np.load(io.BytesIO(_read_exact(stream, n)), allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    except ValueError as exc:
        raise ProtocolError(f"not an npz frame ({exc})") from exc


def text(message: dict, key: str) -> str:
    return str(message[key][()])


def frames_to_message(frames) -> dict:
    """A ``predict`` request for a list of ase.Atoms."""
    return {
        "op": "predict",
        "numbers": np.concatenate([a.numbers for a in frames]).astype(np.int64),
        "positions": np.concatenate([a.positions for a in frames]).astype(np.float64),
        "cells": np.stack([np.asarray(a.cell[:], dtype=np.float64) for a in frames]),
        "pbc": np.stack([np.asarray(a.pbc, dtype=bool) for a in frames]),
        "n_atoms": np.array([len(a) for a in frames], dtype=np.int64),
    }


def message_to_frames(message: dict) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """(numbers, positions, cell, pbc) per frame of a ``predict`` request."""
    ends = np.cumsum(message["n_atoms"])
    starts = ends - message["n_atoms"]
    return [
        (message["numbers"][a:b], message["positions"][a:b], message["cells"][i], message["pbc"][i])
        for i, (a, b) in enumerate(zip(starts, ends, strict=True))
    ]


def worker_streams() -> tuple[BinaryIO, BinaryIO]:
    """(requests in, replies out) for a worker. Call first thing: it moves file descriptor 1 to a
    private descriptor for the replies and points fd 1 / ``sys.stdout`` at stderr, so whatever
    the model's packages print cannot corrupt the reply stream."""
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return sys.stdin.buffer, os.fdopen(reply_fd, "wb")


def serve(handle_info, handle_predict, stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The worker's loop: answer requests until ``close`` or the end of stdin.

    handle_info() -> dict; handle_predict(frames) -> (energy (M,), forces (N, 3)).
    """
    while True:
        req = read_message(stdin)
        if req is None:
            return
        op = text(req, "op")
        try:
            if op == "close":
                write_message(stdout, {})
                return
            if op == "info":
                reply = handle_info()
            elif op == "predict":
                energy, forces = handle_predict(message_to_frames(req))
                reply = {"energy": np.asarray(energy, float), "forces": np.asarray(forces, float)}
            else:
                reply = {"error": f"unknown op {op!r}"}
        except Exception as exc:  # noqa: BLE001 - every failure becomes an answer, one line
            first = (str(exc).strip().splitlines() or [""])[0]
            reply = {"error": f"{type(exc).__name__}: {first}"[:500]}
        write_message(stdout, reply)
