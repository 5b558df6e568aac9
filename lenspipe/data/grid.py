"""Pixel grids and over-sampling.

A grid is an array of ``(y, x)`` arcsec. Pixel ``(i, j)`` of an ``N_y x N_x`` image
with pixel scale ``s`` has its centre at ``y = (N_y/2 - 0.5 - i) s``,
``x = (j - N_x/2 + 0.5) s`` (CONVENTIONS.md).

Over-sampling evaluates a profile at ``s x s`` sub-pixels per pixel and averages
them (a model pixel is the *mean* of the profile over its sub-pixels). The
:class:`OverSampler` does this for the fitted (unmasked) pixels of a mask, either
with one size for every pixel or with a size per pixel (adaptive; see
:func:`sub_size_map_from_radial_bins`). Binning is in the likelihood hot path and
is done by reshapes and means over contiguous blocks, never by Python loops over pixels.
"""

from __future__ import annotations

import numpy as np

from ..errors import MaskError

__all__ = ["grid_2d_from", "pixel_centres_from", "OverSampler", "sub_size_map_from_radial_bins"]


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


def _sub_offsets(sub_size, pixel_scale):
    """(s*s, 2) offsets (arcsec) of the sub-pixel centres from their pixel centre.

    Sub-pixels are spaced ``pixel_scale / s``, symmetric about the centre, ordered
    row-major (top row first, i.e. decreasing y; left to right).
    """
    steps = ((np.arange(sub_size) + 0.5) / sub_size - 0.5) * pixel_scale
    offsets = np.empty((sub_size, sub_size, 2))
    offsets[..., 0] = -steps[:, None]
    offsets[..., 1] = steps[None, :]
    return offsets.reshape(-1, 2)


class OverSampler:
    """Sub-pixel coordinates of a mask's fitted pixels and binning back to pixels.

    Parameters
    ----------
    mask : Mask
        True = masked out; the fitted (unmasked) pixels are over-sampled, in row-major order.
    sub_size : int or array_like of int
        One size ``s`` for every pixel (uniform), or one size per fitted pixel
        (adaptive), shape ``(n_pixels,)`` in row-major order; an image-shaped array is
        also accepted (its values at the fitted pixels are used). Sizes are >= 1.

    Attributes
    ----------
    sub_grid : ndarray, shape (M, 2)
        ``(y, x)`` arcsec of the sub-pixel centres: ``s x s`` per pixel spaced
        ``1/s`` pixel, symmetric about the pixel centre.
    sub_size : int or ndarray of int, shape (n_pixels,)
        As given (an int for uniform over-sampling).
    n_pixels : int
        Number of fitted pixels N.
    n_sub_pixels : int
        Number of sub-pixels M.
    sub_pixel_to_pixel : ndarray of int, shape (M,)
        Index (into the fitted pixels) of the pixel each sub-pixel belongs to.
    sub_fraction : ndarray, shape (M,)
        ``1 / s^2`` of each sub-pixel's pixel: its weight in the pixel mean.

    Notes
    -----
    Order of ``sub_grid``: uniform -- pixel by pixel (row-major), each pixel's
    ``s x s`` sub-pixels row-major (top row first). Adaptive -- the pixels are grouped
    by sub size (ascending); within a group, pixel by pixel as for uniform. This
    makes each group a contiguous block, so :meth:`binned` is a reshape and a mean
    per group (done as a matrix-vector product with weights ``1/s^2``, which is
about ten times faster than ``mean(axis=-1)`` on a short axis) followed by one
scatter into pixel order. Use ``sub_pixel_to_pixel``
    for anything that needs the owning pixel of a sub-pixel.
    """

    def __init__(self, mask, sub_size):
        self.mask = mask
        pixel_grid = mask.masked_grid
        self.n_pixels = len(pixel_grid)
        pixel_scale = mask.pixel_scale
        if np.ndim(sub_size) == 0:
            size = _check_sizes(np.asarray([sub_size]))[0]
            self.sub_size = int(size)
            self._groups = [(self.sub_size, np.arange(self.n_pixels), 0, self.n_pixels * self.sub_size**2)]
        else:
            sizes = np.asarray(sub_size)
            if sizes.shape == mask.shape:
                sizes = sizes[~mask.array]
            if sizes.shape != (self.n_pixels,):
                raise MaskError(
                    f"sub_size has shape {np.shape(sub_size)}; give an int, one size per fitted pixel "
                    f"({self.n_pixels},), or an image of shape {mask.shape}."
                )
            self.sub_size = _check_sizes(sizes)
            self._groups = []
            start = 0
            for size in np.unique(self.sub_size):
                pixels = np.flatnonzero(self.sub_size == size)
                stop = start + len(pixels) * int(size) ** 2
                self._groups.append((int(size), pixels, start, stop))
                start = stop
        self._uniform = len(self._groups) == 1 and np.array_equal(self._groups[0][1], np.arange(self.n_pixels))
        grids, owners = [], []
        for size, pixels, _, _ in self._groups:
            offsets = _sub_offsets(size, pixel_scale)
            grids.append((pixel_grid[pixels, None, :] + offsets[None, :, :]).reshape(-1, 2))
            owners.append(np.repeat(pixels, size**2))
        self.sub_grid = np.concatenate(grids) if grids else np.zeros((0, 2))
        self.sub_pixel_to_pixel = np.concatenate(owners) if owners else np.zeros(0, dtype=int)
        self.n_sub_pixels = len(self.sub_grid)
        sizes_per_pixel = np.broadcast_to(np.asarray(self.sub_size), (self.n_pixels,))
        self.sub_fraction = 1.0 / sizes_per_pixel[self.sub_pixel_to_pixel].astype(np.float64) ** 2

    @property
    def is_uniform(self):
        """True when every pixel has the same sub size and sub-pixels are in pixel order."""
        return self._uniform

    def binned(self, values):
        """Mean of the sub-pixel values of each pixel.

        Parameters
        ----------
        values : ndarray, shape (..., M)
            One value per sub-pixel, in ``sub_grid`` order (any leading batch axes).

        Returns
        -------
        ndarray, shape (..., N)
            Pixel means, fitted pixels in row-major order.
        """
        values = np.asarray(values)
        if values.shape[-1] != self.n_sub_pixels:
            raise ValueError(
                f"values have {values.shape[-1]} sub-pixels on the last axis; this over-sampler has "
                f"{self.n_sub_pixels}."
            )
        lead = values.shape[:-1]
        if self._uniform:
            size = self._groups[0][0]
            if size == 1:
                return values.copy()
            return values.reshape(lead + (self.n_pixels, size * size)) @ _mean_weights(size)
        out = np.empty(lead + (self.n_pixels,), dtype=np.result_type(values.dtype, np.float64))
        for size, pixels, start, stop in self._groups:
            block = values[..., start:stop].reshape(lead + (len(pixels), size * size))
            out[..., pixels] = block @ _mean_weights(size)
        return out

    @classmethod
    def blurring_from(cls, mask, kernel_shape, sub_size=1):
        """Over-sampler of the blurring pixels of ``mask`` for a PSF of ``kernel_shape``.

        The blurring pixels lie outside the mask but blur light into it; they are
        usually evaluated without over-sampling (``sub_size=1``).
        """
        return cls(mask.blurring_mask_from(kernel_shape), sub_size)


def _mean_weights(size):
    """A vector of ``size^2`` weights ``1 / size^2``: ``block @ weights`` is the mean.

    A matrix-vector product (BLAS) is about ten times faster than ``mean(axis=-1)``
    over an axis of 4-16 values; for sizes that are powers of two the weights are
    exact, and the result equals the mean to round-off in the summation order.
    """
    return np.full(size * size, 1.0 / (size * size))


def _check_sizes(sizes):
    """Sub sizes as an int array, or MaskError if any is not an integer >= 1."""
    sizes = np.asarray(sizes)
    if sizes.size and (
        not np.all(np.isfinite(sizes.astype(float))) or np.any(sizes != np.round(sizes)) or np.any(sizes < 1)
    ):
        raise MaskError(f"sub sizes must be integers >= 1; got {np.unique(sizes)[:5]}.")
    return sizes.astype(np.int64)


def sub_size_map_from_radial_bins(mask, centres, radial_bins, sub_sizes):
    """Sub size of each fitted pixel from its distance to the nearest centre.

    Parameters
    ----------
    mask : Mask
        True = masked out.
    centres : array_like, shape (C, 2) or (2,)
        ``(y, x)`` arcsec of the centres (e.g. the lens light centres).
    radial_bins : sequence of float
        Increasing radii (arcsec) separating the bins, e.g. ``(0.1, 0.3)``.
    sub_sizes : sequence of int
        One more than ``radial_bins``: the size within the first radius, between
        successive radii, and beyond the last, e.g. ``(32, 8, 2)``.

    Returns
    -------
    ndarray of int, shape (n_pixels,)
        Per fitted pixel (row-major). A pixel at distance ``r`` gets ``sub_sizes[k]``
        with ``k`` the number of radii ``<= r`` (so ``r < 0.1`` -> 32,
        ``0.1 <= r < 0.3`` -> 8, ``r >= 0.3`` -> 2).
    """
    centres = np.atleast_2d(np.asarray(centres, dtype=np.float64))
    bins = np.asarray(radial_bins, dtype=np.float64)
    sizes = _check_sizes(np.asarray(sub_sizes))
    if centres.ndim != 2 or centres.shape[1] != 2 or len(centres) == 0:
        raise MaskError(f"centres must be (y, x) arcsec pairs, shape (C, 2); got {np.shape(centres)}.")
    if bins.ndim != 1 or np.any(np.diff(bins) <= 0):
        raise MaskError(f"radial_bins must be increasing radii in arcsec; got {radial_bins}.")
    if len(sizes) != len(bins) + 1:
        raise MaskError(
            f"give one more sub size than radial bins: {len(bins)} bins need {len(bins) + 1} sizes, "
            f"got {len(sizes)}."
        )
    grid = mask.masked_grid
    distance = np.full(len(grid), np.inf)
    for centre in centres:
        distance = np.minimum(distance, np.hypot(grid[:, 0] - centre[0], grid[:, 1] - centre[1]))
    return sizes[np.searchsorted(bins, distance, side="right")]
