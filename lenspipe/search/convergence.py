"""Convergence diagnostics of an ensemble chain: autocorrelation time and split-R-hat.

Both functions take a chain of shape ``(steps, walkers, n)`` (zeus's layout) and
return one value per parameter. :func:`assess` combines them into the stopping rule
used by :class:`~lenspipe.search.ZeusSearch`.
"""

import numpy as np

__all__ = ["integrated_time", "split_rhat", "assess"]

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


def split_rhat(chain):
    """Split-R-hat (Gelman-Rubin) of every parameter, across walkers.

    Each walker's chain is cut into a first and a second half (the middle step is
    dropped when the length is odd), giving ``2 * walkers`` chains of length ``m``.
    With ``W`` the mean within-chain variance and ``B/m`` the variance of the chain
    means, ``R-hat = sqrt(((m - 1)/m W + B/m) / W)``.

    Parameters
    ----------
    chain : ndarray, shape (steps, walkers, n)
        Usually the second half of a run (the first half being warm-up).

    Returns
    -------
    ndarray, shape (n,)
        R-hat per parameter; NaN when fewer than 4 steps are given. A parameter
        constant within every chain gives 1 if all chains agree, else inf.
    """
    chain = np.asarray(chain, dtype=float)
    steps, walkers, n = chain.shape
    m = steps // 2
    if m < 2:
        return np.full(n, np.nan)
    halves = np.concatenate([chain[:m], chain[steps - m:]], axis=1)  # (m, 2w, n)
    within = halves.var(axis=0, ddof=1).mean(axis=0)
    between_over_m = halves.mean(axis=0).var(axis=0, ddof=1)
    pooled = (m - 1) / m * within + between_over_m
    with np.errstate(divide="ignore", invalid="ignore"):
        rhat = np.sqrt(pooled / within)
    flat = within == 0.0
    rhat[flat] = np.where(between_over_m[flat] == 0.0, 1.0, np.inf)
    return rhat


def assess(chain, tau_previous, tau_factor, tau_rtol, rhat_max, min_steps):
    """Apply the stopping rule to a chain.

    Converged when all hold: ``steps >= min_steps``; ``steps > tau_factor * max(tau)``;
    every ``|tau - tau_previous| / tau < tau_rtol``; every split-R-hat of the second
    half of the chain ``< rhat_max``.

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
