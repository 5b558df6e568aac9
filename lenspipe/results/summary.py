"""The summary of a result file: posterior statistics, model components, dependency versions.

:func:`summarise` makes the ``summary`` JSON that :func:`~lenspipe.results.result_file.build_result`
stores (maximum-likelihood and median instances, values at 1 and 3 sigma, and each
latent variable's :func:`latent_summary`); :func:`components_from_model` lists the
components of a model dict (for the database); :func:`dependency_versions` gives the
installed versions of the main dependencies, stored with every result.
"""

from __future__ import annotations

import numpy as np

from ..errors import ResultFileError
from .identifier import json_safe

__all__ = ["dependency_versions", "summarise", "latent_summary", "components_from_model"]

_DEPENDENCIES = ("numpy", "scipy", "h5py", "zeus-mcmc", "astropy", "pyfftw", "sqlite-utils")


def dependency_versions() -> dict[str, str]:
    """Installed versions of lenspipe's main dependencies (absent ones omitted)."""
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in _DEPENDENCIES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def components_from_model(model: dict) -> list[dict]:
    """``[{"path": "galaxies.lens.mass", "class": "Isothermal"}, ...]`` of a model dict.

    Walks ``Model.to_dict()`` (``{"type": "collection", "children": {...}}``,
    ``{"type": "model", "class": ..., "parameters": {...}}``): every node naming a
    ``class`` is a component, its path the dotted child names leading to it.
    """
    found = []

    def walk(node, path):
        if not isinstance(node, dict):
            return
        name = node.get("class")
        if isinstance(name, str) and path:
            found.append({"path": ".".join(path), "class": name})
        for key, child in node.items():
            if isinstance(child, dict):
                walk(child, path if key in _CONTAINER_KEYS else (*path, key))

    walk(model, ())
    return found


_CONTAINER_KEYS = ("children", "parameters")


def latent_summary(values, weight) -> dict:
    """A latent variable's weighted median and values at 1 and 3 sigma (``median``, ``lower_1``, ...)."""
    from ..search.samples import probability_at_sigma, weighted_quantile

    p1, p3 = probability_at_sigma(1.0), probability_at_sigma(3.0)
    q = weighted_quantile(np.asarray(values, dtype=float), [0.5, (1 - p1) / 2, (1 + p1) / 2,
                                                            (1 - p3) / 2, (1 + p3) / 2], weight)
    return dict(zip(("median", "lower_1", "upper_1", "lower_3", "upper_3"), map(float, q)))


def summarise(parameters, log_likelihood, log_prior, weight, parameter_paths, *, latent=None,
              log_evidence=None, convergence=None, fit_log_evidence=None) -> dict:
    """The ``summary`` JSON of a result file.

    Maximum-likelihood and median instances and values at 1 and 3 sigma come
    from :meth:`lenspipe.search.samples.Samples.summary_dict` (weighted
    quantiles); each latent variable gets its weighted median and values at 1
    and 3 sigma. ``log_evidence`` is the model's evidence from the search (None: zeus
    does not estimate it); ``fit_log_evidence`` is the maximum-likelihood fit's Bayesian
    log evidence of its pixelized source (CONVENTIONS.md; None without one), the figure
    that compares meshes and regularizations on the same data.
    """
    from ..search.samples import Samples

    if len(log_likelihood) == 0:
        raise ResultFileError("Cannot summarise a result with no samples.")
    samples = Samples(None, parameters, log_likelihood, log_prior, weight,
                      parameter_paths=list(parameter_paths))
    summary = samples.summary_dict()
    summary["log_evidence"] = log_evidence
    summary["fit_log_evidence"] = fit_log_evidence
    summary["latent"] = {str(name): latent_summary(values, samples.weight)
                         for name, values in (latent or {}).items()}
    summary["convergence"] = dict(convergence or {})
    return json_safe(summary)
