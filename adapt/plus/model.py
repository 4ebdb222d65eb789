"""The ADAPT+ network: element tokens, all-to-all attention with periodic pair biases, an angular
density term in every layer, a size-extensive energy, and direct or conservative forces.

Inputs of :meth:`PlusModel.forward` (a padded batch; see :mod:`adapt.plus.geometry`)::

    species (B, N) long   row of each atom in the element table (padding rows: any value)
    pos     (B, N, 3) Å   positions (need not be wrapped into the cell)
    cell    (B, 3, 3) Å   rows = lattice vectors;  pbc (B, 3) bool;  valid (B, N) bool

Tokens carry the 9 element descriptors of :mod:`adapt.tokens` only (no coordinates). Each layer::

    x += Attention(LN(x))   local heads: bias_ij = log(s_h δ_ij + Σ_images g_h(r_ijn)),
                            g_h(r) = softplus(w_h · rbf(r)) env(r)  (-inf where no image is within
                            the cutoff, so the softmax runs over (atom, image) pairs in range);
                            global heads: content-only attention over every atom of the structure;
                            content logits of both kinds: q·k / sqrt(d_head), or τ q̂·k̂
                            (``attn_temperature``: cosine attention, bounded, so no neighbour
                            near the cutoff can outweigh a local head's envelope)
    x += W · [A_i,0 ; |A_i,1|² ; |A_i,2|² ; |A_i,3|²]   A_i,lm = Σ_j,n R_l(r) Y_lm(r̂) h_j / avg_nb
                            (``mixed_power``: Σ_m A_lm,c (W_l A)_lm,c in place of |A_l,c|²)
    x += Σ_j,n env(r) MLP(z_ijn, rbf(r), x_j) / avg_nb   (``bond_order``), with
                            z_ijn,l = Σ_m Y_lm(r̂) A_i,lm: the density projected on each bond,
                            a Tersoff-like bond order
    x += FFN(LN(x))

Both attention kinds give the same per-atom output on a 2x2x2 supercell (copies of a key add up
to the same softmax weight), so energies are exactly size-extensive. Energy: E = Σ_i scale ·
MLP(LN(x_i)) + e_ref[Z_i], with per-element references fitted on train. Forces: ``direct``
F_i = scale · Σ_j,n φ_ijn r̂_ijn (φ symmetric in i, j, so Σ_i F_i = 0), or ``conservative``
F = -∂E/∂r by autograd.
"""

from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel

from adapt.plus.config import PlusModelConfig
from adapt.plus.geometry import Pairs, bessel_basis, build_pairs, cosine_envelope
from adapt.plus.spherical import l_index, real_sph_harm

TINY = 1e-30  # pair-bias sums at or below this count as "no image in range" (-inf bias)


def mlp(d_in: int, d_hidden: int, d_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_in, d_hidden), nn.SiLU(), nn.Linear(d_hidden, d_out))


def _to_dense(values: torch.Tensor, pairs: Pairs, B: int, N: int) -> torch.Tensor:
    """Sum pair values (P, H) over images into (B, H, N, N) [centre i, neighbour j]."""
    flat = (pairs.b * N + pairs.i) * N + pairs.j
    out = values.new_zeros(B * N * N, values.shape[1]).index_add(0, flat, values)
    return out.view(B, N, N, -1).permute(0, 3, 1, 2)


class PlusLayer(nn.Module):
    def __init__(self, cfg: PlusModelConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.ln_attn = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.bias_rbf = nn.Linear(cfg.n_rbf, max(cfg.local_heads, 1))
        self.self_weight = nn.Parameter(torch.zeros(max(cfg.local_heads, 1)))
        n_l = max(cfg.l_max, 0) + 1  # modules exist (unused) when l_max = -1
        self.ln_ang = nn.LayerNorm(d)
        self.ang_in = nn.Linear(d, cfg.n_channels)
        self.ang_radial = mlp(cfg.n_rbf, 32, n_l * cfg.n_channels)
        self.ang_norm = nn.LayerNorm(n_l * cfg.n_channels)  # invariants span orders of magnitude
        self.ang_out = nn.Linear(n_l * cfg.n_channels, d)
        self.register_buffer("l_of_lm", l_index(max(cfg.l_max, 0)), persistent=False)
        self.register_buffer("lm", torch.arange(len(self.l_of_lm)), persistent=False)
        if cfg.mixed_power:  # W_l starts at the identity: the diagonal invariants
            eye = torch.eye(cfg.n_channels).expand(n_l, -1, -1)
            self.power_mix = nn.Parameter(eye.clone())  # (n_l, C, C)
        self.ln_ff = nn.LayerNorm(d)
        self.ff = mlp(d, cfg.d_ff, d)
        if cfg.bond_order:
            db = d // 2
            self.bond_z = nn.Linear(n_l * cfg.n_channels, db)
            self.bond_r = nn.Linear(cfg.n_rbf, db, bias=False)
            self.bond_j = nn.Linear(d, db, bias=False)
            self.bond_out = nn.Linear(db, d)

    def attention_bias(self, rbf, env, pairs, valid) -> torch.Tensor:
        """(B, H, N, N) additive attention bias (see the module docstring)."""
        cfg = self.cfg
        B, N = valid.shape
        H, L = cfg.n_heads, cfg.local_heads
        key_ok = valid[:, None, None, :]  # (B, 1, 1, N)
        neg_inf = torch.tensor(float("-inf"), dtype=rbf.dtype, device=rbf.device)
        global_bias = torch.where(key_ok, torch.zeros((), dtype=rbf.dtype), neg_inf)
        global_bias = global_bias.expand(B, H - L, N, N)
        if L == 0:
            return global_bias
        g = F.softplus(self.bias_rbf(rbf)) * env[:, None]
        s = _to_dense(g, pairs, B, N)  # (B, L, N, N)
        eye = torch.eye(N, dtype=rbf.dtype, device=rbf.device)
        s = s + F.softplus(self.self_weight)[None, :, None, None] * eye
        local = torch.where(s > TINY, torch.log(s.clamp_min(TINY)), neg_inf)
        return torch.cat([local, global_bias], dim=1)

    def angular(self, x, nb: dict) -> torch.Tensor:
        """(B, N, (l_max+1) C) invariants [A_0, |A_1|², ...] of the neighbour density, and A
        (B N, LM, C). Pair terms in the layout ``nb`` (see :meth:`PlusModel.pair_terms`).

        A is one batched product per centre in the slot layout: (LM, K) Y_lm of its K pairs
        times (K, n_l C) their radial-weighted neighbour states gives every (lm, l') block, of
        which the l' = l ones are A_lm; the off-diagonal blocks are 3x wasted flops on tiny
        matrices, and the products (forward, backward and the double backward of the
        conservative force loss) avoid (pairs, LM, C) elementwise tensors (measured: a tiny
        training step 1.10x faster at 1 thread, 1.01-1.08x at 2; docs/adapt-plus-results.md)."""
        cfg = self.cfg
        B, N, _ = x.shape
        C, n_l = cfg.n_channels, cfg.l_max + 1
        h = self.ang_in(x).view(B * N, C)  # (B N, C)
        radial = self.ang_radial(nb["rbf"]) * (nb["env"] / cfg.avg_neighbors)[:, None]  # (P, n_l C)
        u = radial.view(-1, n_l, C) * h.index_select(0, nb["j"])[:, None, :]  # (P, n_l, C)
        u = nb["to_slots"](u.view(-1, n_l * C))  # (B N, K, n_l C)
        blocks = torch.bmm(nb["ylm_slots"].transpose(1, 2), u)  # (B N, LM, n_l C)
        A = blocks.view(B * N, -1, n_l, C)[:, self.lm, self.l_of_lm]  # (B N, LM, C)
        if cfg.mixed_power:  # Σ_m A_lm,c Σ_c' W_l,cc' A_lm,c'
            prod = A * torch.einsum("nmd,mcd->nmc", A, self.power_mix[self.l_of_lm])
        else:
            prod = A.square()
        sq = A.new_zeros(B * N, n_l, C).index_add(1, self.l_of_lm, prod)
        feats = torch.cat([A[:, :1], sq[:, 1:]], dim=1)  # (B N, n_l, C)
        return feats.view(B, N, n_l * C), A

    def bond(self, x, A, nb) -> torch.Tensor:
        """(B, N, d) bond-order messages Σ_j env(r) MLP(z_ij, rbf(r), x_j) / avg_nb with the
        per-bond invariants z_ij,lc = Σ_m Y_lm(r̂_ij) A_i,lm,c (centre i's density projected on
        the bond: Tersoff's ζ_ij = Σ_k g(θ_jik) is such a projection). The first linear map of
        z is applied per atom before the projection (W z_ij = Σ_lm Y_lm(r̂_ij) (W_l A_i,lm)),
        so the per-pair work is one (K, LM) x (LM, db) product per centre, in the slot layout
        (B N, K, LM) of ``nb["ylm_slots"]``, gathered back to pairs through ``nb["slot"]``."""
        B, N, d = x.shape
        BN = B * N
        w = self.bond_z.weight.view(-1, self.cfg.l_max + 1, A.shape[-1])[:, self.l_of_lm]
        a_w = torch.einsum("nmc,omc->nmo", A, w)  # (B N, LM, db)
        zw = torch.bmm(nb["ylm_slots"], a_w).flatten(0, 1)  # (B N K, db)
        zw = zw.index_select(0, nb["slot"])  # (P, db)
        hj = self.bond_j(x).view(BN, -1).index_select(0, nb["j"])  # (P, db)
        u = F.silu(zw + self.bond_z.bias + self.bond_r(nb["rbf"]) + hj) * nb["env"][:, None]
        m = u.new_zeros(BN, u.shape[1]).index_add(0, nb["c"], u) / self.cfg.avg_neighbors
        return self.bond_out(m).view(B, N, d)

    def forward(self, x, bias, nb):
        B, N, d = x.shape
        H = self.cfg.n_heads
        qkv = self.qkv(self.ln_attn(x)).view(B, N, 3, H, d // H)
        scale = None  # SDPA's default 1 / sqrt(d_head)
        if self.cfg.attn_temperature is not None:  # cosine attention: logits τ q̂·k̂
            qk = F.normalize(qkv[:, :, :2], dim=-1)  # q and k in one call
            qkv, scale = torch.cat([qk, qkv[:, :, 2:]], dim=2), self.cfg.attn_temperature
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        p = self.cfg.dropout if self.training else 0.0
        # the force loss differentiates through the attention twice; the fused CPU kernel
        # (chosen when no bias needs a gradient, e.g. local_heads = 0) has no double backward
        twice = self.training and self.cfg.forces == "conservative"
        with sdpa_kernel(SDPBackend.MATH) if twice else contextlib.nullcontext():
            att = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p, scale=scale)
        x = x + F.dropout(self.out(att.transpose(1, 2).reshape(B, N, d)), p, self.training)
        if self.cfg.density:
            xa = self.ln_ang(x)
            feats, A = self.angular(xa, nb)
            x = x + self.ang_out(self.ang_norm(feats))
            if self.cfg.bond_order:
                x = x + self.bond(xa, A, nb)
        return x + F.dropout(self.ff(self.ln_ff(x)), p, self.training)


class PlusModel(nn.Module):
    """ADAPT+ (see the module docstring). ``descriptors``: (n_elements, 9) element table rows."""

    def __init__(self, cfg: PlusModelConfig, descriptors: torch.Tensor):
        super().__init__()
        self.cfg = cfg
        n_el, n_desc = descriptors.shape
        mean, std = descriptors.mean(0), descriptors.std(0).clamp_min(1e-6)
        self.register_buffer("descriptors", (descriptors - mean) / std)  # (n_el, 9)
        self.register_buffer("e_ref", torch.zeros(n_el))  # eV per atom of each element
        self.register_buffer("scale", torch.ones(()))  # eV/Å: force RMS of the training set
        d = cfg.d_model
        self.embed = mlp(n_desc, d, d)
        self.layers = nn.ModuleList(PlusLayer(cfg) for _ in range(cfg.n_layers))
        self.ln_out = nn.LayerNorm(d)
        self.energy_head = mlp(d, d, 1)
        if cfg.forces == "direct":
            self.pair_i = nn.Linear(d, d)
            self.pair_r = mlp(cfg.n_rbf, d, d)
            self.pair_out = nn.Linear(d, 1)

    def forward(self, species, pos, cell, pbc, valid, need_forces: bool = True):
        """{"energy": (B,) eV, "energies": (B, N) eV (both float64), "forces": (B, N, 3) eV/Å}."""
        conservative = need_forces and self.cfg.forces == "conservative"
        with torch.set_grad_enabled(torch.is_grad_enabled() or conservative):
            return self._forward(species, pos, cell, pbc, valid, need_forces, conservative)

    def _forward(self, species, pos, cell, pbc, valid, need_forces, conservative):
        cfg = self.cfg
        if conservative and not pos.requires_grad:
            pos = pos.detach().requires_grad_(True)
        B, N = species.shape
        pairs = build_pairs(pos, cell, pbc, valid, cfg.cutoff, dense=cfg.dense_pairs)
        env = cosine_envelope(pairs.dist, cfg.cutoff)  # (P,)
        rbf = bessel_basis(pairs.dist, cfg.cutoff, cfg.n_rbf)  # (P, n_rbf), enveloped
        nb = self.pair_terms(pairs, rbf, env, B * N) if cfg.density else None
        z = species.clamp(0, len(self.descriptors) - 1)  # padding rows may hold any index
        x = self.embed(self.descriptors[z])  # (B, N, d)
        for layer in self.layers:
            bias = layer.attention_bias(rbf, env, pairs, valid)
            x = layer(x, bias, nb)
        h = self.ln_out(x)  # (B, N, d)
        resid = self.energy_head(h).squeeze(-1) * self.scale  # (B, N) eV
        # references added in float64 so that totals of hundreds of eV keep meV precision
        e_atom = resid.double() + self.e_ref[z].double()
        e_atom = torch.where(valid, e_atom, torch.zeros_like(e_atom))
        out = {"energies": e_atom, "energy": e_atom.sum(-1)}
        if not need_forces:
            return out
        if conservative:
            (grad,) = torch.autograd.grad(
                out["energy"].sum(),
                pos,
                create_graph=self.training,
                retain_graph=self.training,
                allow_unused=True,  # a model without geometric terms (no local heads, l_max -1)
            )
            out["forces"] = -grad if grad is not None else torch.zeros_like(pos)
        else:
            out["forces"] = self.direct_forces(h, rbf, env, pairs, B, N)
        return out

    def pair_terms(self, pairs: Pairs, rbf, env, n_centres: int) -> dict:
        """Pair terms of the density and bond messages: rbf (P, n_rbf), env (P,), ylm (P, LM)
        = Y_lm(r̂), j and c (P,) the flat neighbour and centre indices b N + j, b N + i;
        ylm_slots (B N, K, LM): Y_lm in the per-centre slot layout (K = the most pairs of a
        centre, zero in empty slots), to_slots: pair values (P, F) -> that layout (B N, K, F),
        slot (P,) each pair's row c K + k in (B N K, ·)."""
        ylm = real_sph_harm(pairs.unit, self.cfg.l_max)
        slot, k = pairs.slots(n_centres)

        def to_slots(values):
            return pairs.to_slots(values, slot, k, n_centres)

        return {
            "rbf": rbf,
            "env": env,
            "ylm": ylm,
            "j": pairs.neighbour,
            "c": pairs.centre,
            "ylm_slots": to_slots(ylm),
            "to_slots": to_slots,
            "slot": pairs.centre * max(k, 1) + slot,
        }

    def direct_forces(self, h, rbf, env, pairs, B, N) -> torch.Tensor:
        """(B, N, 3) eV/Å: F_i = scale Σ_j,n φ(h_i, h_j, r) r̂_ij, φ symmetric in i and j."""
        a = self.pair_i(h).view(B * N, -1)
        z = F.silu(a.index_select(0, pairs.centre) + a.index_select(0, pairs.neighbour))
        z = z * self.pair_r(rbf)  # (P, d) radial filter
        phi = self.pair_out(z).squeeze(-1) * env  # (P,)
        f = h.new_zeros(B * N, 3).index_add(0, pairs.b * N + pairs.i, phi[:, None] * pairs.unit)
        return f.view(B, N, 3) * self.scale
