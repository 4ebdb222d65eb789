"""ADAPT+ exact symmetries, periodic images, padding, dense = sparse pairs (float64, random weights)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from ase.neighborlist import neighbor_list
from scipy.spatial.transform import Rotation

from adapt.plus.calculator import predict
from adapt.plus.data import collate, to_item
from adapt.plus.geometry import build_pairs
from adapt.plus.spherical import l_index, real_sph_harm
from adapt.plus.testing import random_model, si_structure
from adapt.tokens import default_table

TOL = dict(rtol=1e-5, atol=1e-5)  # eV, eV/Å (float64)
MODES = ("direct", "conservative")


def _run(model, structures):
    return predict(model, default_table(), structures)


def test_spherical_harmonics_addition_theorem():
    rng = np.random.default_rng(0)
    u, v = (torch.tensor(rng.normal(size=(50, 3))) for _ in range(2))
    u, v = u / u.norm(dim=1, keepdim=True), v / v.norm(dim=1, keepdim=True)
    yu, yv = real_sph_harm(u, 3), real_sph_harm(v, 3)
    li = l_index(3)
    c = (u * v).sum(1)
    legendre = [torch.ones_like(c), c, (3 * c**2 - 1) / 2, (5 * c**3 - 3 * c) / 2]
    for ell in range(4):
        got = (yu[:, li == ell] * yv[:, li == ell]).sum(1)
        torch.testing.assert_close(got, (2 * ell + 1) / (4 * math.pi) * legendre[ell])


@pytest.mark.parametrize("kind", ["primitive", "triclinic", "cubic"])
def test_pairs_match_ase_neighbor_list(kind):
    atoms = si_structure(kind)
    b = collate([to_item(atoms, default_table(), labels=False)], dtype=torch.float64)
    pairs = build_pairs(b["pos"], b["cell"], b["pbc"], b["valid"], cutoff=4.5)
    i, d = neighbor_list("id", atoms, 4.5)
    assert len(pairs.dist) == len(d)
    np.testing.assert_allclose(np.sort(pairs.dist.numpy()), np.sort(d), atol=1e-10)
    np.testing.assert_array_equal(
        np.bincount(pairs.i.numpy(), minlength=len(atoms)), np.bincount(i, minlength=len(atoms))
    )


@pytest.mark.parametrize("mode", MODES)
def test_dense_pairs_give_the_same_output(mode):
    structures = [si_structure("cubic", seed=1), si_structure("primitive", seed=2)]
    sparse = _run(random_model(mode), structures)
    dense = _run(random_model(mode, dense_pairs=True), structures)
    for s, d in zip(sparse, dense, strict=True):
        np.testing.assert_allclose(s["energy"], d["energy"], **TOL)
        np.testing.assert_allclose(s["forces"], d["forces"], **TOL)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["cubic", "triclinic"])
def test_rotation_rotates_forces_and_keeps_energy(mode, kind):
    atoms = si_structure(kind, seed=3)
    rot = Rotation.random(random_state=4).as_matrix()
    turned = atoms.copy()
    turned.set_cell(atoms.cell[:] @ rot.T, scale_atoms=False)
    turned.positions = atoms.positions @ rot.T
    a, b = _run(random_model(mode), [atoms, turned])
    np.testing.assert_allclose(a["energy"], b["energy"], **TOL)
    np.testing.assert_allclose(a["forces"] @ rot.T, b["forces"], **TOL)
    assert np.abs(a["forces"]).max() > 1e-3  # forces are not trivially zero


@pytest.mark.parametrize("mode", MODES)
def test_translation_and_wrapping(mode):
    atoms = si_structure("triclinic", seed=5)
    moved = atoms.copy()
    moved.positions += np.array([1.3, -2.2, 0.7])
    wrapped = moved.copy()
    wrapped.wrap()
    outside = atoms.copy()
    outside.positions[0] += atoms.cell[0] - 2 * atoms.cell[2]  # a lattice vector away
    ref, *others = _run(random_model(mode), [atoms, moved, wrapped, outside])
    for o in others:
        np.testing.assert_allclose(ref["energy"], o["energy"], **TOL)
        np.testing.assert_allclose(ref["forces"], o["forces"], **TOL)


@pytest.mark.parametrize("mode", MODES)
def test_permutation(mode):
    atoms = si_structure("cubic", seed=6)
    perm = np.random.default_rng(0).permutation(len(atoms))
    a, b = _run(random_model(mode), [atoms, atoms[perm]])
    np.testing.assert_allclose(a["energy"], b["energy"], **TOL)
    np.testing.assert_allclose(a["forces"][perm], b["forces"], **TOL)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("kind", ["primitive", "cubic"])
def test_supercell_is_consistent(mode, kind):
    atoms = si_structure(kind, seed=7)
    big = atoms.repeat((2, 2, 2))
    a, b = _run(random_model(mode), [atoms, big])
    np.testing.assert_allclose(8 * a["energy"], b["energy"], **TOL)
    np.testing.assert_allclose(np.tile(a["forces"], (8, 1)), b["forces"], **TOL)
    np.testing.assert_allclose(np.tile(a["energies"], 8), b["energies"], **TOL)


def test_direct_forces_sum_to_zero():
    f = _run(random_model("direct"), [si_structure("cubic", seed=8)])[0]["forces"]
    np.testing.assert_allclose(f.sum(0), 0.0, atol=1e-10)


@pytest.mark.parametrize("kind", ["primitive", "triclinic"])
def test_two_atom_cell_conservative_forces_match_finite_differences(kind):
    atoms = si_structure(kind, seed=9, rattle=0.3)
    model, h = random_model("conservative"), 1e-4
    forces = _run(model, [atoms])[0]["forces"]
    numeric = np.zeros_like(forces)
    for i in range(len(atoms)):
        for x in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[i, x] += h
            minus.positions[i, x] -= h
            ep, em = (r["energy"] for r in _run(model, [plus, minus]))
            numeric[i, x] = -(ep - em) / (2 * h)
    np.testing.assert_allclose(forces, numeric, rtol=1e-6, atol=1e-8)
    assert np.abs(forces).max() > 1e-4


@pytest.mark.parametrize("mode", MODES)
def test_padding_invariance(mode):
    structures = [
        si_structure("cubic", seed=10),
        si_structure("primitive", seed=11),
        si_structure("triclinic", seed=12),
        si_structure("cubic", seed=13)[:-2],
    ]
    model = random_model(mode)
    batched = predict(model, default_table(), structures, max_batch_atoms=10_000)
    for s, b in zip(structures, batched, strict=True):
        one = predict(model, default_table(), [s])[0]
        np.testing.assert_allclose(one["energy"], b["energy"], **TOL)
        np.testing.assert_allclose(one["forces"], b["forces"], **TOL)


def test_no_angular_and_no_local_heads_still_run():
    atoms = si_structure("cubic")
    for kw in ({"l_max": 0}, {"l_max": -1, "bond_order": False}, {"local_heads": 0}):
        out = _run(random_model("direct", **kw), [atoms])[0]
        assert np.isfinite(out["energy"]) and np.isfinite(out["forces"]).all()


def test_conservative_training_step_without_local_heads():
    """The force loss needs a double backward through attention; with no pair bias (the fused
    CPU attention kernel would be chosen) it must still run and reach every trunk weight."""
    model = random_model("conservative", local_heads=0).train()
    batch = collate([to_item(si_structure("cubic"), default_table())], dtype=torch.float64)
    out = model(batch["species"], batch["pos"], batch["cell"], batch["pbc"], batch["valid"])
    out["forces"].square().sum().backward()
    assert model.layers[0].qkv.weight.grad.abs().sum() > 0


def test_molecule_without_cell():
    atoms = si_structure("cubic")
    atoms.pbc = False
    atoms.cell = np.zeros((3, 3))
    moved = atoms.copy()
    moved.positions += 3.0
    a, b = _run(random_model("conservative"), [atoms, moved])
    np.testing.assert_allclose(a["forces"], b["forces"], **TOL)


def test_bond_messages_match_the_explicit_projection():
    """The per-atom shortcut W z_ij = Σ_lm Y_lm(r̂_ij) (W_l A_i,lm), evaluated per centre in the
    slot layout and gathered back to pairs, equals building the bond invariants
    z_ij,lc = Σ_m Y_lm(r̂_ij) A_i,lm,c pair by pair first (two structures, padded)."""
    model = random_model("direct")
    layer = model.layers[0]
    batch = collate(
        [
            to_item(si_structure("cubic"), default_table()),
            to_item(si_structure("primitive"), default_table()),
        ],
        dtype=torch.float64,
    )
    B, N = batch["species"].shape
    cfg = layer.cfg
    pairs = build_pairs(batch["pos"], batch["cell"], batch["pbc"], batch["valid"], cfg.cutoff)
    rbf = torch.rand(len(pairs.dist), cfg.n_rbf, dtype=torch.float64)
    env = torch.rand(len(pairs.dist), dtype=torch.float64)
    nb = model.pair_terms(pairs, rbf, env, B * N)
    g = torch.Generator().manual_seed(0)
    A = torch.randn(B * N, 16, cfg.n_channels, generator=g, dtype=torch.float64)
    x = torch.randn(B, N, cfg.d_model, generator=g, dtype=torch.float64)
    prod = nb["ylm"][..., None] * A[pairs.centre]  # (P, LM, C)
    z = prod.new_zeros(len(prod), 4, cfg.n_channels).index_add(1, l_index(3), prod)
    u = torch.nn.functional.silu(
        layer.bond_z(z.flatten(1))
        + layer.bond_r(rbf)
        + layer.bond_j(x).flatten(0, 1)[pairs.neighbour]
    )
    m = torch.zeros(B * N, u.shape[1], dtype=torch.float64).index_add(
        0, pairs.centre, u * env[:, None]
    )
    want = layer.bond_out(m / cfg.avg_neighbors).view(B, N, -1)
    torch.testing.assert_close(layer.bond(x, A, nb), want)


def test_mixed_power_at_the_identity_is_the_diagonal_power_spectrum():
    atoms = si_structure("triclinic", seed=11)
    mixed = random_model("conservative", mixed_power=True)
    diagonal = random_model("conservative", mixed_power=False)
    state = {k: v for k, v in mixed.state_dict().items() if "power_mix" not in k}
    diagonal.load_state_dict(state)
    a, b = _run(mixed, [atoms]), _run(diagonal, [atoms])
    assert abs(a[0]["energy"] - b[0]["energy"]) > 1e-3  # random W_l: another model
    with torch.no_grad():
        for layer in mixed.layers:
            layer.power_mix.copy_(torch.eye(layer.power_mix.shape[-1]))
    a = _run(mixed, [atoms])
    np.testing.assert_allclose(a[0]["energy"], b[0]["energy"], rtol=1e-12)
    np.testing.assert_allclose(a[0]["forces"], b[0]["forces"], rtol=1e-10, atol=1e-12)


def test_dropout_acts_in_training_only():
    model = random_model("direct", dropout=0.5)
    atoms = si_structure("cubic")
    a, b = _run(model, [atoms, atoms])
    np.testing.assert_allclose(a["forces"], b["forces"], **TOL)  # eval: deterministic
    model.train()
    batch = collate([to_item(atoms, default_table())] * 2, dtype=torch.float64)
    out = model(batch["species"], batch["pos"], batch["cell"], batch["pbc"], batch["valid"])
    assert not torch.allclose(out["forces"][0], out["forces"][1])


def _energy_across_the_cutoff(model) -> float:
    """|E(r_c - 1e-3 Å) - E(r_c + 1e-3 Å)| (eV) as a third atom's distance to the first crosses
    the cutoff, with the q/k/v weights scaled up 30x (content logits spread by hundreds)."""
    with torch.no_grad():
        for layer in model.layers:
            layer.qkv.weight.mul_(30.0)
    rc = model.cfg.cutoff
    energies = []
    for r in (rc - 1e-3, rc + 1e-3):
        atoms = si_structure("cubic")[:3]
        atoms.symbols = "SiCGe"  # a new element: its key differs from the others'
        atoms.pbc, atoms.cell = False, np.zeros((3, 3))
        atoms.positions = [[0.0, 0.0, 0.0], [2.35, 0.0, 0.0], [0.0, r, 0.0]]
        energies.append(_run(model, [atoms])[0]["energy"])
    return abs(energies[0] - energies[1])


def test_cosine_attention_keeps_the_energy_continuous_at_the_cutoff():
    """A neighbour 1e-3 Å inside the cutoff has an envelope ~1e-7; with unbounded logits its
    e^(logit) can still take a head's whole weight (an energy step), with τ q̂·k̂ it cannot."""
    bounded = _energy_across_the_cutoff(random_model("conservative", attn_temperature=2.0))
    unbounded = _energy_across_the_cutoff(random_model("conservative", attn_temperature=None))
    assert bounded < 1e-5
    assert unbounded > 0.1
