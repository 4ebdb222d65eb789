"""A tiny worker for the protocol tests: zero forces, energy -1 eV per atom; Og (Z 118) is an
error it reports; MODE "die" exits on the first predict, "garble" answers junk, "chatty" prints
to stdout (which must not reach the reply stream)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from baselines.worker_protocol import serve, worker_streams  # noqa: E402


def main(mode: str) -> None:
    stdin, stdout = worker_streams()

    def info():
        return {"name": "fake", "family": "fake", "level_of_theory": "none", "dtype": "float64",
                "conservative": "1", "n_params": np.int64(0), "extra_json": json.dumps({"mode": mode})}  # fmt: skip

    def predict(frames):
        if mode == "die":
            sys.exit(3)
        if mode == "garble":
            stdout.write(b"\xff" * 8 + b"junk")
            stdout.flush()
            sys.exit(0)
        print("chatter on stdout")  # goes to stderr
        numbers = np.concatenate([f[0] for f in frames])
        if 118 in numbers:
            raise KeyError("Og: element not in this model")
        return np.array([-1.0 * len(f[0]) for f in frames]), np.zeros((len(numbers), 3))

    serve(info, predict, stdin, stdout)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "ok")
