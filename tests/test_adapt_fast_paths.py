"""ADAPT's fast paths give the reference path's outputs, and the FLOP counts agree.

Fast paths: no SDPA mask when nothing is padded (the unmasked fused kernel), padded and
length-bucketed batches, torch.compile. References: the explicit boolean mask, each structure
alone. FLOPs: the closed form of adapt/flops.py against FlopCounterMode (with CPU SDPA added).
"""

import numpy as np
import pytest
import torch

from adapt.batching import make_batches, pad
from adapt.config import ForceModelConfig
from adapt.flops import counted_flops, force_forward_flops
from adapt.force_model import ADAPTForceModel, attention_mask, sdpa_mask

CFG = ForceModelConfig(d_model=32, d_ff=64, n_layers=2, n_heads=4, dropout=0.0, embed_hidden=(32,))


def _model(cfg=CFG, seed=0) -> ADAPTForceModel:
    torch.manual_seed(seed)
    return ADAPTForceModel(cfg).eval()


def _reference(model: ADAPTForceModel, tokens, valid) -> torch.Tensor:
    """The model's forward with the explicit boolean mask (the path before the fast path)."""
    mask = attention_mask(tokens[..., :3], valid, model.cfg.attention_radius)
    h = model.encoder(model.norm(tokens, valid), mask)
    return model.w_out(h) * model.force_scale * valid[..., None].to(h.dtype)


def _tokens(sizes, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, 12)).astype(np.float32) for n in sizes]


def test_sdpa_mask_is_none_only_without_padding_and_radius():
    pos = torch.randn(2, 5, 3)
    full = torch.ones(2, 5, dtype=torch.bool)
    padded = full.clone()
    padded[1, 3:] = False
    assert sdpa_mask(pos, full) is None
    assert torch.equal(sdpa_mask(pos, padded), attention_mask(pos, padded))
    assert torch.equal(sdpa_mask(pos, full, 2.0), attention_mask(pos, full, 2.0))


def test_unmasked_fast_path_equals_the_masked_reference():
    model = _model()
    tokens, valid = pad(_tokens([7, 7, 7]))
    with torch.inference_mode():
        fast, ref = model(tokens, valid), _reference(model, tokens, valid)
    assert torch.allclose(fast, ref, atol=1e-6)
    # and the comparison can fail: a different model is far off
    with torch.inference_mode():
        other = _model(seed=1)(tokens, valid)
    assert not torch.allclose(other, ref, atol=1e-3)


@pytest.mark.parametrize("radius", [None, 1.5])
def test_bucketed_padded_batches_equal_one_structure_at_a_time(radius):
    cfg = ForceModelConfig(**{**CFG.__dict__, "attention_radius": radius})
    model = _model(cfg)
    toks = _tokens([3, 9, 4, 9, 6, 2])
    with torch.inference_mode():
        alone = [model(*pad([t]))[0] for t in toks]
        for idx in make_batches([len(t) for t in toks], batch_size=3, bucket=True):
            tokens, valid = pad([toks[i] for i in idx])
            out = model(tokens, valid)
            for b, i in enumerate(idx):
                n = len(toks[i])
                assert torch.allclose(out[b, :n], alone[i], atol=1e-5)
                assert torch.all(out[b, n:] == 0)


@pytest.mark.parametrize("radius", [None, 1.5])
def test_closed_form_flops_equal_flop_counter(radius):
    cfg = ForceModelConfig(**{**CFG.__dict__, "attention_radius": radius})
    model = _model(cfg)
    tokens, valid = pad(_tokens([11, 11]))
    with torch.inference_mode():
        counted, _ = counted_flops(lambda: model(tokens, valid))
    assert counted == 2 * force_forward_flops(cfg, 11)


def test_flop_counter_includes_the_cpu_attention_kernel():
    from torch.utils.flop_counter import FlopCounterMode

    model = _model()
    tokens, valid = pad(_tokens([16]))
    with torch.inference_mode(), FlopCounterMode(display=False) as plain:
        model(tokens, valid)
    ours, _ = counted_flops(lambda: model(tokens, valid))
    attention = CFG.n_layers * 4 * 16 * 16 * CFG.d_model
    assert ours - plain.get_total_flops() == attention


def test_training_step_counts_backward():
    model = _model()
    model.train()
    tokens, valid = pad(_tokens([10, 10]))
    flops, _ = counted_flops(lambda: model(tokens, valid).square().mean().backward())
    fwd = 2 * force_forward_flops(CFG, 10)
    assert 2.5 * fwd < flops < 3.5 * fwd
