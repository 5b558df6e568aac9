"""Short names for the classes a model can hold.

A model dictionary (JSON in a result file) and a workflow config name classes
by a short name such as ``"Isothermal"``, never by pickling. The registry is a
plain dict built once from the profile classes (dataclasses) in
``lenspipe.profiles.__all__``, the pixelized-source classes of ``lenspipe.fit.inversion``
(Pixelization, meshes and regularizations) and :class:`lenspipe.lensing.Galaxy`;
:func:`register_class` adds a class (a user profile, or a test's stand-in).
"""

from __future__ import annotations

import dataclasses
import inspect

from ..errors import ModelError

__all__ = ["class_from_name", "name_from_class", "register_class", "registered_classes"]

_REGISTRY: dict[str, type] = {}
_BUILT = False


def _build() -> None:
    global _BUILT
    from .. import lensing, profiles
    from ..fit import inversion

    for module in (profiles, inversion):
        for name in module.__all__:
            value = getattr(module, name)
            if inspect.isclass(value) and dataclasses.is_dataclass(value) and name != "Mapper":
                _REGISTRY.setdefault(name, value)
    _REGISTRY.setdefault("Galaxy", lensing.Galaxy)
    _BUILT = True


def registered_classes() -> dict[str, type]:
    """A copy of the registry: short name -> class."""
    if not _BUILT:
        _build()
    return dict(_REGISTRY)


def register_class(cls: type, name: str | None = None) -> type:
    """Register ``cls`` under ``name`` (default: its ``__name__``); returns ``cls``.

    Raises
    ------
    ModelError
        If the name already belongs to a different class.
    """
    if not _BUILT:
        _build()
    name = name or cls.__name__
    existing = _REGISTRY.get(name)
    if existing is not None and existing is not cls:
        raise ModelError(
            f"The name {name!r} is already registered for {existing.__module__}.{existing.__qualname__}; "
            "register the new class under another name."
        )
    _REGISTRY[name] = cls
    return cls


def class_from_name(name: str) -> type:
    """The class registered as ``name``.

    Raises
    ------
    ModelError
        For an unknown name; the message lists the valid names.
    """
    if not _BUILT:
        _build()
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ModelError(
            f"Unknown model class {name!r}; valid names are: {', '.join(sorted(_REGISTRY))}."
        )
    return cls


def name_from_class(cls: type) -> str:
    """The short name ``cls`` is registered under.

    Raises
    ------
    ModelError
        If ``cls`` is not registered (register it with :func:`register_class`).
    """
    if not _BUILT:
        _build()
    name = cls.__name__
    if _REGISTRY.get(name) is cls:
        return name
    for key, value in _REGISTRY.items():
        if value is cls:
            return key
    raise ModelError(
        f"{cls.__module__}.{cls.__qualname__} is not a registered model class, so a model holding it "
        "cannot be written to a dictionary; register it with lenspipe.model.register_class."
    )
