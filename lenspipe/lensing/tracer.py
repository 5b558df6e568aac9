"""Multi-plane ray tracing through a list of galaxies.

Planes are the galaxies' unique redshifts in increasing order; the last plane is
the source plane. With deflections normalised to the last plane (PyAutoLens's and
CONVENTIONS.md's convention), the grid on plane j is

    theta_j = theta - sum_{i<j} beta_ij alpha_i(theta_i),
    beta_ij = D_ij D_s / (D_j D_is),

so that a single lens plane and a source plane need no distances at all.

:func:`trace_grids` is the one implementation of that sum: ``Tracer.traced_grids_from``,
the imaging fit (with *preloads*: deflections and traced grids of mass profiles fixed for
a whole fit, evaluated once) and the adaptive over-sampling's refinement (planes whose
profiles are gathered by batch row) all call it.
"""

from __future__ import annotations

import numpy as np

from .cosmology import default_cosmology, scaling_factors
from .critical_curves import einstein_radius_from_tracer

__all__ = ["Tracer", "trace_grids"]


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
            self.betas = scaling_factors(self.cosmology, self.plane_redshifts)
        else:
            self.betas = {(0, 1): 1.0}

    @property
    def plane_index_of_galaxy(self) -> list[int]:
        """The plane index of each galaxy, in ``galaxies`` order."""
        return [self.plane_redshifts.index(float(g.redshift)) for g in self.galaxies]

    def traced_grids_from(self, grid: np.ndarray, preloads=None) -> list[np.ndarray]:
        """The grid on every plane, from the image plane (first) to the source plane (last).

        Parameters
        ----------
        grid : ndarray, shape (..., N, 2)
            Image-plane ``(y, x)`` in arcsec.
        preloads : lenspipe.fit.preloads.Preloads, optional
            Only for the grid the preloads were made on (a fit's dataset grid): fixed mass
            profiles take their deflections, and planes behind only fixed mass their traced
            grids, from it.

        Returns
        -------
        list of ndarray
            One grid per plane; with batched parameters of shape (K, 1) they are (K, N, 2).
        """
        return trace_grids(grid, self.planes, self.betas, preloads)

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


def trace_grids(grid, planes, betas, preloads=None) -> list:
    """One grid per plane (the first is ``grid``): ``theta_j = theta - sum_{i<j} beta_ij alpha_i(theta_i)``.

    Parameters
    ----------
    grid : ndarray, shape (..., N, 2)
        Image-plane ``(y, x)``, arcsec.
    planes : list of list of Galaxy
        The galaxies of each plane, nearest first (``Tracer.planes``).
    betas : dict
        ``{(i, j): beta_ij}`` (``Tracer.betas``).
    preloads : optional
        Anything with ``deflections(plane, name, profile)`` and ``traced_grid(plane, planes)``
        returning an array or None (:class:`lenspipe.fit.preloads.Preloads`).

    Sums are done in place only on arrays this function made (never on a profile's or the
    preloads').
    """
    traced, deflections = [grid], []
    for j in range(1, len(planes)):
        plane_deflections, owned = None, False
        for galaxy in planes[j - 1]:
            for name, profile in galaxy.mass_profiles.items():
                d = None if preloads is None else preloads.deflections(j - 1, name, profile)
                if d is None:
                    d = profile.deflections_yx_from(traced[j - 1])
                if plane_deflections is None:
                    plane_deflections = d  # not owned: a profile or the preloads may hold it
                elif owned and plane_deflections.shape == np.broadcast_shapes(plane_deflections.shape, d.shape):
                    plane_deflections += d
                else:
                    plane_deflections, owned = plane_deflections + d, True
        deflections.append(plane_deflections)
        preloaded = None if preloads is None else preloads.traced_grid(j, planes)
        if preloaded is not None:
            traced.append(preloaded)
            continue
        grid_j = None
        for i in range(j):
            if deflections[i] is None:
                continue
            step = deflections[i] if betas[i, j] == 1.0 else betas[i, j] * deflections[i]
            if grid_j is None:
                grid_j = grid - step
            elif grid_j.shape == np.broadcast_shapes(grid_j.shape, step.shape):
                grid_j -= step
            else:
                grid_j = grid_j - step
        traced.append(grid if grid_j is None else grid_j)
    return traced
