"""The optimiser's start: which shapes it rounds off first, and that it finds the optimum.

The likelihood here is a real callable of the kind the search evaluates, ``(K, n) -> (K,)``:
a Gaussian in parameter space around a known lens whose mass ellipticity and shear are not
zero, so the first (round) step cannot reach it and the second must.
"""

import numpy as np
import pytest

from lenspipe.lensing import Galaxy
from lenspipe.model import (Collection, GaussianPrior, LogUniformPrior, Model,
                            TruncatedGaussianPrior, UniformPrior)
from lenspipe.pipeline.initialise import _unit_for, initial_from_optimiser, round_start_values
from lenspipe.profiles import ExternalShear, Isothermal, SersicLinear

SHAPES = ["galaxies.lens.mass.ell_comps.ell_comps_0", "galaxies.lens.mass.ell_comps.ell_comps_1",
          "galaxies.lens.shear.gamma_1", "galaxies.lens.shear.gamma_2"]


def lens_model(**mass):
    lens = Model(Galaxy, redshift=0.5, bulge=Model(SersicLinear), mass=Model(Isothermal, **mass),
                 shear=Model(ExternalShear))
    source = Model(Galaxy, redshift=1.0, bulge=Model(SersicLinear))
    return Collection(galaxies=Collection(lens=lens, source=source))


def test_round_start_holds_mass_ellipticity_and_shear_not_light_shapes():
    model = lens_model()
    held = round_start_values(model)
    assert [model.paths[j] for j in held] == SHAPES
    assert all(value == 0.0 for value in held.values())


def test_round_start_skips_fixed_shapes_and_priors_that_exclude_zero():
    model = lens_model(ell_comps=(0.1, 0.0))
    model.galaxies.lens.shear.gamma_1 = UniformPrior(0.05, 0.2)
    held = round_start_values(model)
    assert [model.paths[j] for j in held] == ["galaxies.lens.shear.gamma_2"]


@pytest.mark.parametrize("prior, value", [
    (UniformPrior(-0.2, 0.2), 0.0), (UniformPrior(-0.2, 0.2), 0.13),
    (GaussianPrior(0.0, 0.3), 0.0), (GaussianPrior(0.1, 0.3), -0.45),
    (TruncatedGaussianPrior(0.0, 0.3, -1.0, 1.0), 0.0),
    (TruncatedGaussianPrior(0.2, 0.3, -1.0, 1.0), 0.7),
    (LogUniformPrior(1e-3, 1e3), 2.5),
])
def test_unit_for_inverts_the_prior_transform(prior, value):
    unit = _unit_for(prior, value)
    assert 0.0 < unit < 1.0
    assert float(prior.value_for(unit)) == pytest.approx(value, abs=1e-9)


def gaussian_around_truth(model):
    """A log-likelihood with maximum 0 at a lens with ellipticity and shear, and the truth."""
    centre = model.vector_from_unit_vector(np.full(model.prior_count, 0.5))
    truth = centre + 0.0
    for path, value in zip(SHAPES, (0.08, -0.05, 0.03, 0.02)):
        truth[model.paths.index(path)] = value
    truth[model.paths.index("galaxies.lens.mass.einstein_radius")] = 1.2
    sigma = np.full(model.prior_count, 0.005)
    calls = []

    def log_likelihoods(vectors):
        calls.append(np.array(vectors))
        return -0.5 * np.sum(((vectors - truth) / sigma) ** 2, axis=1)

    return log_likelihoods, truth, sigma, calls


def test_optimiser_rounds_first_then_finds_the_optimum():
    model = lens_model()
    log_likelihoods, truth, sigma, calls = gaussian_around_truth(model)
    centre, ball, info = initial_from_optimiser(model, log_likelihoods, seed=3)
    evaluated = np.concatenate(calls)
    assert len(evaluated) == info["evaluations"]
    first, second = info["steps"]
    assert first["held_at_zero"] == SHAPES and second["held_at_zero"] == []
    held = [model.paths.index(path) for path in SHAPES]
    # Step 1 never moves the held shapes; step 2 does.
    assert np.all(evaluated[:first["evaluations"], held] == 0.0)
    assert np.any(evaluated[first["evaluations"]:, held] != 0.0)
    # Step 1's best is the truth with round shapes: 0.5 * sum((shape / sigma)^2) below 0,
    # less the priors' log density; step 2 gains it back to within the stopping spread.
    assert first["best_log_posterior"] < info["best_log_posterior"] - 100.0
    # Converged populations agree to a log-posterior spread of 1, so the best member lies
    # within a few sigma of the maximum along every parameter (the priors, 20 to 400 times
    # wider than sigma, move it by much less).
    assert np.all(np.abs(centre - truth) < 3.0 * sigma)
    assert np.all((ball > 0) & (ball < 0.05))


def test_optimiser_without_round_first_is_one_step():
    model = lens_model()
    log_likelihoods, truth, sigma, _ = gaussian_around_truth(model)
    centre, _, info = initial_from_optimiser(model, log_likelihoods, seed=3, round_first=False)
    assert len(info["steps"]) == 1 and info["steps"][0]["held_at_zero"] == []
    assert info["evaluations"] == info["steps"][0]["evaluations"]
