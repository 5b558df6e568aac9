"""The walkers' log posterior (with its evaluation counters) and their initial positions."""

import numpy as np

from ..errors import SearchError

__all__ = ["LogPosterior", "prior_draw", "ball_draw", "initial_walkers", "stragglers", "restart_beside",
           "STRAGGLER_PROBABILITY", "RESTART_OFFSET"]

_UNIT_EPS = 1e-12


class LogPosterior:
    """Vectorised log posterior for zeus, with evaluation counters.

    Returns ``(K, 3)`` rows ``(log_posterior, log_likelihood, log_prior)``; zeus
    takes the first column as the log-probability and keeps the others as blobs.
    """

    def __init__(self, model, log_likelihoods):
        self.model = model
        self.log_likelihoods = log_likelihoods
        self.set_counters({})

    def set_counters(self, counters):
        self.evaluations = int(counters.get("evaluations", 0))
        self.posterior_evaluations = int(counters.get("posterior_evaluations", 0))
        self.discarded = int(counters.get("discarded", 0))

    def counters(self, wall_time):
        return {
            "evaluations": self.evaluations,
            "posterior_evaluations": self.posterior_evaluations,
            "discarded": self.discarded, "wall_time": float(wall_time),
        }

    def __call__(self, vectors):
        vectors = np.atleast_2d(np.asarray(vectors, dtype=float))
        count = vectors.shape[0]
        log_prior = np.asarray(self.model.log_prior_from_vector(vectors), float).reshape(count)
        log_prior = np.where(np.isnan(log_prior), -np.inf, log_prior)
        log_likelihood = np.full(count, -np.inf)
        inside = np.isfinite(log_prior)
        evaluated = int(inside.sum())
        if evaluated:
            values = np.asarray(self.log_likelihoods(vectors[inside]), dtype=float)
            if values.shape != (evaluated,):
                raise SearchError(
                    f"log_likelihoods returned shape {values.shape} for {evaluated} "
                    f"vectors; it must return one value per vector, shape ({evaluated},)"
                )
            bad = ~np.isfinite(values)
            self.discarded += int(bad.sum())
            log_likelihood[inside] = np.where(bad, -np.inf, values)
        self.evaluations += evaluated
        self.posterior_evaluations += count
        return np.stack([log_likelihood + log_prior, log_likelihood, log_prior], axis=1)


def prior_draw(model, rng):
    n = int(model.prior_count)

    def draw(count):
        unit = np.clip(rng.uniform(size=(count, n)), _UNIT_EPS, 1.0 - _UNIT_EPS)
        return np.asarray(model.vector_from_unit_vector(unit), dtype=float)

    return draw


def ball_draw(model, rng, initial_vector, initial_sigma):
    n = int(model.prior_count)
    centre = np.asarray(initial_vector, dtype=float).reshape(n)
    lower, upper = (np.asarray(model.vector_from_unit_vector(np.full(n, u)), float)
                    for u in (_UNIT_EPS, 1.0 - _UNIT_EPS))
    if initial_sigma is None:
        low, high = (np.asarray(model.vector_from_unit_vector(np.full(n, u)), float)
                     for u in (0.158655, 0.841345))
        initial_sigma = 0.01 * (high - low)
    sigma = np.broadcast_to(np.asarray(initial_sigma, dtype=float), (n,))
    if not np.all(sigma > 0):
        raise SearchError(f"initial_sigma must be positive for every parameter (got {sigma})")

    def draw(count):
        return np.clip(centre + sigma * rng.standard_normal((count, n)), lower, upper)

    return draw


def initial_walkers(draw, posterior, nwalkers, max_rounds=100):
    """Draw walkers until each has a finite log posterior (redrawing the others)."""
    positions = draw(nwalkers)
    values = posterior(positions)
    for _ in range(max_rounds):
        bad = ~np.isfinite(values[:, 0])
        if not bad.any():
            return positions, values
        positions[bad] = draw(int(bad.sum()))
        values[bad] = posterior(positions[bad])
    bad = int((~np.isfinite(values[:, 0])).sum())
    raise SearchError(
        f"could not start the search: {bad} of {nwalkers} initial walkers still had a "
        f"non-finite log posterior after {max_rounds} redraws. Check that the priors "
        "allow finite likelihoods (or give an initial_vector inside the good region)."
    )


#: A walker whose log posterior is further below the ensemble's median than a draw from a Gaussian
#: posterior's bulk falls with this probability is a straggler (see :func:`stragglers`).
STRAGGLER_PROBABILITY = 1e-6


def stragglers(log_posterior, dimensions):
    """Indices of walkers stuck far below the ensemble: to restart during the warm-up.

    Near a mode, ``2 (ln P_max - ln P)`` of a draw is chi-squared with ``dimensions`` degrees of
    freedom; a walker below the median of the ensemble by more than half that distribution's
    ``1 - STRAGGLER_PROBABILITY`` quantile (20.3 for 7 parameters, 28.2 for 15) is not in the
    posterior's bulk but stuck in an outlying pocket, typically of a pixelized source's jagged
    evidence. An ensemble slice sampler moves a walker along differences of the others, which
    are the bulk's size, so such a walker can stay put for thousands of steps and hold the
    R-hat above any threshold (on the clumpy-source benchmark, one of 16 walkers sat 900 below
    the rest for 150 steps). At most a third of the walkers are ever called stragglers.
    """
    from scipy.stats import chi2

    values = np.asarray(log_posterior, dtype=float)
    gap = 0.5 * chi2.isf(STRAGGLER_PROBABILITY, dimensions)
    low = np.flatnonzero(~(values >= np.median(values) - gap))  # NaN and -inf included
    return low if len(low) <= len(values) // 3 else np.array([], dtype=int)


#: A restarted walker's offset from the walker it restarts beside, in units of the ensemble's spread.
RESTART_OFFSET = 0.01
#: Offset points drawn (each closer) before a restart is given up.
RESTART_TRIES = 8


def restart_beside(stuck, positions, now, rng, posterior) -> list:
    """Move each stuck walker (in place) beside a randomly chosen other walker.

    The new position is the other walker's plus a Gaussian offset of :data:`RESTART_OFFSET` of
    the ensemble's spread in each coordinate, and the log posterior is evaluated there. Not the
    other walker's position itself: zeus moves a walker along the difference of two others,
    and two walkers at one point give a zero direction whose slice never ends (J0029-0055's
    mass_total, six of 18 walkers restarted onto others: "could not bracket the posterior's
    slice" within the next segment). An offset point without a finite log posterior is drawn
    again, closer (at most :data:`RESTART_TRIES` draws); failing that, the walker stays.

    Parameters
    ----------
    stuck : ndarray of int
        The walkers to move (:func:`stragglers`).
    positions : ndarray, shape (nwalkers, n)
        Updated in place.
    now : ndarray, shape (nwalkers, 2)
        Each walker's (log likelihood, log prior); updated in place.
    rng : numpy.random.Generator
    posterior : LogPosterior

    Returns
    -------
    list of (int, int)
        (walker, the walker it now sits beside) for each walker moved.
    """
    others = np.setdiff1d(np.arange(len(positions)), stuck)
    chosen = rng.choice(others, size=len(stuck))
    spread = np.std(positions[others], axis=0)
    spread = np.where(spread > 0, spread, np.max(spread, initial=0.0) or 1.0)
    proposed = positions[chosen] + RESTART_OFFSET * spread * rng.standard_normal((len(stuck), positions.shape[1]))
    values = posterior(proposed)
    for attempt in range(1, RESTART_TRIES):
        bad = ~np.isfinite(values[:, 0])
        if not bad.any():
            break
        proposed[bad] = positions[chosen[bad]] + (RESTART_OFFSET * 0.5**attempt * spread
                                                  * rng.standard_normal((int(bad.sum()), positions.shape[1])))
        values[bad] = posterior(proposed[bad])
    moved = []
    for walker, source, point, value in zip(stuck, chosen, proposed, values):
        if np.isfinite(value[0]):
            positions[walker], now[walker] = point, value[1:]
            moved.append((int(walker), int(source)))
    return moved
