"""Out-of-process model families: a :class:`ForceField` whose model runs in a worker process.

:class:`WorkerForceField` starts ``PYTHON SCRIPT ARGS...`` (PYTHON: the family's own
environment, e.g. .venv-sevennet/bin/python), asks it for its ModelInfo once, then sends each
``predict`` as one request of :mod:`baselines.worker_protocol` (frames concatenated, in batches
of ``batch_size``). The worker's stderr is ours (its warnings show up there; our stdout stays
clean). A worker that dies or garbles its reply raises :class:`WorkerError` naming the script and
its exit code; an error the worker reports (e.g. an element its model does not know) raises
ValueError with the worker's one line. The process is closed with the force field (or at exit).
"""

from __future__ import annotations

import json
import subprocess
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from ase import Atoms

from baselines.interface import ForceField, ModelInfo, ModelUnavailable, Prediction
from baselines.worker_protocol import (
    ProtocolError,
    frames_to_message,
    read_message,
    text,
    write_message,
)


class WorkerError(RuntimeError):
    """The worker process died or broke the protocol."""


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            write_message(proc.stdin, {"op": "close"})
            proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, ValueError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()


class WorkerForceField(ForceField):
    def __init__(
        self,
        python: str | Path,
        script: str | Path,
        args: Sequence[str] = (),
        spec: str = "",
        device: str = "cpu",
        env: dict | None = None,
    ):
        self.command = [str(python), str(script), *map(str, args)]
        self._lock = threading.Lock()
        try:
            self._proc = subprocess.Popen(
                self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
            )
        except OSError as exc:
            raise ModelUnavailable(
                f"{spec}: cannot start worker {self.command[:2]} ({exc})"
            ) from exc
        self._finalizer = weakref.finalize(self, _stop, self._proc)
        try:
            reply = self._ask({"op": "info"})
        except WorkerError as exc:
            self.close()
            raise ModelUnavailable(f"{spec}: {exc}") from exc
        extra = json.loads(text(reply, "extra_json")) if "extra_json" in reply else {}
        self.info = ModelInfo(
            name=text(reply, "name"),
            family=text(reply, "family"),
            spec=spec,
            n_params=int(reply["n_params"]),
            device=device,
            dtype=text(reply, "dtype"),
            level_of_theory=text(reply, "level_of_theory"),
            conservative=text(reply, "conservative") == "1",
            checkpoint=text(reply, "checkpoint") if "checkpoint" in reply else None,
            checkpoint_sha256=(
                text(reply, "checkpoint_sha256") if "checkpoint_sha256" in reply else None
            ),
            extra={**extra, "worker": " ".join(self.command)},
        )

    def _ask(self, message: dict) -> dict:
        with self._lock:
            try:
                write_message(self._proc.stdin, message)
                reply = read_message(self._proc.stdout)
            except (OSError, ProtocolError) as exc:
                reply, why = None, str(exc)
            else:
                why = "no reply"
            if reply is None:
                try:  # a worker that hung up is exiting: let it finish to read its code
                    code = self._proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    code = self._proc.wait()
                raise WorkerError(
                    f"worker {Path(self.command[1]).name} exited (code {code}) or broke the "
                    f"protocol ({why}); its messages are above on stderr"
                )
        if "error" in reply:
            raise ValueError(
                f"{self.info.spec if hasattr(self, 'info') else ''}: {text(reply, 'error')}"
            )
        return reply

    def predict(self, frames: Sequence[Atoms], batch_size: int | None = None) -> list[Prediction]:
        out: list[Prediction] = []
        step = batch_size or max(1, len(frames))
        for i in range(0, len(frames), step):
            chunk = list(frames[i : i + step])
            reply = self._ask(frames_to_message(chunk))
            energy, forces = reply["energy"], reply["forces"]
            n = [len(a) for a in chunk]
            if energy.shape != (len(chunk),) or forces.shape != (sum(n), 3):
                raise WorkerError(
                    f"worker replied energy {energy.shape} / forces {forces.shape} for "
                    f"{len(chunk)} frames of {sum(n)} atoms"
                )
            ends = np.cumsum(n)
            for k, (a, b) in enumerate(zip(ends - n, ends, strict=True)):
                out.append(Prediction(energy=float(energy[k]), forces=forces[a:b].copy()))
        return out

    def close(self) -> None:
        self._finalizer()
