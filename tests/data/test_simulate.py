"""Simulated imaging: noiseless model, PSF orientation, noise, reproducibility, saving."""

import json
from dataclasses import dataclass

import numpy as np
import pytest
from scipy.signal import convolve2d

from lenspipe.data import Imaging, grid_2d_from, save_simulation, simulate_imaging
from lenspipe.errors import DatasetError, MaskError

from .helpers import gaussian_psf


@dataclass(frozen=True)
class GaussianSource:
    """A stand-in tracer: a circular Gaussian of peak ``intensity`` (e-/s) and width ``sigma`` (arcsec)."""

    centre: tuple = (0.0, 0.0)
    intensity: float = 2.0
    sigma: float = 0.15

    def image_from(self, grid):
        dy, dx = grid[..., 0] - self.centre[0], grid[..., 1] - self.centre[1]
        return self.intensity * np.exp(-(dy**2 + dx**2) / (2 * self.sigma**2))


def _independent_model(source, shape, pixel_scale, psf, sub_size):
    """Over-sample on the padded image by hand and convolve directly (no FFT, no PixelSampler)."""
    h_y, h_x = psf.shape[0] // 2, psf.shape[1] // 2
    padded = (shape[0] + 2 * h_y, shape[1] + 2 * h_x)
    centres = grid_2d_from(padded, pixel_scale).reshape(padded + (2,))
    offsets = ((np.arange(sub_size) + 0.5) / sub_size - 0.5) * pixel_scale
    image = np.zeros(padded)
    for oy in offsets:
        for ox in offsets:
            image += source.image_from(centres + np.array([oy, ox]))
    image /= sub_size**2
    return convolve2d(image, psf, mode="valid")


def test_noiseless_simulation_equals_the_convolved_model():
    source = GaussianSource(centre=(0.12, -0.07))
    psf = gaussian_psf(5, 1.1)
    imaging, model = simulate_imaging(source, (20, 24), 0.05, psf, 1000.0, 0.5, seed=1, sub_size=3, add_noise=False)
    expected = _independent_model(source, (20, 24), 0.05, psf, 3)
    assert model.shape == (20, 24)
    assert np.allclose(model, expected, rtol=1e-10, atol=1e-13)
    assert np.array_equal(imaging.data, model)
    counts = (expected + 0.5) * 1000.0
    assert np.allclose(imaging.noise_map, np.sqrt(counts) / 1000.0, rtol=1e-10)


def test_huge_exposure_time_makes_the_noise_negligible():
    source = GaussianSource()
    imaging, model = simulate_imaging(source, (16, 16), 0.05, gaussian_psf(3), 1e12, 0.1, seed=5)
    assert np.abs(imaging.data - model).max() < 1e-5
    assert np.all(np.abs(imaging.data - model) < 6 * imaging.noise_map)


def test_point_source_lands_on_its_pixel_and_the_psf_is_not_flipped():
    psf = np.full((3, 3), 0.01)
    psf[0, 2] = 0.92  # most light to the top right
    source = GaussianSource(centre=(0.2, -0.3), intensity=1.0, sigma=0.001)
    _, model = simulate_imaging(source, (11, 11), 0.1, psf, 1.0, seed=0, sub_size=1, add_noise=False)
    # the source sits at the centre of pixel (i, j) = (5 - 2, 5 - 3) = (3, 2); its light moves one pixel up-right
    assert np.unravel_index(np.argmax(model), model.shape) == (2, 3)
    assert model[3, 2] == pytest.approx(0.01 * model[2, 3] / 0.92, rel=1e-9)


def test_same_seed_same_numbers_and_noise_is_unit_normal():
    source = GaussianSource(intensity=5.0)
    args = (source, (64, 64), 0.05, gaussian_psf(5), 400.0, 2.0)
    first, model = simulate_imaging(*args, seed=42)
    second, _ = simulate_imaging(*args, seed=42)
    other, _ = simulate_imaging(*args, seed=43)
    assert np.array_equal(first.data, second.data)
    assert np.array_equal(first.noise_map, second.noise_map)
    assert not np.array_equal(first.data, other.data)
    pulls = (first.data - model) / first.noise_map
    assert abs(pulls.mean()) < 0.05 and abs(pulls.std() - 1.0) < 0.05


def test_noise_floor_keeps_the_noise_positive():
    imaging, _ = simulate_imaging(GaussianSource(intensity=0.0), (5, 5), 0.1, gaussian_psf(3), 100.0, seed=0)
    assert np.array_equal(imaging.noise_map, np.full((5, 5), 0.01))  # one count / exposure time
    assert np.array_equal(imaging.data, np.zeros((5, 5)))


def test_bad_simulation_inputs_raise():
    with pytest.raises(DatasetError, match="exposure_time"):
        simulate_imaging(GaussianSource(), (5, 5), 0.1, gaussian_psf(3), 0.0, seed=0)
    with pytest.raises(DatasetError, match="negative"):
        simulate_imaging(GaussianSource(intensity=-1.0), (5, 5), 0.1, gaussian_psf(3), 10.0, seed=0)
    for sub_size in (0, 2.5):
        with pytest.raises(MaskError, match="sub_size must be an integer >= 1"):
            simulate_imaging(GaussianSource(), (5, 5), 0.1, gaussian_psf(3), 10.0, seed=0, sub_size=sub_size)


def test_save_simulation_writes_fits_and_truth(tmp_path):
    source = GaussianSource(centre=(np.float64(0.1), 0.0))
    imaging, _ = simulate_imaging(source, (12, 12), 0.05, gaussian_psf(3), 500.0, 1.0, seed=7)
    paths = save_simulation(tmp_path / "sim", imaging, {"source": source, "seed": np.int64(7)})
    back = Imaging.from_fits(paths["data"], paths["psf"], paths["noise_map"])
    assert back.data.tobytes() == imaging.data.tobytes()
    assert back.noise_map.tobytes() == imaging.noise_map.tobytes()
    assert back.pixel_scale == 0.05
    truth = json.loads(paths["truth"].read_text())
    assert truth == {
        "seed": 7,
        "source": {"type": "GaussianSource", "centre": [0.1, 0.0], "intensity": 2.0, "sigma": 0.15},
    }
    assert sorted(p.name for p in (tmp_path / "sim").iterdir()) == [
        "data.fits", "noise_map.fits", "psf.fits", "truth.json"
    ]


def test_simulation_of_a_real_tracer():
    from lenspipe import lensing
    from lenspipe.profiles import light

    bulge = light.Sersic(centre=(0.0, 0.0), ell_comps=(0.1, 0.0), intensity=1.0, effective_radius=0.3, sersic_index=2.0)
    tracer = lensing.Tracer([lensing.Galaxy(0.5, bulge=bulge)])
    imaging, model = simulate_imaging(tracer, (31, 31), 0.05, gaussian_psf(5), 1e3, 0.1, seed=3, sub_size=4)
    again, _ = simulate_imaging(tracer, (31, 31), 0.05, gaussian_psf(5), 1e3, 0.1, seed=3, sub_size=4)
    assert np.array_equal(imaging.data, again.data)
    assert np.unravel_index(np.argmax(model), model.shape) == (15, 15)
    assert np.allclose(model, model[::-1, ::-1], rtol=1e-10)  # point-symmetric profile and PSF
