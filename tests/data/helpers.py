"""Helpers for the data tests: kernels and a plain FITS writer for building bad inputs."""

import numpy as np
from astropy.io import fits


def gaussian_psf(size=5, sigma=1.0):
    """An odd, normalised, circular Gaussian kernel (pixels)."""
    r = np.arange(size) - size // 2
    kernel = np.exp(-(r[:, None] ** 2 + r[None, :] ** 2) / (2 * sigma**2))
    return kernel / kernel.sum()


def write_fits(path, array, **header):
    """Write ``array`` as the primary HDU of ``path`` with plain astropy."""
    hdu = fits.PrimaryHDU(array)
    for key, value in header.items():
        hdu.header[key] = value
    hdu.writeto(path)
    return path
