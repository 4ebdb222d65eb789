"""Real spherical harmonics Y_lm(r̂) for l <= 3, orthonormal on the unit sphere.

Order within each l: m = -l..l in the usual real (tesseral) convention, e.g. l = 1 is
(y, z, x) x sqrt(3 / 4π). Each block l spans the l-th irreducible representation of SO(3), so
Σ_m Y_lm(u) Y_lm(v) = (2l + 1) / (4π) P_l(u·v) (the addition theorem, checked in the tests)
and Σ_m |Σ_j c_j Y_lm(u_j)|² is rotation invariant.
"""

from __future__ import annotations

import torch

N_LM = (1, 4, 9, 16)  # number of (l, m) components for l_max = 0..3

_C0 = 0.28209479177387814  # 1 / (2 sqrt(π))
_C1 = 0.4886025119029199  # sqrt(3 / 4π)
_C2a = 1.0925484305920792  # sqrt(15 / 4π)
_C2b = 0.31539156525252005  # sqrt(5 / 16π)
_C2c = 0.5462742152960396  # sqrt(15 / 16π)
_C3a = 0.5900435899266435  # sqrt(35 / 32π)
_C3b = 2.890611442640554  # sqrt(105 / 4π)
_C3c = 0.4570457994644658  # sqrt(21 / 32π)
_C3d = 0.3731763325901154  # sqrt(7 / 16π)
_C3e = 1.445305721320277  # sqrt(105 / 16π)


def real_sph_harm(unit: torch.Tensor, l_max: int) -> torch.Tensor:
    """(P, (l_max + 1)²) Y_lm of unit vectors ``unit`` (P, 3), blocks l = 0..l_max in order."""
    x, y, z = unit.unbind(-1)
    out = [torch.full_like(x, _C0)]
    if l_max >= 1:
        out += [_C1 * y, _C1 * z, _C1 * x]
    if l_max >= 2:
        z2 = z * z
        out += [
            _C2a * x * y,
            _C2a * y * z,
            _C2b * (3.0 * z2 - 1.0),
            _C2a * x * z,
            _C2c * (x * x - y * y),
        ]
    if l_max >= 3:
        z2 = z * z
        out += [
            _C3a * y * (3.0 * x * x - y * y),
            _C3b * x * y * z,
            _C3c * y * (5.0 * z2 - 1.0),
            _C3d * z * (5.0 * z2 - 3.0),
            _C3c * x * (5.0 * z2 - 1.0),
            _C3e * z * (x * x - y * y),
            _C3a * x * (x * x - 3.0 * y * y),
        ]
    return torch.stack(out, dim=-1)


def l_index(l_max: int) -> torch.Tensor:
    """((l_max + 1)²,) long: the l of each component of :func:`real_sph_harm`'s output."""
    return torch.tensor([ell for ell in range(l_max + 1) for _ in range(2 * ell + 1)])
