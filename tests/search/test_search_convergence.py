"""Autocorrelation time, split-R-hat, ESS and the stopping rule on chains whose answers are known."""

import numpy as np
import pytest

from lenspipe.search import integrated_time, split_rhat
from lenspipe.search.convergence import assess, effective_sample_size


def _ar1(phi, steps, walkers, n, seed):
    """AR(1) chains x_t = phi x_{t-1} + e_t: tau = (1 + phi) / (1 - phi)."""
    rng = np.random.default_rng(seed)
    noise = rng.normal(size=(steps, walkers, n))
    x = np.empty_like(noise)
    x[0] = noise[0] / np.sqrt(1 - phi**2)
    for t in range(1, steps):
        x[t] = phi * x[t - 1] + noise[t]
    return x


def test_tau_of_ar1_chains():
    chain = _ar1(0.6, 4000, 8, 2, seed=1)  # tau = 4
    np.testing.assert_allclose(integrated_time(chain), 4.0, rtol=0.1)


def test_tau_of_independent_samples_is_about_one():
    chain = np.random.default_rng(2).normal(size=(3000, 6, 3))
    np.testing.assert_allclose(integrated_time(chain), 1.0, atol=0.1)


def test_tau_edge_cases():
    assert np.all(np.isnan(integrated_time(np.zeros((3, 4, 2)))))
    np.testing.assert_array_equal(integrated_time(np.ones((50, 4, 1))), [1.0])


def test_rhat_is_one_for_converged_chains():
    chain = _ar1(0.5, 2000, 10, 2, seed=3)
    rhat = split_rhat(chain)
    assert rhat.shape == (2,)
    assert np.all(np.abs(rhat - 1.0) < 0.01)


def test_nested_rhat_passes_a_stationary_ensemble_at_50_tau_where_walker_rhat_cannot():
    """AR(1) walkers with tau = 39 (phi = 0.95), 40 walkers, 50 tau = 1950 steps.

    On the second half (975 steps; halves of m = 487) the walker-by-walker split-R-hat is
    about 1 + (tau - 1) / (2 m) = 1.039; the nested one, with 10 walkers per group, about
    1 + tau / (2 m M) = 1.004 (each with a sampling scatter of the same order as its
    excess over 1).
    """
    chain = _ar1(0.95, 1950, 40, 3, seed=8)[975:]
    walkers = split_rhat(chain, groups=40)
    nested = split_rhat(chain)
    assert np.all((walkers > 1.02) & (walkers < 1.07))
    assert np.all(nested < 1.01)


def test_walker_groups_of_one_give_the_classic_split_rhat():
    """groups = walkers: sqrt(1 + B / W) with B the variance of the 2w half-chain means
    and W their mean variance, i.e. the classic formula without its (m - 1) / m factor."""
    chain = np.random.default_rng(9).normal(size=(200, 6, 2))
    halves = np.concatenate([chain[:100], chain[100:]], axis=1)
    between = halves.mean(axis=0).var(axis=0, ddof=1)
    within = halves.var(axis=0, ddof=1).mean(axis=0)
    np.testing.assert_allclose(split_rhat(chain, groups=6), np.sqrt(1 + between / within),
                               rtol=1e-12)


def test_rhat_flags_walkers_in_disjoint_modes():
    chain = np.random.default_rng(4).normal(size=(500, 10, 2))
    chain[:, :5, 0] += 6.0  # half the walkers sit in another mode of parameter 0
    rhat = split_rhat(chain)
    assert rhat[0] > 1.1
    assert abs(rhat[1] - 1.0) < 0.02


def test_rhat_flags_a_drifting_chain():
    chain = np.random.default_rng(5).normal(size=(400, 8, 1))
    chain += np.linspace(0.0, 5.0, 400)[:, None, None]
    assert split_rhat(chain)[0] > 1.1


def test_rhat_edge_cases():
    assert np.all(np.isnan(split_rhat(np.zeros((3, 4, 2)))))
    flat = np.ones((10, 4, 1))
    assert split_rhat(flat)[0] == 1.0
    flat[:, :2] = 2.0
    assert split_rhat(flat)[0] == np.inf


@pytest.mark.parametrize("phi", [0.0, 0.6, 0.9])
def test_bulk_ess_of_ar1_chains(phi):
    # tau = (1 + phi) / (1 - phi) exactly, so ESS = draws / tau; the estimator's relative error
    # is about sqrt(2 (2 M + 1) / N) ~ 0.1 for a window M ~ 2 tau... here within 15 %.
    steps, walkers = 2000, 20
    chain = _ar1(phi, steps, walkers, 2, seed=11)
    bulk, tail = effective_sample_size(chain)
    expected = steps * walkers * (1 - phi) / (1 + phi)
    np.testing.assert_allclose(bulk, expected, rtol=0.15)
    assert np.all(tail > 0.5 * expected)  # tail indicators decorrelate at least as fast


def test_ess_sees_walkers_that_disagree_and_chains_that_drift():
    chain = _ar1(0.5, 1000, 20, 1, seed=12)
    healthy = effective_sample_size(chain)[0][0]
    apart = chain.copy()
    apart[:, :10] += 3.0  # half the walkers in another place: the draws say little
    assert effective_sample_size(apart)[0][0] < 0.05 * healthy
    drift = chain + np.linspace(0, 5, 1000)[:, None, None]  # within-walker trend: split halves differ
    assert effective_sample_size(drift)[0][0] < 0.05 * healthy


def test_ess_edge_cases():
    bulk, tail = effective_sample_size(np.zeros((7, 4, 2)))
    assert np.all(np.isnan(bulk)) and np.all(np.isnan(tail))  # too short
    bulk, _ = effective_sample_size(np.ones((100, 4, 1)))
    assert np.isnan(bulk[0])  # no variance: not estimable, never "converged"


@pytest.mark.parametrize("steps, ess_min, burn_in_taus, spread, expected", [
    (2000, 400, 5, False, True),    # tau 4, 8 walkers: ESS of the half ~ 1000
    (2000, 8000, 5, False, False),  # not enough draws for ess_min (about 4000)
    (2000, 400, 300, False, False), # burn-in (at most 1000 steps) shorter than 300 tau
    (2000, 400, 5, True, False),    # walkers in two modes: R-hat
])
def test_assess_combines_the_rules(steps, ess_min, burn_in_taus, spread, expected):
    chain = _ar1(0.6, steps, 8, 1, seed=6)
    if spread:
        chain[:, :4] += 10.0
    result = assess(chain, ess_min=ess_min, rhat_max=1.01, burn_in_taus=burn_in_taus, min_steps=0)
    assert result["converged"] is expected
    if not spread:  # tau = 4: the burn-in is burn_in_taus x 4 steps, capped at half the chain
        assert result["burn_in"] == pytest.approx(min(burn_in_taus * 4.0, steps // 2), rel=0.2)
        np.testing.assert_allclose(result["tau"], 4.0, rtol=0.2)
        kept = steps - result["burn_in"]
        np.testing.assert_allclose(result["ess_bulk"], kept * 8 / 4.0, rtol=0.2)


def test_assess_respects_min_steps():
    chain = _ar1(0.6, 2000, 8, 1, seed=6)
    assert assess(chain, 400, 1.01, 5, min_steps=2000)["converged"]
    assert not assess(chain, 400, 1.01, 5, min_steps=2001)["converged"]
