"""Multi-plane ray tracing through a list of galaxies.

Planes are the galaxies' unique redshifts in increasing order; the last plane is
the source plane. With deflections normalised to the last plane (PyAutoLens's and
CONVENTIONS.md's convention), the grid on plane j is

    theta_j = theta - sum_{i<j} beta_ij alpha_i(theta_i),
    beta_ij = D_ij D_s / (D_j D_is),

so that a single lens plane and a source plane need no distances at all.
"""

from __future__ import annotations

import numpy as np

from .cosmology import default_cosmology, scaling_factors
from .critical_curves import einstein_radius_from_tracer

__all__ = ["Tracer"]


class Tracer:
    """Ray tracing through the planes of a list of galaxies.

    Parameters
    ----------
    galaxies : iterable of Galaxy
        The galaxies, in any order. Redshifts must be plain floats.
    cosmology : astropy.cosmology.Cosmology, optional
        Gives the distances between planes when there are more than two; default Planck15.
    """

    def __init__(self, galaxies, cosmology=None):
        self.galaxies = list(galaxies)
        self.cosmology = cosmology if cosmology is not None else default_cosmology()
        self.plane_redshifts = sorted({float(g.redshift) for g in self.galaxies})
        self.planes = [
            [g for g in self.galaxies if float(g.redshift) == z] for z in self.plane_redshifts
        ]
        if len(self.plane_redshifts) > 2:
            self._betas = scaling_factors(self.cosmology, self.plane_redshifts)
        else:
            self._betas = {(0, 1): 1.0}

    @property
    def plane_index_of_galaxy(self) -> list[int]:
        """The plane index of each galaxy, in ``galaxies`` order."""
        return [self.plane_redshifts.index(float(g.redshift)) for g in self.galaxies]

    def traced_grids_from(self, grid: np.ndarray) -> list[np.ndarray]:
        """The grid on every plane, from the image plane (first) to the source plane (last).

        Parameters
        ----------
        grid : ndarray, shape (..., N, 2)
            Image-plane ``(y, x)`` in arcsec.

        Returns
        -------
        list of ndarray
            One grid per plane; with batched parameters of shape (K, 1) they are (K, N, 2).
        """
        traced = [grid]
        deflections = []
        for j in range(1, len(self.planes)):
            plane_deflections = _summed_deflections(self.planes[j - 1], traced[j - 1])
            deflections.append(plane_deflections)
            grid_j = grid
            for i in range(j):
                if deflections[i] is None:
                    continue
                grid_j = grid_j - self._betas[i, j] * deflections[i]
            traced.append(grid_j)
        return traced

    def galaxy_image_list_from(self, grid: np.ndarray) -> list:
        """The unconvolved image of each galaxy on its own plane's traced grid (``galaxies`` order)."""
        traced = self.traced_grids_from(grid)
        return [
            g.image_from(traced[index]) if g.has_light else None
            for g, index in zip(self.galaxies, self.plane_index_of_galaxy)
        ]

    def image_from(self, grid: np.ndarray) -> np.ndarray:
        """The unconvolved image of every plane, summed (image units), shape ``(..., N)``."""
        images = [image for image in self.galaxy_image_list_from(grid) if image is not None]
        if not images:
            return np.zeros(grid.shape[:-1])
        total = images[0]
        for image in images[1:]:
            total = total + image
        return total

    def deflections_yx_from(self, grid: np.ndarray) -> np.ndarray:
        """Total deflection to the source plane, ``theta - theta_source`` (arcsec), shape ``(..., N, 2)``."""
        return grid - self.traced_grids_from(grid)[-1]

    def convergence_from(self, grid: np.ndarray) -> np.ndarray:
        """The summed convergence of every galaxy on the image-plane grid (PyAutoLens's definition)."""
        total = np.zeros(grid.shape[:-1])
        for galaxy in self.galaxies:
            if galaxy.has_mass:
                total = total + galaxy.convergence_from(grid)
        return total

    def jacobian_from(self, grid: np.ndarray, step: float = 1e-4) -> np.ndarray:
        """The lens-mapping Jacobian ``d beta / d theta`` by central differences.

        Parameters
        ----------
        grid : ndarray, shape (N, 2)
            Image-plane ``(y, x)`` in arcsec.
        step : float
            Finite-difference step in arcsec.

        Returns
        -------
        ndarray, shape (N, 2, 2)
            ``J[:, a, b] = d beta_a / d theta_b`` with index 0 = y, 1 = x.
        """
        grid = np.asarray(grid, dtype=float)
        columns = []
        for axis in (0, 1):
            shift = np.zeros(2)
            shift[axis] = step
            upper = self.traced_grids_from(grid + shift)[-1]
            lower = self.traced_grids_from(grid - shift)[-1]
            columns.append((upper - lower) / (2.0 * step))
        return np.stack(columns, axis=-1)

    def magnification_from(self, grid: np.ndarray, step: float = 1e-4) -> np.ndarray:
        """Signed magnification ``1 / det(J)`` at each point (dimensionless)."""
        jacobian = self.jacobian_from(grid, step=step)
        determinant = (
            jacobian[..., 0, 0] * jacobian[..., 1, 1] - jacobian[..., 0, 1] * jacobian[..., 1, 0]
        )
        with np.errstate(divide="ignore"):
            return 1.0 / determinant

    def einstein_radius_from(self, half_width: float | None = None, pixels: int = 400) -> float:
        """Effective Einstein radius ``sqrt(A / pi)`` of the area inside the tangential critical curve (arcsec).

        See :func:`lenspipe.lensing.critical_curves.einstein_radius_from_tracer`.
        """
        return einstein_radius_from_tracer(self, half_width=half_width, pixels=pixels)


def _summed_deflections(galaxies, grid):
    """Summed deflections of the galaxies of one plane, or None when none has mass."""
    total = None
    for galaxy in galaxies:
        if galaxy.has_mass:
            d = galaxy.deflections_yx_from(grid)
            total = d if total is None else total + d
    return total
