"""Navarro-Frenk-White mass profiles: NFWSph (analytic) and NFW (elliptical, by quadrature).

Convergence (../shared/CONVENTIONS.md; Wright & Brainerd 2000):
``kappa = 2 kappa_s g(X)``, ``X = xi / scale_radius``, ``g(X) = (1 - F(X)) / (X^2 - 1)`` with
``F(X) = arccosh(1/X) / sqrt(1 - X^2)`` for X < 1 and ``arccos(1/X) / sqrt(X^2 - 1)`` for
X > 1 (F(1) = 1). ``xi = sqrt(x'^2 + y'^2 / q^2)`` is the elliptical radius (arcsec).
The spherical deflection is ``4 kappa_s scale_radius h(X) / X`` with ``h = ln(X/2) + F`` and
the potential ``2 kappa_s scale_radius^2 [ln^2(X/2) - (1 - X^2) F^2]``.

Near X = 1 the functions are summed from ``F = sum_k t^k / (2k + 1)``, ``t = 1 - X^2``
(``g = sum_k t^k / (2k + 3)``), which avoids the cancellation of ``(1 - F) / (X^2 - 1)``.
For X < 1, ``arccosh(1/X) = lambda - ln(X/2)`` with ``lambda = log1p(-X^2 / (2 (1 + s)))``,
``s = sqrt(1 - X^2)``, which keeps ``h`` and the potential accurate as X -> 0.

Units: centre and scale_radius in arcsec; kappa_s dimensionless; deflections arcsec;
potential arcsec^2. Batching: any parameter may be a ``(K, 1)`` array.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import geometry
from ._frames import centred, profile_frame, scale_radial
from .base import EllipticalMixin, MassProfile, check_scalar

__all__ = ["NFW", "NFWSph", "nfw_g", "nfw_h", "nfw_potential_term", "QUADRATURE_NODES"]

#: Gauss-Legendre nodes of the elliptical NFW integrals (<= 1e-10 relative error for
#: q >= 0.1 and xi <= 30 scale radii; see tests/profiles/test_mass_limits.py).
QUADRATURE_NODES = 32

_NODES, _WEIGHTS = np.polynomial.legendre.leggauss(QUADRATURE_NODES)
_NODES = 0.5 * (_NODES + 1.0)  # on [0, 1]
_WEIGHTS = 0.5 * _WEIGHTS

_BLOCK_POINTS = 65536  # points per block of the quadrature (see _blocks)
_SERIES_RADIUS = 1e-3  # |1 - X^2| below which the series near X = 1 is used
_SERIES_TERMS = 6
_X2_FLOOR = 1e-300


def _workspace(x2, work):
    """Three scratch arrays shaped like ``x2`` (made if ``work`` is None)."""
    return np.empty((3,) + x2.shape) if work is None else work


def _split_near_one(x2, t, s):
    """``t = 1 - X^2`` and ``s = sqrt|t|`` written into ``t`` and ``s`` (``X^2 > 0``).

    Points with ``|t| < 1e-3`` get the placeholder ``t = s = 1`` (finite everywhere, so no
    warning is raised); they are summed from the series afterwards. Returns their flat
    indices and their true ``t``.
    """
    np.subtract(1.0, x2, out=t)
    np.abs(t, out=s)
    near = np.flatnonzero(s < _SERIES_RADIUS)
    t_flat = t.reshape(-1)
    t_near = t_flat[near]
    t_flat[near] = 1.0
    s.reshape(-1)[near] = 1.0
    np.sqrt(s, out=s)
    return near, t_near


def _series(t, offset):
    """``sum_k t^k / (2k + offset)`` for small ``|t|`` (Horner)."""
    total = np.full_like(t, 1.0 / (2 * _SERIES_TERMS - 2 + offset))
    for k in range(_SERIES_TERMS - 2, -1, -1):
        total *= t
        total += 1.0 / (2 * k + offset)
    return total


def _log_half_x_and_ratio(x2, s, ratio):
    """``ratio <- X^2 / (1 + s)``; then ``x2 <- ln(X / 2)`` in place."""
    np.add(s, 1.0, out=ratio)
    np.divide(x2, ratio, out=ratio)
    x2 *= 0.25
    np.log(x2, out=x2)
    x2 *= 0.5


def nfw_g(x2, work=None):
    """``g(X) = (1 - F(X)) / (X^2 - 1)``, written into ``x2 = X^2`` (C-contiguous) and returned.

    Two transcendental calls per point: a sqrt, then a log inside X < 1 or an arctan
    outside. ``work`` is optional scratch of shape ``(3,) + x2.shape``.
    """
    np.maximum(x2, _X2_FLOOR, out=x2)
    return _g_into(x2, _workspace(x2, work))


def _g_into(x2, work):
    """:func:`nfw_g` for ``X^2 > 0`` (no floor)."""
    t, s, a = work
    near, t_near = _split_near_one(x2, t, s)
    inside = t > 0.0
    np.add(s, 1.0, out=a)
    np.multiply(a, a, out=a)
    np.divide(a, x2, out=a)
    np.log(a, out=a, where=inside)
    np.multiply(a, 0.5, out=a, where=inside)  # arccosh(1/X) = ln((1 + s) / X)
    np.arctan(s, out=a, where=~inside)  # arccos(1/X) = arctan(s)
    np.divide(a, s, out=a)  # F
    a -= 1.0
    np.divide(a, t, out=x2)
    x2.reshape(-1)[near] = _series(t_near, 3)
    return x2


def nfw_h(x2, work=None):
    """``h(X) = ln(X/2) + F(X)``, written into ``x2 = X^2`` (C-contiguous) and returned.

    Inside X < 1, ``h = (lambda - ln(X/2) X^2 / (1 + s)) / s``, free of the cancellation
    of ``ln(X/2) + F`` as X -> 0. ``work`` is optional scratch of shape ``(3,) + x2.shape``.
    """
    np.maximum(x2, _X2_FLOOR, out=x2)
    return _h_into(x2, _workspace(x2, work))


def _h_into(x2, work):
    """:func:`nfw_h` for ``X^2 > 0`` (no floor)."""
    t, s, a = work
    near, t_near = _split_near_one(x2, t, s)
    inside = t > 0.0
    outside = ~inside
    _log_half_x_and_ratio(x2, s, a)  # x2 = L = ln(X/2), a = X^2 / (1 + s)
    log_near = x2.reshape(-1)[near]
    np.multiply(a, -0.5, out=t)
    np.log1p(t, out=t, where=inside)  # lambda
    a *= x2
    t -= a  # inside: s h
    np.arctan(s, out=a, where=outside)
    np.divide(a, s, out=a, where=outside)  # outside: F
    np.add(x2, a, out=x2, where=outside)
    np.divide(t, s, out=x2, where=inside)
    x2.reshape(-1)[near] = log_near + _series(t_near, 1)
    return x2


def nfw_potential_term(x2, work=None):
    """``ln^2(X/2) - (1 - X^2) F(X)^2``, written into ``x2 = X^2`` (C-contiguous) and returned.

    Inside X < 1 it is ``lambda (2 ln(X/2) - lambda)``, free of cancellation as X -> 0;
    outside, ``ln^2(X/2) + arctan^2(s)``.
    """
    np.maximum(x2, _X2_FLOOR, out=x2)
    t, s, a = _workspace(x2, work)
    near, t_near = _split_near_one(x2, t, s)
    inside = t > 0.0
    outside = ~inside
    _log_half_x_and_ratio(x2, s, a)  # x2 = L, a = X^2 / (1 + s)
    log_near = x2.reshape(-1)[near]
    np.multiply(a, -0.5, out=t)
    np.log1p(t, out=t, where=inside)  # lambda
    np.multiply(x2, 2.0, out=a)
    a -= t
    a *= t  # inside: lambda (2 L - lambda)
    np.arctan(s, out=s, where=outside)
    np.multiply(s, s, out=s, where=outside)
    np.multiply(x2, x2, out=x2)
    np.add(x2, s, out=x2, where=outside)
    np.copyto(x2, a, where=inside)
    f_near = _series(t_near, 1)
    x2.reshape(-1)[near] = log_near * log_near - t_near * f_near * f_near
    return x2


def _blocks(shape, size=None):
    """Index tuples that split the last axis into blocks of about ``size`` points in all.

    The quadrature makes ~20 passes per node over its arrays; on blocks that stay in
    cache those passes run at cache rather than memory speed.
    """
    size = _BLOCK_POINTS if size is None else size
    rows = int(np.prod(shape[:-1], dtype=np.int64))
    step = max(1024, size // max(rows, 1))
    return [(..., slice(start, start + step)) for start in range(0, shape[-1], step)]


def _check(profile):
    check_scalar(profile, "scale_radius", lambda v: v > 0, "> 0 (arcsec)", "1.0")


@dataclass(frozen=True)
class NFWSph(MassProfile):
    """Spherical NFW profile with analytic convergence, deflections and potential.

    Parameters
    ----------
    centre : tuple of float
        ``(y, x)`` in arcsec.
    kappa_s : float
        Dimensionless convergence normalisation, ``rho_s r_s / Sigma_crit``.
    scale_radius : float
        ``r_s`` in arcsec (> 0).
    """

    centre: tuple = (0.0, 0.0)
    kappa_s: float = 0.05
    scale_radius: float = 1.0

    def __post_init__(self):
        _check(self)

    def _x2(self, grid):
        """``X^2 = r^2 / r_s^2`` (floored), full output shape."""
        grid = np.asarray(grid, dtype=float)
        shape = geometry.broadcast_shape(grid, self.centre, self.kappa_s, self.scale_radius)
        inv_rs = 1.0 / self.scale_radius
        x2 = geometry.circular_radius_squared_from(grid, self.centre, inv_rs, shape)
        np.maximum(x2, (geometry.RADIUS_FLOOR / self.scale_radius) ** 2, out=x2)
        return x2

    def convergence_from(self, grid):
        """Convergence ``2 kappa_s g(r / r_s)`` (dimensionless); shape broadcast(..., N)."""
        kappa = nfw_g(self._x2(grid))
        kappa *= 2.0 * self.kappa_s
        return kappa

    def deflections_yx_from(self, grid):
        """Deflections ``4 kappa_s h(X) / X^2 * r_vec`` (arcsec), shape (..., N, 2)."""
        z, x2 = centred(self, grid, self.kappa_s, self.scale_radius)
        x2 *= 1.0 / self.scale_radius
        np.multiply(x2, x2, out=x2)
        factor = nfw_h(x2.copy())
        np.divide(factor, x2, out=factor)
        factor *= 4.0 * self.kappa_s
        return scale_radial(z, factor)

    def potential_from(self, grid):
        """Potential ``2 kappa_s r_s^2 [ln^2(X/2) - (1 - X^2) F^2]`` (arcsec^2)."""
        psi = nfw_potential_term(self._x2(grid))
        psi *= 2.0 * self.kappa_s * self.scale_radius**2
        return psi


@dataclass(frozen=True)
class NFW(MassProfile, EllipticalMixin):
    """Elliptical NFW profile: ``kappa = 2 kappa_s g(xi / r_s)``, ``xi^2 = x'^2 + y'^2 / q^2``.

    Deflections and potential are the integrals of Keeton (2001, eqs. 27-28 with
    ``xi(u)^2 = u (x'^2 + y'^2 / (1 - (1 - q^2) u))``), rewritten with
    ``u = w^2 / (1 + (1 - q^2) w^2)``, ``w`` in ``[0, 1/q]``, which removes the peak of
    ``(1 - (1 - q^2) u)^(-3/2)`` at small q:

    - ``alpha_x' = 2 kappa_s q x' int 2 w e^(-3/2) g(X_w) dw``,
    - ``alpha_y' = 2 kappa_s q y' int 2 w e^(-1/2) g(X_w) dw``,
    - ``psi = 4 q kappa_s r_s^2 int h(X_w) e^(-1/2) / w dw``,

    with ``e = 1 + (1 - q^2) w^2`` and ``X_w^2 = w^2 (x'^2 / e + y'^2) / r_s^2``; then
    ``w = v^3 / q`` (which smooths the logarithmic singularity at w = 0) and
    :data:`QUADRATURE_NODES`-point Gauss-Legendre in ``v`` on [0, 1], vectorised over
    the grid with one pass per node.

    Parameters
    ----------
    centre : tuple of float
        ``(y, x)`` in arcsec.
    ell_comps : tuple of float
        ``(e1, e2)``, dimensionless.
    kappa_s : float
        Dimensionless convergence normalisation.
    scale_radius : float
        ``r_s`` in arcsec (> 0), along the major axis.
    """

    centre: tuple = (0.0, 0.0)
    ell_comps: tuple = (0.0, 0.0)
    kappa_s: float = 0.05
    scale_radius: float = 1.0

    def __post_init__(self):
        _check(self)

    def _frame_squares(self, grid):
        """``q, phi, z = y' + i x', (x' / r_s)^2, (y' / r_s)^2``, full output shape."""
        q, phi, z = profile_frame(self, grid, self.kappa_s, self.scale_radius)
        inv_rs = 1.0 / self.scale_radius
        xx = np.multiply(z.imag, inv_rs)
        np.multiply(xx, xx, out=xx)
        yy = np.multiply(z.real, inv_rs)
        np.multiply(yy, yy, out=yy)
        # Floors xi at 1e-8 arcsec (w^2 (x'^2 / e + y'^2) > 0 at every node).
        np.maximum(yy, (geometry.RADIUS_FLOOR * inv_rs) ** 2, out=yy)
        return q, phi, z, xx, yy

    def convergence_from(self, grid):
        """Convergence ``2 kappa_s g(xi / r_s)`` (dimensionless); shape broadcast(..., N)."""
        grid = np.asarray(grid, dtype=float)
        shape = geometry.broadcast_shape(
            grid, self.centre, self.ell_comps, self.kappa_s, self.scale_radius
        )
        q, phi = geometry.axis_ratio_and_angle_from(self.ell_comps)
        inv_rs = 1.0 / self.scale_radius
        x2 = geometry.elliptical_radius_squared_from(
            grid, self.centre, phi, inv_rs, inv_rs / q, shape
        )
        np.maximum(x2, (geometry.RADIUS_FLOOR * inv_rs) ** 2, out=x2)
        kappa = nfw_g(x2)
        kappa *= 2.0 * self.kappa_s
        return kappa

    @staticmethod
    def _nodes(q):
        """Per node: ``w, w^2, e = 1 + (1 - q^2) w^2, dw, dw / w`` (``w = v^3 / q``)."""
        for v, weight in zip(_NODES, _WEIGHTS):
            w = v**3 / q
            w2 = w * w
            yield w, w2, 1.0 + (1.0 - q * q) * w2, 3.0 * v * v / q * weight, 3.0 * weight / v

    def deflections_yx_from(self, grid):
        """Deflection angles (arcsec), shape broadcast(..., N) + (2,), ``(y, x)`` order."""
        q, phi, z, xx, yy = self._frame_squares(grid)
        j0 = np.zeros_like(xx)
        j1 = np.zeros_like(xx)
        for block in _blocks(xx.shape):
            self._deflection_integrals(q, xx[block], yy[block], j0[block], j1[block])
        amplitude = 2.0 * self.kappa_s * q
        j0 *= amplitude
        j1 *= amplitude
        z.imag *= j0
        z.real *= j1
        return geometry.yx_to_sky(z, phi)

    def _deflection_integrals(self, q, xx, yy, j0, j1):
        """Accumulate ``int 2 w e^(-3/2) g dw`` into ``j0`` and ``... e^(-1/2) ...`` into ``j1``."""
        x2 = np.empty_like(xx)
        work = np.empty((3,) + xx.shape)
        for w, w2, e, dw, _ in self._nodes(q):
            np.multiply(xx, w2 / e, out=x2)
            np.multiply(yy, w2, out=work[0])
            x2 += work[0]
            _g_into(x2, work)
            weight = 2.0 * w * dw / np.sqrt(e)
            np.multiply(x2, weight, out=work[0])
            j1 += work[0]
            np.multiply(x2, weight / e, out=x2)
            j0 += x2

    def potential_from(self, grid):
        """Lensing potential (arcsec^2); shape broadcast(..., N)."""
        q, _, _, xx, yy = self._frame_squares(grid)
        psi = np.zeros_like(xx)
        for block in _blocks(xx.shape):
            self._potential_integral(q, xx[block], yy[block], psi[block])
        psi *= 2.0 * q * self.kappa_s * self.scale_radius**2
        return psi

    def _potential_integral(self, q, xx, yy, psi):
        """Accumulate ``int 2 h e^(-1/2) / w dw`` into ``psi``."""
        x2 = np.empty_like(xx)
        work = np.empty((3,) + xx.shape)
        for _, w2, e, _, dw_over_w in self._nodes(q):
            np.multiply(xx, w2 / e, out=x2)
            np.multiply(yy, w2, out=work[0])
            x2 += work[0]
            _h_into(x2, work)
            x2 *= 2.0 * dw_over_w / np.sqrt(e)
            psi += x2
