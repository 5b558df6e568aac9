"""Fixtures for the data tests: a tiny imaging and its FITS files."""

import numpy as np
import pytest

from lenspipe.data import Imaging

from .helpers import gaussian_psf, write_fits


@pytest.fixture
def tiny_imaging():
    """A 7x9 random imaging at 0.1 arcsec per pixel with a 3x3 PSF."""
    rng = np.random.default_rng(1)
    return Imaging(
        data=rng.normal(size=(7, 9)),
        noise_map=rng.uniform(0.5, 2.0, size=(7, 9)),
        psf=gaussian_psf(3, 0.8),
        pixel_scale=0.1,
    )


@pytest.fixture
def fits_triplet(tmp_path, tiny_imaging):
    """Paths of data, PSF and noise FITS files of ``tiny_imaging`` (no PIXSCALE card)."""
    data = write_fits(tmp_path / "data.fits", tiny_imaging.data)
    psf = write_fits(tmp_path / "psf.fits", tiny_imaging.psf)
    noise = write_fits(tmp_path / "noise.fits", tiny_imaging.noise_map)
    return data, psf, noise
