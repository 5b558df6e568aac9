"""The multi-Gaussian expansion (MGE): many linear Gaussians sharing one centre and ellipticity.

PyAutoLens's ``mge`` light model (``al.model_util.mge_model_from``: a ``Basis`` of linear
``Gaussian`` profiles whose ``centre`` and ``ell_comps`` are linked and whose ``sigma`` values
are fixed and log-spaced) as one profile: :class:`MGE`. Its free parameters are the shared
``centre`` and ``ell_comps``; ``total_gaussians``, ``sigma_min`` and ``sigma_max`` fix the
Gaussians and are not sampled by default (:attr:`MGE.fixed_parameters`). Each Gaussian's
intensity is solved for by the fit, as for any linear light profile
(:mod:`lenspipe.fit.linear`, one basis per Gaussian), so an MGE adds 4 parameters to a model
and ``total_gaussians`` amplitudes to the linear system.

The Gaussians are CONVENTIONS.md's: ``I_i = a_i exp(-(q^2 x'^2 + y'^2) / (2 sigma_i^2))``, with
``sigma_i = sigma_min (sigma_max / sigma_min)^(i / (G - 1))``, ``i = 0 .. G - 1`` (arcsec).

Default widths. PyAutoLens 2026.7.29.1 spaces ``log10(sigma)`` evenly from -4 to
``log10(mask_radius)`` (its docstring says from 0.01 arcsec, the value of earlier versions and
of its point-source MGE), with 20 Gaussians per basis in the SLaM pipelines (2 bases for the
lens light, 1 for the source). Here the defaults are ``sigma_min = 0.01`` arcsec: a fifth of
an HST pixel, below which a Gaussian is a point source that no pixel rule resolves (1e-4 arcsec
widths only add near-duplicate, almost empty bases and make the normal matrix singular), and
``sigma_max = 3.0`` arcsec, the mask radius of PyAutoLens's HST examples. 20 Gaussians then
step by a factor 1.35 in width, fine enough to follow a Sersic profile of index 1-4 to a few
per cent of its light (tests/profiles/test_mge.py). Set ``sigma_max`` to the mask radius of
your data, as PyAutoLens does.

After a fit, :meth:`MGE.with_intensities` gives the :class:`Basis` of ordinary Gaussians at
the solved intensities (``FitImaging.tracer_with_intensities``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import geometry
from .base import EllipticalMixin, LightProfile, check_scalar
from .light import Gaussian, GaussianLinear

__all__ = ["MGE", "Basis", "TAIL_CUTOFF"]

#: A Gaussian is set to 0 where ``u / (2 sigma^2)`` exceeds this (``exp(-40) = 4e-18`` of its peak).
TAIL_CUTOFF = 40.0


@dataclass(frozen=True)
class MGE(LightProfile, EllipticalMixin):
    """A multi-Gaussian expansion: ``total_gaussians`` linear Gaussians of log-spaced widths.

    Parameters
    ----------
    centre : tuple of float
        ``(y, x)`` in arcsec, shared by every Gaussian.
    ell_comps : tuple of float
        ``(e1, e2)``, dimensionless, shared by every Gaussian.
    total_gaussians : int
        ``G >= 1``, the number of Gaussians (amplitudes solved for). Not sampled.
    sigma_min, sigma_max : float
        The narrowest and widest ``sigma`` (arcsec, ``0 < sigma_min <= sigma_max``), as in
        :class:`~lenspipe.profiles.Gaussian` (the minor-axis width). Not sampled.

    Notes
    -----
    ``image_from`` is the sum of the Gaussians at unit intensity; the fit uses each one's
    image (:meth:`images_from`) as a separate basis. Batched ``centre`` and ``ell_comps``
    ((K, 1) arrays) give (K, G, N) images.
    """

    centre: tuple = (0.0, 0.0)
    ell_comps: tuple = (0.0, 0.0)
    total_gaussians: int = 20
    sigma_min: float = 0.01
    sigma_max: float = 3.0

    #: Marks the profile for the fit: its amplitudes are solved for.
    is_linear = True
    #: Parameters a Model fixes at their defaults rather than sampling.
    fixed_parameters = ("total_gaussians", "sigma_min", "sigma_max")

    def __post_init__(self):
        check_scalar(self, "total_gaussians", lambda v: v >= 1 and int(v) == v, "an integer >= 1", "20")
        check_scalar(self, "sigma_min", lambda v: v > 0, "> 0 (arcsec)", "0.01")
        low = self.sigma_min if np.ndim(self.sigma_min) == 0 else 0.0
        check_scalar(self, "sigma_max", lambda v: v >= low and v > 0, ">= sigma_min (arcsec)", "3.0")

    @property
    def amplitude_count(self) -> int:
        """``G``, the number of amplitudes the fit solves for."""
        return int(self.total_gaussians)

    @property
    def sigmas(self) -> np.ndarray:
        """The Gaussians' widths (arcsec): shape (G,), or (K, G) for batched ``sigma_min``/``sigma_max``."""
        fractions = np.linspace(0.0, 1.0, self.amplitude_count)
        low = np.asarray(self.sigma_min, dtype=float)
        return low * (np.asarray(self.sigma_max, dtype=float) / low) ** fractions

    @property
    def gaussians(self) -> tuple:
        """The G :class:`~lenspipe.profiles.GaussianLinear` profiles, narrowest first."""
        sigmas = self.sigmas
        return tuple(GaussianLinear(centre=self.centre, ell_comps=self.ell_comps, sigma=_column(sigmas, i))
                     for i in range(self.amplitude_count))

    def images_from(self, grid: np.ndarray) -> np.ndarray:
        """Each Gaussian's surface brightness at unit intensity, shape (..., G, N).

        One rotation for all: ``u = q^2 x'^2 + y'^2`` (arcsec^2), then ``exp(-u / (2 sigma_i^2))``
        per Gaussian, evaluated only where ``u / (2 sigma_i^2) < TAIL_CUTOFF`` and exactly 0
        beyond (below ``exp(-40) = 4e-18`` of the Gaussian's peak, under double-precision
        rounding of its own values): a narrow Gaussian costs the points near its centre only,
        and no time goes into the far tail, where ``exp`` underflows slowly.

        Parameters
        ----------
        grid : ndarray, shape (..., N, 2)
            ``(y, x)`` in arcsec.

        Returns
        -------
        ndarray, shape broadcast(...) + (G, N)
        """
        grid = np.asarray(grid, dtype=float)
        shape = geometry.broadcast_shape(grid, self.centre, self.ell_comps)
        q, phi = geometry.axis_ratio_and_angle_from(self.ell_comps)
        u = geometry.elliptical_radius_squared_from(grid, self.centre, phi, q, 1.0, shape)
        rates = 0.5 / self.sigmas**2  # (G,) or (K, G), per arcsec^2
        if rates.ndim > 1:  # batched widths (sampled settings): every Gaussian at every point
            images = np.multiply(u[..., None, :], -rates[..., :, None])
            return np.exp(images, out=images)
        return _gaussians_near(u, rates)

    def image_from(self, grid: np.ndarray) -> np.ndarray:
        """The sum of the Gaussians at unit intensity (image units), shape broadcast(..., N)."""
        return np.sum(self.images_from(grid), axis=-2)

    def with_intensities(self, intensities) -> "Basis":
        """The :class:`Basis` of ordinary Gaussians at ``intensities``.

        Parameters
        ----------
        intensities : array_like, shape (G,) or (K, G)
            One intensity per Gaussian (image units), narrowest first; (K, G) for a batch,
            which gives (K, 1) intensities.
        """
        intensities = np.asarray(intensities, dtype=float)
        sigmas = self.sigmas
        return Basis(tuple(
            Gaussian(centre=self.centre, ell_comps=self.ell_comps, intensity=_column(intensities, i),
                     sigma=_column(sigmas, i))
            for i in range(self.amplitude_count)))


@dataclass(frozen=True)
class Basis(LightProfile):
    """A sum of light profiles, e.g. an :class:`MGE`'s Gaussians at their solved intensities.

    PyAutoGalaxy's ``Basis(profile_list)``. Its image is the sum of its profiles' images.

    Parameters
    ----------
    profiles : tuple of LightProfile
    """

    profiles: tuple = ()

    def image_from(self, grid: np.ndarray) -> np.ndarray:
        """The sum of the profiles' surface brightness (image units) at each ``(y, x)`` (arcsec)."""
        images = [profile.image_from(grid) for profile in self.profiles]
        total = images[0]
        for image in images[1:]:
            total = total + image
        return total

    @property
    def intensities(self) -> np.ndarray:
        """The profiles' intensities (image units): shape (G,), or (K, G) when they are (K, 1) columns."""
        values = [np.asarray(profile.intensity, dtype=float) for profile in self.profiles]
        if all(value.ndim == 0 for value in values):
            return np.array(values)
        return np.concatenate([np.reshape(value, (-1, 1)) for value in values], axis=-1)

    @property
    def total_flux(self):
        """The sum of the profiles' total fluxes (image units times arcsec^2)."""
        return sum(profile.total_flux for profile in self.profiles)


def _gaussians_near(u, rates):
    """Images ``exp(-rate_i u)`` of shape ``u.shape[:-1] + (G, N)``, 0 where ``rate_i u >= TAIL_CUTOFF``.

    Widest Gaussian first: the points near enough shrink from one Gaussian to the next
    narrower one (``rates`` increase), so each is evaluated on the subset the previous one
    kept, and the work is the number of points inside the cutoffs, not G times all of them.
    """
    lead, points = u.shape[:-1], u.shape[-1]
    u = u.reshape(-1, points)  # (K, N), K = 1 without a batch
    images = np.zeros((u.shape[0], rates.size, points))
    farthest = np.max(u)
    rows = columns = values = None
    for i in range(rates.size - 1, -1, -1):
        limit = TAIL_CUTOFF / rates[i]
        if rows is None and farthest < limit:
            out = images[:, i, :]
            np.multiply(u, -rates[i], out=out)
            np.exp(out, out=out)
            continue
        if rows is None:
            rows, columns = np.nonzero(u < limit)
            values = u[rows, columns]
        else:
            keep = values < limit
            rows, columns, values = rows[keep], columns[keep], values[keep]
        images[rows, i, columns] = np.exp(values * -rates[i])
    return images.reshape(lead + (rates.size, points))


def _column(values, i):
    """Entry ``i`` of the last axis: a float for a (G,) array, a (K, 1) column for a (K, G) one."""
    return float(values[i]) if values.ndim == 1 else values[..., i:i + 1]
