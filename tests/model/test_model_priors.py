"""Prior transforms and densities against scipy.stats; validation; dictionaries."""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from lenspipe.errors import ModelError, PriorError
from lenspipe.model import (
    GaussianPrior,
    LogUniformPrior,
    TruncatedGaussianPrior,
    UniformPrior,
    prior_from_dict,
)

UNIT = np.linspace(0.001, 0.999, 301)
TOL = dict(rtol=1e-12, atol=1e-12)

CASES = [
    (UniformPrior(-0.2, 0.2), stats.uniform(loc=-0.2, scale=0.4)),
    (UniformPrior(0.0, 30.0), stats.uniform(loc=0.0, scale=30.0)),
    (GaussianPrior(0.0, 0.1), stats.norm(loc=0.0, scale=0.1)),
    (GaussianPrior(1.5, 3.0), stats.norm(loc=1.5, scale=3.0)),
    (TruncatedGaussianPrior(0.0, 0.3, -1.0, 1.0), stats.truncnorm(-1 / 0.3, 1 / 0.3, loc=0.0, scale=0.3)),
    (TruncatedGaussianPrior(1.2, 0.2, 0.0, 4.0), stats.truncnorm(-6.0, 14.0, loc=1.2, scale=0.2)),
    (TruncatedGaussianPrior(0.5, 1.0, 0.0, None), stats.truncnorm(-0.5, np.inf, loc=0.5, scale=1.0)),
    (TruncatedGaussianPrior(0.0, 1.0, 2.0, 3.5), stats.truncnorm(2.0, 3.5, loc=0.0, scale=1.0)),
    (TruncatedGaussianPrior(0.0, 1.0, -3.5, -2.0), stats.truncnorm(-3.5, -2.0, loc=0.0, scale=1.0)),
    (LogUniformPrior(1e-6, 1e6), stats.loguniform(1e-6, 1e6)),
    (LogUniformPrior(0.5, 2.0), stats.loguniform(0.5, 2.0)),
]


@pytest.mark.parametrize("prior, reference", CASES, ids=lambda x: type(x).__name__)
def test_value_for_matches_scipy_ppf(prior, reference):
    np.testing.assert_allclose(prior.value_for(UNIT), reference.ppf(UNIT), **TOL)


@pytest.mark.parametrize("prior, reference", CASES, ids=lambda x: type(x).__name__)
def test_log_prior_matches_scipy_logpdf(prior, reference):
    values = reference.ppf(UNIT)
    np.testing.assert_allclose(prior.log_prior_from_value(values), reference.logpdf(values), **TOL)


@pytest.mark.parametrize("prior, reference", CASES, ids=lambda x: type(x).__name__)
def test_density_is_normalised(prior, reference):
    lower, upper = reference.ppf(1e-12), reference.ppf(1 - 1e-12)
    grid = np.geomspace(lower, upper, 200001) if isinstance(prior, LogUniformPrior) else np.linspace(lower, upper, 200001)
    assert np.trapezoid(np.exp(prior.log_prior_from_value(grid)), grid) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize(
    "prior, outside",
    [
        (UniformPrior(0.0, 4.0), [-1e-9, 4.0 + 1e-9, np.nan]),
        (TruncatedGaussianPrior(0.0, 0.3, -1.0, 1.0), [-1.0001, 1.0001, np.nan]),
        (LogUniformPrior(1e-3, 1e3), [0.0, -1.0, 1e3 * 1.0001, np.nan]),
        (GaussianPrior(0.0, 1.0), [np.nan]),
    ],
)
def test_outside_the_support_is_minus_infinity(prior, outside):
    assert np.all(prior.log_prior_from_value(np.array(outside)) == -np.inf)


def test_scalars_give_floats_and_arrays_keep_their_shape():
    prior = GaussianPrior(0.0, 1.0)
    assert isinstance(prior.value_for(0.5), float)
    assert isinstance(prior.log_prior_from_value(0.0), float)
    assert prior.value_for(np.full((3, 1), 0.5)).shape == (3, 1)
    assert prior.log_prior_from_value(np.zeros((2, 4))).shape == (2, 4)


def test_truncated_gaussian_far_in_a_tail_stays_finite_and_inside():
    prior = TruncatedGaussianPrior(0.0, 1e-3, 50.0, 60.0)
    values = prior.value_for(UNIT)
    assert np.all((values >= 50.0) & (values <= 60.0))
    assert np.all(np.isfinite(prior.log_prior_from_value(values)))
    np.testing.assert_allclose(values, stats.truncnorm(5e4, 6e4, scale=1e-3).ppf(UNIT), rtol=1e-12)


def test_limits_are_the_support():
    assert UniformPrior(-1, 2).limits == (-1.0, 2.0)
    assert GaussianPrior(0, 1).limits == (-math.inf, math.inf)
    assert TruncatedGaussianPrior(0, 1, lower_limit=0.0).limits == (0.0, math.inf)
    assert LogUniformPrior(1, 10).limits == (1.0, 10.0)


def test_priors_have_identity():
    a, b = UniformPrior(0.0, 1.0), UniformPrior(0.0, 1.0)
    assert a != b and a == a
    assert len({a, b}) == 2
    assert a.to_dict() == b.to_dict()


def test_priors_are_frozen():
    prior = UniformPrior(0.0, 1.0)
    with pytest.raises(AttributeError):
        prior.lower_limit = 0.5


@pytest.mark.parametrize(
    "build, words",
    [
        (lambda: UniformPrior(1.0, 0.0), "lower_limit"),
        (lambda: UniformPrior(0.0, np.inf), "finite"),
        (lambda: UniformPrior("a", 1.0), "number"),
        (lambda: GaussianPrior(0.0, 0.0), "sigma must be positive"),
        (lambda: GaussianPrior(np.nan, 1.0), "finite"),
        (lambda: TruncatedGaussianPrior(0.0, 1.0, 1.0, -1.0), "swap"),
        (lambda: TruncatedGaussianPrior(0.0, 1.0, np.nan, 1.0), "NaN"),
        (lambda: LogUniformPrior(0.0, 1.0), "positive"),
        (lambda: LogUniformPrior(2.0, 1.0), "lower_limit"),
    ],
)
def test_invalid_priors_raise_prior_error_saying_what_to_fix(build, words):
    with pytest.raises(PriorError, match=words):
        build()
    assert issubclass(PriorError, ModelError)


def test_prior_from_dict_errors_name_the_problem():
    with pytest.raises(PriorError, match="valid kinds are .*Gaussian.*LogUniform"):
        prior_from_dict({"prior": "Cauchy", "mean": 0.0})
    with pytest.raises(PriorError, match="does not take width"):
        prior_from_dict({"prior": "Uniform", "lower_limit": 0.0, "upper_limit": 1.0, "width": 2})
    with pytest.raises(PriorError, match="needs upper_limit"):
        prior_from_dict({"prior": "Uniform", "lower_limit": 0.0})
    with pytest.raises(PriorError, match="'prior' key"):
        prior_from_dict({"lower_limit": 0.0})


@pytest.mark.parametrize("prior", [case[0] for case in CASES])
def test_dictionary_round_trip_through_json(prior):
    data = json.loads(json.dumps(prior.to_dict(), allow_nan=False))
    again = prior_from_dict(data)
    assert type(again) is type(prior) and again.to_dict() == prior.to_dict()
    np.testing.assert_array_equal(again.value_for(UNIT), prior.value_for(UNIT))


finite = st.floats(-1e6, 1e6, allow_nan=False)
positive = st.floats(1e-6, 1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(lower=finite, width=positive, unit=st.floats(0.0, 1.0))
def test_uniform_round_trip_and_support(lower, width, unit):
    prior = prior_from_dict(UniformPrior(lower, lower + width).to_dict())
    value = prior.value_for(unit)
    assert prior.lower_limit <= value <= prior.upper_limit or math.isclose(value, prior.upper_limit)
    assert prior.log_prior_from_value(min(max(value, prior.lower_limit), prior.upper_limit)) > -np.inf


@settings(max_examples=60, deadline=None)
@given(mean=finite, sigma=positive, a=st.floats(-5, 4), width=st.floats(0.1, 5), unit=st.floats(0.0, 1.0))
def test_truncated_gaussian_stays_inside_its_limits(mean, sigma, a, width, unit):
    prior = TruncatedGaussianPrior(mean, sigma, mean + a * sigma, mean + (a + width) * sigma)
    value = prior.value_for(unit)
    assert prior.lower_limit <= value <= prior.upper_limit
    assert np.isfinite(prior.log_prior_from_value(value))
