"""Reading classes and objects for models: constructor signatures, fixed instances.

:func:`signature_of` gives the named constructor parameters of a class and
whether it takes ``**kwargs`` (as ``Galaxy`` does); :func:`constructor_arguments`
reads back, from a built object, the arguments that rebuild it, so a profile or
galaxy instance can be put in a model as a fixed component.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import numbers
from typing import Any

from ..errors import ModelError
from .priors import Prior

__all__ = ["is_number", "is_component", "signature_of", "constructor_arguments", "ParameterTuple"]


def is_number(value: Any) -> bool:
    """Whether ``value`` is a real number (not a bool)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


class ParameterTuple(tuple):
    """A 2-tuple parameter read from a model: ``m.centre[0]`` or ``m.centre.centre_0``."""

    def __new__(cls, name: str, items):
        obj = super().__new__(cls, items)
        obj._name = name
        return obj

    def __getattr__(self, attribute: str):
        prefix = self.__dict__.get("_name", "") + "_"
        suffix = attribute[len(prefix):]
        if attribute.startswith(prefix) and suffix.isdigit() and int(suffix) < len(self):
            return self[int(suffix)]
        raise AttributeError(attribute)


@functools.lru_cache(maxsize=None)
def signature_of(cls: type) -> tuple[tuple[inspect.Parameter, ...], bool]:
    """The named constructor parameters of ``cls`` and whether it takes ``**kwargs``."""
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError) as error:
        raise ModelError(f"Cannot read the constructor arguments of {cls!r}: {error}") from error
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    named = tuple(p for p in parameters if p.kind in kinds)
    extra = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)
    return named, extra


def constructor_arguments(obj: Any) -> dict[str, Any]:
    """Constructor arguments that rebuild ``obj``: its named parameters read as
    attributes, plus (for a class taking ``**kwargs``, e.g. ``Galaxy``) its public
    attributes that are themselves objects of classes with parameters."""
    named, extra = signature_of(type(obj))
    fields = {}
    for parameter in named:
        if not hasattr(obj, parameter.name):
            raise ModelError(
                f"Cannot read {type(obj).__name__}.{parameter.name} back from an instance to fix it "
                "in a model; pass a Model with fixed values instead."
            )
        fields[parameter.name] = getattr(obj, parameter.name)
    if extra:
        for name, value in vars(obj).items():
            if not name.startswith("_") and name not in fields and is_component(value):
                fields[name] = value
    return fields


def is_component(value: Any) -> bool:
    """Whether ``value`` is an object a model can hold fixed (a profile, a galaxy)."""
    if isinstance(value, (Prior, type)):
        return False
    return dataclasses.is_dataclass(value) or (type(value).__module__ or "").startswith("lenspipe.")
