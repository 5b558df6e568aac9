"""Mass profiles: ExternalShear and PointMass here; every mass profile re-exported.

The power laws live in :mod:`.power_law` and the NFWs in :mod:`.nfw`; importing
``lenspipe.profiles.mass`` gives all of them. Units: positions and Einstein radii
in arcsec; convergence and shear dimensionless; deflections arcsec; potential arcsec^2.
Batching: any parameter may be a ``(K, 1)`` array (see :mod:`.geometry`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import geometry
from ._frames import centred, radius_squared, scale_radial
from .base import MassProfile
from .nfw import NFW, NFWSph
from .power_law import Isothermal, IsothermalSph, PowerLaw, PowerLawSph

__all__ = [
    "Isothermal",
    "IsothermalSph",
    "PowerLaw",
    "PowerLawSph",
    "NFW",
    "NFWSph",
    "ExternalShear",
    "PointMass",
]


@dataclass(frozen=True)
class ExternalShear(MassProfile):
    """External shear: ``psi = (gamma_1 (x^2 - y^2) + 2 gamma_2 x y) / 2`` about the origin.

    Deflections ``alpha_x = gamma_1 x + gamma_2 y``, ``alpha_y = gamma_2 x - gamma_1 y``;
    the convergence is zero. There is no centre (PyAutoLens's convention): the shear
    acts about the coordinate origin.

    Parameters
    ----------
    gamma_1, gamma_2 : float
        Shear components, dimensionless.
    """

    gamma_1: float = 0.0
    gamma_2: float = 0.0

    @property
    def magnitude(self):
        """Shear strength ``sqrt(gamma_1^2 + gamma_2^2)`` (dimensionless)."""
        return np.sqrt(np.square(self.gamma_1) + np.square(self.gamma_2))

    @property
    def angle(self):
        """Shear angle ``0.5 arctan2(gamma_2, gamma_1)``, radians counter-clockwise from +x."""
        return 0.5 * np.arctan2(self.gamma_2, self.gamma_1)

    def _shape(self, grid):
        return geometry.broadcast_shape(grid, self.gamma_1, self.gamma_2)

    def convergence_from(self, grid):
        """Zeros, shape broadcast(..., N)."""
        grid = np.asarray(grid, dtype=float)
        return np.zeros(self._shape(grid))

    def deflections_yx_from(self, grid):
        """Deflection angles (arcsec), shape broadcast(..., N) + (2,), ``(y, x)`` order.

        With ``zeta = y + i x``: ``alpha_y + i alpha_x = (-gamma_1 + i gamma_2) conj(zeta)``.
        """
        grid = np.asarray(grid, dtype=float)
        z = np.conjugate(
            geometry.complex_grid_from(grid), out=np.empty(self._shape(grid), dtype=complex)
        )
        z *= -np.asarray(self.gamma_1) + 1j * np.asarray(self.gamma_2)
        return geometry.yx_view(z)

    def potential_from(self, grid):
        """Lensing potential (arcsec^2), ``-Re((gamma_1 + i gamma_2) zeta^2) / 2``."""
        grid = np.asarray(grid, dtype=float)
        z = geometry.complex_grid_from(grid)
        z = np.multiply(z, z, out=np.empty(self._shape(grid), dtype=complex))
        z *= -0.5 * (np.asarray(self.gamma_1) + 1j * np.asarray(self.gamma_2))
        return z.real.copy()


@dataclass(frozen=True)
class PointMass(MassProfile):
    """Point mass: ``alpha = einstein_radius^2 r_vec / r^2``, ``psi = einstein_radius^2 ln r``.

    The convergence (a delta function at the centre) is returned as zero everywhere.
    Radii are floored at 1e-8 arcsec, so the deflection at the centre is 0.

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
        """Zeros: the point mass has no convergence away from its centre; shape (..., N)."""
        grid = np.asarray(grid, dtype=float)
        return np.zeros(geometry.broadcast_shape(grid, self.centre, self.einstein_radius))

    def deflections_yx_from(self, grid):
        """Deflection angles (arcsec), shape broadcast(..., N) + (2,), ``(y, x)`` order."""
        z, r = centred(self, grid, self.einstein_radius)
        np.multiply(r, r, out=r)
        np.divide(np.square(self.einstein_radius), r, out=r)
        return scale_radial(z, r)

    def potential_from(self, grid):
        """Lensing potential ``einstein_radius^2 ln r`` (arcsec^2)."""
        r2 = radius_squared(self, grid, self.einstein_radius)
        np.log(r2, out=r2)
        r2 *= 0.5 * np.square(self.einstein_radius)
        return r2
