"""ADAPT networks: Eq. 7 attention, padding invariance, permutation equivariance, size limits."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from adapt.batching import make_batches, pad, unpad
from adapt.config import energy_preset, force_preset
from adapt.energy_models import OversizeStructureError, build_energy_model
from adapt.force_model import ADAPTForceModel, MultiHeadAttention, allowed_fraction, attention_mask
from adapt.testing import torch_threads
from adapt.tokens import tokenize
from benchmarks.testing import si_cell


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    with torch_threads(1):
        yield


ATOL = 1e-5  # float32 results that differ only in reduction length / order


def _tokens(k=1, seed=0, jitter=0.1):
    atoms = si_cell(k)
    atoms.positions += np.random.default_rng(seed).normal(scale=jitter, size=atoms.positions.shape)
    return torch.as_tensor(tokenize(atoms))


def _force_model(**over):
    torch.manual_seed(0)
    m = ADAPTForceModel(replace(force_preset("tiny"), **over))
    m.norm.set_stats(torch.full((12,), 1.0), torch.full((12,), 3.0))
    return m.eval()


def test_pad_and_unpad():
    a, b = np.ones((3, 12)), 2 * np.ones((5, 12))
    x, valid = pad([a, b])
    assert x.shape == (2, 5, 12) and valid.tolist() == [[1, 1, 1, 0, 0], [1] * 5]
    assert torch.all(x[0, 3:] == 0)
    assert [t.shape[0] for t in unpad(x, valid)] == [3, 5]
    with pytest.raises(ValueError, match="more than the padded length"):
        pad([b], pad_to=4)
    batches = make_batches([5, 3, 5, 3], 2, np.random.default_rng(0))
    assert sorted(np.concatenate(batches).tolist()) == [0, 1, 2, 3]
    assert all(len({[5, 3, 5, 3][i] for i in b}) == 1 for b in batches)  # bucketed by size


def test_attention_is_eq7_to_eq9():
    torch.manual_seed(0)
    att = MultiHeadAttention(8, 2)
    x = torch.randn(1, 5, 8)
    valid = torch.tensor([[True, True, True, False, False]])
    out = att(x, x, valid[:, None, None, :])
    q, k, v = att.w_q(x), att.w_k(x), att.w_v(x)
    heads = []
    for h in range(2):
        s = slice(4 * h, 4 * h + 4)
        logits = q[0, :, s] @ k[0, :, s].T / math.sqrt(4)
        logits[:, ~valid[0]] = -math.inf
        heads.append(torch.softmax(logits, -1) @ v[0, :, s])
    ref = att.w_o(torch.cat(heads, -1))
    torch.testing.assert_close(out[0], ref, atol=ATOL, rtol=0)


@pytest.mark.parametrize("radius", [None, 3.0])
def test_force_padding_invariance(radius):
    model = _force_model(attention_radius=radius)
    t1, t2 = _tokens(1, 0), _tokens(1, 1)[:6]
    x, valid = pad([t1])
    with torch.no_grad():
        alone = model(x, valid)[0]
        # the same structure in a batch with a longer one, plus junk written into its padding rows
        xb, vb = pad([t1, torch.cat([t2, t2])], pad_to=20)
        xb[0, 8:] = torch.randn(12, 12) * 100
        both = model(xb, vb)
    torch.testing.assert_close(both[0, :8], alone, atol=ATOL, rtol=0)
    assert torch.all(both[0, 8:] == 0) and torch.isfinite(both).all()


def test_force_permutation_equivariance():
    model = _force_model()
    t = _tokens(2, 3)
    perm = torch.randperm(len(t), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        f = model(*pad([t]))[0]
        fp = model(*pad([t[perm]]))[0]
    torch.testing.assert_close(fp, f[perm], atol=ATOL, rtol=0)


def test_radius_mask_never_empties_a_row():
    t = _tokens(1, 0)
    t[:, :3] += 50.0  # padding rows (at the origin) see no real atom within the radius
    t[3, :3] += 50.0  # nor does this atom
    x, valid = pad([t, t[:4]])
    mask = attention_mask(x[..., :3], valid, 2.0)[:, 0]
    assert mask.any(-1).all()
    assert not mask[1, :4, 4:].any()  # real atoms never see padding
    out = _force_model(attention_radius=2.0)(x, valid)
    assert torch.isfinite(out).all()
    assert 0 < allowed_fraction(x[..., :3], valid, 2.0) < 1
    assert allowed_fraction(x[..., :3], valid, None) == 1.0


@pytest.mark.parametrize("arch", ["mlp_residual", "mlp", "decoder"])
def test_energy_models_padding_invariance_and_oversize(arch):
    torch.manual_seed(0)
    cfg = replace(energy_preset("tiny"), arch=arch, max_atoms=70)
    model = build_energy_model(cfg).eval()
    t1, t2 = _tokens(1, 0), _tokens(2, 0)
    with torch.no_grad():
        e1 = model(*pad([t1]))
        xb, vb = pad([t1, t2])  # t1 padded to 64 rows here
        xb[0, 8:] = 7.0  # junk in padding rows
        eb = model(xb, vb)
    assert eb.shape == (2,)
    torch.testing.assert_close(eb[0], e1[0], atol=1e-4, rtol=0)
    big = torch.cat([t2, t2[:7]])  # 71 atoms > 70
    with pytest.raises(OversizeStructureError, match="71 atoms.*max_atoms=70"):
        model(*pad([big]))


def test_energy_model_is_a_padded_total():
    torch.manual_seed(0)
    model = build_energy_model(energy_preset("tiny")).eval()
    model.e0.fill_(-5.0)
    model.e_scale.fill_(2.0)
    x, valid = pad([_tokens(1)])
    with torch.no_grad():
        y = model.forward_standardised(x, valid)
        e = model(x, valid)
    torch.testing.assert_close(e, y.double() * 2.0 + 8 * -5.0)


def test_augmentation_rotates_positions_and_forces_together():
    from adapt.samples import augment

    torch.manual_seed(0)
    x, valid = pad([_tokens(1), _tokens(1, 1)[:5]])
    f, _ = pad([torch.randn(8, 3), torch.randn(5, 3)])
    x2, f2 = augment(x, f, valid, translate=1.0)
    for b, n in enumerate((8, 5)):
        r, r2 = x[b, :n, :3], x2[b, :n, :3]
        torch.testing.assert_close(torch.cdist(r2, r2), torch.cdist(r, r), atol=1e-4, rtol=0)
        # same rotation on both: f_i . (r_i - r_0) is invariant under a rotation + shift
        dots = ((r - r[0]) * f[b, :n]).sum(-1)
        dots2 = ((r2 - r2[0]) * f2[b, :n]).sum(-1)
        torch.testing.assert_close(dots2, dots, atol=1e-4, rtol=0)
    assert torch.equal(x2[..., 3:], x[..., 3:]) and torch.all(x2[1, 5:] == 0)
    assert not torch.allclose(x2[..., :3], x[..., :3])
