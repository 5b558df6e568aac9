"""Samples: weighted quantiles, summaries, and use without a model."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lenspipe.errors import ModelError, SearchError
from lenspipe.search import Samples, probability_at_sigma, weighted_quantile
from search_toy import toy_model


def test_probability_at_sigma():
    assert probability_at_sigma(1) == pytest.approx(0.682689, abs=1e-6)
    assert probability_at_sigma(3) == pytest.approx(0.997300, abs=1e-6)


def test_unweighted_quantiles_equal_numpy():
    values = np.random.default_rng(1).normal(size=101)
    q = np.linspace(0.0, 1.0, 37)
    np.testing.assert_allclose(weighted_quantile(values, q), np.quantile(values, q),
                               rtol=0, atol=1e-12)


@settings(max_examples=50, deadline=None)
@given(arrays(float, st.integers(2, 40), elements=st.floats(-1e3, 1e3)),
       st.floats(0.0, 1.0), st.floats(0.1, 10.0))
def test_equal_weights_of_any_size_equal_numpy(values, q, scale):
    weights = np.full(values.size, scale)
    assert weighted_quantile(values, q, weights) == pytest.approx(
        np.quantile(values, q), rel=1e-9, abs=1e-9)


def test_weighted_quantiles_by_hand():
    # Sorted values 0, 1, 2 with weights 1, 2, 1: C = 1, 3, 4; positions
    # (C - w/2 - 1/2) / (4 - 1/2 - 1/2) = 0, 1/2, 1.
    values, weights = [2.0, 0.0, 1.0], [1.0, 1.0, 2.0]
    np.testing.assert_allclose(
        weighted_quantile(values, [0.0, 0.25, 0.5, 0.75, 1.0], weights),
        [0.0, 0.5, 1.0, 1.5, 2.0])
    # A zero weight removes its sample: the median of {1, 2} is 1.5.
    assert weighted_quantile([3.0, 1.0, 2.0], 0.5, [0.0, 1.0, 1.0]) == pytest.approx(1.5)
    # Weights 3, 1 on 0, 1: positions (3 - 1.5 - 1.5)/2 = 0 and (4 - 0.5 - 1.5)/2 = 1.
    assert weighted_quantile([0.0, 1.0], 0.3, [3.0, 1.0]) == pytest.approx(0.3)
    with pytest.raises(SearchError):
        weighted_quantile([1.0], 0.5, [0.0])


def _samples(model=None, weight=None):
    rng = np.random.default_rng(7)
    parameters = rng.normal([1.0, -2.0], [0.5, 2.0], size=(2001, 2))
    log_likelihood = -0.5 * np.sum(((parameters - [1.0, -2.0]) / [0.5, 2.0]) ** 2, axis=1)
    return Samples(model, parameters, log_likelihood, np.full(2001, -3.0), weight=weight,
                   parameter_paths=None if model else ["a.b", "c"])


def test_unweighted_samples_against_numpy():
    s = _samples()
    p = s.parameters
    assert s.parameter_paths == ["a.b", "c"]
    np.testing.assert_array_equal(s.weight, np.ones(len(s)))
    np.testing.assert_array_equal(s.log_posterior, s.log_likelihood - 3.0)
    np.testing.assert_array_equal(s.max_log_likelihood_vector, p[np.argmax(s.log_likelihood)])
    np.testing.assert_allclose(s.median_pdf_vector, np.median(p, axis=0), atol=1e-12)
    for sigma, prob in [(1, 0.682689492), (3, 0.997300204)]:
        expected = np.quantile(p, [(1 - prob) / 2, (1 + prob) / 2], axis=0).T
        values = s.values_at_sigma(sigma)
        assert values.shape == (2, 2)
        np.testing.assert_allclose(values, expected, atol=1e-8)
        errors = s.errors_at_sigma(sigma)
        np.testing.assert_allclose(errors[:, 0], np.median(p, axis=0) - expected[:, 0], atol=1e-8)
        np.testing.assert_allclose(errors[:, 1], expected[:, 1] - np.median(p, axis=0), atol=1e-8)
    # Sanity: the 1-sigma interval of a Gaussian is about +-1 standard deviation.
    np.testing.assert_allclose(s.errors_at_sigma(1).mean(axis=1), [0.5, 2.0], rtol=0.1)


def test_weighted_samples_use_the_weights():
    parameters = np.array([[0.0], [1.0], [2.0]])
    s = Samples(None, parameters, [0.0, 1.0, 0.5], [0.0, 0.0, 0.0], weight=[1.0, 2.0, 1.0])
    assert s.parameter_paths == ["param_0"]
    np.testing.assert_allclose(s.median_pdf_vector, [1.0])
    p1 = probability_at_sigma(1)
    # positions 0, 1/2, 1 -> linear between them.
    lower, upper = (1 - p1) / 2 * 2.0, 2.0 * (1 + p1) / 2
    np.testing.assert_allclose(s.values_at_sigma(1), [[lower, upper]])
    np.testing.assert_allclose(s.errors_at_sigma(1), [[1.0 - lower, upper - 1.0]])


def test_summary_dict_is_json_and_matches_properties():
    s = _samples()
    summary = json.loads(json.dumps(s.summary_dict()))
    assert summary["max_log_likelihood"] == pytest.approx(s.log_likelihood.max())
    assert summary["log_evidence"] is None
    assert list(summary["max_log_likelihood_instance"]) == ["a.b", "c"]
    assert summary["median_pdf_instance"]["c"] == pytest.approx(s.median_pdf_vector[1])
    at_3 = s.values_at_sigma(3)
    assert summary["errors"]["a.b"]["lower_3"] == pytest.approx(at_3[0, 0])
    assert summary["errors"]["c"]["upper_1"] == pytest.approx(s.values_at_sigma(1)[1, 1])


def test_instances_need_a_model():
    s = _samples()
    with pytest.raises(ModelError, match="no model"):
        s.max_log_likelihood_instance
    model = toy_model()
    s = _samples(model)
    assert s.parameter_paths == list(model.paths)
    instance = s.max_log_likelihood_instance
    expected = model.instance_from_vector(s.max_log_likelihood_vector)
    assert _flat(instance) == _flat(expected)


def test_mismatched_paths_raise():
    with pytest.raises(SearchError, match="parameter paths"):
        Samples(None, np.zeros((3, 2)), np.zeros(3), np.zeros(3), parameter_paths=["a"])


def _flat(instance):
    return repr(instance)
