"""Training samples: dataset frames -> tokens, forces, loss weights; normalisation; augmentation.

A :class:`Sample` is one labelled frame as the trainer sees it. :func:`normalisation` computes
the statistics saved with a model (from the train split only); :func:`augment` is the optional
random rotation + translation (forces rotated with the positions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from adapt.batching import pad
from adapt.tokens import DESCRIPTORS, ElementTable, tokenize
from adapt.weights import importance_weights


@dataclass
class Sample:
    tokens: np.ndarray  # (n, 12) float32
    forces: np.ndarray  # (n, 3) float32, eV/Å
    weights: np.ndarray  # (n,) float32, loss weights
    energy: float  # eV
    cell: np.ndarray  # (3, 3) Å


def load_split(
    ds, split: str, table: ElementTable, tcfg, max_atoms: int | None = None
) -> list[Sample]:
    """Every frame of a split as Samples.

    ``ds`` is any dataset object with ``records(split)`` (records with ``.id``), ``read(record)``
    -> list of labelled ASE Atoms, and ``defect_of(record, first_frame)`` -> an object whose
    ``positions(atoms)`` gives the (k, 3) Å defect positions in a frame (adapt-bench's
    ``benchmarks.data.dataset.Dataset``: the manifest's sites, else its defect detector).
    """
    from adapt.energy_models import OversizeStructureError

    out = []
    for rec in ds.records(split):
        frames = ds.read(rec)
        defect = ds.defect_of(rec, frames[0]) if tcfg.loss != "mse" else None
        for atoms in frames:
            if max_atoms is not None and len(atoms) > max_atoms:
                raise OversizeStructureError(
                    f"trajectory {rec.id}: {len(atoms)} atoms > max_atoms={max_atoms}; "
                    "train with a larger --max-atoms"
                )
            sites = defect.positions(atoms) if defect is not None else None
            w = importance_weights(atoms, sites, tcfg.loss, tcfg.lambda1, tcfg.lambda2)
            out.append(
                Sample(
                    tokenize(atoms, table),
                    np.asarray(atoms.get_forces(), dtype=np.float32),
                    w.astype(np.float32),
                    float(atoms.get_potential_energy()),
                    np.asarray(atoms.cell[:], dtype=float),
                )
            )
    return out


def normalisation(samples: list[Sample], table: ElementTable) -> dict:
    """Token mean/std (12,), force RMS and energy reference from the training samples.

    A (nearly) constant feature would divide a rare element's value by ~0, so each std is
    floored: 1 Å for positions, 10% of that descriptor's spread over the element table.
    """
    toks = np.concatenate([s.tokens for s in samples]).astype(np.float64)
    mean, std = toks.mean(0), toks.std(0)
    _, mat = table.matrix()
    floor = np.concatenate([[1.0, 1.0, 1.0], 0.1 * mat.std(0)])
    std = np.maximum(std, floor)
    f = np.concatenate([s.forces.ravel() for s in samples])
    force_rms = float(np.sqrt(np.mean(f.astype(np.float64) ** 2))) if len(f) else 1.0
    n = np.array([len(s.tokens) for s in samples], dtype=float)
    e = np.array([s.energy for s in samples])
    e0 = float(np.mean(e / n))
    e_scale = float(np.std(e - n * e0))
    return {
        "features": ["x", "y", "z", *DESCRIPTORS],
        "token_mean": mean.tolist(),
        "token_std": std.tolist(),
        "force_scale": force_rms if force_rms > 1e-6 else 1.0,
        "e0": e0,
        "e_scale": e_scale if e_scale > 1e-6 else 1.0,
    }


def set_normalisation(model, kind: str, stats: dict) -> None:
    model.norm.set_stats(stats["token_mean"], stats["token_std"])
    with torch.no_grad():
        if kind == "force":
            model.force_scale.fill_(stats["force_scale"])
        else:
            model.e0.fill_(stats["e0"])
            model.e_scale.fill_(stats["e_scale"])


def random_rotations(n: int, generator=None) -> torch.Tensor:
    """(n, 3, 3) uniformly random proper rotations (QR of Gaussian matrices, sign-fixed)."""
    q, r = torch.linalg.qr(torch.randn(n, 3, 3, generator=generator, dtype=torch.float64))
    q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))[:, None, :]
    q[torch.linalg.det(q) < 0, :, 0] *= -1
    return q.float()


def augment(tokens, forces, valid, translate: float):
    """Rotate each structure about its centroid (forces too) and shift it by U(-t, t)^3 Å."""
    B = tokens.shape[0]
    rot = random_rotations(B).to(tokens.device)  # (B, 3, 3)
    m = valid[..., None].to(tokens.dtype)
    centre = (tokens[..., :3] * m).sum(1, keepdim=True) / m.sum(1, keepdim=True)  # (B, 1, 3)
    shift = (torch.rand(B, 1, 3, device=tokens.device) * 2 - 1) * translate
    tokens = tokens.clone()
    tokens[..., :3] = ((tokens[..., :3] - centre) @ rot.transpose(1, 2) + centre + shift) * m
    return tokens, forces @ rot.transpose(1, 2)


def batch_tensors(samples: list[Sample], idx, device, pad_to=None):
    tokens, valid = pad([samples[i].tokens for i in idx], pad_to)
    forces, _ = pad([samples[i].forces for i in idx], pad_to)
    weights, _ = pad([samples[i].weights for i in idx], pad_to)
    energy = torch.tensor([samples[i].energy for i in idx], dtype=torch.float64)
    return (
        tokens.to(device),
        valid.to(device),
        forces.to(device),
        weights.to(device),
        energy.to(device),
    )
