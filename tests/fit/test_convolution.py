"""The FFT convolver equals scipy's direct convolution, singly and in batches."""

import pickle

import numpy as np
import pytest
import scipy.signal

from lenspipe.errors import PSFError
from lenspipe.fit.convolution import Convolver, blurring_pixels_from


def _circular_mask(shape, radius_pixels, centre=None):
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    cy, cx = centre if centre is not None else ((shape[0] - 1) / 2, (shape[1] - 1) / 2)
    return (yy - cy) ** 2 + (xx - cx) ** 2 > radius_pixels**2


def _kernel(rng, shape=(7, 5)):
    kernel = rng.random(shape) + 0.1  # asymmetric, so a flipped kernel would be caught
    return kernel / kernel.sum()


def _reference(mask, kernel, image_padded, pad):
    """scipy's direct convolution of the unmasked + blurring pixels (zero elsewhere)."""
    rows, cols = blurring_pixels_from(mask, kernel.shape)
    keep = np.zeros(image_padded.shape, dtype=bool)
    keep[pad[0]:pad[0] + mask.shape[0], pad[1]:pad[1] + mask.shape[1]] = ~mask
    keep[rows + pad[0], cols + pad[1]] = True
    full = scipy.signal.convolve(np.where(keep, image_padded, 0.0), kernel, mode="same", method="direct")
    return full[pad[0]:pad[0] + mask.shape[0], pad[1]:pad[1] + mask.shape[1]][~mask]


@pytest.mark.parametrize("backend", ["pyfftw", "scipy"])
@pytest.mark.parametrize("centre", [None, (4.0, 20.0)])  # the second mask touches the image's edge
def test_equals_scipy_including_blurring_region(backend, centre, tmp_path):
    rng = np.random.default_rng(1)
    mask = _circular_mask((30, 26), 8.5, centre)
    kernel = _kernel(rng)
    pad = (kernel.shape[0] // 2, kernel.shape[1] // 2)
    image_padded = rng.random((30 + 2 * pad[0], 26 + 2 * pad[1]))
    convolver = Convolver(mask, kernel, planner_effort="FFTW_ESTIMATE", wisdom_path=tmp_path / "w",
                          backend=backend)
    rows, cols = convolver.blurring_rows, convolver.blurring_cols
    image = image_padded[pad[0]:pad[0] + 30, pad[1]:pad[1] + 26][~mask]
    blurring = image_padded[rows + pad[0], cols + pad[1]]
    result = convolver.convolve(image, blurring)
    np.testing.assert_allclose(result, _reference(mask, kernel, image_padded, pad), rtol=0, atol=1e-12)
    # the blurring region really contributes
    assert np.abs(convolver.convolve(image) - result).max() > 1e-3


def test_blurring_region_matches_definition():
    mask = _circular_mask((15, 15), 3.2)
    rows, cols = blurring_pixels_from(mask, (3, 3))
    grown = scipy.ndimage.binary_dilation(~mask, structure=np.ones((3, 3), dtype=bool))
    expected = np.nonzero(grown & mask)
    np.testing.assert_array_equal(rows, expected[0])
    np.testing.assert_array_equal(cols, expected[1])


def test_batch_equals_singles_and_plans_are_reused(tmp_path):
    rng = np.random.default_rng(2)
    mask = _circular_mask((24, 24), 9.0)
    convolver = Convolver(mask, _kernel(rng, (5, 5)), planner_effort="FFTW_ESTIMATE", wisdom_path=tmp_path / "w")
    images = rng.random((6, convolver.pixels))
    blurring = rng.random((6, convolver.blurring_pixels))
    batch = convolver.convolve(images, blurring)
    singles = np.array([convolver.convolve(images[i], blurring[i]) for i in range(6)])
    np.testing.assert_allclose(batch, singles, rtol=0, atol=1e-13)
    first = convolver.convolve(images[0], blurring[0])
    convolver.convolve(images[1], blurring[1])  # the output buffer is reused ...
    np.testing.assert_array_equal(first, singles[0])  # ... but what was returned is a copy
    assert batch.reshape(2, 3, -1).shape == convolver.convolve(images.reshape(2, 3, -1),
                                                               blurring.reshape(2, 3, -1)).shape
    assert (tmp_path / "w").exists()  # wisdom saved


def test_pickle_drops_plans_and_rebuilds(tmp_path):
    rng = np.random.default_rng(3)
    mask = _circular_mask((20, 20), 7.0)
    convolver = Convolver(mask, _kernel(rng, (3, 3)), planner_effort="FFTW_ESTIMATE", wisdom_path=False)
    image = rng.random(convolver.pixels)
    expected = convolver.convolve(image)
    clone = pickle.loads(pickle.dumps(convolver))
    np.testing.assert_array_equal(clone.convolve(image), expected)


def test_even_kernel_is_rejected():
    with pytest.raises(PSFError):
        Convolver(_circular_mask((10, 10), 3.0), np.ones((4, 3)) / 12)
