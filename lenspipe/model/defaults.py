"""Default priors of each profile class, from the YAML files in ``model/priors/``.

``light.yaml`` and ``mass.yaml`` give, per class name, a prior per parameter::

    Isothermal:
      centre: {prior: Gaussian, mean: 0.0, sigma: 0.1}     # each component
      einstein_radius: {prior: Uniform, lower_limit: 0.0, upper_limit: 4.0}

A prior given for a tuple parameter (``centre``, ``ell_comps``) applies to each
component separately; a list of two priors sets them one by one. A class with
no entry uses the entry of its nearest base class that has one.

A workflow config may override entries with :func:`load_default_priors`; the
result is passed to :class:`~lenspipe.model.Model` (``default_priors=``) or to
:func:`~lenspipe.model.model_from_yaml`. There is no global mutable state.
"""

from __future__ import annotations

import functools
import inspect
from importlib import resources
from typing import Any, Mapping

import yaml

from ..errors import ConfigError, ModelError, PriorError
from .introspect import signature_of
from .priors import Prior, prior_from_dict
from .registry import class_from_name

__all__ = ["DefaultPriors", "load_default_priors", "TUPLE_PARAMETERS", "PRIOR_FILES"]

#: Parameters that are 2-tuples, split into ``<name>_0`` and ``<name>_1``.
TUPLE_PARAMETERS = frozenset({"centre", "ell_comps"})

#: The packaged files of default priors, read in this order.
PRIOR_FILES = ("light.yaml", "mass.yaml", "inversion.yaml")


def _read_packaged() -> dict[str, dict[str, Any]]:
    table: dict[str, dict[str, Any]] = {}
    folder = resources.files("lenspipe.model").joinpath("priors")
    for filename in PRIOR_FILES:
        text = folder.joinpath(filename).read_text(encoding="utf-8")
        for class_name, entries in (yaml.safe_load(text) or {}).items():
            table[class_name] = dict(entries)
    return table


@functools.lru_cache(maxsize=1)
def _packaged() -> dict[str, dict[str, Any]]:
    table = _read_packaged()
    for class_name, entries in table.items():
        for parameter, spec in entries.items():
            _check_spec(f"{class_name}.{parameter}", spec)
    return table


def _spec_to_data(where: str, spec: Any) -> Any:
    """A prior spec as plain data: a prior dict, or a list of two prior dicts."""
    if isinstance(spec, Prior):
        return spec.to_dict()
    if isinstance(spec, (list, tuple)):
        return [_spec_to_data(where, item) for item in spec]
    if isinstance(spec, Mapping):
        return dict(spec)
    raise ConfigError(
        f"default priors: {where} must be a prior such as "
        f"{{prior: Uniform, lower_limit: 0.0, upper_limit: 1.0}}, got {spec!r}."
    )


def _check_spec(where: str, spec: Any) -> None:
    items = spec if isinstance(spec, list) else [spec]
    if isinstance(spec, list) and len(spec) != 2:
        raise ConfigError(f"default priors: {where} lists {len(spec)} priors; a tuple parameter takes 2.")
    for item in items:
        try:
            prior_from_dict(item)
        except PriorError as error:
            raise ConfigError(f"default priors: {where}: {error}") from error


class DefaultPriors:
    """A read-only table of default priors: class name -> parameter -> prior spec.

    Use :meth:`prior_for` to get a *fresh* prior (a new free parameter) each time.
    """

    def __init__(self, table: Mapping[str, Mapping[str, Any]]):
        self._table = {name: dict(entries) for name, entries in table.items()}

    def __contains__(self, class_name: str) -> bool:
        return class_name in self._table

    def entries_for(self, cls: type) -> dict[str, Any]:
        """The prior specs for ``cls`` (its own entry, else its nearest base class's)."""
        for klass in inspect.getmro(cls):
            if klass.__name__ in self._table:
                return self._table[klass.__name__]
        return {}

    def prior_for(self, cls: type, parameter: str):
        """A fresh default prior for ``cls.parameter``, a 2-tuple of fresh priors for a
        tuple parameter, or ``None`` when there is no default."""
        spec = self.entries_for(cls).get(parameter)
        if spec is None:
            return None
        if parameter in TUPLE_PARAMETERS:
            if isinstance(spec, list):
                return (prior_from_dict(spec[0]), prior_from_dict(spec[1]))
            return (prior_from_dict(spec), prior_from_dict(spec))
        return prior_from_dict(spec)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The table as plain data (for hashing a config)."""
        return {name: dict(entries) for name, entries in self._table.items()}


def _parameter_names(class_name: str) -> tuple[str, ...]:
    try:
        cls = class_from_name(class_name)
    except ModelError as error:
        raise ConfigError(f"default priors: {error}") from error
    return tuple(parameter.name for parameter in signature_of(cls)[0])


def load_default_priors(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> DefaultPriors:
    """The packaged default priors, with ``overrides`` merged over them.

    Parameters
    ----------
    overrides : mapping, optional
        ``{class name: {parameter: prior spec}}``, the format of the packaged
        YAML; a spec may also be a :class:`Prior`. Only the parameters given are
        replaced; a class not in the packaged files is added.

    Raises
    ------
    ConfigError
        For a malformed entry or invalid prior; the message names the entry.
    """
    table = {name: dict(entries) for name, entries in _packaged().items()}
    for class_name, entries in (overrides or {}).items():
        if not isinstance(entries, Mapping):
            raise ConfigError(
                f"default priors: {class_name} must map parameter names to priors, got {entries!r}."
            )
        parameters = _parameter_names(class_name)
        merged = table.setdefault(str(class_name), {})
        for parameter, spec in entries.items():
            where = f"{class_name}.{parameter}"
            if parameter not in parameters:
                raise ConfigError(
                    f"default priors: {class_name} has no parameter {parameter!r}; its parameters are "
                    f"{', '.join(parameters)}."
                )
            data = _spec_to_data(where, spec)
            _check_spec(where, data)
            merged[str(parameter)] = data
    return DefaultPriors(table)


@functools.lru_cache(maxsize=1)
def packaged_default_priors() -> DefaultPriors:
    """The packaged defaults without overrides (built once)."""
    return load_default_priors()
