"""Imaging: a science image, its 1-sigma noise map, the PSF and the pixel scale.

Arrays are indexed ``[row, column]`` with row 0 at the top of the image (largest y);
pixel ``(i, j)`` of an ``N_y x N_x`` image with pixel scale ``s`` has its centre at
``y = (N_y/2 - 0.5 - i) s``, ``x = (j - N_x/2 + 0.5) s`` arcsec (see CONVENTIONS.md).

Pixels to ignore carry a huge noise (:data:`IGNORED_NOISE` = 1e8, the SLACS
convention); :meth:`lenspipe.data.Mask.from_noise_map` masks every pixel whose noise
is at least :data:`IGNORE_ABOVE` = 1e7.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from ..errors import DatasetError, PSFError
from . import fits_io

__all__ = [
    "Imaging",
    "IGNORED_NOISE",
    "IGNORE_ABOVE",
    "noise_map_from_weight",
    "validate_pixel_scale",
    "validate_psf",
]

IGNORED_NOISE = 1.0e8
"""Noise (image units) given to a pixel that must be ignored (zero weight)."""

IGNORE_ABOVE = 1.0e7
"""Pixels whose noise is at least this are treated as ignored and masked out."""

NOISE_KINDS = ("noise", "weight", "inverse_variance")


@dataclasses.dataclass(frozen=True, eq=False)
class Imaging:
    """An image with its noise map, PSF and pixel scale.

    Parameters
    ----------
    data : array_like, shape (N_y, N_x)
        The image (e.g. electrons/s); finite everywhere.
    noise_map : array_like, shape (N_y, N_x)
        1-sigma noise in the image's units; positive and finite. Pixels to ignore carry
        :data:`IGNORED_NOISE`.
    psf : array_like, shape (K_y, K_x)
        Point-spread function with odd dimensions and a positive, finite sum. It is
        normalised to sum 1 (a kernel whose sum is already 1 to 1e-10 is kept as is,
        so files round-trip bit for bit).
    pixel_scale : float
        Arcsec per pixel, positive.

    The arrays are stored as read-only float64 copies; the inputs are not modified.
    Use :func:`dataclasses.replace` (or :meth:`replace`) to change a field.

    Raises
    ------
    DatasetError
        Non-2D or empty arrays, shape mismatch, NaN/inf in the data, non-positive or
        non-finite noise, missing or non-positive pixel scale.
    PSFError
        An even-sized PSF, or one whose sum is not positive or that holds NaN/inf.
    """

    data: np.ndarray
    noise_map: np.ndarray
    psf: np.ndarray
    pixel_scale: float

    def __post_init__(self):
        data = _image_array(self.data, "data")
        noise_map = _image_array(self.noise_map, "noise map")
        if noise_map.shape != data.shape:
            raise DatasetError(
                f"the noise map has shape {noise_map.shape} but the data has shape {data.shape}; "
                f"they must match pixel for pixel (were they cut out differently?)."
            )
        bad = ~np.isfinite(data)
        if bad.any():
            i, j = np.argwhere(bad)[0]
            raise DatasetError(
                f"the data holds {int(bad.sum())} NaN or inf pixel(s) (first at row {i}, column {j}). "
                f"Replace them by 0 and give them noise {IGNORED_NOISE:g} (or weight 0) so they are "
                f"masked out."
            )
        _check_noise(noise_map)
        psf = validate_psf(self.psf)
        object.__setattr__(self, "data", _read_only(data))
        object.__setattr__(self, "noise_map", _read_only(noise_map))
        object.__setattr__(self, "psf", _read_only(psf))
        object.__setattr__(self, "pixel_scale", validate_pixel_scale(self.pixel_scale))

    @property
    def shape(self):
        """``(N_y, N_x)`` of the image, pixels."""
        return self.data.shape

    @property
    def ignored(self):
        """Boolean image, True where the noise is at least :data:`IGNORE_ABOVE` (ignored pixels)."""
        return self.noise_map >= IGNORE_ABOVE

    @property
    def signal_to_noise_map(self):
        """``data / noise_map`` (dimensionless)."""
        return self.data / self.noise_map

    def replace(self, **changes):
        """A copy with some fields changed, validated again."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_fits(
        cls,
        data_path,
        psf_path,
        noise_map_path=None,
        pixel_scale=None,
        hdu=0,
        noise_kind="noise",
        noise_hdu=None,
        psf_hdu=None,
    ):
        """Load imaging from FITS files (read-only; the files are never modified).

        Parameters
        ----------
        data_path, psf_path : str or Path
            FITS files of the image and the PSF.
        noise_map_path : str or Path, optional
            FITS file of the noise (or weight) map. If None, the noise is read from
            ``data_path`` at ``noise_hdu`` (which must then be given).
        pixel_scale : float, optional
            Arcsec per pixel. If None, the data header's ``PIXSCALE`` card is used.
        hdu : int or str
            HDU of the image in each file (default 0, the primary HDU).
        noise_kind : {"noise", "weight", "inverse_variance"}
            What the noise file holds: the 1-sigma noise, or a weight map (weight and
            inverse variance both mean ``1 / sigma^2``; zero weight marks a pixel to
            ignore, which gets noise :data:`IGNORED_NOISE`).
        noise_hdu, psf_hdu : int or str, optional
            HDU of the noise and the PSF, if different from ``hdu``.

        Returns
        -------
        Imaging

        Raises
        ------
        DatasetError, PSFError
            See :class:`Imaging` and :func:`lenspipe.data.fits_io.read_image`.
        """
        if noise_kind not in NOISE_KINDS:
            raise DatasetError(f"noise_kind must be one of {NOISE_KINDS}, not {noise_kind!r}.")
        data, header = fits_io.read_image(data_path, hdu=hdu, what="data")
        if noise_map_path is None:
            if noise_hdu is None:
                raise DatasetError(
                    "no noise map given: pass noise_map_path= (a FITS file) or noise_hdu= (the "
                    f"extension of '{data_path}' holding the noise or weight map)."
                )
            noise_map_path = data_path
        noise, _ = fits_io.read_image(
            noise_map_path, hdu=hdu if noise_hdu is None else noise_hdu, what=f"{noise_kind} map"
        )
        psf, _ = fits_io.read_image(psf_path, hdu=hdu if psf_hdu is None else psf_hdu, what="PSF")
        if pixel_scale is None:
            if "PIXSCALE" not in header:
                raise DatasetError(
                    f"no pixel scale: '{data_path}' has no PIXSCALE header card; pass pixel_scale= "
                    f"(arcsec per pixel)."
                )
            pixel_scale = header["PIXSCALE"]
        if noise_kind != "noise":
            if noise.shape != data.shape:
                raise DatasetError(
                    f"the {noise_kind} map has shape {noise.shape} but the data has shape {data.shape}."
                )
            noise = noise_map_from_weight(noise)
        return cls(data=data, noise_map=noise, psf=psf, pixel_scale=pixel_scale)

    def to_fits(self, data_path, psf_path, noise_map_path, overwrite=False):
        """Write the data, PSF and noise map as three float64 FITS files (atomically).

        Each header carries ``PIXSCALE`` (arcsec per pixel), so :meth:`from_fits`
        can read the files back without ``pixel_scale=``; the round trip is bit for bit.

        Parameters
        ----------
        data_path, psf_path, noise_map_path : str or Path
            Destination files.
        overwrite : bool
            Replace existing files (default False: raise FileExistsError).
        """
        header = {"PIXSCALE": (self.pixel_scale, "arcsec per pixel")}
        paths = [Path(p) for p in (data_path, psf_path, noise_map_path)]
        if not overwrite:
            for path in paths:
                if path.exists():
                    raise FileExistsError(f"'{path}' exists; pass overwrite=True to replace it.")
        for path, array in zip(paths, (self.data, self.psf, self.noise_map)):
            fits_io.write_image(path, array, header=header, overwrite=True)


def noise_map_from_weight(weight):
    """1-sigma noise from a weight (inverse-variance) map.

    Parameters
    ----------
    weight : array_like
        ``1 / sigma^2`` in inverse squared image units; zero marks a pixel to ignore.

    Returns
    -------
    ndarray of float64
        ``1 / sqrt(weight)``, with :data:`IGNORED_NOISE` where the weight is zero.

    Raises
    ------
    DatasetError
        If a weight is negative, NaN or infinite.
    """
    weight = np.asarray(weight, dtype=np.float64)
    bad = ~np.isfinite(weight) | (weight < 0)
    if bad.any():
        raise DatasetError(
            f"the weight map holds {int(bad.sum())} negative, NaN or infinite value(s); weights are "
            f"1/sigma^2 >= 0. Set pixels to ignore to weight 0."
        )
    noise = np.full(weight.shape, IGNORED_NOISE)
    good = weight > 0
    noise[good] = 1.0 / np.sqrt(weight[good])
    return noise


def validate_pixel_scale(pixel_scale):
    """The pixel scale as a positive float (arcsec per pixel), or DatasetError."""
    if pixel_scale is None:
        raise DatasetError("no pixel scale given: pass pixel_scale= in arcsec per pixel (e.g. 0.05 for HST ACS).")
    try:
        value = float(pixel_scale)
    except (TypeError, ValueError):
        raise DatasetError(f"pixel scale {pixel_scale!r} is not a number (arcsec per pixel).") from None
    if not np.isfinite(value) or value <= 0:
        raise DatasetError(f"pixel scale must be a positive number of arcsec per pixel, not {pixel_scale!r}.")
    return value


def validate_psf(psf):
    """Check a PSF kernel and return it as float64 normalised to sum 1.

    Parameters
    ----------
    psf : array_like, shape (K_y, K_x)
        Odd dimensions, finite values, positive sum.

    Returns
    -------
    ndarray of float64
        The kernel divided by its sum (unchanged if the sum is 1 to within 1e-10).

    Raises
    ------
    PSFError
        If the kernel is not 2D, is even-sized, holds NaN/inf, or its sum is not positive.
    """
    kernel = np.array(psf, dtype=np.float64)
    if kernel.ndim != 2 or kernel.size == 0:
        raise PSFError(f"the PSF must be a non-empty 2D array; got shape {kernel.shape}.")
    if kernel.shape[0] % 2 == 0 or kernel.shape[1] % 2 == 0:
        raise PSFError(
            f"the PSF has shape {kernel.shape}; both dimensions must be odd so it has a central "
            f"pixel. Trim or pad it by one row/column (keeping the peak at the centre)."
        )
    if not np.all(np.isfinite(kernel)):
        raise PSFError("the PSF holds NaN or inf values; replace them (e.g. by 0) and check its normalisation.")
    total = kernel.sum()
    if not total > 0:
        raise PSFError(f"the PSF sums to {total:g}; its sum must be positive (it is normalised to 1).")
    if abs(total - 1.0) > 1e-10:
        kernel = kernel / total
    return kernel


def _image_array(array, what):
    """A 2D, non-empty float64 copy of ``array``, or DatasetError."""
    try:
        image = np.array(array, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DatasetError(f"the {what} cannot be read as an array of numbers: {err}") from err
    if image.ndim != 2:
        raise DatasetError(f"the {what} must be a 2D image; got {image.ndim} dimensions (shape {image.shape}).")
    if image.size == 0:
        raise DatasetError(f"the {what} is empty (shape {image.shape}).")
    return image


def _check_noise(noise_map):
    """Raise DatasetError unless every noise value is positive and finite."""
    bad = ~np.isfinite(noise_map) | (noise_map <= 0)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise DatasetError(
            f"the noise map holds {int(bad.sum())} non-positive, NaN or inf value(s) (first "
            f"{float(noise_map[i, j])!r} at row {i}, column {j}); noise is a positive 1-sigma value. "
            f"Give pixels to ignore noise {IGNORED_NOISE:g}; if the file is a weight map pass "
            f"noise_kind='weight'."
        )


def _read_only(array):
    """Mark an array read-only and return it."""
    array.setflags(write=False)
    return array
