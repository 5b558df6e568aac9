"""Where a stage's walkers start.

``prior``
    Drawn from the priors (the search's own default).
``previous``
    A Gaussian ball around the previous stage's posterior: every free parameter whose
    path also exists in the previous result starts at that result's median with that
    result's 1-sigma width. The others (a pixelized source's regularization, a power law's
    slope) are first optimised with the matched ones held at their medians
    (:func:`optimise_unmatched`: a short differential evolution over their priors), and
    start at the best point with the spread of the best members of the final population.
    Started at their prior's median instead (a coefficient of 1 on a 1e-6 to 1e6 prior),
    the walkers of a pixelized stage spent their warm-up finding the regularization's
    mode at 21-28 evaluations a walker-step. With ``initialise.hold_unmatched`` they are then
    held at that optimum while the others are sampled (:func:`held_at`): a pixelized source's
    regularization set by its evidence while the mass is sampled, the hyper-parameter stage of
    Nightingale et al. (2018). The regularization's posterior is a broad plateau reaching its
    prior's edge on which walkers mix slowly (on the clumpy-source benchmark, ln of the inner
    coefficient wandered over -12 to -9, sd 2.5, with tau > 170 steps after 400 steps, while
    the Einstein radius had settled within 100); the next stage fits it with the mass fixed.
``optimise``
    A global maximum-a-posteriori search first: SciPy's differential evolution over the
    unit hypercube of the priors, evaluating whole populations through the chunked
    likelihood (``vectorized=True``), until the population's log posteriors agree to within
    a standard deviation of 1 or a budget of evaluations is spent; the walkers then
    start in a ball around the best point whose widths are the spread of the best members
    of the final population (at most 1 % of each prior's central 68 % width).
    An ensemble MCMC started from broad priors spends most of its steps finding the mode
    of a 20-parameter lens model, and can settle in a local one (lens light fitting the
    source); the optimiser finds the mode at a fraction of the cost.

    The optimiser runs up to ``starts`` times (default 3) from independent populations and the
    walkers start from the best. One run is not enough: on the simulated P1 lens, 2 of 10
    single runs (5 seeds, two variants) settled in a secondary mode that trades the mass's
    ellipticity against the external shear and the mass centre (mass ell_comps
    (-0.08, 0.20), shear (0.10, -0.03), centre 0.1 arcsec off; log posterior -35,472
    against +15,241). The starts stop as soon as two of them agree (best log posteriors
    within ``agree``, 5 by default: the same mode): two independent runs that both fail
    and agree on the same wrong mode are rarer than one run failing (p ** 2, and less), and a
    third start is run only when the first two disagree. Every start's best log posterior is
    recorded, so starts that disagree are visible in the result.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from scipy.optimize import differential_evolution

from ..search.progress import OptimiserProgress

__all__ = ["prior_widths", "initial_from_previous", "optimise_unmatched", "held_at", "initial_from_optimiser"]

_LOG = logging.getLogger("lenspipe.fit")


def prior_widths(model) -> tuple[np.ndarray, np.ndarray]:
    """Each prior's median and the width of its central 68 % interval, in parameter units."""
    median = model.vector_from_unit_vector(np.full(model.prior_count, 0.5))
    lower = model.vector_from_unit_vector(np.full(model.prior_count, 0.1587))
    upper = model.vector_from_unit_vector(np.full(model.prior_count, 0.8413))
    return median, upper - lower


def initial_from_previous(model, samples_list) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A ball centre and widths from earlier results (later stages take precedence).

    Returns the centre, the widths and the paths that were matched.
    """
    centre, width = prior_widths(model)
    sigma = 0.01 * width
    matched = []
    for samples in samples_list:
        medians = samples.median_pdf_vector
        errors = samples.errors_at_sigma(1.0).mean(axis=1)
        index = {path: i for i, path in enumerate(samples.parameter_paths)}
        for j, path in enumerate(model.paths):
            if path in index:
                centre[j] = medians[index[path]]
                sigma[j] = max(errors[index[path]], 1e-6 * max(1.0, abs(centre[j])))
                if path not in matched:
                    matched.append(path)
    return centre, sigma, matched


def optimise_unmatched(model, log_likelihoods, centre, sigma, matched, seed, max_evaluations=None,
                       tolerance=1.0, unit_spread=0.002, report_every=30.0):
    """Optimise the parameters :func:`initial_from_previous` did not match, the others held.

    Differential evolution over the unmatched parameters' unit cube (log-uniform priors in
    ``ln x``), the matched parameters fixed at ``centre``. It maximises the posterior density
    in the coordinates it searches, the unit cube, where the prior is uniform: the likelihood
    inside the priors' support. The density in parameter units would add each prior's
    density, for a log-uniform prior ``-ln x``, which drives a parameter the data do not
    constrain to its prior's lower edge: on J0029-0055 the log evidence is flat to 0.4 for an
    Adapt ``inner_coefficient`` from 1e-6 to 1e-2, and the posterior density in parameter
    units chose 1.4e-6. A population of ``max(15 d, 30)``
    for ``d`` unmatched parameters, stopping when its log posteriors agree to within
    ``tolerance`` or every parameter's spread in the unit cube is below ``unit_spread`` (after
    at least 5 generations), or after ``max_evaluations`` (default ``1000 d``).

    Parameters
    ----------
    model : Model or Collection
    log_likelihoods : callable
        ``(K, n) -> (K,)``, the chunked likelihood.
    centre, sigma : ndarray, shape (n,)
        From :func:`initial_from_previous` (parameter units).
    matched : list of str
        The paths it matched.
    seed : int

    Returns
    -------
    centre, sigma : ndarray, shape (n,)
        The unmatched entries replaced by the best point and the spread of the best members
        of the final population (at most 1 % of the prior's central 68 % width).
    info : dict or None
        The optimised paths, the best point's place in their priors' unit cube (``unit``),
        evaluations, best log likelihood and log posterior, how far the log likelihood falls
        from the best point to each parameter's nearer prior limit (``edge_drop``; None where
        the limit's likelihood is not finite, which counts as a fall) and wall time; None when
        every parameter was matched.
    """
    free = np.array([path not in matched for path in model.paths])
    if not free.any():
        return centre, sigma, None
    started, count = time.perf_counter(), {"evaluations": 0}
    d = int(free.sum())
    minus_log_likelihood = _minus_log_posterior(model, log_likelihoods, count, prior_density=False)
    max_evaluations = 1000 * d if max_evaluations is None else int(max_evaluations)

    def partial(unit_columns):  # (d, K) columns of the unmatched unit cube -> (K,)
        unit = np.full((unit_columns.shape[1], model.prior_count), 0.5)
        unit[:, free] = unit_columns.T
        vectors = model.vector_from_unit_vector(np.clip(unit, 1e-9, 1 - 1e-9))
        vectors[:, ~free] = centre[~free]
        return minus_log_likelihood(vectors)

    report = OptimiserProgress(1, max_evaluations, 200, count, report_every, quantity="log likelihood",
                               tolerance=tolerance)
    report.begin(0, label="of the unmatched parameters")
    popsize = max(15, int(np.ceil(30 / d)))
    result, members, energies = _evolve(
        partial, d, [seed, 1000], generations=200, popsize=popsize, tolerance=tolerance,
        max_evaluations=max_evaluations, min_generations=5, count=count, report=report,
        unit_spread=unit_spread)
    unit = np.full((len(members), model.prior_count), 0.5)
    unit[:, free] = members
    vectors = model.vector_from_unit_vector(np.clip(unit, 1e-9, 1 - 1e-9))
    best = vectors[int(np.argmin(energies))]
    chosen = np.argsort(energies)[:min(len(energies), max(2 * d + 2, 10))]
    spread = np.std(vectors[chosen], axis=0)
    _, width = prior_widths(model)
    centre, sigma = np.array(centre, dtype=float), np.array(sigma, dtype=float)
    centre[free] = best[free]
    sigma[free] = np.where(spread[free] > 0, np.minimum(spread[free], 0.01 * width[free]), 0.01 * width[free])
    best_unit = members[int(np.argmin(energies))]
    best_log_posterior = float(model.log_prior_from_vector(best[None])[0] - result.fun)
    # How far the likelihood falls from the optimum to each parameter's nearer prior limit (the
    # others at the optimum): an optimum near a limit with no fall before it is at the prior's edge.
    edges = np.repeat(best_unit[:, None], d, axis=1)
    edges[np.arange(d), np.arange(d)] = np.where(best_unit < 0.5, 0.0, 1.0)
    edge_drop = partial(edges) + result.fun
    info = {"paths": [path for path, f in zip(model.paths, free) if f],
            "unit": [float(u) for u in best_unit], "evaluations": count["evaluations"],
            "generations": int(result.nit), "best_log_likelihood": float(-result.fun),
            "best_log_posterior": best_log_posterior,
            "edge_drop": [float(v) if np.isfinite(v) else None for v in edge_drop],
            "wall_time_s": time.perf_counter() - started}
    _LOG.info("optimised %d unmatched parameter(s) (%s): %d evaluations, best log likelihood %.3f",
              d, ", ".join(info["paths"]), info["evaluations"], info["best_log_likelihood"])
    return centre, sigma, info


def held_at(model, paths, vector):
    """A copy of ``model`` with the parameters at ``paths`` fixed at their values in ``vector``.

    Parameters
    ----------
    model : Model or Collection
    paths : list of str
        Parameter paths of ``model`` (a tuple's entries, e.g. ``centre.centre_0``, included).
    vector : ndarray, shape (n,)
        A parameter vector of ``model``.
    """
    import copy

    held = copy.deepcopy(model)
    values = dict(zip(model.paths, np.asarray(vector, dtype=float)))
    for path in paths:
        parent, name = path.rsplit(".", 1)
        node = held
        for part in parent.split("."):
            entry = node._entries[part] if hasattr(node, "_entries") else None
            if isinstance(entry, tuple):  # a tuple's entry: set the whole tuple, this entry fixed
                index = int(name[len(part) + 1:])
                setattr(node, part, tuple(values[path] if i == index else v for i, v in enumerate(entry)))
                break
            node = getattr(node, part)
        else:
            setattr(node, name, values[path])
    return held


def _evolve(objective, dimensions, seed, generations, popsize, tolerance,
            max_evaluations, min_generations, count, report, init="latinhypercube", unit_spread=0.0):
    """One differential-evolution run over the unit cube; returns (result, population, energies).

    ``report(generation, best, spread)`` is called after each generation; ``init`` is SciPy's
    (a method's name, or the initial population in the unit cube). With ``unit_spread`` > 0
    the run also stops once every parameter's spread over the population (standard
    deviation in the unit cube) is below it: a noisy objective (a pixelized source's
    evidence jumps as the mass moves the source-plane mesh) may never agree to ``tolerance``.
    """
    state = {"generations": 0, "population": None, "energies": None}

    def should_stop(intermediate_result):
        state["generations"] += 1
        state["population"] = np.array(intermediate_result.population)
        state["energies"] = np.array(intermediate_result.population_energies)
        energies = state["energies"]  # inf for a discarded member: the population has not agreed
        spread = float(np.std(energies)) if np.all(np.isfinite(energies)) else np.inf
        report(state["generations"], -float(intermediate_result.fun), float(spread))
        if count["evaluations"] >= max_evaluations:
            return True
        collapsed = unit_spread > 0 and np.all(np.std(state["population"], axis=0) < unit_spread)
        return state["generations"] >= min_generations and (spread <= tolerance or collapsed)

    result = differential_evolution(
        objective, bounds=[(0.0, 1.0)] * dimensions, vectorized=True, updating="deferred",
        popsize=popsize, maxiter=generations, tol=0.0, atol=0.0, polish=False,
        callback=should_stop, init=init, rng=np.random.default_rng(seed),
    )
    return result, state["population"], state["energies"]


def _minus_log_posterior(model, log_likelihoods, count, prior_density=True):
    """``(K, n)`` parameter vectors -> minus their log posteriors (inf where not finite), counted.

    With ``prior_density=False``, minus their log likelihoods inside the priors' support (inf
    outside): the log posterior in the unit cube's coordinates, up to a constant.
    """

    def minus_log_posterior(vectors):
        log_prior = model.log_prior_from_vector(vectors)
        values = np.full(len(vectors), np.inf)
        finite = np.isfinite(log_prior)
        if finite.any():
            log_like = log_likelihoods(vectors[finite])
            count["evaluations"] += int(finite.sum())
            posterior = log_like + log_prior[finite] if prior_density else log_like
            values[finite] = np.where(np.isfinite(posterior), -posterior, np.inf)
        return values

    return minus_log_posterior


def _objective(model, log_likelihoods, count):
    """The optimiser's objective: minus the log posterior of (n, K) unit-cube columns."""
    minus_log_posterior = _minus_log_posterior(model, log_likelihoods, count)

    def objective(unit_columns):
        unit = np.clip(np.atleast_2d(unit_columns.T), 1e-9, 1 - 1e-9)
        return minus_log_posterior(model.vector_from_unit_vector(unit))

    return objective


def initial_from_optimiser(model, log_likelihoods, seed, generations=2000, population=None,
                           tolerance=1.0, max_evaluations=300_000, min_generations=30,
                           starts=3, agree=5.0, report_every=30.0, polish_log_likelihoods=None):
    """Maximum a posteriori by differential evolution over the priors' unit cube.

    Parameters
    ----------
    model : Model or Collection
    log_likelihoods : callable
        ``(K, n) -> (K,)``, the chunked likelihood.
    seed : int
        Seed of the optimiser's generators (start ``i`` uses ``[seed, i]``).
    generations : int
        At most this many generations of differential evolution per start.
    population : int, optional
        Population multiplier per parameter (SciPy's ``popsize``); default 10, and at
        least 100 members in all.
    tolerance : float
        Stop when the standard deviation of the population's log posteriors is below this
        (SciPy's ``atol``; an absolute spread, so a population stuck on a poor plateau with
        a large mean does not count as converged).
    max_evaluations : int
        Stop a start after about this many likelihood evaluations.
    min_generations : int
        Never stop as converged before this many generations (a population that starts on
        a flat plateau, e.g. of models with almost no light in the mask, agrees at once).
    starts : int
        At most this many independent runs; the best is kept (see the module docstring).
    agree : float
        Stop starting runs once two runs' best log posteriors are within this of each other.
    report_every : float
        Seconds between two progress lines (logged at INFO on ``lenspipe.fit``).
    polish_log_likelihoods : callable, optional
        The fit's own likelihood when ``log_likelihoods`` is a cheaper stand-in: one more
        differential-evolution run under it, starting from the best start's final population,
        moves the population to this likelihood's mode (the modes of the two differ by many
        sigma in the lens light on P1; left to the sampler's burn-in, that drift took over
        300 steps of 40 walkers). Its figures are ``info["polish"]``.

    Returns
    -------
    centre : ndarray, shape (n,)
        The best point found.
    sigma : ndarray, shape (n,)
        The spread of the best members of the best run's final population along each
        parameter, at most 1 % of the prior's central 68 % width.
    info : dict
        Evaluations, generations, the best log posterior and the wall time (seconds), in
        all and per start (``starts``).
    """
    if int(starts) < 1:
        raise ValueError(f"starts must be >= 1, got {starts!r}")
    started = time.perf_counter()
    n = model.prior_count
    count = {"evaluations": 0}
    objective = _objective(model, log_likelihoods, count)

    popsize = population or max(10, int(np.ceil(100 / n)))
    runs, best = [], None
    report = OptimiserProgress(int(starts), max_evaluations, generations, count, report_every, tolerance=tolerance)
    for start in range(int(starts)):
        before, clock = count["evaluations"], time.perf_counter()
        report.begin(start)
        result, members, energies = _evolve(
            objective, n, [seed, start], generations=generations,
            popsize=popsize, tolerance=tolerance, min_generations=min_generations,
            count=count, max_evaluations=before + max_evaluations, report=report)
        runs.append({"evaluations": count["evaluations"] - before,
                     "generations": int(result.nit), "best_log_posterior": float(-result.fun),
                     "wall_time_s": time.perf_counter() - clock})
        _LOG.info("optimiser start %d/%d: %d evaluations, best log posterior %.3f",
                  start + 1, starts, runs[-1]["evaluations"], -result.fun)
        if best is None or result.fun < best[0].fun:
            best = (result, members, energies)
        found = sorted(run["best_log_posterior"] for run in runs)
        if any(high - low <= agree for low, high in zip(found, found[1:])):
            if start + 1 < int(starts):
                _LOG.info("optimiser: two starts agree to within %g; no further start", agree)
            break
    result, members, energies = best
    polish = None
    if polish_log_likelihoods is not None and members is not None:
        before, clock = count["evaluations"], time.perf_counter()
        report.begin(int(starts) - 1, label="polish")
        result, members, energies = _evolve(
            _objective(model, polish_log_likelihoods, count), n, [seed, int(starts)],
            generations=generations, popsize=popsize, tolerance=tolerance, min_generations=1,
            count=count, max_evaluations=before + max_evaluations, report=report, init=members)
        polish = {"evaluations": count["evaluations"] - before, "generations": int(result.nit),
                  "best_log_posterior": float(-result.fun), "wall_time_s": time.perf_counter() - clock}
        _LOG.info("optimiser polish under the fit's own likelihood: %d evaluations, best log posterior %.3f",
                  polish["evaluations"], polish["best_log_posterior"])
    centre = model.vector_from_unit_vector(np.clip(result.x, 1e-9, 1 - 1e-9))
    _, width = prior_widths(model)
    sigma = 0.01 * width
    if members is not None:
        # The walkers' ball takes the spread of the best members of the final population:
        # near convergence they lie within a few log-likelihood units of the optimum, so
        # their spread follows the posterior's scale along each parameter.
        chosen = np.argsort(energies)[:min(len(energies), max(2 * n + 2, 20))]
        vectors = model.vector_from_unit_vector(np.clip(members[chosen], 1e-9, 1 - 1e-9))
        spread = np.std(vectors, axis=0)
        sigma = np.where(spread > 0, np.minimum(spread, 0.01 * width), 0.01 * width)
    info = {"evaluations": count["evaluations"], "best_log_posterior": float(-result.fun),
            "generations": sum(run["generations"] for run in runs), "starts": runs,
            "wall_time_s": time.perf_counter() - started}
    if polish is not None:
        info["polish"] = polish
    _LOG.info("optimiser: %d evaluations, best log posterior %.3f", info["evaluations"],
              info["best_log_posterior"])
    return centre, sigma, info
