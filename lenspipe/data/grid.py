"""Pixel grids.

A grid is an array of ``(y, x)`` arcsec. Pixel ``(i, j)`` of an ``N_y x N_x`` image
with pixel scale ``s`` has its centre at ``y = (N_y/2 - 0.5 - i) s``,
``x = (j - N_x/2 + 0.5) s`` (CONVENTIONS.md). Over-sampling (the points inside each
pixel where light is evaluated, and their binning to pixel means) is
:mod:`lenspipe.fit.oversampling`, for the fit and the simulator alike.
"""

from __future__ import annotations

import numpy as np

__all__ = ["grid_2d_from", "pixel_centres_from"]


def pixel_centres_from(shape, pixel_scale):
    """The y centres of the rows and the x centres of the columns.

    Parameters
    ----------
    shape : (int, int)
        ``(N_y, N_x)`` pixels.
    pixel_scale : float
        Arcsec per pixel.

    Returns
    -------
    y : ndarray, shape (N_y,)
        Arcsec; decreasing (row 0 is the top).
    x : ndarray, shape (N_x,)
        Arcsec; increasing.
    """
    n_y, n_x = shape
    y = (n_y / 2.0 - 0.5 - np.arange(n_y)) * pixel_scale
    x = (np.arange(n_x) - n_x / 2.0 + 0.5) * pixel_scale
    return y, x


def grid_2d_from(shape, pixel_scale):
    """``(y, x)`` centres of every pixel of an image, in row-major order.

    Parameters
    ----------
    shape : (int, int)
        ``(N_y, N_x)`` pixels.
    pixel_scale : float
        Arcsec per pixel.

    Returns
    -------
    ndarray, shape (N_y * N_x, 2)
        Arcsec; ``grid.reshape(N_y, N_x, 2)[i, j]`` is the centre of pixel ``(i, j)``.
    """
    y, x = pixel_centres_from(shape, pixel_scale)
    grid = np.empty((len(y), len(x), 2))
    grid[..., 0] = y[:, None]
    grid[..., 1] = x[None, :]
    return grid.reshape(-1, 2)
