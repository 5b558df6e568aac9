"""Light profiles: Sersic (and its n = 1 and n = 4 special cases) and Gaussian, and their linear variants.

The elliptical Sersic family is a function of the elliptical radius
``R = sqrt(q x'^2 + y'^2 / q)`` (arcsec) in the profile frame (see :mod:`.geometry` and
../shared/CONVENTIONS.md); the elliptical Gaussian is not: CONVENTIONS.md defines it, as
PyAutoGalaxy does, as ``intensity exp(-(q^2 x'^2 + y'^2) / (2 sigma^2))``. The ``*Sph``
variants use ``r = sqrt((x - xc)^2 + (y - yc)^2)``. ``intensity`` is in image units per
pixel (e.g. e-/s), so ``image_from`` returns image units; radii are in arcsec.

Total flux: the map ``(x', y') -> (sqrt(q) x', y' / sqrt(q))`` has unit Jacobian, so an
elliptical Sersic's total flux equals the circular one's (its ``q`` factor is exactly 1);
the Gaussian's map ``(x', y') -> (q x', y')`` has Jacobian ``q``, so its flux is the
circular one's divided by ``q``.

Batching: any parameter may be a ``(K, 1)`` array; ``image_from`` of a grid of
shape ``(..., N, 2)`` then returns the broadcast shape, e.g. ``(K, N)``.

Linear variants (``SersicLinear``, ..., ``GaussianSphLinear``, in :mod:`.light_linear`; CONVENTIONS.md: "Linear
variants have no ``intensity``: it is solved for") have every parameter of their standard
profile but ``intensity``, which is not a field (so not a model parameter) but the class
constant 1.0 -- as ``sersic_index`` is on ``Exponential``. ``image_from`` is the standard one,
so it gives the profile's image at unit intensity (its *basis*); the fit solves for the
amplitude (:mod:`lenspipe.fit.linear`) and :meth:`LinearLightProfile.with_intensity` turns a
linear profile and its solved amplitude back into the standard profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from . import geometry
from .base import EllipticalMixin, LightProfile, check_scalar

__all__ = [
    "sersic_constant",
    "Sersic",
    "SersicSph",
    "Exponential",
    "ExponentialSph",
    "DevVaucouleurs",
    "DevVaucouleursSph",
    "Gaussian",
    "GaussianSph",
    "LinearLightProfile",
    "SersicLinear",
    "SersicSphLinear",
    "ExponentialLinear",
    "ExponentialSphLinear",
    "DevVaucouleursLinear",
    "DevVaucouleursSphLinear",
    "GaussianLinear",
    "GaussianSphLinear",
]

# (R / R_e)^2 is floored here before its logarithm: the image at the centre is then
# intensity * exp(b_n) to double precision for any sersic_index.
_RADIUS_SQUARED_FLOOR = np.finfo(float).tiny


def sersic_constant(sersic_index):
    """``b_n`` of Ciotti & Bertin (1999), so that ``R_e`` encloses half the light.

    ``b_n = 2n - 1/3 + 4/(405 n) + 46/(25515 n^2) + 131/(1148175 n^3)
    - 2194697/(30690717750 n^4)``.

    Parameters
    ----------
    sersic_index : float or ndarray
        ``n``, dimensionless, > 0.

    Returns
    -------
    float or ndarray
        ``b_n``, dimensionless.
    """
    n = sersic_index
    return (
        2.0 * n
        - 1.0 / 3.0
        + 4.0 / (405.0 * n)
        + 46.0 / (25515.0 * n**2)
        + 131.0 / (1148175.0 * n**3)
        - 2194697.0 / (30690717750.0 * n**4)
    )


def _elliptical_radius_squared(profile, grid, scale, shape):
    """``(R * scale)^2`` with ``R = sqrt(q x'^2 + y'^2 / q)``; a fresh array of ``shape``."""
    q, phi = geometry.axis_ratio_and_angle_from(profile.ell_comps)
    sqrt_q = np.sqrt(q)
    return geometry.elliptical_radius_squared_from(
        grid, profile.centre, phi, sqrt_q * scale, scale / sqrt_q, shape
    )


def _gaussian_radius_squared(profile, grid, scale, shape):
    """``scale^2 (q^2 x'^2 + y'^2)``, the elliptical Gaussian's (CONVENTIONS.md); a fresh array of ``shape``."""
    q, phi = geometry.axis_ratio_and_angle_from(profile.ell_comps)
    return geometry.elliptical_radius_squared_from(grid, profile.centre, phi, q * scale, scale, shape)


def _circular_radius_squared(profile, grid, scale, shape):
    """``(r * scale)^2`` with ``r`` the distance from the centre; a fresh array of ``shape``."""
    return geometry.circular_radius_squared_from(grid, profile.centre, scale, shape)


class _SersicFamily(LightProfile):
    """``I(R) = intensity exp(-b_n [(R / R_e)^(1/n) - 1])``."""

    _radius_squared = staticmethod(_elliptical_radius_squared)

    def __post_init__(self):
        check_scalar(self, "effective_radius", lambda v: v > 0, "> 0 (arcsec)", "0.6")
        if "sersic_index" in self.__dataclass_fields__:
            check_scalar(self, "sersic_index", lambda v: v > 0, "> 0 (dimensionless)", "4.0")

    def image_from(self, grid):
        """Surface brightness (image units) at each ``(y, x)`` (arcsec) of ``grid``.

        Steps: ``u = (R / R_e)^2`` in one pass of the rotation; ``u^(1/(2n))`` as
        ``exp(log(u) / (2n))``; then ``intensity e^{b_n} exp(-b_n u^(1/(2n)))``.
        Three transcendental calls per point, all in place.

        Parameters
        ----------
        grid : ndarray, shape (..., N, 2)
            ``(y, x)`` in arcsec.

        Returns
        -------
        ndarray, shape broadcast(..., N)
        """
        grid = np.asarray(grid, dtype=float)
        n = self.sersic_index
        b_n = sersic_constant(n)
        shape = geometry.broadcast_shape(
            grid, self.centre, getattr(self, "ell_comps", 0.0), self.intensity,
            self.effective_radius, n,
        )
        u = self._radius_squared(self, grid, 1.0 / self.effective_radius, shape)
        np.maximum(u, _RADIUS_SQUARED_FLOOR, out=u)
        np.log(u, out=u)
        np.multiply(u, 0.5 / n, out=u)
        np.exp(u, out=u)
        np.multiply(u, -b_n, out=u)
        np.exp(u, out=u)
        np.multiply(u, self.intensity * np.exp(b_n), out=u)
        return u

    @property
    def total_flux(self):
        """Integral of the profile over the plane: ``2 pi n R_e^2 e^{b_n} b_n^{-2n} Gamma(2n) I``.

        In image units times arcsec^2: a model image (pixel means) sums to ``total_flux``
        divided by the pixel area in arcsec^2. The ellipticity factor is 1 (see the module
        docstring).
        """
        n = self.sersic_index
        b_n = sersic_constant(n)
        return (
            2.0 * np.pi * n * self.effective_radius**2 * self.intensity
            * np.exp(b_n - 2.0 * n * np.log(b_n)) * special.gamma(2.0 * n)
        )


class _SphericalSersicFamily(_SersicFamily):
    _radius_squared = staticmethod(_circular_radius_squared)


@dataclass(frozen=True)
class Sersic(_SersicFamily, EllipticalMixin):
    """Elliptical Sersic light profile.

    Parameters
    ----------
    centre : tuple of float
        ``(y, x)`` in arcsec.
    ell_comps : tuple of float
        ``(e1, e2)``, dimensionless.
    intensity : float
        Surface brightness at ``R = R_e`` (image units).
    effective_radius : float
        ``R_e`` in arcsec (> 0), the half-light radius of the elliptical radius ``R``.
    sersic_index : float
        ``n`` (> 0), dimensionless.
    """

    centre: tuple = (0.0, 0.0)
    ell_comps: tuple = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6
    sersic_index: float = 4.0


@dataclass(frozen=True)
class SersicSph(_SphericalSersicFamily):
    """Spherical Sersic light profile (see :class:`Sersic`; no ``ell_comps``)."""

    centre: tuple = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6
    sersic_index: float = 4.0


@dataclass(frozen=True)
class Exponential(_SersicFamily, EllipticalMixin):
    """Elliptical exponential light profile: a :class:`Sersic` with ``sersic_index = 1``."""

    centre: tuple = (0.0, 0.0)
    ell_comps: tuple = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6

    sersic_index = 1.0


@dataclass(frozen=True)
class ExponentialSph(_SphericalSersicFamily):
    """Spherical exponential light profile: a :class:`SersicSph` with ``sersic_index = 1``."""

    centre: tuple = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6

    sersic_index = 1.0


@dataclass(frozen=True)
class DevVaucouleurs(_SersicFamily, EllipticalMixin):
    """Elliptical de Vaucouleurs light profile: a :class:`Sersic` with ``sersic_index = 4``."""

    centre: tuple = (0.0, 0.0)
    ell_comps: tuple = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6

    sersic_index = 4.0


@dataclass(frozen=True)
class DevVaucouleursSph(_SphericalSersicFamily):
    """Spherical de Vaucouleurs light profile: a :class:`SersicSph` with ``sersic_index = 4``."""

    centre: tuple = (0.0, 0.0)
    intensity: float = 0.1
    effective_radius: float = 0.6

    sersic_index = 4.0


class _GaussianFamily(LightProfile):
    """``I = intensity exp(-(q^2 x'^2 + y'^2) / (2 sigma^2))``; ``exp(-r^2 / (2 sigma^2))`` for ``*Sph``."""

    _radius_squared = staticmethod(_gaussian_radius_squared)

    def __post_init__(self):
        check_scalar(self, "sigma", lambda v: v > 0, "> 0 (arcsec)", "1.0")

    def image_from(self, grid):
        """Surface brightness (image units) at each ``(y, x)`` (arcsec) of ``grid``.

        One transcendental call per point: ``1 / (sqrt(2) sigma)`` is folded into the rotation.

        Parameters
        ----------
        grid : ndarray, shape (..., N, 2)
            ``(y, x)`` in arcsec.

        Returns
        -------
        ndarray, shape broadcast(..., N)
        """
        grid = np.asarray(grid, dtype=float)
        shape = geometry.broadcast_shape(
            grid, self.centre, getattr(self, "ell_comps", 0.0), self.intensity, self.sigma
        )
        u = self._radius_squared(self, grid, np.sqrt(0.5) / self.sigma, shape)
        np.negative(u, out=u)
        np.exp(u, out=u)
        np.multiply(u, self.intensity, out=u)
        return u

    @property
    def total_flux(self):
        """Integral over the plane, ``2 pi sigma^2 intensity / q`` (image units times arcsec^2).

        The widths are ``sigma / q`` along x' and ``sigma`` along y', so the integral is
        ``intensity sqrt(2 pi) (sigma / q) sqrt(2 pi) sigma``; ``q = 1`` for the ``*Sph`` profiles.
        """
        q = self.axis_ratio if isinstance(self, EllipticalMixin) else 1.0
        return 2.0 * np.pi * self.sigma**2 * self.intensity / q


@dataclass(frozen=True)
class Gaussian(_GaussianFamily, EllipticalMixin):
    """Elliptical Gaussian light profile.

    Parameters
    ----------
    centre : tuple of float
        ``(y, x)`` in arcsec.
    ell_comps : tuple of float
        ``(e1, e2)``, dimensionless.
    intensity : float
        Central surface brightness (image units).
    sigma : float
        Arcsec (> 0): the standard deviation along the minor axis (y'); along the major
        axis (x') it is ``sigma / q``.

    Notes
    -----
    ``I = intensity exp(-(q^2 x'^2 + y'^2) / (2 sigma^2))`` (CONVENTIONS.md; PyAutoGalaxy's
    definition). This is not the Sersic's elliptical radius ``R = sqrt(q x'^2 + y'^2 / q)``:
    the two agree only for q = 1.
    """

    centre: tuple = (0.0, 0.0)
    ell_comps: tuple = (0.0, 0.0)
    intensity: float = 0.1
    sigma: float = 1.0


@dataclass(frozen=True)
class GaussianSph(_GaussianFamily):
    """Spherical Gaussian light profile (see :class:`Gaussian`; no ``ell_comps``)."""

    _radius_squared = staticmethod(_circular_radius_squared)

    centre: tuple = (0.0, 0.0)
    intensity: float = 0.1
    sigma: float = 1.0


# The linear variants live in light_linear.py; importable from here as before.
from .light_linear import (DevVaucouleursLinear, DevVaucouleursSphLinear, ExponentialLinear,  # noqa: E402
                           ExponentialSphLinear, GaussianLinear, GaussianSphLinear, LinearLightProfile,
                           SersicLinear, SersicSphLinear)
