"""SevenNet worker: run with .venv-sevennet/bin/python (scripts/setup_sevennet.sh builds it).

    python baselines/workers/sevennet_worker.py MODEL DEVICE

MODEL: a pretrained name whose checkpoint ships in the sevenn wheel (7net-0, 7net-0_22May2024,
7net-l3i5, 7net-mf-0 ...) or a checkpoint path; DEVICE: cpu | cuda. Speaks
:mod:`baselines.worker_protocol` on stdin/stdout; everything SevenNet prints goes to stderr.
Needs only numpy, ase, torch and sevenn from its own environment (nothing of adapt-bench's).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # for baselines.worker_protocol

from baselines.worker_protocol import serve, worker_streams  # noqa: E402

LEVEL_OF_THEORY = {  # of the training data of the wheel's checkpoints (SevenNet model cards)
    "7net-0": "PBE/PBE+U (MPtrj)",
    "7net-0_22may2024": "PBE/PBE+U (MPtrj)",
    "7net-l3i5": "PBE/PBE+U (MPtrj)",
}


def main(argv: list[str]) -> None:
    stdin, stdout = worker_streams()
    name = argv[0] if argv else "7net-0"
    device = argv[1] if len(argv) > 1 else "cpu"

    import numpy as np
    from ase import Atoms
    from sevenn.calculator import SevenNetCalculator
    from sevenn.util import pretrained_name_to_path

    path = Path(name) if Path(name).is_file() else None
    if path is None:
        try:
            path = Path(pretrained_name_to_path(name))
        except Exception as exc:  # noqa: BLE001
            raise SystemExit(f"sevennet worker: unknown model {name!r} ({exc})") from exc
        if not path.is_file():
            raise SystemExit(
                f"sevennet worker: {name} is not shipped in the sevenn wheel ({path} missing; "
                "it would need a download)"
            )
    calc = SevenNetCalculator(model=str(path), device=device)
    n_params = sum(p.numel() for p in calc.model.parameters())
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    dtype = str(next(calc.model.parameters()).dtype).replace("torch.", "")

    def info():
        import sevenn

        return {
            "name": f"SevenNet {name}",
            "family": "sevennet",
            "level_of_theory": LEVEL_OF_THEORY.get(name.lower(), "unknown (SevenNet checkpoint)"),
            "dtype": dtype,
            "conservative": "1",
            "n_params": np.int64(n_params),
            "checkpoint": str(path),
            "checkpoint_sha256": sha,
            "extra_json": json.dumps(
                {"cutoff": float(calc.cutoff), "sevenn": sevenn.__version__, "device": device,
                 "elements": sorted(int(z) for z in calc.type_map)}
            ),
        }  # fmt: skip

    def predict(frames):
        energies, forces = [], []
        for numbers, positions, cell, pbc in frames:
            atoms = Atoms(numbers=numbers, positions=positions, cell=cell, pbc=pbc)
            atoms.calc = calc
            energies.append(atoms.get_potential_energy())
            forces.append(atoms.get_forces())
        return np.array(energies), np.concatenate(forces) if forces else np.zeros((0, 3))

    serve(info, predict, stdin, stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
