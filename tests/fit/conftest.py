"""Fixtures of the fit tests: small simulated lenses."""

import pytest
from fit_helpers import gaussian_psf, p1_like_tracer

from lenspipe.data import Mask, simulate_imaging


@pytest.fixture(scope="session")
def small_lens():
    """A 40 x 40, 0.1 arcsec P1-like lens simulated noiselessly at 2 x 2 (data, tracer, mask)."""
    tracer = p1_like_tracer()
    imaging, model_image = simulate_imaging(tracer, (40, 40), 0.1, gaussian_psf(7, 1.5), exposure_time=1000.0,
                                            background_sky=0.1, seed=1, sub_size=2, add_noise=False)
    mask = Mask.circular((40, 40), 0.1, 1.6)
    return imaging, tracer, mask


@pytest.fixture(scope="session")
def noisy_small_lens():
    """The same lens with Poisson noise (seed 3)."""
    tracer = p1_like_tracer()
    imaging, _ = simulate_imaging(tracer, (40, 40), 0.1, gaussian_psf(7, 1.5), exposure_time=1000.0,
                                  background_sky=0.1, seed=3, sub_size=4)
    return imaging, tracer, Mask.circular((40, 40), 0.1, 1.6)
