"""ZeusSearch: posterior recovery, reproducibility, discarded samples, outputs."""

import io
import json
import logging
import random

import numpy as np
import pytest

from lenspipe.errors import SearchError
from lenspipe.model import Collection, GaussianPrior, UniformPrior
from lenspipe.search import Samples, ZeusSearch
from search_toy import COVARIANCE, MEAN, gaussian_log_likelihoods, toy_model


@pytest.fixture(scope="module")
def gaussian_fit():
    search = ZeusSearch(nwalkers=10, max_steps=1500, seed=11, checkpoint_every=500)
    return search.fit(toy_model(), gaussian_log_likelihoods)


def test_recovers_a_correlated_gaussian(gaussian_fit):
    out = gaussian_fit
    samples = out.samples(toy_model())
    tau = np.array(out.diagnostics["tau"])
    kept_steps = out.chain.shape[0] - out.default_burn_in()
    ess = kept_steps * out.chain.shape[1] / tau.max()
    sigma = np.sqrt(np.diag(COVARIANCE))
    standard_error = sigma / np.sqrt(ess)
    mean = samples.parameters.mean(axis=0)
    assert np.all(np.abs(mean - MEAN) < 5 * standard_error), (mean, standard_error)
    np.testing.assert_allclose(samples.parameters.std(axis=0), sigma, rtol=0.1)
    np.testing.assert_allclose(np.corrcoef(samples.parameters.T)[0, 1], 0.8, atol=0.05)
    best = samples.max_log_likelihood_instance
    assert (best.x0, best.x1) == tuple(samples.max_log_likelihood_vector)
    assert np.all(np.abs(np.array(out.diagnostics["rhat"]) - 1.0) < 0.05)


def test_diagnostics_are_complete_and_json(gaussian_fit):
    d = json.loads(json.dumps(gaussian_fit.diagnostics))
    steps = d["steps"]
    assert gaussian_fit.chain.shape == (steps, 10, 2) and steps % 500 == 0
    assert 0 < d["burn_in"] <= steps // 2
    assert 0 < d["warmup_end"] <= d["burn_in"]  # the sample comes from one fixed kernel (mu tuned before)
    assert len(d["tau"]) == len(d["rhat"]) == len(d["ess_bulk"]) == len(d["ess_tail"]) == 2
    # converged: the rule's figures, as recorded, meet its thresholds
    assert d["converged"] and min(d["ess_bulk"] + d["ess_tail"]) >= 400 and max(d["rhat"]) < 1.01
    assert d["parameter_paths"] == toy_model().paths
    assert d["evaluations"] >= steps * 10 and d["discarded"] == 0
    assert d["wall_time"] > 0 and d["evaluations_per_second"] > 0
    assert isinstance(d["converged"], bool)
    assert gaussian_fit.log_likelihood.shape == gaussian_fit.log_prior.shape == (steps, 10)
    np.testing.assert_array_equal(gaussian_fit.log_posterior,
                                  gaussian_fit.log_likelihood + gaussian_fit.log_prior)


def test_burn_in_and_thinning_keep_log_likelihoods_aligned(gaussian_fit):
    out = gaussian_fit
    for burn_in, thin in [(7, 3), (None, None), (0, 1)]:
        samples = out.samples(None, burn_in=burn_in, thin=thin)
        assert isinstance(samples, Samples)
        np.testing.assert_array_equal(
            samples.log_likelihood, gaussian_log_likelihoods(samples.parameters))
        np.testing.assert_array_equal(
            samples.log_prior, toy_model().log_prior_from_vector(samples.parameters))
    steps = out.chain.shape[0]
    samples = out.samples(None, burn_in=7, thin=3)
    assert len(samples) == len(range(7, steps, 3)) * 10
    assert out.default_burn_in() == out.diagnostics["burn_in"] >= 5 * max(out.diagnostics["tau"])
    assert out.default_thin() == max(1, int(0.5 * min(out.diagnostics["tau"])))
    with pytest.raises(SearchError):
        out.samples(None, burn_in=steps)


def test_same_seed_same_chain_and_no_global_side_effects():
    search = ZeusSearch(nwalkers=6, max_steps=30, seed=5, checkpoint_every=10)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    np.random.seed(123)
    random.seed(123)
    before = np.random.get_state(), random.getstate()
    first = search.fit(toy_model(), gaussian_log_likelihoods)
    assert random.getstate() == before[1]
    np.testing.assert_array_equal(np.random.get_state()[1], before[0][1])
    assert root.handlers == handlers and root.level == level
    second = search.fit(toy_model(), gaussian_log_likelihoods)
    np.testing.assert_array_equal(first.chain, second.chain)
    np.testing.assert_array_equal(first.log_likelihood, second.log_likelihood)
    other = ZeusSearch(nwalkers=6, max_steps=30, seed=6, checkpoint_every=10)
    assert not np.array_equal(first.chain, other.fit(toy_model(), gaussian_log_likelihoods).chain)


def test_likelihood_only_inside_prior_and_discards_counted():
    model = toy_model(lower=(-3.0, -4.0), upper=(3.0, 4.0))
    calls = []

    def log_likelihoods(vectors):
        assert np.all(np.isfinite(model.log_prior_from_vector(vectors)))
        calls.append(len(vectors))
        values = gaussian_log_likelihoods(vectors)
        values[vectors[:, 0] > 1.5] = -np.inf   # a discarded region
        values[vectors[:, 1] < -3.5] = np.nan   # NaN counts as discarded too
        return values

    out = ZeusSearch(nwalkers=8, max_steps=60, seed=2, checkpoint_every=30).fit(
        model, log_likelihoods)
    d = out.diagnostics
    assert d["discarded"] > 0
    assert d["evaluations"] == sum(calls)
    assert d["posterior_evaluations"] > d["evaluations"]  # some proposals left the prior
    assert np.all(out.chain[:, :, 0] <= 1.5) and np.all(np.isfinite(out.log_likelihood))


def test_initial_ball_and_impossible_starts():
    model = toy_model()
    calls = []

    def recording(vectors):
        calls.append(np.array(vectors))
        return gaussian_log_likelihoods(vectors)

    ZeusSearch(nwalkers=6, max_steps=1, seed=1, checkpoint_every=1).fit(
        model, recording, initial_vector=[9.99, 0.0], initial_sigma=0.01)
    start = calls[0]  # the initial walkers: a tight ball clipped into the prior
    assert start.shape == (6, 2) and len(np.unique(start[:, 1])) == 6
    assert np.all(np.abs(start[:, 1]) < 0.05) and np.all(start[:, 0] <= 10.0)
    assert np.any(start[:, 0] > 9.99)
    # The default ball width is 1 % of each prior's central 68 %: 0.1365 and 0.2.
    calls.clear()
    gaussian = Collection(x0=UniformPrior(-10.0, 10.0), x1=GaussianPrior(0.0, 10.0))
    ZeusSearch(nwalkers=200, max_steps=1, seed=1, checkpoint_every=1).fit(
        gaussian, recording, initial_vector=[1.0, -2.0])
    np.testing.assert_allclose(calls[0].std(axis=0), [0.1365, 0.2], rtol=0.15)
    with pytest.raises(SearchError, match="could not start"):
        ZeusSearch(nwalkers=4, max_steps=5, checkpoint_every=5).fit(
            model, lambda v: np.full(len(v), -np.inf))
    with pytest.raises(SearchError, match="nwalkers"):
        ZeusSearch(nwalkers=2, max_steps=5).fit(model, gaussian_log_likelihoods)
    with pytest.raises(SearchError, match="initial_vector"):
        ZeusSearch(nwalkers=4, initial="ball").fit(model, gaussian_log_likelihoods)
    with pytest.raises(SearchError, match="shape"):
        ZeusSearch(nwalkers=4, max_steps=2).fit(model, lambda v: np.zeros((len(v), 2)))


def test_settings_validation_and_dict_round_trip():
    search = ZeusSearch(nwalkers=12, max_steps=100, seed=3, checkpoint_every=20, min_steps=40)
    d = json.loads(json.dumps(search.to_dict()))
    assert d["name"] == "ZeusSearch" and d["ess_min"] == 400 and d["rhat_max"] == 1.01
    assert ZeusSearch.from_dict(d) == search
    for bad in [dict(nwalkers=5), dict(max_steps=0), dict(rhat_max=1.0), dict(initial="x"),
                dict(ess_min=0), dict(burn_in_taus=-1)]:
        with pytest.raises(SearchError):
            ZeusSearch(**bad)


def test_progress_logs_each_checkpoint_when_not_a_terminal(caplog):
    with caplog.at_level(logging.INFO, logger="lenspipe.search"):
        ZeusSearch(nwalkers=4, max_steps=20, seed=1, checkpoint_every=10).fit(
            toy_model(), gaussian_log_likelihoods, stream=io.StringIO())
    lines = [r.getMessage() for r in caplog.records if r.name == "lenspipe.search"]
    assert len(lines) == 2 and lines[-1].startswith("step 20/20")
    assert not any("zeus" in r.pathname for r in caplog.records)


def test_progress_bar_on_a_terminal(caplog):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    with caplog.at_level(logging.INFO, logger="lenspipe.search"):
        ZeusSearch(nwalkers=4, max_steps=20, seed=1, checkpoint_every=10).fit(
            toy_model(), gaussian_log_likelihoods, stream=stream)
    text = stream.getvalue()
    assert "\r" in text and "20/20" in text and "tau" in text and "R-hat" in text
    assert text.endswith("\n")
    assert not [r for r in caplog.records if r.name == "lenspipe.search"]


def test_a_log_uniform_parameter_is_sampled_in_its_logarithm():
    """A log-uniform prior over 1e-6..1e6 (a regularization coefficient) with a log-normal likelihood
    (ln x ~ N(ln 100, 0.3)): the walkers move in ln x, so the posterior is a Gaussian there; the output
    is in x, with the model's own log prior."""
    from lenspipe.model import LogUniformPrior
    from lenspipe.search.space import SamplerSpace

    model = Collection({"x0": LogUniformPrior(1e-6, 1e6), "x1": UniformPrior(-5.0, 5.0)})

    def log_likelihoods(vectors):
        x, y = vectors[:, 0], vectors[:, 1]
        assert np.all(x > 0)  # the likelihood always sees the model's own parameter
        # with the prior 1/x, the posterior of ln x is N(ln 100, 0.3); y ~ N(0.5, 0.1)
        return -0.5 * ((np.log(x) - np.log(100.0)) / 0.3) ** 2 - 0.5 * ((y - 0.5) / 0.1) ** 2

    out = ZeusSearch(nwalkers=8, max_steps=1500, seed=3, checkpoint_every=250).fit(model, log_likelihoods)
    assert out.diagnostics["converged"]
    samples = out.samples(model)
    logs = np.log(samples.parameters[:, 0])
    np.testing.assert_allclose([np.median(logs), logs.std()], [np.log(100.0), 0.3], atol=0.05)
    np.testing.assert_allclose(np.median(samples.parameters[:, 1]), 0.5, atol=0.03)
    # the stored log prior is the model's, in x
    np.testing.assert_allclose(out.log_prior[-1], model.log_prior_from_vector(out.chain[-1]), rtol=1e-12)
    per_walker_step = out.diagnostics["evaluations"] / (out.diagnostics["steps"] * 8)
    assert per_walker_step < 6
    space = SamplerSpace(model)
    assert space.logarithmic.tolist() == [True, False]
    np.testing.assert_allclose(space.to_physical(space.from_physical([[250.0, 0.3]])), [[250.0, 0.3]])


def test_stragglers_are_walkers_far_below_the_ensemble_by_the_chi_squared_tail():
    from scipy.stats import chi2

    from lenspipe.search.walkers import STRAGGLER_PROBABILITY, stragglers

    rng = np.random.default_rng(3)
    dimensions = 7
    bulk = -0.5 * chi2.rvs(dimensions, size=16, random_state=rng)  # draws from a Gaussian posterior's bulk
    assert len(stragglers(bulk, dimensions)) == 0
    gap = 0.5 * chi2.isf(STRAGGLER_PROBABILITY, dimensions)
    assert 20 < gap < 20.5  # 7 parameters: 20.3 below the median
    stuck = bulk.copy()
    stuck[[4, 9]] = np.median(bulk) - gap - 1.0, -np.inf
    np.testing.assert_array_equal(stragglers(stuck, dimensions), [4, 9])
    stuck[[1, 2, 3, 5, 6]] = -1e3  # more than a third far below: no bulk to trust, nobody restarted
    assert len(stragglers(stuck, dimensions)) == 0


def test_a_stuck_walker_restarts_beside_another_and_the_restart_is_recorded():
    from lenspipe.search.walkers import RESTART_OFFSET, LogPosterior

    search = ZeusSearch(nwalkers=6, max_steps=10, seed=5)
    posterior = LogPosterior(toy_model(), gaussian_log_likelihoods)
    start = np.column_stack([np.linspace(0.5, 1.5, 6), np.linspace(-2.5, -1.5, 6)])
    positions = start.copy()
    now = posterior(positions)[:, 1:]
    now[2] = (-500.0, 0.0)
    notes = search._restart(np.array([2]), positions, now, 50, {"initialisation": {"mode": "ball"}}, posterior)
    (record,) = notes["restarted_walkers"]
    assert record["step"] == 50 and record["walker"] == 2 and record["from"] != 2
    assert record["below_median"] > 400
    source = positions[record["from"]]
    offset = np.abs(positions[2] - source)
    spread = np.std(np.delete(start, 2, axis=0), axis=0)
    assert np.all(offset > 0) and np.all(offset < 5 * RESTART_OFFSET * spread)  # beside it, not on it
    np.testing.assert_array_equal(now[2], posterior(positions[2:3])[0, 1:])  # its values are its own
    assert notes["initialisation"] == {"mode": "ball"}
    again_positions, again_now = start.copy(), posterior(start)[:, 1:]
    again_now[2] = (-500.0, 0.0)
    again = search._restart(np.array([2]), again_positions, again_now, 50, {}, posterior)
    assert again["restarted_walkers"][0]["from"] == record["from"]  # the same on a resumed run
    np.testing.assert_array_equal(again_positions, positions)


def test_restarted_walkers_never_share_a_position():
    """J0029-0055's mass_total restarted six of 18 walkers onto others' positions; two walkers at one
    point give zeus a zero direction, and the next segment failed ("could not bracket the slice")."""
    from lenspipe.search.walkers import LogPosterior

    search = ZeusSearch(nwalkers=18, max_steps=10, seed=7)
    posterior = LogPosterior(toy_model(), gaussian_log_likelihoods)
    rng = np.random.default_rng(0)
    positions = np.column_stack([rng.normal(1.0, 0.3, 18), rng.normal(-2.0, 0.3, 18)])
    now = posterior(positions)[:, 1:]
    stuck = np.array([2, 5, 7, 8, 11, 16])
    now[stuck, 0] -= 100.0
    notes = search._restart(stuck, positions, now, 50, {}, posterior)
    assert len(notes["restarted_walkers"]) == 6
    assert len(np.unique(positions, axis=0)) == 18
    np.testing.assert_array_equal(now, posterior(positions)[:, 1:])


