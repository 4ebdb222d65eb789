"""Tiny, seeded, randomly initialised baseline models saved in their own formats (no downloads).

Tests and timing demos load these through the registry exactly as they would load a real model:
``mace:PATH.model`` and ``mattersim:PATH.pth``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# Elements the tiny models know: the Si host, the usual group-IV partners and a few dopants.
TINY_ELEMENTS = (1, 5, 6, 7, 8, 14, 15, 32)


def tiny_mace_model(
    path: str | Path,
    *,
    seed: int = 0,
    dtype: str = "float64",
    channels: int = 8,
    max_L: int = 1,
    correlation: int = 2,
    max_ell: int = 2,
    radial_MLP: tuple[int, ...] = (16, 16),
    num_interactions: int = 2,
    r_max: float = 5.0,
    atomic_numbers: tuple[int, ...] = TINY_ELEMENTS,
    energy_scale: float = 300.0,
) -> Path:
    """A randomly initialised ScaleShiftMACE saved as a MACE ``.model`` file; returns its path.

    Built with the same defaults as ``mace_run_train`` (residual interaction blocks, silu gate,
    8 Bessel functions). E0s are -4.0 eV per element and the interaction energy is scaled by
    ``energy_scale`` so that forces on a rattled Si cell are ~0.1-1 eV/Å, as for a trained model
    (unscaled random weights give ~1e-3 eV/Å, too small for finite-difference checks to mean much).
    """
    import mace  # noqa: F401  (must precede e3nn under torch 2.13, see docs/dependencies.md)
    import torch
    from e3nn import o3
    from mace import modules

    torch.manual_seed(seed)
    torch_dtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch_dtype)
    try:
        hidden = "+".join(
            f"{channels}x{ell}{'e' if ell % 2 == 0 else 'o'}" for ell in range(max_L + 1)
        )
        model = modules.ScaleShiftMACE(
            r_max=r_max,
            num_bessel=8,
            num_polynomial_cutoff=5,
            max_ell=max_ell,
            interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
            interaction_cls_first=modules.interaction_classes["RealAgnosticInteractionBlock"],
            num_interactions=num_interactions,
            num_elements=len(atomic_numbers),
            hidden_irreps=o3.Irreps(hidden),
            MLP_irreps=o3.Irreps("16x0e"),
            atomic_energies=np.full(len(atomic_numbers), -4.0),
            avg_num_neighbors=8.0,
            atomic_numbers=list(atomic_numbers),
            correlation=correlation,
            gate=torch.nn.functional.silu,
            radial_MLP=list(radial_MLP),
            atomic_inter_scale=energy_scale,
            atomic_inter_shift=0.0,
        )
    finally:
        torch.set_default_dtype(previous)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model, path)
    return path


# MatterSim architectures: "1M" is the default M3Gnet (4 blocks, 128 units, ~1.16M parameters, the
# size of mattersim-v1.0.0-1M); "tiny" is for fast tests.
MATTERSIM_SIZES = {
    "tiny": dict(num_blocks=2, units=16, max_l=2, max_n=2),
    "1M": dict(num_blocks=4, units=128, max_l=4, max_n=4),
}


def tiny_mattersim_checkpoint(
    path: str | Path, *, seed: int = 0, size: str = "tiny", energy_scale: float | None = 2000.0
) -> Path:
    """A randomly initialised M3Gnet wrapped in mattersim's Potential, saved by ``Potential.save``.

    Random per-atom energies are ~0.1 eV and nearly independent of positions (forces ~1e-4
    eV/Å). With ``energy_scale`` the per-species normaliser is calibrated on Si cells (each
    element's mean random energy is removed, the rest scaled by ``energy_scale``, -4 eV/atom
    added), so forces on a rattled Si cell are ~0.1-1 eV/Å and energies stay small enough for
    float32 finite differences. ``energy_scale=None`` keeps mattersim's identity normaliser.
    """
    import torch
    from ase.build import bulk
    from mattersim.datasets.utils.build import build_dataloader
    from mattersim.forcefield.m3gnet.m3gnet import M3Gnet
    from mattersim.forcefield.potential import Potential

    torch.manual_seed(seed)
    model = M3Gnet(device="cpu", **MATTERSIM_SIZES[size])
    potential = Potential(model, device="cpu")
    if energy_scale is not None:
        host = bulk("Si", "diamond", a=5.431, cubic=True)
        cells = [host]
        for z in TINY_ELEMENTS:
            cell = host.copy()
            cell.numbers[0] = z
            cells.append(cell)
        loader = build_dataloader(cells, batch_size=len(cells), only_inference=True)
        energies, _, _ = potential.predict_properties(loader)
        e_si = energies[0] / len(host)
        norm = model.normalizer
        norm.shift.fill_(-energy_scale * e_si - 4.0)
        for z, e in zip(TINY_ELEMENTS, energies[1:], strict=True):
            norm.shift[z] = -energy_scale * (e - (len(host) - 1) * e_si) - 4.0
        norm.scale.fill_(energy_scale)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    potential.save(str(path))
    return path


def tiny_adapt_forcefield(seed: int = 0, energy: bool = True):
    """Random tiny force (+ energy) ADAPT with sane normalisation; cells of Si cells of 8, 64, 216 atoms 'seen'."""
    from adapt.testing import tiny_checkpoint
    from baselines.adapt import ADAPTForceField

    force = tiny_checkpoint("force", seed)
    en = tiny_checkpoint("energy", seed + 1) if energy else None
    return ADAPTForceField(force, en, spec="adapt:<tiny random>", device="cpu")
