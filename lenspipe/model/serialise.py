"""Models as JSON-safe dictionaries and as workflow-config YAML.

The dictionary (stored as JSON in every result file) is::

    {"type": "collection", "children": {"galaxies": {...}}}
    {"type": "model", "class": "Isothermal",
     "parameters": {"centre": [{"prior": "Gaussian", "mean": 0.0, "sigma": 0.1, "id": 0}, 0.0],
                    "einstein_radius": 1.2, ...},
     "assertions": [["einstein_radius", "<", 3.0]]}        # only when there are some

A parameter is a number (fixed), a prior with an ``id`` (its index in the
parameter vector; the same id in two places is a link), a list of two of
those (a tuple parameter) or a child model. Classes are named by their
registered short name (:mod:`.registry`); nothing is pickled.

:func:`model_from_yaml` reads the shorter form written by people::

    galaxies:
      lens: {redshift: 0.5, bulge: Sersic, mass: Isothermal, shear: ExternalShear}
      source:
        redshift: 1.0
        bulge: {class: Sersic, effective_radius: {prior: Uniform, lower_limit: 0.0, upper_limit: 2.0}}
        # centre: {link: galaxies.lens.mass.centre}      (share another entry's priors)
    assertions: ["galaxies.lens.bulge.effective_radius < 5.0"]

A mapping without ``class`` directly under ``galaxies`` is a ``Galaxy``; any
other mapping without ``class`` is a ``Collection``. A prior given for a tuple
parameter applies to each component separately.
"""

from __future__ import annotations

from typing import Any, Mapping

import yaml

from ..errors import ConfigError, ModelError
from .defaults import TUPLE_PARAMETERS, DefaultPriors
from .introspect import is_number
from .model import AbstractModel, Collection, Model
from .priors import Prior, prior_from_dict
from .registry import class_from_name, name_from_class

__all__ = ["model_to_dict", "model_from_dict", "model_from_yaml"]


# ------------------------------------------------------------------ to_dict
def model_to_dict(root: AbstractModel) -> dict:
    """The JSON-safe dictionary of ``root`` (see the module docstring)."""
    plan = root._plan()

    def entry(value: Any, where: str):
        if isinstance(value, Prior):
            return {**value.to_dict(), "id": plan.index_of(value)}
        if isinstance(value, tuple):
            return [entry(item, f"{where}_{i}") for i, item in enumerate(value)]
        if isinstance(value, AbstractModel):
            return node(value, where)
        if value is None or isinstance(value, (bool, str, int, float)):
            return value
        raise ModelError(f"{where}: the fixed value {value!r} cannot be written to a model dictionary.")

    def node(model: AbstractModel, where: str) -> dict:
        inner = {name: entry(value, f"{where}.{name}".lstrip(".")) for name, value in model._entries.items()}
        if isinstance(model, Model):
            out = {"type": "model", "class": name_from_class(model.cls), "parameters": inner}
        else:
            out = {"type": "collection", "children": inner}
        if model._assertions:
            out["assertions"] = [list(assertion) for assertion in model._assertions]
        return out

    return node(root, "")


# ---------------------------------------------------------------- from_dict
def model_from_dict(data: Mapping) -> AbstractModel:
    """Rebuild a Model or Collection written by :func:`model_to_dict`.

    Raises
    ------
    ModelError
        For a malformed dictionary, an unknown class name or inconsistent links.
    """
    priors: dict[Any, tuple[Prior, dict]] = {}

    def entry(value: Any, where: str):
        if isinstance(value, list):
            return tuple(entry(item, f"{where}_{i}") for i, item in enumerate(value))
        if isinstance(value, Mapping):
            if "prior" in value:
                spec = {key: item for key, item in value.items() if key != "id"}
                key = value.get("id")
                if key is None:
                    return prior_from_dict(spec)
                if key in priors:
                    if priors[key][1] != spec:
                        raise ModelError(f"{where}: prior id {key} is used for two different priors.")
                    return priors[key][0]
                prior = prior_from_dict(spec)
                priors[key] = (prior, spec)
                return prior
            return node(value, where)
        return value

    def node(value: Mapping, where: str) -> AbstractModel:
        kind = value.get("type")
        if kind == "model":
            if "class" not in value or not isinstance(value.get("parameters"), Mapping):
                raise ModelError(f"{where or 'model'}: a model entry needs 'class' and 'parameters'.")
            cls = class_from_name(value["class"])
            parameters = {name: entry(item, f"{where}.{name}".lstrip(".")) for name, item in value["parameters"].items()}
            model = Model(cls, **parameters)
        elif kind == "collection":
            if not isinstance(value.get("children"), Mapping):
                raise ModelError(f"{where or 'collection'}: a collection entry needs 'children'.")
            model = Collection({name: entry(item, f"{where}.{name}".lstrip("."))
                                for name, item in value["children"].items()})
        else:
            raise ModelError(
                f"{where or 'model'}: expected a mapping with type 'model' or 'collection', got {value!r}."
            )
        for assertion in value.get("assertions", ()):
            model.add_assertion(*assertion)
        return model

    if not isinstance(data, Mapping):
        raise ModelError(f"A model dictionary must be a mapping, got {type(data).__name__}.")
    return node(data, "")


# ---------------------------------------------------------------- from_yaml
class _Link:
    def __init__(self, path: str):
        self.path = path


def _entry_at(root: AbstractModel, path: str, where: str):
    node: Any = root
    for part in path.split("."):
        if isinstance(node, AbstractModel) and part in node._entries:
            node = node._entries[part]
        else:
            try:
                return root.resolve(path)
            except ModelError as error:
                raise ConfigError(f"{where}: the link target {path!r} is not in the model.") from error
    return node


def _parse_assertion(item: Any, where: str) -> tuple:
    if isinstance(item, str):
        parts = item.split()
    elif isinstance(item, (list, tuple)):
        parts = list(item)
    else:
        parts = []
    if len(parts) != 3:
        raise ConfigError(f"{where}: an assertion is 'path < path_or_number' (three parts), got {item!r}.")
    left, op, right = parts
    if isinstance(right, str):
        try:
            right = float(right)
        except ValueError:
            pass
    return (left, op, right)


class _YamlReader:
    def __init__(self, default_priors: DefaultPriors | None):
        self.default_priors = default_priors
        self.links: list[tuple[AbstractModel, str, str, str]] = []

    def cls(self, name: Any, where: str) -> type:
        try:
            return class_from_name(name)
        except ModelError as error:
            raise ConfigError(f"{where}: {error}") from error

    def prior(self, spec: Mapping, where: str) -> Prior:
        try:
            return prior_from_dict(dict(spec))
        except ModelError as error:
            raise ConfigError(f"{where}: {error}") from error

    def value(self, spec: Any, where: str, name: str):
        if is_number(spec):
            return float(spec)
        if isinstance(spec, str):
            return self.model(spec, where)
        if isinstance(spec, list):
            if len(spec) != 2:
                raise ConfigError(f"{where}: a tuple parameter takes 2 values, got {spec!r}.")
            return tuple(self.component(item, f"{where}[{i}]") for i, item in enumerate(spec))
        if isinstance(spec, Mapping):
            if "link" in spec:
                return _Link(str(spec["link"]))
            if "prior" in spec:
                if name in TUPLE_PARAMETERS:
                    return (self.prior(spec, where), self.prior(spec, where))
                return self.prior(spec, where)
            if "class" in spec:
                return self.model(spec, where)
        raise ConfigError(
            f"{where}: expected a number, a prior ({{prior: Uniform, lower_limit: ..., upper_limit: ...}}), "
            f"a class name, a {{class: ...}} mapping or a {{link: path}}, got {spec!r}."
        )

    def component(self, spec: Any, where: str):
        if is_number(spec):
            return float(spec)
        if isinstance(spec, Mapping) and "prior" in spec:
            return self.prior(spec, where)
        raise ConfigError(f"{where}: expected a number or a prior, got {spec!r}.")

    def model(self, spec: Any, where: str, default_class: type | None = None) -> Model:
        if isinstance(spec, str):
            spec = {"class": spec}
        if not isinstance(spec, Mapping):
            raise ConfigError(f"{where}: expected a class name or a mapping, got {spec!r}.")
        cls = self.cls(spec["class"], f"{where}.class") if "class" in spec else default_class
        values, links = {}, []
        for name, item in spec.items():
            if name == "class":
                continue
            value = self.value(item, f"{where}.{name}", str(name))
            if isinstance(value, _Link):
                links.append((str(name), value.path))
            else:
                values[str(name)] = value
        try:
            model = Model(cls, default_priors=self.default_priors, **values)
        except ModelError as error:
            raise ConfigError(f"{where}: {error}") from error
        self.links.extend((model, name, path, f"{where}.{name}") for name, path in links)
        return model

    def collection(self, spec: Mapping, where: str, top: bool = False) -> Collection:
        children = {}
        for name, item in spec.items():
            if top and name == "assertions":
                continue
            child_where = f"{where}.{name}".lstrip(".")
            if top and name == "galaxies" and isinstance(item, Mapping) and "class" not in item:
                galaxy = self.cls("Galaxy", child_where)
                children[name] = Collection({
                    key: self.model(value, f"{child_where}.{key}", default_class=galaxy)
                    for key, value in item.items()
                })
            elif isinstance(item, Mapping) and "class" not in item and "prior" not in item:
                children[name] = self.collection(item, child_where)
            elif isinstance(item, (str, Mapping)):
                children[name] = self.value(item, child_where, str(name))
            else:
                children[name] = self.component(item, child_where)
        try:
            return Collection(children, default_priors=self.default_priors)
        except ModelError as error:
            raise ConfigError(f"{where or 'model'}: {error}") from error


def model_from_yaml(text_or_mapping: str | Mapping, default_priors: DefaultPriors | None = None) -> AbstractModel:
    """Build a model from a workflow config's model section (see the module docstring).

    Parameters
    ----------
    text_or_mapping : str or mapping
        YAML text, or the already-parsed mapping.
    default_priors : DefaultPriors, optional
        From :func:`~lenspipe.model.load_default_priors` when the config overrides
        default priors.

    Raises
    ------
    ConfigError
        For invalid YAML, an unknown class or parameter, a bad prior or link; the
        message names the offending key (``galaxies.lens.bulge.effective_radius``).
    """
    spec = text_or_mapping
    if isinstance(spec, str):
        try:
            spec = yaml.safe_load(spec)
        except yaml.YAMLError as error:
            raise ConfigError(f"The model YAML cannot be parsed: {error}") from error
    if not isinstance(spec, Mapping) or not spec:
        raise ConfigError(f"The model config must be a non-empty mapping (e.g. galaxies: ...), got {spec!r}.")
    reader = _YamlReader(default_priors)
    root = reader.collection(spec, "", top=True)
    for owner, name, path, where in reader.links:
        target = _entry_at(root, path, where)
        try:
            setattr(owner, name, target)
        except ModelError as error:
            raise ConfigError(f"{where}: {error}") from error
    assertions = spec.get("assertions") or []
    if not isinstance(assertions, list):
        raise ConfigError(f"assertions: expected a list, got {assertions!r}.")
    for i, item in enumerate(assertions):
        try:
            root.add_assertion(*_parse_assertion(item, f"assertions[{i}]"))
        except ModelError as error:
            raise ConfigError(f"assertions[{i}]: {error}") from error
    return root

