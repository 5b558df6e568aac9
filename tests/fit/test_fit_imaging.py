"""FitImaging: the likelihood of CONVENTIONS.md, hand-checked and on simulated data."""

import numpy as np
import pytest
from fit_helpers import Constant

from lenspipe.data import Imaging, Mask
from lenspipe.fit.fit_imaging import DatasetModel, FitImaging, MaskedImaging
from lenspipe.lensing import Galaxy, Tracer


def _tiny_dataset(psf):
    """5 x 5 pixels, the central 3 x 3 fitted; hand-picked data and noise."""
    data = np.arange(25, dtype=float).reshape(5, 5) / 10.0
    noise = np.full((5, 5), 0.5)
    noise[2, 2] = 0.25
    mask = np.ones((5, 5), dtype=bool)
    mask[1:4, 1:4] = False
    imaging = Imaging(data=data, noise_map=noise, psf=psf, pixel_scale=0.1)
    return MaskedImaging(imaging, Mask(mask, 0.1), over_sampling=1, planner_effort="FFTW_ESTIMATE",
                         wisdom_path=False), data, noise, mask


def test_hand_checked_chi_squared_noise_normalisation_and_log_likelihood():
    psf = np.zeros((3, 3))
    psf[1, 1] = 0.6
    psf[0, 1] = psf[2, 1] = psf[1, 0] = psf[1, 2] = 0.1
    dataset, data, noise, mask = _tiny_dataset(psf)
    # A constant light of 1.0: inside the mask the blurred model is exactly 1.0 only
    # because the blurring region (the ring around the 3 x 3) supplies the light.
    tracer = Tracer([Galaxy(redshift=0.5, light=Constant(value=1.0))])
    fit = FitImaging(dataset, tracer, dataset_model=DatasetModel(background_sky_level=0.25))
    fitted = ~mask
    model = 1.25
    chi2 = np.sum(((data[fitted] - model) / noise[fitted]) ** 2)
    # by hand: data in the 3x3 are 0.6..0.8, 1.1..1.3, 1.6..1.8; noise 0.5 except 0.25 at the centre
    residuals = np.array([0.6, 0.7, 0.8, 1.1, 1.2, 1.3, 1.6, 1.7, 1.8]) - 1.25
    sigmas = np.array([0.5, 0.5, 0.5, 0.5, 0.25, 0.5, 0.5, 0.5, 0.5])
    assert chi2 == pytest.approx(np.sum((residuals / sigmas) ** 2), rel=1e-14)
    normalisation = 8 * np.log(2 * np.pi * 0.25) + np.log(2 * np.pi * 0.0625)
    assert fit.chi_squared == pytest.approx(chi2, rel=1e-12)
    assert fit.noise_normalization == pytest.approx(normalisation, rel=1e-12)
    assert fit.log_likelihood == pytest.approx(-0.5 * (chi2 + normalisation), rel=1e-12)
    np.testing.assert_allclose(fit.model_image[fitted], model, rtol=0, atol=1e-14)
    assert np.all(fit.model_image[mask] == 0.0)
    np.testing.assert_allclose(fit.residual_map[fitted], data[fitted] - model, atol=1e-14)
    np.testing.assert_allclose(fit.normalized_residual_map[fitted], (data[fitted] - model) / noise[fitted], atol=1e-13)
    np.testing.assert_allclose(fit.chi_squared_map.sum(), chi2, rtol=1e-12)
    np.testing.assert_allclose(fit.blurred_images[0][fitted], 1.0, atol=1e-14)


def test_light_outside_the_mask_is_blurred_in():
    psf = np.full((3, 3), 1.0 / 9.0)
    dataset, *_ = _tiny_dataset(psf)
    tracer = Tracer([Galaxy(redshift=0.5, light=Constant(value=9.0))])
    model = FitImaging(dataset, tracer).model_image
    np.testing.assert_allclose(model[1:4, 1:4], 9.0, atol=1e-13)  # the ring contributes 1/9 per pixel
    assert dataset.convolver.blurring_pixels == 16


def test_noiseless_data_fitted_by_its_own_model_gives_zero_chi_squared(small_lens):
    imaging, tracer, mask = small_lens  # simulated at uniform 2 x 2
    dataset = MaskedImaging(imaging, mask, over_sampling=2, blurring_sub_size=2, planner_effort="FFTW_ESTIMATE",
                            wisdom_path=False)
    fit = FitImaging(dataset, tracer)
    assert fit.chi_squared < 1e-10
    assert np.max(np.abs(fit.normalized_residual_map)) < 1e-7
    # per-galaxy images add up to the model image
    np.testing.assert_allclose(sum(fit.blurred_images), fit.model_image, rtol=1e-12, atol=1e-12)


def test_batched_tracer_gives_batched_fit(small_lens):
    imaging, tracer, mask = small_lens
    dataset = MaskedImaging(imaging, mask, planner_effort="FFTW_ESTIMATE", wisdom_path=False)
    lens, source = tracer.galaxies
    radii = np.array([[1.15], [1.2], [1.25]])
    batched = Tracer([Galaxy(0.5, bulge=lens.bulge, mass=lens.mass.replace(einstein_radius=radii), shear=lens.shear),
                      source])
    values = FitImaging(dataset, batched).log_likelihood
    singles = [FitImaging(dataset, Tracer([Galaxy(0.5, bulge=lens.bulge, mass=lens.mass.replace(einstein_radius=r),
                                                  shear=lens.shear), source])).log_likelihood for r in radii[:, 0]]
    assert values.shape == (3,)
    np.testing.assert_allclose(values, singles, rtol=1e-12)


def test_preloaded_tracing_equals_plain_tracing_with_three_planes():
    """The Tracer's one tracing path: with the first plane's mass preloaded (fixed) and the
    second's free, every plane's grid equals the plain trace to rounding."""
    from lenspipe.fit.preloads import Preloads
    from lenspipe.profiles import IsothermalSph, SersicSph

    def tracer(radius):
        return Tracer([Galaxy(0.5, mass=IsothermalSph(centre=(0.1, 0.0), einstein_radius=1.0)),
                       Galaxy(0.8, mass=IsothermalSph(centre=(0.0, 0.2), einstein_radius=radius),
                              light=SersicSph(intensity=1.0, effective_radius=0.2, sersic_index=1.0)),
                       Galaxy(2.0, light=SersicSph(intensity=2.0, effective_radius=0.1, sersic_index=2.0))])

    dataset = _tiny_dataset(np.array([[0.1, 0.2, 0.1], [0.2, 1.0, 0.2], [0.1, 0.2, 0.1]]))[0]
    preloads = Preloads.from_tracers(dataset, tracer(0.3), tracer(0.4))
    assert preloads.summary()["deflections"] == ["plane 0: mass"]
    assert preloads.summary()["traced_grids"] == ["plane 1"]
    for radius in (0.3, 0.35):
        plain = tracer(radius).traced_grids_from(dataset.grid)
        preloaded = tracer(radius).traced_grids_from(dataset.grid, preloads)
        assert len(plain) == len(preloaded) == 3
        for ours, theirs in zip(preloaded, plain):
            np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=1e-13)
    # The source plane moves with the free second-plane mass (the preload is not a stale copy).
    assert not np.allclose(tracer(0.3).traced_grids_from(dataset.grid, preloads)[2],
                           tracer(0.35).traced_grids_from(dataset.grid, preloads)[2])