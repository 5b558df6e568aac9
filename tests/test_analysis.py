"""AnalysisImaging: one log likelihood through every path, discarded samples, latents, profiling."""

import json
import pickle

import numpy as np
import pytest

from lenspipe.analysis import AnalysisImaging
from lenspipe.data import Mask, simulate_imaging
from lenspipe.fit.fit_imaging import DatasetModel, FitImaging, MaskedImaging
from lenspipe.fit.likelihood import LikelihoodEvaluator
from lenspipe.fit.positions import PositionsLHPenalty, PositionsLHResample
from lenspipe.lensing import Galaxy, Tracer
from lenspipe.model import Collection, Model, UniformPrior
from lenspipe.profiles import ExternalShear, Isothermal, Sersic

TRUTH = dict(
    bulge=Sersic(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), intensity=2.0, effective_radius=0.8, sersic_index=3.0),
    mass=Isothermal(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), einstein_radius=1.2),
    shear=ExternalShear(gamma_1=0.02, gamma_2=0.01),
    source=Sersic(centre=(0.02, 0.05), ell_comps=(0.1, 0.05), intensity=4.0, effective_radius=0.2, sersic_index=1.5),
)


def _tracer():
    return Tracer([Galaxy(0.5, bulge=TRUTH["bulge"], mass=TRUTH["mass"], shear=TRUTH["shear"]),
                   Galaxy(1.0, bulge=TRUTH["source"])])


def _model(sky=False):
    lens = Model(Galaxy, redshift=0.5, bulge=Model(Sersic), mass=Model(Isothermal), shear=Model(ExternalShear))
    children = dict(galaxies=Collection(lens=lens, source=Model(Galaxy, redshift=1.0, bulge=Model(Sersic))))
    if sky:
        children["dataset_model"] = Model(DatasetModel, background_sky_level=UniformPrior(-0.1, 0.1))
    return Collection(**children)


def _truth_vector(model):
    values = {"lens.bulge": TRUTH["bulge"], "lens.mass": TRUTH["mass"], "lens.shear": TRUTH["shear"],
              "source.bulge": TRUTH["source"]}
    vector = []
    for path in model.paths:
        parts = path.split(".")
        if parts[0] == "dataset_model":
            vector.append(0.01)
            continue
        profile = values[f"{parts[1]}.{parts[2]}"]
        value = getattr(profile, parts[3])
        vector.append(value[int(parts[4][-1])] if len(parts) == 5 else value)
    return np.array(vector)


@pytest.fixture(scope="module")
def dataset():
    k = np.arange(9) - 4
    psf = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * 0.9**2))
    imaging, _ = simulate_imaging(_tracer(), (40, 40), 0.1, psf / psf.sum(), exposure_time=1000.0,
                                  background_sky=0.1, seed=1, sub_size=4)
    return MaskedImaging(imaging, Mask.circular((40, 40), 0.1, 1.8), planner_effort="FFTW_ESTIMATE",
                         wisdom_path=False)


def test_the_same_log_likelihood_through_every_path(dataset):
    model = _model(sky=True)
    truth = _truth_vector(model)
    vectors = truth + 0.01 * np.random.default_rng(1).standard_normal((5, truth.size))
    analysis = AnalysisImaging(dataset)
    chunked = LikelihoodEvaluator(model, analysis, chunk_size=2, threads=2).log_likelihoods(vectors)
    for vector, value in zip(vectors, chunked):
        instance = model.instance_from_vector(vector)
        direct = FitImaging(dataset, Tracer(list(instance.galaxies)), dataset_model=instance.dataset_model)
        assert analysis.log_likelihood_function(instance) == pytest.approx(direct.log_likelihood, rel=1e-12)
        assert value == pytest.approx(direct.log_likelihood, rel=1e-10)
    # the sky level is fitted: a different sky, a different likelihood
    shifted = model.instance_from_vector(np.where(np.array(model.paths) == "dataset_model.background_sky_level",
                                                  0.05, truth))
    best = analysis.log_likelihood_function(model.instance_from_vector(truth))
    assert analysis.log_likelihood_function(shifted) < best


def test_a_nan_model_is_a_counted_discarded_sample(dataset):
    model = _model()
    vector = _truth_vector(model)
    vector[model.paths.index("galaxies.source.bulge.intensity")] = np.nan
    analysis = AnalysisImaging(dataset)
    assert analysis.log_likelihood_function(model.instance_from_vector(vector)) == -np.inf
    assert analysis.discarded.to_dict()["by_reason"] == {"non-finite": 1}


def test_positions_penalty_and_resample(dataset):
    model = _model()
    instance = model.instance_from_vector(_truth_vector(model))
    plain = AnalysisImaging(dataset).log_likelihood_function(instance)
    positions = [(1.2, 0.05), (-1.2, 0.05), (0.05, 1.25)]
    tracer = _tracer()
    separation = float(PositionsLHPenalty(positions, 1.0).max_separation_from(tracer))
    threshold = 0.5 * separation
    penalised = AnalysisImaging(dataset, positions_likelihood=PositionsLHPenalty(positions, threshold, factor=10.0))
    assert penalised.log_likelihood_function(instance) == pytest.approx(plain - 10.0 * (separation - threshold),
                                                                        rel=1e-12)
    relaxed = AnalysisImaging(dataset, positions_likelihood=PositionsLHPenalty(positions, 2 * separation))
    assert relaxed.log_likelihood_function(instance) == pytest.approx(plain, rel=1e-14)
    resample = AnalysisImaging(dataset, positions_likelihood=PositionsLHResample(positions, threshold))
    assert resample.log_likelihood_function(instance) == -np.inf
    batch = resample.log_likelihood_array_from(model.instance_from_vector(np.stack([_truth_vector(model)] * 2)))
    assert np.all(np.isneginf(batch))
    assert resample.discarded.counts["positions"] == 3


def test_latent_variables(dataset):
    model = _model()
    latent = AnalysisImaging(dataset).latent_variables(model.instance_from_vector(_truth_vector(model)))
    q = TRUTH["mass"].axis_ratio
    assert latent["einstein_radius_intermediate"] == pytest.approx(2 * np.sqrt(q) / (1 + q) * 1.2, rel=1e-12)
    assert latent["effective_einstein_radius"] == pytest.approx(latent["einstein_radius_intermediate"], rel=0.03)
    assert latent["magnification"] > 2.0
    assert latent["lens_flux"] > 0 and latent["source_flux"] > 0


def test_profile_report_and_pickling(dataset, tmp_path):
    model = _model()
    instance = model.instance_from_vector(_truth_vector(model))
    analysis = AnalysisImaging(dataset)
    report = analysis.profile_log_likelihood_function(instance, path=tmp_path / "profiling.json", repeats=3)
    stored = json.loads((tmp_path / "profiling.json").read_text())
    assert stored["log_likelihood"] == pytest.approx(analysis.log_likelihood_function(instance), rel=1e-12)
    assert set(stored["steps_ms"]) >= {"ray_tracing", "light_binning_refinement", "convolution", "chi_squared"}
    info = stored["info"]
    assert info["pixels"] == dataset.pixels and info["sub_pixels"] > dataset.pixels
    assert info["psf_shape"] == [9, 9] and "threads" in info
    # One call: the timer's marks are contiguous, so the steps add up to the whole call.
    single = analysis.profile_log_likelihood_function(instance, repeats=1)
    assert set(single["steps_ms"]) == {"tracer_positions", "ray_tracing", "light_binning_refinement",
                                       "convolution", "chi_squared"}
    assert sum(single["steps_ms"].values()) == pytest.approx(single["total_ms"], rel=1e-9)
    clone = pickle.loads(pickle.dumps(analysis))
    assert clone.log_likelihood_function(instance) == pytest.approx(analysis.log_likelihood_function(instance),
                                                                    rel=1e-12)


def test_profiling_runs_the_searchs_chain_with_the_positions_penalty(dataset):
    """The profiled call is the one the search evaluates: with an active positions penalty the
    profiled log likelihood equals log_likelihood_function's, which is the fit's minus the penalty."""
    model = _model()
    instance = model.instance_from_vector(_truth_vector(model))
    positions = PositionsLHPenalty(np.array([[1.2, 0.0], [-1.2, 0.1]]), threshold=0.01)
    analysis = AnalysisImaging(dataset, positions_likelihood=positions)
    penalty = float(positions.log_likelihood_penalty_from(analysis.tracer_via_instance_from(instance)))
    assert penalty > 1e3
    value = analysis.log_likelihood_function(instance)
    assert value == pytest.approx(analysis.fit_from(instance).log_likelihood - penalty, rel=1e-12)
    report = analysis.profile_log_likelihood_function(instance, repeats=2)
    assert report["log_likelihood"] == pytest.approx(value, rel=1e-12)
