"""The MGE in the fit: solved intensities, keys, batches, preloads and latent variables."""

import numpy as np
import pytest
from fit_helpers import gaussian_psf

from lenspipe.analysis import AnalysisImaging, AnalysisSettings
from lenspipe.data import Mask, simulate_imaging
from lenspipe.fit.fit_imaging import FitImaging, MaskedImaging
from lenspipe.fit.likelihood import LikelihoodEvaluator
from lenspipe.lensing import Galaxy, Tracer
from lenspipe.model import Collection, Model
from lenspipe.profiles import MGE, ExternalShear, Isothermal
from lenspipe.profiles.mge import Basis

LENS_MGE = dict(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), total_gaussians=6, sigma_min=0.05, sigma_max=1.2)
SOURCE_MGE = dict(centre=(0.02, 0.05), ell_comps=(0.1, 0.05), total_gaussians=5, sigma_min=0.03, sigma_max=0.4)
LENS_INTENSITIES = [0.0, 3.0, 1.5, 0.8, 0.0, 0.2]  # two zeros: the solution sits on the boundary a >= 0
SOURCE_INTENSITIES = [4.0, 0.0, 2.0, 1.0, 0.3]
MASS = dict(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), einstein_radius=1.2)
SHEAR = dict(gamma_1=0.02, gamma_2=0.01)
TRUTHS = {**{f"galaxies.lens.bulge.intensity_{i}": v for i, v in enumerate(LENS_INTENSITIES)},
          **{f"galaxies.source.bulge.intensity_{i}": v for i, v in enumerate(SOURCE_INTENSITIES)}}


def _tracer(lens_light, source_light):
    return Tracer([Galaxy(0.5, bulge=lens_light, mass=Isothermal(**MASS), shear=ExternalShear(**SHEAR)),
                   Galaxy(1.0, bulge=source_light)])


@pytest.fixture(scope="module")
def gaussian_lens():
    """30 x 30 pixels of 0.1 arcsec, simulated noiselessly at 2 x 2 from known Gaussians."""
    truth = _tracer(MGE(**LENS_MGE).with_intensities(LENS_INTENSITIES),
                    MGE(**SOURCE_MGE).with_intensities(SOURCE_INTENSITIES))
    imaging, _ = simulate_imaging(truth, (30, 30), 0.1, gaussian_psf(7, 1.5), exposure_time=1000.0,
                                  background_sky=0.1, seed=1, sub_size=2, add_noise=False)
    return imaging, Mask.circular((30, 30), 0.1, 1.4), truth


def _dataset(imaging, mask, **kwargs):
    return MaskedImaging(imaging, mask, planner_effort="FFTW_ESTIMATE", wisdom_path=False, **kwargs)


def _model(fixed_lens_light=False):
    bulge = MGE(**LENS_MGE) if fixed_lens_light else Model(MGE, **{k: v for k, v in LENS_MGE.items()
                                                                   if k not in ("centre", "ell_comps")})
    lens = Model(Galaxy, redshift=0.5, bulge=bulge, mass=Model(Isothermal), shear=Model(ExternalShear))
    source = Model(Galaxy, redshift=1.0, bulge=Model(MGE, total_gaussians=5, sigma_min=0.03, sigma_max=0.4))
    return Collection(galaxies=Collection(lens=lens, source=source))


def _truth_vector(model):
    values = {"galaxies.lens.bulge": LENS_MGE, "galaxies.lens.mass": MASS, "galaxies.lens.shear": SHEAR,
              "galaxies.source.bulge": SOURCE_MGE}
    vector = []
    for path in model.paths:
        head, name = path.rsplit(".", 1)
        if name[:-2] in ("centre", "ell_comps"):
            vector.append(values[head.rsplit(".", 1)[0]][name[:-2]][int(name[-1])])
        else:
            vector.append(values[head][name])
    return np.array(vector)


def test_solved_intensities_are_the_true_gaussians(gaussian_lens):
    imaging, mask, truth = gaussian_lens
    dataset = _dataset(imaging, mask, over_sampling=2, blurring_sub_size=2)  # exactly the simulation's rule
    fit = FitImaging(dataset, _tracer(MGE(**LENS_MGE), MGE(**SOURCE_MGE)), galaxy_names=["lens", "source"])
    assert fit.chi_squared < 1e-10 * dataset.pixels
    assert list(fit.linear_intensities) == list(TRUTHS)  # lens then source, narrowest Gaussian first
    for path, value in fit.linear_intensities.items():
        assert value >= 0.0
        assert value == pytest.approx(TRUTHS[path], rel=1e-6, abs=1e-7)
    solved = fit.tracer_with_intensities
    assert isinstance(solved.galaxies[0].bulge, Basis)
    np.testing.assert_allclose(solved.galaxies[1].bulge.intensities, SOURCE_INTENSITIES, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(FitImaging(dataset, solved).model_data, fit.model_data, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(FitImaging(dataset, truth).model_data, fit.model_data, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(sum(fit.galaxy_blurred_data), fit.model_data, rtol=1e-12, atol=1e-14)


def test_batches_equal_singles(gaussian_lens):
    imaging, mask, _ = gaussian_lens
    analysis = AnalysisImaging(_dataset(imaging, mask))
    model = _model()
    assert model.prior_count == 4 + 5 + 2 + 4
    truth = _truth_vector(model)
    vectors = truth + np.random.default_rng(2).normal(0.0, 0.02, (5, truth.size))
    singles = np.array([analysis.log_likelihood_function(model.instance_from_vector(v)) for v in vectors])
    assert np.all(np.isfinite(singles))
    batch = analysis.fit_from(model.instance_from_vector(vectors))
    np.testing.assert_allclose(batch.log_likelihood, singles, rtol=1e-12)
    fits = [analysis.fit_from(model.instance_from_vector(v)) for v in vectors]
    for path in TRUTHS:
        expected = [f.linear_intensities[path] for f in fits]
        np.testing.assert_allclose(batch.linear_intensities[path], expected, rtol=1e-8, atol=1e-10)
    assert batch.tracer_with_intensities.galaxies[0].bulge.profiles[2].intensity.shape == (5, 1)
    evaluator = LikelihoodEvaluator(model, analysis, threads=2, chunk_size=2)
    np.testing.assert_allclose(evaluator.log_likelihoods(vectors), singles, rtol=1e-12)


def test_a_fixed_mge_is_preloaded_and_still_solved(gaussian_lens):
    imaging, mask, _ = gaussian_lens
    dataset = _dataset(imaging, mask)
    model = _model(fixed_lens_light=True)
    preloaded = AnalysisImaging(dataset)
    assert preloaded.preload(model).summary()["linear_bases"] == ["plane 0: bulge"]
    plain = AnalysisImaging(dataset, settings=AnalysisSettings(use_preloads=False))
    truth = _truth_vector(model)
    vectors = truth + np.random.default_rng(3).normal(0.0, 0.01, (4, truth.size))
    expected = [plain.log_likelihood_function(model.instance_from_vector(v)) for v in vectors]
    np.testing.assert_allclose(preloaded.log_likelihood_array_from(model.instance_from_vector(vectors)), expected,
                               rtol=1e-12)
    fit = preloaded.fit_from(model.instance_from_vector(truth))
    reference = plain.fit_from(model.instance_from_vector(truth)).linear_intensities
    for path, value in fit.linear_intensities.items():
        assert value == pytest.approx(reference[path], rel=1e-9, abs=1e-10)


def test_latent_variables_hold_every_gaussians_intensity(gaussian_lens):
    imaging, mask, truth = gaussian_lens
    analysis = AnalysisImaging(_dataset(imaging, mask, over_sampling=2, blurring_sub_size=2))
    model = _model()
    latent = analysis.latent_variables(model.instance_from_vector(_truth_vector(model)))
    for path, value in TRUTHS.items():
        assert latent[path] == pytest.approx(value, rel=1e-6, abs=1e-7)
    lens, source = truth.galaxies
    gaussians = {f"gaussian_{i}": p for i, p in enumerate(lens.bulge.profiles)}  # the truth as standard profiles
    standard = Collection(galaxies=Collection(
        lens=Galaxy(0.5, **gaussians, mass=lens.mass, shear=lens.shear),
        source=Galaxy(1.0, **{f"gaussian_{i}": p for i, p in enumerate(source.bulge.profiles)})))
    reference = analysis.latent_variables(standard.instance_from_vector(np.zeros(0)))
    for name in ("lens_flux", "source_flux", "magnification"):
        assert latent[name] == pytest.approx(reference[name], rel=1e-6)
