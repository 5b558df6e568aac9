"""Convergence diagnostics of an ensemble chain: autocorrelation time and split-R-hat.

Both functions take a chain of shape ``(steps, walkers, n)`` (zeus's layout) and
return one value per parameter. :func:`assess` combines them into the stopping rule
used by :class:`~lenspipe.search.ZeusSearch`.
"""

import numpy as np

__all__ = ["integrated_time", "split_rhat", "assess", "RHAT_GROUPS"]

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


def assess(chain, tau_previous, tau_factor, tau_rtol, rhat_max, min_steps):
    """Apply the stopping rule to a chain.

    Converged when all hold: ``steps >= min_steps``; ``steps > tau_factor * max(tau)``;
    every ``|tau - tau_previous| / tau < tau_rtol``; every nested split-R-hat
    (:func:`split_rhat`) of the second half of the chain ``< rhat_max``.

    Parameters
    ----------
    chain : ndarray, shape (steps, walkers, n)
    tau_previous : ndarray, shape (n,)
        The estimate at the previous check (NaN if none).
    tau_factor, tau_rtol, rhat_max : float
    min_steps : int

    Returns
    -------
    dict
        ``tau`` (n,), ``rhat`` (n,), ``tau_change`` (n,) and ``converged`` (bool).
    """
    steps = chain.shape[0]
    tau = integrated_time(chain)
    rhat = split_rhat(chain[steps // 2:])
    with np.errstate(invalid="ignore", divide="ignore"):
        tau_change = np.abs(tau - np.asarray(tau_previous, dtype=float)) / tau
    converged = bool(
        steps >= min_steps
        and np.all(np.isfinite(tau))
        and steps > tau_factor * np.max(tau)
        and np.all(tau_change < tau_rtol)
        and np.all(rhat < rhat_max)
    )
    return {"tau": tau, "rhat": rhat, "tau_change": tau_change, "converged": converged}
