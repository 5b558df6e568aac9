"""Posterior samples of a fit and the summaries computed from them.

:class:`Samples` holds ``(n_samples, n_params)`` parameters with each sample's own
log-likelihood, log-prior and weight. Quantiles are weighted; with equal weights
they equal ``numpy.quantile``'s default (linear) method. :class:`SearchOutput` is a
search's whole chain; its ``samples`` method cuts burn-in and thins it into
:class:`Samples`.
"""

import dataclasses

import numpy as np
from scipy.special import erf

from ..errors import ModelError, SearchError

__all__ = ["Samples", "SearchOutput", "weighted_quantile", "probability_at_sigma"]


def probability_at_sigma(sigma):
    """Two-sided Gaussian probability within ``sigma`` standard deviations.

    Parameters
    ----------
    sigma : float

    Returns
    -------
    float
        ``erf(sigma / sqrt(2))``: 0.6827 for 1, 0.9545 for 2, 0.9973 for 3.
    """
    return float(erf(sigma / np.sqrt(2.0)))


def weighted_quantile(values, quantiles, weights=None):
    """Weighted quantiles of one-dimensional values by linear interpolation.

    Algorithm:

    1. drop samples of zero weight, sort the rest by value;
    2. give sorted sample ``k`` (weight ``w_k``, cumulative weight ``C_k``) the
       position ``p_k = (C_k - w_k/2 - w_1/2) / (C_N - w_1/2 - w_N/2)``, which runs
       from 0 (smallest) to 1 (largest) and, for equal weights, is ``(k-1)/(N-1)``
       as in ``numpy.quantile``;
    3. interpolate the values linearly at the requested quantiles.

    Parameters
    ----------
    values : array_like, shape (N,)
    quantiles : float or array_like
        In [0, 1].
    weights : array_like, shape (N,), optional
        Non-negative; equal if not given.

    Returns
    -------
    float or ndarray
        One value per quantile (the shape of ``quantiles``).
    """
    values = np.asarray(values, dtype=float).ravel()
    weights = np.ones_like(values) if weights is None else np.asarray(weights, float).ravel()
    keep = weights > 0.0
    values, weights = values[keep], weights[keep]
    if values.size == 0:
        raise SearchError("no samples with a positive weight: cannot compute quantiles")
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    if values.size == 1:
        return np.full(np.shape(quantiles), values[0])[()]
    cumulative = np.cumsum(weights)
    span = cumulative[-1] - 0.5 * weights[0] - 0.5 * weights[-1]
    positions = (cumulative - 0.5 * weights - 0.5 * weights[0]) / span
    return np.interp(quantiles, positions, values)


class Samples:
    """Samples of a posterior, each with its own log-likelihood and log-prior.

    Parameters
    ----------
    model : Model or Collection or None
        Gives the parameter paths and turns vectors into instances. ``None`` is
        allowed (e.g. samples rebuilt from a database); then pass
        ``parameter_paths`` and the ``*_instance`` properties raise.
    parameters : array_like, shape (n_samples, n_params)
    log_likelihood, log_prior : array_like, shape (n_samples,)
    weight : array_like, shape (n_samples,), optional
        Non-negative weights; equal (ones) if not given.
    parameter_paths : list of str, optional
        Only used when ``model`` is None (default: ``param_0`` ...).
    """

    def __init__(self, model, parameters, log_likelihood, log_prior, weight=None,
                 parameter_paths=None):
        self.model = model
        self.parameters = np.atleast_2d(np.asarray(parameters, dtype=float))
        count, k = self.parameters.shape
        self.log_likelihood = np.asarray(log_likelihood, dtype=float).reshape(count)
        self.log_prior = np.asarray(log_prior, dtype=float).reshape(count)
        if weight is None:
            weight = np.ones(count)
        self.weight = np.asarray(weight, dtype=float).reshape(count)
        if model is not None:
            paths = list(model.paths)
        elif parameter_paths is not None:
            paths = list(parameter_paths)
        else:
            paths = [f"param_{i}" for i in range(k)]
        if len(paths) != k:
            raise SearchError(
                f"{len(paths)} parameter paths for samples of {k} parameters"
            )
        self._paths = paths

    def __len__(self):
        return self.parameters.shape[0]

    def __repr__(self):
        return f"Samples({len(self)} samples of {len(self._paths)} parameters)"

    @property
    def parameter_paths(self):
        """list of str: one dotted path per parameter (``model.paths``)."""
        return list(self._paths)

    @property
    def log_posterior(self):
        """ndarray, shape (n_samples,): log-likelihood + log-prior."""
        return self.log_likelihood + self.log_prior

    @property
    def max_log_likelihood_index(self):
        """int: index of the sample of highest log-likelihood."""
        return int(np.argmax(self.log_likelihood))

    @property
    def max_log_likelihood_vector(self):
        """ndarray, shape (k,): the parameters of highest log-likelihood."""
        return self.parameters[self.max_log_likelihood_index].copy()

    @property
    def max_log_likelihood_instance(self):
        """The model instance of the highest log-likelihood sample."""
        return self._instance(self.max_log_likelihood_vector)

    @property
    def median_pdf_vector(self):
        """ndarray, shape (k,): the weighted median of each marginal posterior."""
        return self._quantiles(0.5)

    @property
    def median_pdf_instance(self):
        """The model instance at :attr:`median_pdf_vector`."""
        return self._instance(self.median_pdf_vector)

    def values_at_sigma(self, sigma):
        """Lower and upper values enclosing ``sigma`` of each marginal posterior.

        Parameters
        ----------
        sigma : float
            E.g. 1 (68.27 %) or 3 (99.73 %), two-sided, equal tails.

        Returns
        -------
        ndarray, shape (k, 2)
            ``(lower, upper)`` weighted quantiles at ``(1 - p)/2`` and ``(1 + p)/2``
            with ``p = probability_at_sigma(sigma)``.
        """
        p = probability_at_sigma(sigma)
        return self._quantiles([0.5 * (1.0 - p), 0.5 * (1.0 + p)])

    def errors_at_sigma(self, sigma):
        """Distances of the values at ``sigma`` from the median.

        Parameters
        ----------
        sigma : float

        Returns
        -------
        ndarray, shape (k, 2)
            ``(median - lower, upper - median)``.
        """
        values = self.values_at_sigma(sigma)
        median = self.median_pdf_vector
        return np.stack([median - values[:, 0], values[:, 1] - median], axis=1)

    def summary_dict(self):
        """The sample fields of a result file's ``summary`` JSON.

        Returns
        -------
        dict
            ``max_log_likelihood`` (float), ``log_evidence`` (None: not estimated),
            ``max_log_likelihood_instance`` and ``median_pdf_instance`` as
            ``{path: value}``, and ``errors`` as
            ``{path: {"lower_1", "upper_1", "lower_3", "upper_3"}}`` (values at 1 and 3
            sigma). JSON-safe (plain floats).
        """
        at_1, at_3 = self.values_at_sigma(1.0), self.values_at_sigma(3.0)
        paths = self._paths
        errors = {
            path: {
                "lower_1": float(at_1[i, 0]), "upper_1": float(at_1[i, 1]),
                "lower_3": float(at_3[i, 0]), "upper_3": float(at_3[i, 1]),
            }
            for i, path in enumerate(paths)
        }
        return {
            "max_log_likelihood": float(self.log_likelihood[self.max_log_likelihood_index]),
            "log_evidence": None,
            "max_log_likelihood_instance": _by_path(paths, self.max_log_likelihood_vector),
            "median_pdf_instance": _by_path(paths, self.median_pdf_vector),
            "errors": errors,
        }

    def _quantiles(self, quantiles):
        return np.array([
            weighted_quantile(self.parameters[:, i], quantiles, self.weight)
            for i in range(self.parameters.shape[1])
        ])

    def _instance(self, vector):
        if self.model is None:
            raise ModelError(
                "these samples have no model, so they cannot build an instance; "
                "create Samples with the model (e.g. Model.from_dict of the result "
                "file's 'model') to get instances."
            )
        return self.model.instance_from_vector(vector)


def _by_path(paths, vector):
    return {path: float(value) for path, value in zip(paths, vector)}


@dataclasses.dataclass(frozen=True)
class SearchOutput:
    """What a search returns: the whole chain and its diagnostics.

    Attributes
    ----------
    chain : ndarray, shape (steps, walkers, n)
    log_likelihood, log_prior : ndarray, shape (steps, walkers)
        Of each sample of ``chain``.
    diagnostics : dict
        JSON-safe: ``converged``, ``steps``, ``tau`` and ``rhat`` (per parameter),
        ``evaluations``, ``discarded``, ``wall_time``, ``evaluations_per_second``...
    parameter_paths : list of str
    notes : dict
        What the caller gave ``fit(notes=...)`` when the search started, kept through
        checkpoints and resumes.
    """

    chain: np.ndarray
    log_likelihood: np.ndarray
    log_prior: np.ndarray
    diagnostics: dict
    parameter_paths: list
    notes: dict = dataclasses.field(default_factory=dict)

    @property
    def log_posterior(self):
        """ndarray, shape (steps, walkers)."""
        return self.log_likelihood + self.log_prior

    def default_burn_in(self):
        """int: the stopping rule's burn-in (``diagnostics["burn_in"]``; half the chain if absent)."""
        burn = self.diagnostics.get("burn_in")
        burn = self.chain.shape[0] // 2 if burn is None else int(burn)
        return min(burn, max(self.chain.shape[0] - 1, 0))

    def default_thin(self):
        """int: about half the smallest autocorrelation time, at least 1."""
        tau = _finite(self.diagnostics.get("tau"))
        return max(1, int(0.5 * min(tau))) if tau else 1

    def samples(self, model, burn_in=None, thin=None):
        """Posterior samples: the chain after burn-in, thinned, walkers flattened.

        Burn-in and thinning cut the chain and its log-likelihoods and log-priors
        with the same slice, so each kept log-likelihood is its own sample's.

        Parameters
        ----------
        model : Model or Collection or None
        burn_in : int, optional
            Steps dropped from the start; default :meth:`default_burn_in`.
        thin : int, optional
            Keep every ``thin``-th step; default :meth:`default_thin`.

        Returns
        -------
        Samples
            Ordered step by step, walkers within a step.
        """
        steps = self.chain.shape[0]
        burn_in = self.default_burn_in() if burn_in is None else int(burn_in)
        thin = self.default_thin() if thin is None else int(thin)
        if not 0 <= burn_in < steps or thin < 1:
            raise SearchError(
                f"burn_in must be in [0, {steps}) and thin >= 1 (got {burn_in}, {thin})"
            )
        kept = slice(burn_in, None, thin)
        n = self.chain.shape[2]
        return Samples(
            model, self.chain[kept].reshape(-1, n),
            self.log_likelihood[kept].reshape(-1), self.log_prior[kept].reshape(-1),
            parameter_paths=self.parameter_paths,
        )


def _finite(values):
    return [float(v) for v in (values or []) if v is not None and np.isfinite(v)]
