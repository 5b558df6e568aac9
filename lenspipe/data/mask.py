"""Masks: which pixels are fitted.

``Mask.array`` is a boolean image where **True means masked out (not fitted)**, as
in PyAutoLens's ``Mask2D``; ``~mask.array`` are the fitted pixels, always taken in
row-major order (``np.nonzero(~mask.array)`` order).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..errors import DatasetError, MaskError, PSFError
from . import fits_io
from .grid import pixel_centres_from
from .imaging import IGNORE_ABOVE, validate_pixel_scale

__all__ = ["Mask"]

_SLACK = 1e-9
"""Pixels within this many pixels of a mask radius count as on it (float round-off)."""


class Mask:
    """A boolean image (True = masked out) with its pixel scale.

    Parameters
    ----------
    array : array_like of bool, shape (N_y, N_x)
        True = masked out (not fitted). Integer arrays of 0/1 are accepted.
    pixel_scale : float
        Arcsec per pixel.

    Raises
    ------
    MaskError
        If the array is not 2D, holds values other than 0/1, or masks out every pixel.
    """

    __slots__ = ("array", "pixel_scale")

    def __init__(self, array, pixel_scale):
        self._set(array, pixel_scale)
        if self.pixels_in_mask == 0:
            raise MaskError(
                f"the mask masks out all {self.array.size} pixels, so nothing would be fitted. "
                f"Use a larger radius, check the mask's centre (arcsec, (y, x)), or check that "
                f"the noise map does not flag every pixel."
            )

    def _set(self, array, pixel_scale):
        raw = np.asarray(array)
        if raw.ndim != 2 or raw.size == 0:
            raise MaskError(f"a mask must be a non-empty 2D array; got shape {raw.shape}.")
        if raw.dtype != bool:
            if not np.all(np.isin(raw, (0, 1))):
                raise MaskError("a mask must hold booleans or 0/1 (1 = masked out); found other values.")
        values = raw.astype(bool)  # always a copy
        values.setflags(write=False)
        self.array = values
        self.pixel_scale = validate_pixel_scale(pixel_scale)

    @classmethod
    def _unchecked(cls, array, pixel_scale):
        """A mask that may be empty (used for blurring regions, which can be)."""
        mask = cls.__new__(cls)
        mask._set(array, pixel_scale)
        return mask

    # ----- constructors -------------------------------------------------------------
    @classmethod
    def all_unmasked(cls, shape, pixel_scale):
        """A mask that fits every pixel."""
        return cls(np.zeros(shape, dtype=bool), pixel_scale)

    @classmethod
    def circular(cls, shape, pixel_scale, radius, centre=(0.0, 0.0)):
        """Fit the pixels whose centres lie within ``radius`` arcsec of ``centre``.

        Parameters
        ----------
        shape : (int, int)
            Image shape, pixels.
        pixel_scale : float
            Arcsec per pixel.
        radius : float
            Arcsec; pixels with centre distance ``<= radius`` are fitted (to within
            1e-9 pixel, so a centre exactly on the radius is fitted despite round-off).
        centre : (float, float)
            ``(y, x)`` arcsec.
        """
        distance = _distance_map(shape, pixel_scale, centre)
        slack = _SLACK * pixel_scale
        return cls(distance > radius + slack, pixel_scale)

    @classmethod
    def annular(cls, shape, pixel_scale, inner_radius, outer_radius, centre=(0.0, 0.0)):
        """Fit the pixels with ``inner_radius <= distance <= outer_radius`` (arcsec) of ``centre``."""
        if not inner_radius < outer_radius:
            raise MaskError(f"inner_radius ({inner_radius}) must be smaller than outer_radius ({outer_radius}).")
        distance = _distance_map(shape, pixel_scale, centre)
        slack = _SLACK * pixel_scale
        return cls((distance < inner_radius - slack) | (distance > outer_radius + slack), pixel_scale)

    @classmethod
    def from_fits(cls, path, pixel_scale, invert=False, hdu=0):
        """Read a mask image (nonzero = masked out; with ``invert=True``, nonzero = fitted).

        Raises
        ------
        MaskError
            If the file is missing or corrupt, or holds NaN/inf.
        """
        try:
            image, _ = fits_io.read_image(path, hdu=hdu, what="mask")
        except MaskError:
            raise
        except DatasetError as err:  # a missing or corrupt file, reported as a mask problem
            raise MaskError(str(err)) from err
        if not np.all(np.isfinite(image)):
            raise MaskError(f"mask file '{path}' holds NaN or inf; a mask holds 0 and 1 (1 = masked out).")
        masked = image != 0
        return cls(~masked if invert else masked, pixel_scale)

    @classmethod
    def from_noise_map(cls, noise_map, pixel_scale, ignore_above=IGNORE_ABOVE):
        """Mask out the pixels flagged by a huge (or non-finite) noise, e.g. SLACS's 1e8.

        Parameters
        ----------
        noise_map : array_like, shape (N_y, N_x)
            1-sigma noise, image units.
        pixel_scale : float
            Arcsec per pixel.
        ignore_above : float
            Pixels with noise ``>= ignore_above`` are masked out (default 1e7).
        """
        noise = np.asarray(noise_map, dtype=np.float64)
        return cls(~np.isfinite(noise) | (noise >= ignore_above), pixel_scale)

    # ----- combination and properties -----------------------------------------------
    def __or__(self, other):
        """Masked out in either mask (the fitted pixels are those fitted in both)."""
        self._check_compatible(other)
        return Mask(self.array | other.array, self.pixel_scale)

    def __and__(self, other):
        """Masked out in both masks (the fitted pixels are those fitted in either)."""
        self._check_compatible(other)
        return Mask(self.array & other.array, self.pixel_scale)

    def __eq__(self, other):
        if not isinstance(other, Mask):
            return NotImplemented
        return self.pixel_scale == other.pixel_scale and np.array_equal(self.array, other.array)

    __hash__ = None

    def __repr__(self):
        return f"Mask(shape={self.shape}, pixel_scale={self.pixel_scale}, pixels_in_mask={self.pixels_in_mask})"

    def _check_compatible(self, other):
        if not isinstance(other, Mask):
            raise TypeError(f"cannot combine a Mask with {type(other).__name__}.")
        if other.shape != self.shape:
            raise MaskError(f"cannot combine masks of shapes {self.shape} and {other.shape}.")
        if not np.isclose(other.pixel_scale, self.pixel_scale, rtol=1e-9, atol=0.0):
            raise MaskError(f"cannot combine masks of pixel scales {self.pixel_scale} and {other.pixel_scale}.")

    @property
    def shape(self):
        """``(N_y, N_x)`` pixels."""
        return self.array.shape

    @property
    def pixels_in_mask(self):
        """Number of fitted (unmasked) pixels."""
        return int(self.array.size - np.count_nonzero(self.array))

    pixels_in = pixels_in_mask

    @property
    def unmasked_indices(self):
        """Flat (row-major) indices into the image of the fitted pixels, shape (N,)."""
        return np.flatnonzero(~self.array)

    @property
    def masked_grid(self):
        """``(y, x)`` arcsec centres of the fitted pixels, shape (N, 2), row-major order."""
        rows, columns = np.nonzero(~self.array)
        y, x = pixel_centres_from(self.shape, self.pixel_scale)
        return np.column_stack([y[rows], x[columns]])

    # ----- blurring region ----------------------------------------------------------
    def blurring_mask_from(self, kernel_shape):
        """The pixels outside the mask whose light a PSF of ``kernel_shape`` blurs into it.

        A pixel is in the blurring region when it is masked out and lies within the
        kernel half-width (``K_y // 2`` rows and ``K_x // 2`` columns) of a fitted pixel.

        Parameters
        ----------
        kernel_shape : (int, int)
            PSF shape, both odd.

        Returns
        -------
        Mask
            False (not masked out) exactly at the blurring pixels, so its ``masked_grid``
            holds their centres (the blurring centres of a
            :class:`lenspipe.fit.oversampling.PixelSampler`). It is empty for a 1x1 kernel.

        Raises
        ------
        PSFError
            If a kernel dimension is even or non-positive.
        MaskError
            If the blurring region would fall off the image edge.
        """
        k_y, k_x = (int(k) for k in kernel_shape)
        if k_y < 1 or k_x < 1 or k_y % 2 == 0 or k_x % 2 == 0:
            raise PSFError(f"kernel shape {tuple(kernel_shape)} must have odd, positive dimensions.")
        h_y, h_x = k_y // 2, k_x // 2
        fitted = ~self.array
        rows, columns = np.nonzero(fitted)
        n_y, n_x = self.shape
        if rows.min() < h_y or rows.max() > n_y - 1 - h_y or columns.min() < h_x or columns.max() > n_x - 1 - h_x:
            raise MaskError(
                f"the mask's blurring region for a {k_y}x{k_x} PSF falls off the {n_y}x{n_x} image: "
                f"fitted pixels must stay at least {h_y} rows and {h_x} columns from the edge (they "
                f"span rows {rows.min()}-{rows.max()}, columns {columns.min()}-{columns.max()}). "
                f"Use a smaller mask radius, or pad the image."
            )
        grown = ndimage.binary_dilation(fitted, structure=np.ones((k_y, k_x), dtype=bool))
        return Mask._unchecked(~(grown & ~fitted), self.pixel_scale)


def _distance_map(shape, pixel_scale, centre):
    """Distance (arcsec) of every pixel centre from ``centre`` (y, x arcsec)."""
    if len(shape) != 2 or min(shape) < 1:
        raise MaskError(f"mask shape must be two positive integers; got {shape}.")
    y, x = pixel_centres_from(shape, validate_pixel_scale(pixel_scale))
    return np.hypot(y[:, None] - centre[0], x[None, :] - centre[1])
