"""Prior passing between SLaM stages.

A SLaM pipeline fits a lens in stages, each starting from what the stage before
learned. A component of a finished fit (its :class:`~lenspipe.search.Samples`)
enters the next stage's model in one of two ways:

``component_instance(samples, path)``
    As an *instance*: the component of the maximum-likelihood sample, every
    parameter fixed (e.g. the lens light while the mass is fitted). Put it in a
    model as it is: ``Model(Galaxy, redshift=0.5, bulge=component_instance(...))``.

``component_model(samples, path, cls=None, k=3.0, floors=None)``
    As a *model*: the same tree of classes (or, at the top, another class
    ``cls``) whose free parameters get a prior centred on the posterior:

    1. ``mean`` = the posterior median of the parameter (``median_pdf_vector``);
    2. ``sigma_posterior`` = the larger of the two 1-sigma errors
       (``errors_at_sigma(1.0)``: median - lower, upper - median), so a skewed
       posterior is not under-covered;
    3. ``sigma = max(k * sigma_posterior, floor)``, with ``k = 3`` by default
       (wide enough that the new stage, whose likelihood differs, is not pinned
       to the old posterior; PyAutoFit likewise widens to about 3 sigma), and
       ``floor = max(absolute, relative * |mean|)`` per parameter name from
       ``model/priors/passing_floors.yaml`` (centre 0.05, ell_comps 0.1,
       einstein_radius 0.1, ...), so a very tight posterior cannot freeze a
       parameter;
    4. the prior is a :class:`~lenspipe.model.TruncatedGaussianPrior` limited to
       the earlier prior's support (``prior.limits``), or a
       :class:`~lenspipe.model.GaussianPrior` when that support is unbounded.

    Fixed parameters stay fixed. Parameters linked inside the passed component
    stay linked (one new prior per earlier prior); links to parameters outside
    it are not kept. With ``cls`` the top class changes and parameters are
    matched by name: an ``Isothermal`` posterior passed into ``PowerLaw`` gives
    ``centre``, ``ell_comps`` and ``einstein_radius`` passed priors while
    ``slope`` keeps its default prior; parameters ``cls`` lacks are dropped.
"""

from __future__ import annotations

import functools
import math
from importlib import resources
from typing import Any, Mapping

import numpy as np
import yaml

from ..errors import ConfigError, ModelError
from .defaults import DefaultPriors
from .introspect import is_number, signature_of
from .model import AbstractModel, Collection, Model
from .priors import GaussianPrior, Prior, TruncatedGaussianPrior

__all__ = ["component_instance", "component_model", "load_passing_floors", "DEFAULT_WIDTH_FACTOR"]

#: ``k`` in ``sigma = max(k * sigma_posterior, floor)``.
DEFAULT_WIDTH_FACTOR = 3.0

#: The smallest width a passed prior can have, relative to ``max(1, |mean|)``.
_MINIMUM_RELATIVE_WIDTH = 1e-8


def _floor_entry(name: str, spec: Any) -> tuple[float, float]:
    if is_number(spec):
        return (float(spec), 0.0)
    if isinstance(spec, Mapping) and set(spec) <= {"absolute", "relative"}:
        absolute = float(spec.get("absolute", 0.0))
        relative = float(spec.get("relative", 0.0))
        if absolute >= 0.0 and relative >= 0.0:
            return (absolute, relative)
    raise ConfigError(
        f"passing floors: {name} must be a non-negative number or {{absolute: a, relative: r}}, got {spec!r}."
    )


@functools.lru_cache(maxsize=1)
def _packaged_floors() -> dict[str, Any]:
    path = resources.files("lenspipe.model").joinpath("priors", "passing_floors.yaml")
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")))


def load_passing_floors(overrides: Mapping[str, Any] | None = None) -> dict[str, tuple[float, float]]:
    """Width floors per parameter name: ``{name: (absolute, relative)}``.

    Parameters
    ----------
    overrides : mapping, optional
        ``{name: number or {absolute: a, relative: r}}`` merged over the packaged
        ``passing_floors.yaml``; the key ``default`` applies to unlisted names.
    """
    merged = dict(_packaged_floors())
    merged.update(overrides or {})
    return {str(name): _floor_entry(str(name), spec) for name, spec in merged.items()}


def _walk(root: Any, path: str, what: str):
    if not path:
        return root
    node = root
    for part in path.split("."):
        if isinstance(node, AbstractModel):
            if part not in node._entries:
                raise ModelError(f"{what}: {path!r} is not in the model (no {part!r}).")
            node = node._entries[part]
        else:
            try:
                node = getattr(node, part)
            except AttributeError:
                raise ModelError(f"{what}: {path!r} is not in the instance (no {part!r}).") from None
    return node


def component_instance(samples, path: str):
    """The component at ``path`` (e.g. ``"galaxies.lens"``) of the maximum-likelihood instance.

    Parameters
    ----------
    samples : Samples
        A finished fit's samples (``max_log_likelihood_instance``).
    path : str
        Dotted path of a component; ``""`` for the whole instance.
    """
    return _walk(samples.max_log_likelihood_instance, path, "component_instance")


class _Passer:
    def __init__(self, samples, k: float, floors: Mapping[str, tuple[float, float]],
                 default_priors: DefaultPriors | None):
        model = getattr(samples, "model", None)
        if not isinstance(model, AbstractModel):
            raise ModelError("component_model needs samples that carry their model (samples.model).")
        if list(samples.parameter_paths) != model.paths:
            raise ModelError("The samples' parameter_paths do not match their model's paths.")
        if not k > 0.0:
            raise ModelError(f"The width factor k must be positive, got {k!r}.")
        self.model = model
        self.plan = model._plan()
        self.medians = np.asarray(samples.median_pdf_vector, dtype=float)
        errors = np.asarray(samples.errors_at_sigma(1.0), dtype=float)
        self.sigmas = np.max(np.abs(errors), axis=1)
        self.k = float(k)
        self.floors = floors
        self.default_priors = default_priors
        self.memo: dict[int, Prior] = {}

    def width(self, name: str, mean: float, sigma_posterior: float) -> float:
        absolute, relative = self.floors.get(name, self.floors.get("default", (0.0, 0.0)))
        floor = max(absolute, relative * abs(mean))
        width = max(self.k * sigma_posterior, floor)
        return max(width, _MINIMUM_RELATIVE_WIDTH * max(1.0, abs(mean)))

    def prior(self, name: str, prior: Prior) -> Prior:
        if id(prior) in self.memo:
            return self.memo[id(prior)]
        index = self.plan.index_of(prior)
        mean = float(self.medians[index])
        sigma = self.width(name, mean, float(self.sigmas[index]))
        lower, upper = prior.limits
        if math.isinf(lower) and math.isinf(upper):
            passed = GaussianPrior(mean=mean, sigma=sigma)
        else:
            mean = min(max(mean, lower), upper)
            passed = TruncatedGaussianPrior(mean=mean, sigma=sigma, lower_limit=lower, upper_limit=upper)
        self.memo[id(prior)] = passed
        return passed

    def entry(self, name: str, value: Any):
        if isinstance(value, Prior):
            return self.prior(name, value)
        if isinstance(value, tuple):
            return tuple(self.entry(name, item) for item in value)
        if isinstance(value, AbstractModel):
            return self.node(value, None)
        return value

    def node(self, node: AbstractModel, cls: type | None):
        if isinstance(node, Collection):
            passed = Collection({name: self.entry(name, value) for name, value in node._entries.items()},
                                default_priors=self.default_priors)
        else:
            target = cls or node.cls
            named, extra = signature_of(target)
            names = {p.name for p in named}
            source_named = {p.name for p in signature_of(node.cls)[0]}
            values = {
                name: self.entry(name, value) for name, value in node._entries.items()
                if name in names or (extra and name not in source_named)
            }
            passed = Model(target, default_priors=self.default_priors, **values)
        if cls is None or cls is getattr(node, "cls", None):
            for assertion in node._assertions:
                passed.add_assertion(*assertion)
        return passed


def component_model(samples, path: str, cls: type | None = None, k: float = DEFAULT_WIDTH_FACTOR,
                    floors: Mapping[str, Any] | None = None,
                    default_priors: DefaultPriors | None = None) -> AbstractModel:
    """The component at ``path`` as a model with priors from the posterior (module docstring).

    Parameters
    ----------
    samples : Samples
        A finished fit's samples; ``samples.model`` must be the fitted model.
    path : str
        Dotted path of a component, e.g. ``"galaxies.lens.mass"`` or ``"galaxies.lens"``.
    cls : type, optional
        Class of the new top component (e.g. ``PowerLaw`` for an ``Isothermal``
        posterior); parameters are matched by name. Default: the fitted class.
    k : float
        Width factor: ``sigma = max(k * sigma_posterior, floor)``.
    floors : mapping, optional
        Overrides of the packaged width floors (see :func:`load_passing_floors`).
    default_priors : DefaultPriors, optional
        Priors for parameters ``cls`` has and the fitted class had not.

    Returns
    -------
    Model or Collection
    """
    passer = _Passer(samples, k, load_passing_floors(floors), default_priors)
    component = _walk(passer.model, path, "component_model")
    if not isinstance(component, AbstractModel):
        raise ModelError(f"component_model: {path!r} is a parameter, not a component; give the path of a model.")
    if cls is not None and not isinstance(component, Model):
        raise ModelError("component_model: cls can only replace the class of a Model, not of a Collection.")
    return passer.node(component, cls)

