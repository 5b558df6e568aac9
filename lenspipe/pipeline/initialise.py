"""Where a stage's walkers start.

``prior``
    Drawn from the priors (the search's own default).
``previous``
    A Gaussian ball around the previous stage's posterior: every free parameter whose
    path also exists in the previous result starts at that result's median with that
    result's 1-sigma width; the others at their prior's median with 1 % of their
    prior's central 68 % width.
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

    The search runs in two steps when the model has mass shapes to round off ("round
    first"): step 1 holds every free ``ell_comps`` of a mass profile and every
    ``gamma_1``/``gamma_2`` of an external shear at zero (a round, unsheared lens) and
    evolves the rest over the whole prior; step 2 frees them and evolves every parameter
    from a population around step 1's optimum, the freed shapes drawn near zero.
    Why: with all parameters free at once, the lens's internal ellipticity and the
    external shear trade against each other and against the mass centre, and a single
    differential-evolution run on the simulated P1 lens settled in such a trade-off mode
    (mass ell_comps (-0.08, 0.20), shear (0.10, -0.03), centre 0.1 arcsec off; log
    likelihood 50,000 below the truth's). A round lens has no such trade-off, fixes the
    Einstein radius, centre and source first, and the shapes of real lenses lie in the
    basin next to round. This is the order in which lens modellers build a model by hand
    (SIS, then SIE, then shear) and the order of the SLaM stages, done inside one stage.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from scipy.optimize import brentq, differential_evolution

__all__ = ["prior_widths", "initial_from_previous", "initial_from_optimiser",
           "round_start_values"]

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


def round_start_values(model) -> dict[int, float]:
    """The free parameters that the optimiser's first step holds at zero.

    Every free ``ell_comps`` component of a mass profile and every ``gamma_1``/``gamma_2``
    of an :class:`~lenspipe.profiles.mass.ExternalShear` whose prior allows zero.

    Returns
    -------
    dict
        Index in the model's vector -> value (0.0).
    """
    from ..profiles.base import MassProfile

    index = {path: j for j, path in enumerate(model.paths)}
    priors = model.priors_ordered
    values = {}
    for component_path, component in model.components():
        if not (isinstance(component.cls, type) and issubclass(component.cls, MassProfile)):
            continue
        prefix = f"{component_path}." if component_path else ""
        for name in _ROUND_SHAPES:
            for path, j in index.items():
                if path == prefix + name or path.startswith(prefix + name + "."):
                    lower, upper = priors[j].limits
                    if lower < 0.0 < upper:
                        values[j] = 0.0
    return dict(sorted(values.items()))


_ROUND_SHAPES = ("ell_comps", "gamma_1", "gamma_2")


def _unit_for(prior, value: float) -> float:
    """The cumulative probability of ``value`` under ``prior`` (by bisection)."""
    return float(brentq(lambda u: float(prior.value_for(u)) - value, 1e-12, 1.0 - 1e-12,
                        xtol=1e-12))


def _evolve(objective, dimensions, init, seed, generations, popsize, tolerance,
            max_evaluations, min_generations, count):
    """One differential-evolution run over the unit cube; returns (result, population, energies)."""
    state = {"generations": 0, "population": None, "energies": None}

    def should_stop(intermediate_result):
        state["generations"] += 1
        state["population"] = np.array(intermediate_result.population)
        state["energies"] = np.array(intermediate_result.population_energies)
        if count["evaluations"] >= max_evaluations:
            return True
        spread = np.std(intermediate_result.population_energies)
        return state["generations"] >= min_generations and spread <= tolerance

    result = differential_evolution(
        objective, bounds=[(0.0, 1.0)] * dimensions, vectorized=True, updating="deferred",
        popsize=popsize, maxiter=generations, tol=0.0, atol=0.0, polish=False,
        callback=should_stop, init=init, rng=np.random.default_rng(seed),
    )
    return result, state["population"], state["energies"]


def initial_from_optimiser(model, log_likelihoods, seed, generations=2000, population=None,
                           tolerance=1.0, max_evaluations=300_000, min_generations=30,
                           round_first=True):
    """Maximum a posteriori by differential evolution over the priors' unit cube.

    Parameters
    ----------
    model : Model or Collection
    log_likelihoods : callable
        ``(K, n) -> (K,)``, the chunked likelihood.
    seed : int
        Seed of the optimiser's generator.
    generations : int
        At most this many generations of differential evolution per step.
    population : int, optional
        Population multiplier per parameter (SciPy's ``popsize``); default 10, and at
        least 100 members in all.
    tolerance : float
        Stop when the standard deviation of the population's log posteriors is below this
        (SciPy's ``atol``; an absolute spread, so a population stuck on a poor plateau with
        a large mean does not count as converged).
    max_evaluations : int
        Stop after about this many likelihood evaluations (both steps together).
    min_generations : int
        Never stop as converged before this many generations (a population that starts on
        a flat plateau, e.g. of models with almost no light in the mask, agrees at once).
    round_first : bool
        Optimise a round, unsheared lens first (see the module docstring); no effect on a
        model without free mass ellipticities or shears.

    Returns
    -------
    centre : ndarray, shape (n,)
        The best point found.
    sigma : ndarray, shape (n,)
        The spread of the best members of the final population along each parameter,
        at most 1 % of the prior's central 68 % width.
    info : dict
        Evaluations, generations and the best log posterior, in all and per step, and the
        wall time in seconds.
    """
    started = time.perf_counter()
    n = model.prior_count
    count = {"evaluations": 0}

    def objective(unit_columns, held_index=None, held_values=None):
        unit = np.clip(np.atleast_2d(unit_columns.T), 1e-9, 1 - 1e-9)
        vectors = model.vector_from_unit_vector(unit)
        if held_index is not None:
            vectors[:, held_index] = held_values  # exactly, not through the inverse transform
        log_prior = model.log_prior_from_vector(vectors)
        values = np.full(len(vectors), np.inf)
        finite = np.isfinite(log_prior)
        if finite.any():
            log_like = log_likelihoods(vectors[finite])
            count["evaluations"] += int(finite.sum())
            posterior = log_like + log_prior[finite]
            values[finite] = np.where(np.isfinite(posterior), -posterior, np.inf)
        return values

    settings = dict(generations=generations, tolerance=tolerance,
                    max_evaluations=max_evaluations, min_generations=min_generations,
                    count=count)
    rng = np.random.default_rng([seed, 1])
    steps = []
    held = round_start_values(model) if round_first else {}
    init = "latinhypercube"
    if held and len(held) < n:
        priors = model.priors_ordered
        held_index = np.array(sorted(held))
        free_index = np.array([j for j in range(n) if j not in held])
        held_values = np.array([held[j] for j in held_index])
        held_unit = np.array([_unit_for(priors[j], held[j]) for j in held_index])

        def round_objective(unit_columns):
            unit_columns = np.atleast_2d(unit_columns.T).T
            full = np.empty((n, unit_columns.shape[1]))
            full[free_index] = unit_columns
            full[held_index] = held_unit[:, None]
            return objective(full, held_index, held_values)

        m = len(free_index)
        result, members, energies = _evolve(
            round_objective, m, "latinhypercube", seed,
            popsize=population or max(10, int(np.ceil(100 / m))), **settings)
        steps.append({"held_at_zero": [model.paths[j] for j in held_index],
                      "evaluations": count["evaluations"], "generations": int(result.nit),
                      "best_log_posterior": float(-result.fun)})
        _LOG.info("optimiser, round lens first (%d shapes at zero): %d evaluations, best log "
                  "posterior %.3f", len(held_index), count["evaluations"], -result.fun)
        # Step 2 starts from a population around step 1's optimum: the step-1 parameters
        # spread by at least 1 % of their prior mass (the converged population is too
        # narrow for differential evolution to move the optimum once the shapes are free),
        # the freed shapes by 5 % of theirs around zero.
        best_unit = np.empty(n)
        best_unit[free_index] = result.x
        best_unit[held_index] = held_unit
        spread = np.full(n, 0.05)
        if members is not None:
            best = np.argsort(energies)[:min(len(energies), max(2 * m + 2, 20))]
            spread[free_index] = np.maximum(np.std(members[best], axis=0), 0.01)
        size = (population or max(10, int(np.ceil(100 / n)))) * n
        init = np.clip(best_unit + spread * rng.standard_normal((size, n)), 1e-9, 1 - 1e-9)
        init[0] = best_unit
    before = count["evaluations"]
    result, members, energies = _evolve(
        objective, n, init, seed, popsize=population or max(10, int(np.ceil(100 / n))),
        **settings)
    steps.append({"held_at_zero": [], "evaluations": count["evaluations"] - before,
                  "generations": int(result.nit), "best_log_posterior": float(-result.fun)})
    centre = model.vector_from_unit_vector(np.clip(result.x, 1e-9, 1 - 1e-9))
    _, width = prior_widths(model)
    sigma = 0.01 * width
    if members is not None:
        # The walkers' ball takes the spread of the best members of the final population:
        # near convergence they lie within a few log-likelihood units of the optimum, so
        # their spread follows the posterior's scale along each parameter.
        best = np.argsort(energies)[:min(len(energies), max(2 * n + 2, 20))]
        vectors = model.vector_from_unit_vector(np.clip(members[best], 1e-9, 1 - 1e-9))
        spread = np.std(vectors, axis=0)
        sigma = np.where(spread > 0, np.minimum(spread, 0.01 * width), 0.01 * width)
    info = {"evaluations": count["evaluations"], "best_log_posterior": float(-result.fun),
            "generations": sum(step["generations"] for step in steps), "steps": steps,
            "wall_time_s": time.perf_counter() - started}
    _LOG.info("optimiser: %d evaluations, best log posterior %.3f", info["evaluations"],
              info["best_log_posterior"])
    return centre, sigma, info
