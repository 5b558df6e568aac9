"""Linear light profiles: the non-negative least-squares solver and the fit that uses it."""

import numpy as np
import pytest
from fit_helpers import gaussian_psf, p1_like_tracer
from scipy.optimize import nnls

from lenspipe.analysis import AnalysisImaging, AnalysisSettings
from lenspipe.data import Imaging, Mask, simulate_imaging
from lenspipe.fit.fit_imaging import DatasetModel, FitImaging, MaskedImaging
from lenspipe.fit.likelihood import LikelihoodEvaluator
from lenspipe.fit.linear import nnls_from_normal_equations, normal_equations_from, solve_amplitudes
from lenspipe.fit.model_image import model_data_from
from lenspipe.lensing import Galaxy, Tracer
from lenspipe.model import Collection, Model
from lenspipe.profiles import (ExternalShear, Gaussian, GaussianLinear, Isothermal, Sersic, SersicLinear)
from lenspipe.results.rebuild import source_plane_image

LENS_BULGE = dict(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), effective_radius=0.8, sersic_index=3.0)
SOURCE_BULGE = dict(centre=(0.02, 0.05), ell_comps=(0.1, 0.05), effective_radius=0.2, sersic_index=1.5)
MASS = dict(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), einstein_radius=1.2)
SHEAR = dict(gamma_1=0.02, gamma_2=0.01)
TRUE_INTENSITIES = {"galaxies.lens.bulge.intensity": 2.0, "galaxies.source.bulge.intensity": 4.0}


# ------------------------------------------------------------------------------ the solver
def _problem(rng, count, pixels=150, negative=False):
    bases = rng.random((count, pixels)) * np.linspace(0.2, 1.0, count)[:, None]
    weights = rng.uniform(0.5, 2.0, pixels)
    truth = rng.uniform(0.5, 2.0, count)
    if negative:
        truth[rng.integers(count)] *= -1.0
    model0 = rng.normal(0.0, 0.1, pixels)
    data = model0 + truth @ bases + rng.normal(0.0, 0.05, pixels)
    return model0, bases, data, weights


def _scipy(model0, bases, data, weights):
    root = np.sqrt(weights)
    return nnls((bases * root).T, (data - model0) * root, maxiter=100 * len(bases))[0]


@pytest.mark.parametrize("count", [1, 2, 3, 4, 6])
def test_solver_matches_scipy_nnls(count):
    rng = np.random.default_rng(count)
    for trial in range(12):
        model0, bases, data, weights = _problem(rng, count, negative=trial % 2 == 1)
        amplitudes, model = solve_amplitudes(model0, bases, data, weights)
        expected = _scipy(model0, bases, data, weights)
        np.testing.assert_allclose(amplitudes, expected, rtol=1e-10, atol=1e-10 * np.max(expected))
        np.testing.assert_allclose(model, model0 + expected @ bases, rtol=1e-10, atol=1e-12)
        assert np.all(amplitudes >= 0)


@pytest.mark.parametrize("count", [10, 30, 60])
def test_solver_scales_to_many_amplitudes_and_matches_scipy_nnls(count):
    """Tens of amplitudes (an MGE lens and source): the exact NNLS solution, batched or not."""
    rng = np.random.default_rng(100 + count)
    problems = []
    for trial in range(4):
        bases = rng.random((count, 400)) * np.linspace(0.2, 1.0, count)[:, None]
        weights = rng.uniform(0.5, 2.0, 400)
        truth = rng.uniform(-1.0, 2.0, count)  # about a third negative: many active constraints
        model0 = rng.normal(0.0, 0.1, 400)
        data = model0 + truth @ bases + rng.normal(0.0, 0.05, 400)
        problems.append((model0, bases, data, weights))
        amplitudes, model = solve_amplitudes(model0, bases, data, weights)
        expected = _scipy(model0, bases, data, weights)
        assert np.all(amplitudes >= 0) and np.sum(expected == 0) >= count // 10
        np.testing.assert_allclose(amplitudes, expected, rtol=1e-10, atol=1e-10 * np.max(expected))
        np.testing.assert_allclose(model, model0 + expected @ bases, rtol=1e-10, atol=1e-12)
    # a batch of the four (same weights for all: the batch shares one dataset)
    weights = problems[0][3]
    model0 = np.stack([p[0] for p in problems])
    bases = np.stack([p[1] for p in problems])
    data = problems[0][2]
    batched, _ = solve_amplitudes(model0, bases, data, weights)
    for k in range(4):
        np.testing.assert_array_equal(batched[k], solve_amplitudes(model0[k], bases[k], data, weights)[0])


MGE_BASES = {"three MGEs of 20": [dict(centre=(0.0, 0.0), ell_comps=(0.1, 0.0)),
                                  dict(centre=(0.0, 0.0), ell_comps=(-0.05, 0.2)),
                                  dict(centre=(0.3, -0.2), ell_comps=(0.0, 0.0))],
             "one MGE of 60": [dict(ell_comps=(0.1, 0.0), total_gaussians=60, sigma_min=0.01, sigma_max=1.0)]}


@pytest.mark.parametrize("name", MGE_BASES)
def test_mge_bases_give_the_least_chi_squared(name):
    """60 Gaussian bases (three MGEs of 20 widths from 0.01 to 3 arcsec, two sharing a centre;
    or one MGE of 60 widths from 0.01 to 1 arcsec): nearly collinear, their normal matrix is
    singular to rounding (eigenvalues down to 1e-16). The amplitudes are not unique, the least
    chi-squared is: it equals scipy's NNLS on the weighted design matrix (QR, no normal
    equations) to 1e-10. (Dropping the bases past the rank instead of keeping their projection
    loses up to 1e-4 of it on these.)"""
    from lenspipe.profiles import MGE

    c = (np.arange(40) - 19.5) * 0.05
    grid = np.stack(np.meshgrid(-c, c, indexing="ij"), axis=-1).reshape(-1, 2)
    bases = np.concatenate([MGE(**settings).images_from(grid) for settings in MGE_BASES[name]])
    rng = np.random.default_rng(11)
    for trial in range(3):
        radius = np.hypot(grid[:, 0] - 0.05 * trial, grid[:, 1])
        data = np.exp(-radius / 0.3) + 0.2 * np.exp(-np.abs(grid[:, 0] - 0.3) / 0.1) + rng.normal(0.0, 0.01, len(grid))
        weights = np.full(len(grid), 1e4)
        amplitudes, model = solve_amplitudes(np.zeros(len(grid)), bases, data, weights)
        assert np.all(np.isfinite(amplitudes)) and np.all(amplitudes >= 0)
        chi2 = np.sum(weights * (data - model) ** 2)
        reference = np.sum(weights * (data - _scipy(np.zeros(len(grid)), bases, data, weights) @ bases) ** 2)
        assert chi2 == pytest.approx(reference, rel=1e-10)


def test_active_set_clips_a_negative_amplitude():
    rng = np.random.default_rng(5)
    first = rng.random(100)
    second = 0.8 * first + 0.2 * rng.random(100)  # correlated: the unconstrained fit overshoots
    bases = np.stack([first, second])
    weights = np.ones(100)
    data = first - 0.3 * second
    normal, vector = normal_equations_from(np.zeros(100), bases, data, weights)
    assert np.linalg.solve(normal, vector)[1] < 0
    amplitudes, _ = solve_amplitudes(np.zeros(100), bases, data, weights)
    assert amplitudes[1] == 0.0
    np.testing.assert_allclose(amplitudes, _scipy(np.zeros(100), bases, data, weights), rtol=1e-12)
    # with every amplitude forced to zero (data anti-correlated with both bases)
    amplitudes, model = solve_amplitudes(np.zeros(100), bases, -data - 1.0, weights)
    assert np.all(amplitudes == 0.0) and np.all(model == 0.0)


def test_batched_solve_equals_single_solves():
    rng = np.random.default_rng(7)
    k, pixels = 6, 120
    fixed = rng.random(pixels)  # a preloaded basis: (N,) beside (K, N) ones
    batched = [fixed, rng.random((k, pixels)), rng.random((k, pixels))]
    model0 = np.linspace(0.0, 3.0, k)[:, None] * batched[1] + rng.normal(0.0, 0.1, (k, pixels))  # overshoots
    weights = rng.uniform(0.5, 2.0, pixels)
    data = 1.5 * fixed + rng.normal(0.0, 0.1, pixels)
    amplitudes, model = solve_amplitudes(model0, batched, data, weights)
    assert amplitudes.shape == (k, 3) and model.shape == (k, pixels)
    assert np.any(amplitudes == 0.0) and np.any(amplitudes > 0.0)  # both branches met
    for row in range(k):
        single, single_model = solve_amplitudes(model0[row], [b if b.ndim == 1 else b[row] for b in batched],
                                                data, weights)
        np.testing.assert_array_equal(amplitudes[row], single)
        np.testing.assert_array_equal(model[row], single_model)
    stacked = np.stack([np.broadcast_to(b, (k, pixels)) for b in batched], axis=-2)  # (K, L, N) works too
    np.testing.assert_array_equal(solve_amplitudes(model0, stacked, data, weights)[0], amplitudes)


def test_degenerate_bases_give_finite_optimal_amplitudes():
    rng = np.random.default_rng(9)
    basis = rng.random(80)
    data = 3.0 * basis
    weights = np.ones(80)
    # a profile with no light in the mask, and a duplicated profile: no error, no NaN
    amplitudes, model = solve_amplitudes(np.zeros(80), [basis, np.zeros(80), basis], data, weights)
    assert amplitudes[1] == 0.0 and np.all(np.isfinite(amplitudes))
    assert amplitudes[0] + amplitudes[2] == pytest.approx(3.0, rel=1e-12)
    np.testing.assert_allclose(model, data, rtol=1e-12)
    # NaN stays NaN (the sample is discarded upstream)
    assert np.isnan(solve_amplitudes(np.zeros(80), [basis * np.nan], data, weights)[1]).all()
    assert np.all(nnls_from_normal_equations(np.zeros((3, 2, 2)), np.ones((3, 2))) == 0.0)


# ------------------------------------------------------------------------------ the fit
def _linear_tracer(tracer):
    """The tracer with every Sersic replaced by its SersicLinear (same non-linear parameters)."""
    galaxies = []
    for galaxy in tracer.galaxies:
        profiles = {}
        for name, profile in galaxy.profiles.items():
            if isinstance(profile, Sersic):
                profile = SersicLinear(centre=profile.centre, ell_comps=profile.ell_comps,
                                       effective_radius=profile.effective_radius,
                                       sersic_index=profile.sersic_index)
            profiles[name] = profile
        galaxies.append(Galaxy(galaxy.redshift, **profiles))
    return Tracer(galaxies)


@pytest.fixture(scope="module")
def lens30():
    """A 30 x 30 P1-like lens simulated noiselessly at 2 x 2 (imaging, tracer, mask)."""
    tracer = p1_like_tracer()
    imaging, _ = simulate_imaging(tracer, (30, 30), 0.1, gaussian_psf(7, 1.5), exposure_time=1000.0,
                                  background_sky=0.1, seed=1, sub_size=2, add_noise=False)
    return imaging, tracer, Mask.circular((30, 30), 0.1, 1.4)


def _dataset(imaging, mask, **kwargs):
    return MaskedImaging(imaging, mask, planner_effort="FFTW_ESTIMATE", wisdom_path=False, **kwargs)


def _model(fixed_lens_bulge=False):
    lens_bulge = SersicLinear(**LENS_BULGE) if fixed_lens_bulge else Model(SersicLinear)
    lens = Model(Galaxy, redshift=0.5, bulge=lens_bulge, mass=Model(Isothermal), shear=Model(ExternalShear))
    return Collection(galaxies=Collection(lens=lens, source=Model(Galaxy, redshift=1.0, bulge=Model(SersicLinear))))


def _truth_vector(model):
    values = {"galaxies.lens.bulge": LENS_BULGE, "galaxies.lens.mass": MASS, "galaxies.lens.shear": SHEAR,
              "galaxies.source.bulge": SOURCE_BULGE}
    vector = []
    for path in model.paths:
        head, name = path.rsplit(".", 1)
        if name[:-2] in ("centre", "ell_comps"):
            head = head.rsplit(".", 1)[0]
            vector.append(values[head][name[:-2]][int(name[-1])])
        else:
            vector.append(values[head][name])
    return np.array(vector)


def test_linear_fit_at_the_truth_recovers_the_intensities(lens30):
    imaging, tracer, mask = lens30
    dataset = _dataset(imaging, mask, over_sampling=2, blurring_sub_size=2)  # exactly the simulation's rule
    fit = FitImaging(dataset, _linear_tracer(tracer), galaxy_names=["lens", "source"])
    assert fit.chi_squared < 1e-12 * dataset.pixels
    assert set(fit.linear_intensities) == set(TRUE_INTENSITIES)
    for path, value in fit.linear_intensities.items():
        assert value == pytest.approx(TRUE_INTENSITIES[path], rel=1e-6)
    # the tracer with the solved intensities gives the same model as a standard fit
    standard = FitImaging(dataset, fit.tracer_with_intensities)
    np.testing.assert_allclose(standard.model_data, fit.model_data, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(sum(fit.galaxy_blurred_data), fit.model_data, rtol=1e-12, atol=1e-14)
    image, _ = source_plane_image(fit, 0.5, pixels=20)
    expected, _ = source_plane_image(tracer, 0.5, pixels=20)
    np.testing.assert_allclose(image, expected, rtol=1e-6)


def test_adaptive_refinement_of_linear_profiles_matches_the_standard_profiles(lens30):
    """Data made by the adaptive rule with the true intensities are refitted exactly."""
    imaging, tracer, mask = lens30
    dataset = _dataset(imaging, mask)
    model = FitImaging(dataset, tracer).model_image
    exact = Imaging(np.where(mask.array, 0.0, model), imaging.noise_map, imaging.psf, imaging.pixel_scale)
    dataset = _dataset(exact, mask)
    fit = FitImaging(dataset, _linear_tracer(tracer))
    assert fit.chi_squared < 1e-12 * dataset.pixels
    np.testing.assert_allclose(list(fit.linear_intensities.values()), [2.0, 4.0], rtol=1e-6)
    # a mixed model: a standard lens bulge, a linear source; and a smooth linear Gaussian
    mixed = Tracer([tracer.galaxies[0], _linear_tracer(tracer).galaxies[1]])
    mixed_fit = FitImaging(dataset, mixed, galaxy_names=["lens", "source"])
    assert list(mixed_fit.linear_intensities) == ["galaxies.source.bulge.intensity"]
    assert mixed_fit.linear_intensities["galaxies.source.bulge.intensity"] == pytest.approx(4.0, rel=1e-6)
    gaussian = Gaussian(centre=(0.1, 0.0), ell_comps=(0.1, 0.0), intensity=1.0, sigma=0.3)
    basis = FitImaging(dataset, Tracer([Galaxy(0.5, light=GaussianLinear(centre=(0.1, 0.0), ell_comps=(0.1, 0.0),
                                                                          sigma=0.3))]))
    np.testing.assert_array_equal(basis.model_fit.bases[0],
                                  FitImaging(dataset, Tracer([Galaxy(0.5, light=gaussian)])).model_data)


def test_sky_level_is_fitted_around(lens30):
    imaging, tracer, mask = lens30
    dataset = _dataset(imaging, mask, over_sampling=2, blurring_sub_size=2)
    shifted = Imaging(imaging.data + 0.05, imaging.noise_map, imaging.psf, imaging.pixel_scale)
    fit = FitImaging(_dataset(shifted, mask, over_sampling=2, blurring_sub_size=2), _linear_tracer(tracer),
                     dataset_model=DatasetModel(background_sky_level=0.05))
    assert fit.chi_squared < 1e-12 * dataset.pixels
    np.testing.assert_allclose(list(fit.linear_intensities.values()), [2.0, 4.0], rtol=1e-6)


def test_likelihood_paths_agree_and_batches_equal_singles(noisy_small_lens):
    imaging, _, mask = noisy_small_lens
    analysis = AnalysisImaging(_dataset(imaging, mask))
    model = _model()
    rng = np.random.default_rng(2)
    truth = _truth_vector(model)
    vectors = truth + rng.normal(0.0, 1.0, (7, truth.size)) * np.maximum(0.02 * np.abs(truth), 0.01)
    singles = np.array([analysis.log_likelihood_function(model.instance_from_vector(v)) for v in vectors])
    fits = [analysis.fit_from(model.instance_from_vector(v)) for v in vectors]
    np.testing.assert_allclose([f.log_likelihood for f in fits], singles, rtol=1e-12)
    assert model_data_from(analysis.dataset, fits[0].tracer) == pytest.approx(fits[0].model_data, rel=1e-14)
    evaluator = LikelihoodEvaluator(model, analysis, threads=2, chunk_size=3)
    np.testing.assert_allclose(evaluator.log_likelihoods(vectors), singles, rtol=1e-10)
    batch = analysis.fit_from(model.instance_from_vector(vectors))
    np.testing.assert_allclose(batch.log_likelihood, singles, rtol=1e-12)
    for path in TRUE_INTENSITIES:
        np.testing.assert_allclose(batch.linear_intensities[path], [f.linear_intensities[path] for f in fits],
                                   rtol=1e-12)
    assert batch.tracer_with_intensities.galaxies[1].bulge.intensity.shape == (7, 1)
    assert np.all(np.isfinite(singles))


def test_a_fixed_linear_profile_is_preloaded_and_still_solved(noisy_small_lens):
    imaging, _, mask = noisy_small_lens
    dataset = _dataset(imaging, mask)
    model = _model(fixed_lens_bulge=True)
    assert "galaxies.lens.bulge.effective_radius" not in model.paths
    preloaded = AnalysisImaging(dataset)
    preloads = preloaded.preload(model)
    assert preloads.summary()["linear_bases"] == ["plane 0: bulge"]
    plain = AnalysisImaging(dataset, settings=AnalysisSettings(use_preloads=False))
    truth = _truth_vector(model)
    vectors = truth + np.random.default_rng(3).normal(0.0, 0.01, (4, truth.size))
    expected = [plain.log_likelihood_function(model.instance_from_vector(v)) for v in vectors]
    batched = preloaded.log_likelihood_array_from(model.instance_from_vector(vectors))
    np.testing.assert_allclose(batched, expected, rtol=1e-11)
    fit = preloaded.fit_from(model.instance_from_vector(vectors))
    lens = fit.linear_intensities["galaxies.lens.bulge.intensity"]
    assert lens.shape == (4,) and np.all(np.abs(lens - 2.0) < 0.05)  # solved (its basis has intensity 1)
    halved = Imaging(imaging.data * 0.5, imaging.noise_map, imaging.psf, imaging.pixel_scale)
    half = AnalysisImaging(_dataset(halved, mask))
    half.preload(model)
    value = half.fit_from(model.instance_from_vector(truth)).linear_intensities["galaxies.lens.bulge.intensity"]
    assert value == pytest.approx(1.0, abs=0.03)


def test_latent_variables_hold_the_solved_intensities(lens30):
    imaging, tracer, mask = lens30
    analysis = AnalysisImaging(_dataset(imaging, mask, over_sampling=2, blurring_sub_size=2))
    model = _model()
    latent = analysis.latent_variables(model.instance_from_vector(_truth_vector(model)))
    for path, value in TRUE_INTENSITIES.items():
        assert latent[path] == pytest.approx(value, rel=1e-6)
    standard = Collection(galaxies=Collection(lens=tracer.galaxies[0], source=tracer.galaxies[1]))
    reference = analysis.latent_variables(standard.instance_from_vector(np.zeros(0)))
    for name in ("lens_flux", "source_flux", "magnification"):
        assert latent[name] == pytest.approx(reference[name], rel=1e-6)
