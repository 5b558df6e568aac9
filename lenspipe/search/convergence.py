"""Convergence diagnostics of an ensemble chain and the stopping rule built on them.

Every function takes a chain of shape ``(steps, walkers, n)`` (zeus's layout) and returns
one value per parameter: :func:`integrated_time` (Sokal's windowed autocorrelation time),
:func:`split_rhat` (nested split-R-hat), :func:`effective_sample_size` (rank-normalised
bulk and tail ESS). :func:`assess` combines them into the stopping rule of
:class:`~lenspipe.search.ZeusSearch` (documented in docs/pipeline.md):

* the burn-in, ``burn_in_taus`` autocorrelation times (``tau = draws / bulk ESS``, in steps,
  estimated on the chain's second half) but at most half the chain, is discarded; the rest
  is the posterior sample;
* the burn-in is at least ``burn_in_taus`` autocorrelation times of that sample, so the
  walkers forgot where they started;
* the sample's nested split-R-hat is below ``rhat_max`` for every parameter (a drift or
  walkers that disagree fail it);
* its bulk and tail effective sample sizes are at least ``ess_min`` for every parameter;
* and ``steps >= min_steps``.

The burn-in also holds the whole warm-up: zeus re-tunes its scale ``mu`` in every segment
until the first check at which every nested split-R-hat is below :data:`WARMUP_RHAT`, so the
sample itself comes from one fixed kernel.
"""

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

__all__ = ["integrated_time", "split_rhat", "effective_sample_size", "assess", "RHAT_GROUPS", "WARMUP_RHAT"]

#: Fewer steps than this give no autocorrelation estimate (NaN).
MIN_STEPS_FOR_TAU = 4


def _autocovariance(x):
    """Autocovariance of each column of ``x`` (steps, m) along axis 0, via FFT.

    Parameters
    ----------
    x : ndarray, shape (steps, m)

    Returns
    -------
    ndarray, shape (steps, m)
        The (biased, 1/steps) autocovariance at lags 0 .. steps - 1.
    """
    steps = x.shape[0]
    size = 1 << int(np.ceil(np.log2(2 * steps)))
    centred = x - x.mean(axis=0)
    spectrum = np.fft.rfft(centred, n=size, axis=0)
    return np.fft.irfft(spectrum * np.conj(spectrum), n=size, axis=0)[:steps] / steps


def integrated_time(chain, window_c=5.0):
    """Integrated autocorrelation time of every parameter of an ensemble chain.

    Algorithm, for each parameter:

    1. compute every walker's autocovariance function (FFT) and average them over
       walkers (one estimate for the ensemble);
    2. normalise by lag 0 to an autocorrelation function ``rho``;
    3. form the cumulative estimates ``tau(M) = 1 + 2 sum_{t=1..M} rho(t)``;
    4. choose Sokal's window: the smallest ``M`` with ``M >= window_c * tau(M)``
       (the last lag if none), and return ``tau(M)``.

    Parameters
    ----------
    chain : ndarray, shape (steps, walkers, n)
    window_c : float
        Sokal's window constant.

    Returns
    -------
    ndarray, shape (n,)
        Autocorrelation time in steps (at least 1); NaN for every parameter when the
        chain has fewer than ``MIN_STEPS_FOR_TAU`` steps. A parameter that never
        changes gets 1.
    """
    chain = np.asarray(chain, dtype=float)
    steps, walkers, n = chain.shape
    if steps < MIN_STEPS_FOR_TAU:
        return np.full(n, np.nan)
    taus = np.empty(n)
    for i in range(n):
        acov = _autocovariance(chain[:, :, i]).mean(axis=1)
        if not acov[0] > 0.0:
            taus[i] = 1.0
            continue
        rho = acov / acov[0]
        cumulative = 2.0 * np.cumsum(rho) - 1.0
        inside = np.arange(steps) < window_c * cumulative
        window = int(np.argmin(inside)) if not inside.all() else steps - 1
        taus[i] = max(cumulative[window], 1.0)
    return taus


#: Walker groups (superchains) of the nested split-R-hat.
RHAT_GROUPS = 4


def split_rhat(chain, groups=RHAT_GROUPS):
    """Nested split-R-hat of every parameter of an ensemble chain.

    The walkers of an ensemble sampler are many short chains that move together, not a
    few long independent ones, and the classic split-R-hat taken walker by walker asks
    each walker alone to pin its mean: for a stationary, well-mixed ensemble it is about
    ``1 + 2 (tau - 1) / steps`` on the second half of a run, so ``< 1.01`` needs some
    200 tau steps, four times the autocorrelation rule. The nested R-hat of Margossian et
    al. (2024, Bayesian Analysis, "Nested R-hat") groups many short chains into
    superchains and compares the superchains, which is the question that matters here:
    do different groups of walkers, early and late, agree?

    1. The chain is cut into a first and a second half in time (the middle step dropped
       when the length is odd), and the walkers into ``groups`` groups of consecutive
       walkers (``numpy.array_split``): ``2 * groups`` superchains of ``M`` walkers x
       ``m`` steps.
    2. ``B`` is the variance (ddof 1) of the superchains' means; each superchain's
       within-variance is the variance (ddof 1, 0 when M = 1) of its walkers' means plus
       the mean of its walkers' variances (ddof 1); ``W`` is their mean.
    3. ``R-hat = sqrt(1 + B / W)``.

    For a stationary ensemble ``R-hat - 1`` is about ``tau / (2 m M)``: with 40 walkers in
    4 groups, ``0.004`` at 50 tau steps. Walkers stuck in another mode move their group's
    mean, and a drift moves the halves' means: both raise ``B``. ``groups`` equal to the
    number of walkers gives the walker-by-walker split-R-hat (M = 1).

    Parameters
    ----------
    chain : ndarray, shape (steps, walkers, n)
        Usually the second half of a run (the first half being warm-up).
    groups : int
        Walker groups (at most the number of walkers).

    Returns
    -------
    ndarray, shape (n,)
        R-hat per parameter; NaN when fewer than 4 steps are given. A parameter
        constant within every walker gives 1 if all superchains agree, else inf.
    """
    chain = np.asarray(chain, dtype=float)
    steps, walkers, n = chain.shape
    m = steps // 2
    if m < 2:
        return np.full(n, np.nan)
    halves = np.stack([chain[:m], chain[steps - m:]])  # (2, m, walkers, n)
    walker_means = halves.mean(axis=1)  # (2, walkers, n)
    walker_vars = halves.var(axis=1, ddof=1)
    superchain_means, superchain_within = [], []
    for members in np.array_split(np.arange(walkers), max(1, min(int(groups), walkers))):
        means = walker_means[:, members]  # (2, M, n)
        superchain_means.append(means.mean(axis=1))
        between = means.var(axis=1, ddof=1) if len(members) > 1 else np.zeros((2, n))
        superchain_within.append(between + walker_vars[:, members].mean(axis=1))
    between = np.concatenate(superchain_means).var(axis=0, ddof=1)
    within = np.concatenate(superchain_within).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rhat = np.sqrt(1.0 + between / within)
    flat = within == 0.0
    rhat[flat] = np.where(between[flat] == 0.0, 1.0, np.inf)
    return rhat


def _ess_of_chains(x):
    """Effective sample size of draws ``x`` (steps, chains), one scalar.

    The multi-chain estimator of Vehtari et al. (2021, Bayesian Analysis 16, 667), as in Stan
    and ArviZ: the chains' autocovariances are averaged and combined with the variance between
    chains (``var+``) into one autocorrelation function ``rho``; Geyer's initial monotone
    sequence truncates its sum (pairs ``rho(2k) + rho(2k+1)`` while positive, made
    non-increasing); ``ESS = chains x steps / tau`` with ``tau = -1 + 2 sum pairs``, at least
    ``1 / log10(chains x steps)``. NaN for fewer than 4 steps or draws without variance.
    """
    steps, chains = x.shape
    if steps < MIN_STEPS_FOR_TAU:
        return np.nan
    acov = _autocovariance(x)  # (steps, chains), biased
    chain_var = acov[0] * steps / (steps - 1.0)
    mean_var = chain_var.mean()
    var_plus = mean_var * (steps - 1.0) / steps
    if chains > 1:
        var_plus += x.mean(axis=0).var(ddof=1)
    if not var_plus > 0.0:
        return np.nan
    rho = 1.0 - (mean_var - acov.mean(axis=1)) / var_plus
    rho[0] = 1.0
    pairs = rho[: 2 * (steps // 2)].reshape(-1, 2).sum(axis=1)
    positive = np.flatnonzero(pairs <= 0.0)
    pairs = pairs[: positive[0]] if positive.size else pairs
    pairs = np.minimum.accumulate(pairs)
    draws = steps * chains
    tau = max(-1.0 + 2.0 * pairs.sum(), 1.0 / np.log10(draws))
    return draws / tau


def _split_walkers(values):
    """(steps, walkers) -> (steps // 2, 2 walkers): each walker's first and second half."""
    half = values.shape[0] // 2
    return np.concatenate([values[:half], values[values.shape[0] - half:]], axis=1)


def effective_sample_size(chain):
    """Rank-normalised bulk and tail effective sample sizes of every parameter.

    Each walker is a chain, split in halves (so a drift within a walker lowers the ESS as it
    raises split-R-hat). Bulk: the ESS of the rank-normalised draws (ranks over all draws,
    mapped through the normal quantile function ``(r - 3/8) / (S + 1/4)``), which measures
    how well the centre of the posterior is sampled. Tail: the smaller ESS of the indicators
    ``x <= q05`` and ``x <= q95`` (the pooled 5 % and 95 % quantiles), which measures how well
    the 90 % interval's ends are sampled (Vehtari et al. 2021).

    Parameters
    ----------
    chain : ndarray, shape (steps, walkers, n)
        The posterior sample (burn-in already removed).

    Returns
    -------
    bulk, tail : ndarray, shape (n,)
        In draws (at most about ``steps x walkers``); NaN when there are fewer than 8 steps
        or a parameter does not vary.
    """
    chain = np.asarray(chain, dtype=float)
    steps, walkers, n = chain.shape
    bulk, tail = np.full(n, np.nan), np.full(n, np.nan)
    if steps < 2 * MIN_STEPS_FOR_TAU:
        return bulk, tail
    for i in range(n):
        split = _split_walkers(chain[:, :, i])
        ranks = rankdata(split, method="average").reshape(split.shape)
        bulk[i] = _ess_of_chains(ndtri((ranks - 0.375) / (split.size + 0.25)))
        q05, q95 = np.quantile(split, [0.05, 0.95])
        tail[i] = min(_ess_of_chains((split <= q05).astype(float)),
                      _ess_of_chains((split <= q95).astype(float)))
    return bulk, tail


def _tau_from_ess(sample):
    """(tau in steps, bulk ESS, tail ESS) per parameter of a sample (steps, walkers, n)."""
    bulk, tail = effective_sample_size(sample)
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = np.maximum(sample.shape[0] * sample.shape[1] / bulk, 1.0)
    return tau, bulk, tail


def burn_in_of(chain, burn_in_taus):
    """Steps to discard: ``burn_in_taus`` x the largest tau of the second half, at most half.

    Half the chain when tau cannot be estimated yet.
    """
    steps = chain.shape[0]
    tau, _, _ = _tau_from_ess(chain[steps // 2:])
    if not np.all(np.isfinite(tau)):
        return steps // 2
    return int(min(steps // 2, np.ceil(burn_in_taus * np.max(tau))))


#: The warm-up (zeus re-tuning its scale in every segment) ends at the first check at which
#: every nested split-R-hat of the sample is below this: the ensemble has spread over the
#: posterior, so the scale it tunes is the posterior's.
WARMUP_RHAT = 1.05


def assess(chain, ess_min, rhat_max, burn_in_taus, min_steps, warmup=0):
    """Apply the stopping rule (module docstring) to a whole chain.

    Parameters
    ----------
    chain : ndarray, shape (steps, walkers, n)
        Every step so far.
    ess_min : float
        Bulk and tail ESS every parameter's sample needs (draws).
    rhat_max : float
        Nested split-R-hat every parameter's sample must stay below.
    burn_in_taus : float
        The burn-in, in autocorrelation times (at most half the chain).
    min_steps : int
    warmup : int
        Steps of adaptive warm-up: the burn-in is at least these (still at most half the
        chain), and converged needs it to be.

    Returns
    -------
    dict
        ``burn_in`` (steps discarded), ``tau`` (n,) in steps (``draws / bulk ESS`` of the
        sample), ``rhat``, ``ess_bulk``, ``ess_tail`` (n,), and ``converged`` (bool).
    """
    steps = chain.shape[0]
    burn_in = min(max(burn_in_of(chain, burn_in_taus), int(warmup)), steps // 2)
    sample = chain[burn_in:]
    rhat = split_rhat(sample)
    tau, bulk, tail = _tau_from_ess(sample)
    converged = bool(
        steps >= min_steps
        and np.all(np.isfinite(bulk)) and np.all(np.isfinite(tail))
        and np.all(bulk >= ess_min) and np.all(tail >= ess_min)
        and np.all(rhat < rhat_max)
        and burn_in >= burn_in_taus * np.max(tau)
        and burn_in >= warmup
    )
    return {"burn_in": burn_in, "tau": tau, "rhat": rhat, "ess_bulk": bulk, "ess_tail": tail,
            "converged": converged}
