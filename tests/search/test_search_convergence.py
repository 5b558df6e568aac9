"""Autocorrelation time and split-R-hat on chains whose answers are known."""

import numpy as np
import pytest

from lenspipe.search import integrated_time, split_rhat
from lenspipe.search.convergence import assess


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


@pytest.mark.parametrize("steps, previous, rhat_ok, expected", [
    (4000, 4.0, True, True),     # long, stable tau, mixed
    (150, 4.0, True, False),     # steps < 50 tau
    (4000, np.nan, True, False), # no previous estimate
    (4000, 5.0, True, False),    # tau still changing
    (4000, 4.0, False, False),   # walkers in two modes
])
def test_assess_combines_the_rules(steps, previous, rhat_ok, expected):
    chain = _ar1(0.6, steps, 8, 1, seed=6)
    if not rhat_ok:
        chain[:, :4] += 10.0
    tau = integrated_time(chain)
    prior = tau if previous == 4.0 else np.full(1, previous)
    result = assess(chain, prior * (1 + 1e-4), tau_factor=50, tau_rtol=0.01,
                    rhat_max=1.01, min_steps=0)
    assert result["converged"] is expected
    np.testing.assert_array_equal(result["tau"], tau)


def test_assess_respects_min_steps():
    chain = _ar1(0.6, 4000, 8, 1, seed=6)
    tau = integrated_time(chain)
    assert not assess(chain, tau, 50, 0.01, 1.01, min_steps=5000)["converged"]
