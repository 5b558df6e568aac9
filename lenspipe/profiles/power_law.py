"""Power-law mass profiles: Isothermal, IsothermalSph, PowerLaw, PowerLawSph.

Convergence (../shared/CONVENTIONS.md, PyAutoLens's normalisation):
``kappa = (3 - slope) / (1 + q) * einstein_radius^(slope - 1) * xi^(1 - slope)`` with
``xi = sqrt(x'^2 + y'^2 / q^2)`` the elliptical radius (arcsec) in the profile frame;
``slope = 2`` is the singular isothermal ellipsoid. Writing ``t = slope - 1`` and
``R = q xi = sqrt(q^2 x'^2 + y'^2)``, this is Tessore & Metcalf's (2015)
``kappa = (2 - t)/2 (b / R)^t`` with ``b^t = 2 (q einstein_radius)^t / (1 + q)``.

Units: ``einstein_radius`` and ``centre`` in arcsec; convergence dimensionless;
deflections in arcsec; potential in arcsec^2.

Batching: any parameter may be a ``(K, 1)`` array (see :mod:`.geometry`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import geometry
from ._frames import (
    RADIUS_SQUARED_FLOOR,
    centred,
    power,
    profile_frame,
    q_radius_squared,
    radius_squared,
    scale_radial,
)
from .base import EllipticalMixin, MassProfile, check_scalar

__all__ = [
    "Isothermal",
    "IsothermalSph",
    "PowerLaw",
    "PowerLawSph",
    "hypergeometric_coefficients",
]

#: Target absolute error of the Tessore & Metcalf series (its value is >= 1/2).
SERIES_TOLERANCE = 1e-14
#: Most terms of the series; reached only for axis ratios below about 0.01.
SERIES_MAX_TERMS = 5000
_BLOCK = 16384  # grid points per block of the series (256 KiB of complex numbers)


@dataclass(frozen=True)
class Isothermal(MassProfile, EllipticalMixin):
    """Singular isothermal ellipsoid, ``kappa = einstein_radius / ((1 + q) xi)``.

    Parameters
    ----------
    centre : tuple of float
        ``(y, x)`` in arcsec.
    ell_comps : tuple of float
        ``(e1, e2)``, dimensionless.
    einstein_radius : float
        Major-axis normalised Einstein radius, arcsec (PyAutoLens's; the intermediate-axis one
        is ``2 sqrt(q) / (1 + q)`` times it).
    """

    centre: tuple = (0.0, 0.0)
    ell_comps: tuple = (0.0, 0.0)
    einstein_radius: float = 1.0

    def convergence_from(self, grid):
        """Convergence (dimensionless) at each ``(y, x)`` (arcsec); shape broadcast(..., N)."""
        q, _, z = profile_frame(self, grid, self.einstein_radius)
        kappa = q_radius_squared(q, z)
        np.sqrt(kappa, out=kappa)
        np.divide(self.einstein_radius * q / (1.0 + q), kappa, out=kappa)
        return kappa

    def _angles(self, grid):
        """``phi, z = y' + i x', A, arctan(s x' / psi), arctanh(s y' / psi)``.

        Kormann et al. (1994); Keeton (2001): ``alpha_x' = A arctan(s x' / psi)``,
        ``alpha_y' = A arctanh(s y' / psi)`` with ``psi = sqrt(q^2 x'^2 + y'^2)``,
        ``s = sqrt(1 - q^2)`` and ``A = 2 q einstein_radius / ((1 + q) s)``. ``s`` is floored
        at 1e-15: ``arctan(s u) / s`` depends on ``s`` only at order ``s^2``, so q = 1 is exact.
        """
        q, phi, z = profile_frame(self, grid, self.einstein_radius)
        s = np.sqrt(np.maximum(1.0 - q * q, 1e-30))
        factor = 2.0 * q * self.einstein_radius / ((1.0 + q) * s)
        inv_psi = np.multiply(z.imag, q)
        np.multiply(inv_psi, inv_psi, out=inv_psi)
        angle_y = np.multiply(z.real, z.real)
        inv_psi += angle_y
        np.maximum(inv_psi, RADIUS_SQUARED_FLOOR, out=inv_psi)
        np.sqrt(inv_psi, out=inv_psi)
        np.divide(s, inv_psi, out=inv_psi)  # s / psi
        np.multiply(z.real, inv_psi, out=angle_y)
        np.arctanh(angle_y, out=angle_y)
        angle_x = np.multiply(z.imag, inv_psi, out=inv_psi)
        np.arctan(angle_x, out=angle_x)
        return phi, z, factor, angle_y, angle_x

    def deflections_yx_from(self, grid):
        """Deflection angles (arcsec), shape broadcast(..., N) + (2,), ``(y, x)`` order."""
        phi, z, factor, angle_y, angle_x = self._angles(grid)
        np.multiply(angle_y, factor, out=z.real)
        np.multiply(angle_x, factor, out=z.imag)
        return geometry.yx_to_sky(z, phi)

    def potential_from(self, grid):
        """Lensing potential (arcsec^2), ``x' alpha_x' + y' alpha_y'`` (degree-1 homogeneous)."""
        _, z, factor, angle_y, angle_x = self._angles(grid)
        angle_x *= z.imag
        angle_y *= z.real
        angle_x += angle_y
        angle_x *= factor
        return angle_x


@dataclass(frozen=True)
class IsothermalSph(MassProfile):
    """Singular isothermal sphere, ``kappa = einstein_radius / (2 r)``.

    Parameters
    ----------
    centre : tuple of float
        ``(y, x)`` in arcsec.
    einstein_radius : float
        Einstein radius, arcsec.
    """

    centre: tuple = (0.0, 0.0)
    einstein_radius: float = 1.0

    def convergence_from(self, grid):
        """Convergence (dimensionless); shape broadcast(..., N)."""
        r = radius_squared(self, grid, self.einstein_radius)
        np.sqrt(r, out=r)
        return np.divide(0.5 * self.einstein_radius, r, out=r)

    def deflections_yx_from(self, grid):
        """Deflection angles ``einstein_radius * r_vec / r`` (arcsec), shape (..., N, 2)."""
        z, r = centred(self, grid, self.einstein_radius)
        np.divide(self.einstein_radius, r, out=r)
        return scale_radial(z, r)

    def potential_from(self, grid):
        """Lensing potential ``einstein_radius * r`` (arcsec^2)."""
        r = radius_squared(self, grid, self.einstein_radius)
        np.sqrt(r, out=r)
        return np.multiply(r, self.einstein_radius, out=r)


def hypergeometric_coefficients(t, f, tolerance=SERIES_TOLERANCE, max_terms=SERIES_MAX_TERMS):
    """Coefficients ``a_n`` of ``2F1(1, t/2; 2 - t/2; -f w) = sum_n a_n w^n`` for ``|w| = 1``.

    ``a_0 = 1``, ``a_n = -f (2n - 2 + t) / (2n + 2 - t) a_{n-1}`` (Tessore & Metcalf 2015,
    eq. 29). For ``0 < t < 2`` the ratio is at most ``f`` in size, so after ``a_n`` the tail
    is below ``|a_n| f / (1 - f)``; terms are added until that bound, the largest over a
    batch, is under ``tolerance``.

    Parameters
    ----------
    t : float or ndarray
        ``slope - 1`` in (0, 2).
    f : float or ndarray
        ``(1 - q) / (1 + q)`` in [0, 1).
    tolerance : float
        Absolute bound on the truncation error.
    max_terms : int
        Cap on the number of terms.

    Returns
    -------
    list of (float or ndarray)
        ``[a_0, ..., a_N]``, each shaped like ``t`` and ``f`` broadcast.
    """
    ratio_bound = f / (1.0 - f)
    a = np.ones(np.broadcast_shapes(np.shape(t), np.shape(f)))
    coefficients = [a]
    for n in range(1, max_terms):
        a = a * (-f) * ((2.0 * n - 2.0 + t) / (2.0 * n + 2.0 - t))
        coefficients.append(a)
        if np.max(np.abs(a) * ratio_bound) < tolerance:
            break
    return coefficients


@dataclass(frozen=True)
class PowerLaw(MassProfile, EllipticalMixin):
    """Elliptical power-law mass profile (singular), Tessore & Metcalf (2015) deflections.

    ``kappa = (3 - slope) / (1 + q) * einstein_radius^(slope - 1) * xi^(1 - slope)``.

    Parameters
    ----------
    centre : tuple of float
        ``(y, x)`` in arcsec.
    ell_comps : tuple of float
        ``(e1, e2)``, dimensionless.
    einstein_radius : float
        Major-axis normalised Einstein radius, arcsec (>= 0).
    slope : float
        Logarithmic slope of the 3D density, in (1, 3); 2 is isothermal.
    """

    centre: tuple = (0.0, 0.0)
    ell_comps: tuple = (0.0, 0.0)
    einstein_radius: float = 1.0
    slope: float = 2.0

    def __post_init__(self):
        check_scalar(self, "einstein_radius", lambda v: v >= 0, ">= 0 (arcsec)", "1.0")
        check_scalar(self, "slope", lambda v: 1.0 < v < 3.0, "in (1, 3) (2 is isothermal)", "2.0")

    def convergence_from(self, grid):
        """Convergence (dimensionless); shape broadcast(..., N)."""
        t = self.slope - 1.0
        q, _, z = profile_frame(self, grid, self.einstein_radius, self.slope)
        kappa = power(q_radius_squared(q, z), -0.5 * t)
        kappa *= (2.0 - t) / (1.0 + q) * (q * self.einstein_radius) ** t
        return kappa

    def _series(self, grid):
        """Tessore & Metcalf (2015) in the profile frame: ``alpha_x' + i alpha_y' = P S``.

        With ``C = q x' + i y'``, ``R = |C|`` and ``w = C^2 / R^2`` (on the unit circle):
        ``S = C 2F1(1, t/2; 2 - t/2; -f w)`` and ``P = 4 (q einstein_radius)^t / (1 + q)^2
        R^(-t)``. The series in ``w`` is summed by Horner's rule, two complex passes a term,
        block by block so that each block stays in cache.

        Returns ``(spare, phi, q, C, S, P)``; ``spare`` is a complex array of the output shape
        (it held ``w``) for the caller to write its result into.
        """
        t = self.slope - 1.0
        q, phi, w = profile_frame(self, grid, self.einstein_radius, self.slope)
        coefficients = hypergeometric_coefficients(t, (1.0 - q) / (1.0 + q))

        c = np.empty_like(w)
        np.multiply(w.imag, q, out=c.real)
        c.imag[...] = w.real
        np.multiply(c, c, out=w)
        scale = np.abs(c)
        np.maximum(scale, geometry.RADIUS_FLOOR, out=scale)
        np.multiply(scale, scale, out=scale)
        np.divide(1.0, scale, out=scale)  # 1 / R^2
        w.real *= scale
        w.imag *= scale

        series = np.empty_like(w)
        for start in range(0, w.shape[-1], _BLOCK):
            block = (..., slice(start, start + _BLOCK))
            s, w_block = series[block], w[block]
            s[...] = coefficients[-1]
            for a in reversed(coefficients[:-1]):
                np.multiply(s, w_block, out=s)
                s += a
        series *= c

        power(scale, 0.5 * t)
        scale *= 4.0 * (q * self.einstein_radius) ** t / (1.0 + q) ** 2
        return w, phi, q, c, series, scale

    def deflections_yx_from(self, grid):
        """Deflection angles (arcsec), shape broadcast(..., N) + (2,), ``(y, x)`` order."""
        out, phi, _, _, series, scale = self._series(grid)
        np.multiply(series.imag, scale, out=out.real)
        np.multiply(series.real, scale, out=out.imag)
        return geometry.yx_to_sky(out, phi)

    def potential_from(self, grid):
        """Lensing potential (arcsec^2), ``(x' alpha_x' + y' alpha_y') / (3 - slope)``.

        The potential is homogeneous of degree ``3 - slope`` (Euler's theorem).
        """
        _, _, q, c, series, scale = self._series(grid)
        psi = np.multiply(c.real, series.real)
        psi *= 1.0 / q
        series.imag *= c.imag
        psi += series.imag
        psi *= scale
        psi *= 1.0 / (3.0 - self.slope)
        return psi


@dataclass(frozen=True)
class PowerLawSph(MassProfile):
    """Spherical power law, ``kappa = (3 - slope) / 2 * (einstein_radius / r)^(slope - 1)``.

    Parameters
    ----------
    centre : tuple of float
        ``(y, x)`` in arcsec.
    einstein_radius : float
        Einstein radius, arcsec (>= 0).
    slope : float
        Logarithmic slope of the 3D density, in (1, 3).
    """

    centre: tuple = (0.0, 0.0)
    einstein_radius: float = 1.0
    slope: float = 2.0

    def __post_init__(self):
        check_scalar(self, "einstein_radius", lambda v: v >= 0, ">= 0 (arcsec)", "1.0")
        check_scalar(self, "slope", lambda v: 1.0 < v < 3.0, "in (1, 3) (2 is isothermal)", "2.0")

    def convergence_from(self, grid):
        """Convergence (dimensionless); shape broadcast(..., N)."""
        t = self.slope - 1.0
        kappa = power(radius_squared(self, grid, self.einstein_radius, self.slope), -0.5 * t)
        kappa *= 0.5 * (2.0 - t) * self.einstein_radius**t
        return kappa

    def deflections_yx_from(self, grid):
        """Deflection angles ``einstein_radius^t r^-t r_vec`` (arcsec), shape (..., N, 2)."""
        t = self.slope - 1.0
        z, r = centred(self, grid, self.einstein_radius, self.slope)
        scale = power(r, -t)
        scale *= self.einstein_radius**t
        return scale_radial(z, scale)

    def potential_from(self, grid):
        """Lensing potential ``einstein_radius^t r^(2 - t) / (2 - t)`` (arcsec^2)."""
        t = self.slope - 1.0
        psi = power(radius_squared(self, grid, self.einstein_radius, self.slope), 1.0 - 0.5 * t)
        psi *= self.einstein_radius**t / (2.0 - t)
        return psi
