"""Periodic pair geometry for padded batches: every (i, j, image) pair, displacement vectors that
autograd can differentiate with respect to positions (and the cell), and the radial functions.

Conventions: positions (B, N, 3) Å, cell (B, 3, 3) Å with rows the lattice vectors (as ASE), pbc
(B, 3) bool, valid (B, N) bool (True = real atom). The displacement of pair p is
``vec = r_j + n·cell - r_i`` (pointing from i to j), over every integer image shift n along the
periodic axes. A pair is every (i, j, n) except i == j with n = 0, so an atom also pairs with
its own periodic images: a 2-atom or 8-atom cell (smaller than twice the cutoff) is correct, not
only the minimum image.

Which shifts are needed: after wrapping each fractional difference to [-0.5, 0.5], an image can
lie within ``cutoff`` only if |n_a| < cutoff / d_a + 0.5 along every axis a, where d_a is the
spacing of the lattice planes spanned by the other two vectors. The wrap is an integer (no
gradient), so forces stay exact.

``dense=True`` keeps every (i, j, n) pair of real atoms over that shift set (pair terms vanish
beyond the cutoff through the envelope); ``dense=False`` drops the pairs beyond the cutoff before
any pair term is computed. Both give the same model output (to float rounding); the second is an
optimisation, the first is the definition.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch


@dataclass
class Pairs:
    """P pairs of a padded batch. ``b, i, j``: (P,) long (structure, centre atom, neighbour atom);
    ``vec``: (P, 3) Å, r_j + n·cell - r_i; ``dist``: (P,) Å."""

    b: torch.Tensor
    i: torch.Tensor
    j: torch.Tensor
    vec: torch.Tensor
    dist: torch.Tensor

    n_atoms: int = 0  # N, the padded length

    @property
    def unit(self) -> torch.Tensor:
        """(P, 3) r̂_ij."""
        return self.vec / self.dist[:, None]

    @property
    def centre(self) -> torch.Tensor:
        """(P,) flat index b N + i of each pair's centre atom (nondecreasing)."""
        return self.b * self.n_atoms + self.i

    @property
    def neighbour(self) -> torch.Tensor:
        """(P,) flat index b N + j of each pair's neighbour atom."""
        return self.b * self.n_atoms + self.j

    def slots(self, n_centres: int) -> tuple[torch.Tensor, int]:
        """((P,) position of each pair among its centre's pairs, K = the most pairs of a centre)."""
        c = self.centre
        counts = torch.bincount(c, minlength=n_centres)
        starts = torch.cumsum(counts, 0) - counts
        return torch.arange(len(c), device=c.device) - starts[c], int(counts.max()) if len(c) else 0

    def to_slots(self, values: torch.Tensor, slot: torch.Tensor, k: int, n_centres: int):
        """Pair values (P, *F) -> (n_centres, K, *F), zero where a centre has fewer pairs."""
        out = values.new_zeros((n_centres, max(k, 1), *values.shape[1:]))
        return out.index_put((self.centre, slot), values)


def plane_spacings(cell: torch.Tensor) -> torch.Tensor:
    """(B, 3) Å: distance between neighbouring lattice planes normal to each reciprocal axis."""
    a = cell.detach().double()
    cross = torch.stack(
        [
            torch.linalg.cross(a[:, 1], a[:, 2]),
            torch.linalg.cross(a[:, 2], a[:, 0]),
            torch.linalg.cross(a[:, 0], a[:, 1]),
        ],
        dim=1,
    )  # (B, 3, 3)
    volume = torch.linalg.det(a).abs()  # (B,)
    return volume[:, None] / cross.norm(dim=-1).clamp_min(1e-300)


def image_range(cell: torch.Tensor, pbc: torch.Tensor, cutoff: float) -> torch.Tensor:
    """(B, 3) long: the largest |n_a| along each axis that can put an image within ``cutoff``
    (0 along non-periodic axes)."""
    d = plane_spacings(cell)
    n = torch.ceil(cutoff / d + 0.5).long() - 1
    return torch.where(pbc, n.clamp_min(0), torch.zeros_like(n))


def _shift_grid(n_max: torch.Tensor) -> torch.Tensor:
    """(K, 3) integer shifts with |n_a| <= n_max[a], the zero shift first."""
    ranges = [range(-int(m), int(m) + 1) for m in n_max]
    grid = sorted(itertools.product(*ranges), key=lambda s: (s != (0, 0, 0), s))
    return torch.tensor(grid, dtype=torch.long)


def _safe_cell(cell: torch.Tensor, pbc: torch.Tensor) -> torch.Tensor:
    """The cell where a structure is periodic, the identity where it is not (no wrap needed)."""
    periodic = pbc.any(dim=-1)  # (B,)
    if periodic.any():
        vol = torch.linalg.det(cell.detach()[periodic].double()).abs()
        if (vol < 1e-6).any():
            raise ValueError("a periodic structure has a singular cell (zero volume)")
    eye = torch.eye(3, dtype=cell.dtype, device=cell.device).expand_as(cell)
    return torch.where(periodic[:, None, None], cell, eye)


def build_pairs(
    pos: torch.Tensor,
    cell: torch.Tensor,
    pbc: torch.Tensor,
    valid: torch.Tensor,
    cutoff: float,
    dense: bool = False,
) -> Pairs:
    """All (i, j, image) pairs of a padded batch (see the module docstring)."""
    B, N, _ = pos.shape
    cell = _safe_cell(cell, pbc)
    n_max = image_range(cell, pbc, cutoff)  # (B, 3)
    shifts = _shift_grid(n_max.max(dim=0).values).to(pos.device)  # (K, 3)
    with torch.no_grad():
        d0 = pos[:, None, :, :] - pos[:, :, None, :]  # (B, N, N, 3) r_j - r_i
        frac = torch.einsum("bijx,bxy->bijy", d0.double(), torch.linalg.inv(cell.double()))
        wrap = -torch.round(frac) * pbc[:, None, None, :]  # (B, N, N, 3) integer
        allowed = (shifts.abs()[None] <= n_max[:, None]).all(-1)  # (B, K)
        keep = valid[:, :, None, None] & valid[:, None, :, None] & allowed[:, None, None, :]
        self_pair = torch.eye(N, dtype=torch.bool, device=pos.device)[None, :, :, None] & (
            shifts.abs().sum(-1) == 0
        )
        keep = keep & ~self_pair  # (B, N, N, K)
        if not dense:
            n_all = wrap[:, :, :, None, :] + shifts[None, None, None].double()  # (B,N,N,K,3)
            vec_all = d0.double()[:, :, :, None, :] + torch.einsum(
                "bijkx,bxy->bijky", n_all, cell.double()
            )
            keep = keep & ((vec_all**2).sum(-1) < cutoff**2)
        b, i, j, k = keep.nonzero(as_tuple=True)
        n = (wrap[b, i, j] + shifts[k].double()).to(pos.dtype)  # (P, 3)
    vec = pos[b, j] - pos[b, i] + torch.einsum("px,pxy->py", n, cell[b])
    dist = vec.norm(dim=-1)
    return Pairs(b, i, j, vec, dist, N)


def cosine_envelope(r: torch.Tensor, cutoff: float) -> torch.Tensor:
    """0.5 (cos(π r / rc) + 1) for r < rc, 0 beyond; value and slope vanish at rc."""
    env = 0.5 * (torch.cos(math.pi * r / cutoff) + 1.0)
    return torch.where(r < cutoff, env, torch.zeros_like(r))


def bessel_basis(r: torch.Tensor, cutoff: float, n: int) -> torch.Tensor:
    """(P, n) radial basis sqrt(2/rc) sin(k π r / rc) / r, k = 1..n (DimeNet), times the envelope."""
    k = torch.arange(1, n + 1, dtype=r.dtype, device=r.device)
    x = r[:, None] * (k * math.pi / cutoff)
    basis = math.sqrt(2.0 / cutoff) * torch.sin(x) / r[:, None]
    return basis * cosine_envelope(r, cutoff)[:, None]
