"""Model trees: :class:`Model` (one class with priors) and :class:`Collection`.

A model is a tree. A :class:`Model` wraps a class (a profile, a ``Galaxy``)
and holds one entry per constructor argument; a :class:`Collection` holds named
children. An entry is

- a :class:`~lenspipe.model.priors.Prior`: a free parameter;
- a number (or any JSON-safe constant): a fixed parameter;
- a 2-tuple of priors/numbers (``centre``, ``ell_comps``), split into the free
  parameters ``centre_0``, ``centre_1`` (PyAutoFit's names);
- a child :class:`Model` or :class:`Collection`.

Linking is sharing: ``m.bulge.centre = m.mass.centre`` puts the mass's prior
objects in the bulge too, and they are one free parameter each, whose path is
the first met in depth-first declaration order. Assigning a number fixes.

Every change to any model invalidates cached build plans (a global mutation
counter), so the search interface in :mod:`.plan` always sees the current tree.
"""

from __future__ import annotations

import inspect
from typing import Any, Mapping

from ..errors import ModelError
from .defaults import TUPLE_PARAMETERS, DefaultPriors, packaged_default_priors
from .instance import CollectionInstance
from .introspect import ParameterTuple, constructor_arguments, is_component, is_number, signature_of
from .priors import Prior

__all__ = ["AbstractModel", "Model", "Collection", "ParameterTuple"]

#: Assertion operators accepted by :meth:`AbstractModel.add_assertion`.
ASSERTION_OPERATORS = ("<", "<=", ">", ">=")


class _State:
    mutations = 0


def _mutated() -> None:
    _State.mutations += 1


def _normalise(owner: str, name: str, value: Any, default_priors: DefaultPriors | None) -> Any:
    """An entry in canonical form: Prior, float, constant, tuple of those, or a model."""
    if isinstance(value, (Prior, AbstractModel)):
        return value
    if is_number(value):
        return float(value)
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ModelError(f"{owner}.{name}: a tuple parameter takes 2 values, got {value!r}.")
        items = []
        for i, item in enumerate(value):
            if isinstance(item, Prior):
                items.append(item)
            elif is_number(item):
                items.append(float(item))
            else:
                raise ModelError(
                    f"{owner}.{name}_{i}: expected a number or a Prior, got {item!r}."
                )
        return tuple(items)
    if isinstance(value, type):
        return Model(value, default_priors=default_priors)
    if isinstance(value, CollectionInstance):
        return Collection(dict(value.items()), default_priors=default_priors)
    if isinstance(value, Mapping):
        return Collection(value, default_priors=default_priors)
    if value is None or isinstance(value, (str, bool)):
        return value
    if is_component(value):
        return _fixed_model_from(value)
    raise ModelError(
        f"{owner}.{name}: cannot put {value!r} in a model; give a number, a Prior, a 2-tuple, "
        "a Model or Collection, a class, or a profile/galaxy instance."
    )


def _fixed_model_from(obj: Any) -> "Model":
    """A model with every parameter fixed at the values of ``obj``."""
    return Model(type(obj), **constructor_arguments(obj))


class AbstractModel:
    """Entries, assertions and the search interface shared by Model and Collection."""

    def __init__(self):
        object.__setattr__(self, "_entries", {})
        object.__setattr__(self, "_assertions", [])
        object.__setattr__(self, "_plan_cache", None)

    def __getstate__(self):
        # Copies (copy.deepcopy) rebuild their own plan: a plan indexes priors by id().
        return {key: value for key, value in self.__dict__.items() if key != "_plan_cache"}

    def __setstate__(self, state):
        self.__dict__.update(state)
        object.__setattr__(self, "_plan_cache", None)

    # ------------------------------------------------------------------ entries
    def _owner(self) -> str:
        return type(self).__name__

    def _check_name(self, name: str) -> None:
        if not isinstance(name, str) or not name.isidentifier() or name.startswith("_"):
            raise ModelError(f"{self._owner()}: {name!r} is not a valid entry name (a Python identifier, no leading _).")
        if hasattr(type(self), name):
            raise ModelError(f"{self._owner()}: the name {name!r} is reserved by the model interface; rename it.")

    def _set_entry(self, name: str, value: Any) -> None:
        value = _normalise(self._owner(), name, value, getattr(self, "_default_priors", None))
        if name in TUPLE_PARAMETERS and not isinstance(value, (tuple, AbstractModel)):
            raise ModelError(
                f"{self._owner()}.{name} is a 2-tuple: give {name}=(value_0, value_1) with numbers or "
                f"Priors, e.g. {name}=(0.0, 0.0)."
            )
        self._entries[name] = value
        _mutated()

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        entries = self.__dict__.get("_entries", {})
        if name not in entries:
            raise AttributeError(
                f"{self._owner()} has no entry {name!r}; its entries are {', '.join(entries) or 'none'}."
            )
        value = entries[name]
        return ParameterTuple(name, value) if isinstance(value, tuple) else value

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._entries))

    def items(self):
        """``(name, entry)`` pairs in declaration order (tuples as ParameterTuple)."""
        return [(name, getattr(self, name)) for name in self._entries]

    # --------------------------------------------------------------- assertions
    def add_assertion(self, left: str, operator: str, right: str | float) -> None:
        """Require ``left <operator> right`` of every sample (else its log prior is -inf).

        Parameters
        ----------
        left : str
            Dotted path of a parameter relative to this model,
            e.g. ``"galaxies.lens.bulge.effective_radius"`` or ``"centre.centre_0"``.
        operator : {"<", "<=", ">", ">="}
        right : str or float
            Another path, or a number.
        """
        if operator not in ASSERTION_OPERATORS:
            raise ModelError(f"Unknown assertion operator {operator!r}; use one of {', '.join(ASSERTION_OPERATORS)}.")
        self.resolve(left)
        if isinstance(right, str):
            self.resolve(right)
        elif is_number(right):
            right = float(right)
        else:
            raise ModelError(f"The right side of an assertion must be a path or a number, got {right!r}.")
        self._assertions.append((left, operator, right))
        _mutated()

    @property
    def assertions(self) -> list[tuple[str, str, str | float]]:
        """The declarative assertions ``(left, operator, right)`` added to this model."""
        return list(self._assertions)

    def resolve(self, path: str):
        """The entry (Prior or fixed value) at a dotted parameter path below this model."""
        parts = path.split(".")
        node: Any = self
        for depth, part in enumerate(parts):
            if isinstance(node, AbstractModel) and part in node._entries:
                node = node._entries[part]
            elif isinstance(node, tuple) and depth > 0 and part.startswith(parts[depth - 1] + "_"):
                suffix = part[len(parts[depth - 1]) + 1:]
                if not suffix.isdigit() or int(suffix) >= len(node):
                    raise ModelError(f"{path!r}: no component {part!r}.")
                node = node[int(suffix)]
            else:
                raise ModelError(f"{path!r} does not name a parameter of this model (stuck at {part!r}).")
        if isinstance(node, (tuple, AbstractModel)):
            raise ModelError(f"{path!r} names a component, not one parameter.")
        return node

    # ------------------------------------------------------- search interface
    def _plan(self):
        cache = self._plan_cache
        if cache is not None and cache[0] == _State.mutations:
            return cache[1]
        from .plan import BuildPlan

        plan = BuildPlan(self)
        object.__setattr__(self, "_plan_cache", (_State.mutations, plan))
        return plan

    @property
    def prior_count(self) -> int:
        """Number of free parameters (linked priors count once)."""
        return len(self._plan().priors)

    @property
    def paths(self) -> list[str]:
        """Dotted path of each free parameter, in vector order."""
        return list(self._plan().paths)

    @property
    def priors_ordered(self) -> list[Prior]:
        """The unique priors in vector order (depth-first, declaration order)."""
        return list(self._plan().priors)

    def components(self) -> list[tuple[str, "Model"]]:
        """``(path, Model)`` for every Model node below (and including) this one."""
        return list(self._plan().components)

    def vector_from_unit_vector(self, unit):
        """Map points of the unit hypercube ``(..., n)`` to parameter vectors ``(..., n)``."""
        return self._plan().vector_from_unit_vector(unit)

    def log_prior_from_vector(self, vector):
        """Sum of the priors' log densities for ``(..., n)`` vectors, shape ``(...)``;
        ``-inf`` outside a prior's support or where an assertion fails."""
        return self._plan().log_prior_from_vector(vector)

    def instance_from_vector(self, vector):
        """Build the instance for a vector ``(n,)`` (float parameters) or ``(K, n)``
        (each free parameter a ``(K, 1)`` array; fixed parameters stay scalars)."""
        return self._plan().instance_from_vector(vector)

    def instance_from_unit_vector(self, unit):
        """``instance_from_vector(vector_from_unit_vector(unit))``."""
        plan = self._plan()
        return plan.instance_from_vector(plan.vector_from_unit_vector(unit))

    def vector_from_instance(self, instance):
        """The parameter vector ``(n,)`` (or ``(K, n)`` for a batched instance) of ``instance``."""
        return self._plan().vector_from_instance(instance)

    # ----------------------------------------------------------- serialisation
    def to_dict(self) -> dict:
        """A JSON-safe dictionary of the model (classes by registered name, links by prior id)."""
        from .serialise import model_to_dict

        return model_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> "AbstractModel":
        """Rebuild a Model or Collection from :meth:`to_dict` output."""
        from .serialise import model_from_dict

        return model_from_dict(data)

    @classmethod
    def from_yaml(cls, text_or_mapping, default_priors: DefaultPriors | None = None) -> "AbstractModel":
        """Build a model from a workflow config (see :func:`~lenspipe.model.model_from_yaml`)."""
        from .serialise import model_from_yaml

        return model_from_yaml(text_or_mapping, default_priors=default_priors)


class Model(AbstractModel):
    """A class whose constructor arguments are free parameters, fixed values or child models.

    Parameters
    ----------
    cls : type
        A profile class, ``Galaxy``, or any class registered in :mod:`.registry`.
    default_priors : DefaultPriors, optional
        Where parameters not given get their priors (default: the packaged ones).
    **overrides
        Per parameter: a number (fixed), a Prior (free), a 2-tuple for ``centre``/
        ``ell_comps`` (fixed or mixed), or a child (Model, class, profile instance).
        For a class taking ``**kwargs`` (``Galaxy``) any further keywords are children.
        A parameter without an override or a default prior is fixed at the class's default
        when the class lists it in ``fixed_parameters`` (``MGE.total_gaussians``); any other
        raises a ModelError.

    Examples
    --------
    >>> lens = Model(Galaxy, redshift=0.5, bulge=Model(Sersic), mass=Model(Isothermal))
    >>> lens.bulge.centre = lens.mass.centre         # link
    >>> lens.mass.einstein_radius = 1.2              # fix
    """

    def __init__(self, cls: type, /, *, default_priors: DefaultPriors | None = None, **overrides):
        super().__init__()
        if not isinstance(cls, type):
            raise ModelError(f"Model needs a class as its first argument, got {cls!r}.")
        object.__setattr__(self, "cls", cls)
        object.__setattr__(self, "_default_priors", default_priors)
        defaults = packaged_default_priors() if default_priors is None else default_priors
        named, extra = signature_of(cls)
        names = [p.name for p in named]
        for parameter in named:
            name = parameter.name
            if name in overrides:
                self._set_entry(name, overrides[name])
                continue
            prior = defaults.prior_for(cls, name)
            default = parameter.default
            if prior is None and default is not inspect.Parameter.empty and not is_number(default) \
                    and not isinstance(default, tuple):
                self._entries[name] = default
            elif prior is None and name in getattr(cls, "fixed_parameters", ()):
                self._set_entry(name, default)  # a setting of the class (MGE.total_gaussians): fixed
            elif prior is None:
                raise ModelError(
                    f"{cls.__name__}.{name} has no default prior: give it a value or a prior, "
                    f"e.g. Model({cls.__name__}, {name}=0.5) or {name}=UniformPrior(0.0, 1.0), "
                    "or add it to the default priors."
                )
            else:
                self._set_entry(name, prior)
        for name, value in overrides.items():
            if name in names:
                continue
            if not extra:
                raise ModelError(
                    f"{cls.__name__} has no parameter {name!r}; its parameters are {', '.join(names)}."
                )
            self._check_name(name)
            self._set_entry(name, value)

    def _owner(self) -> str:
        return self.cls.__name__

    def __setattr__(self, name: str, value: Any) -> None:
        if name.startswith("_") or name == "cls":
            raise ModelError(f"Cannot set {name!r} on a Model.")
        if name not in self._entries:
            named, extra = signature_of(self.cls)
            if not extra:
                raise ModelError(
                    f"{self.cls.__name__} has no parameter {name!r}; its parameters are "
                    f"{', '.join(self._entries)}."
                )
            self._check_name(name)
        self._set_entry(name, value)

    def __delattr__(self, name: str) -> None:
        named, _ = signature_of(self.cls)
        if name not in self._entries or name in {p.name for p in named}:
            raise ModelError(f"{self.cls.__name__}: only an extra child (e.g. a galaxy's profile) can be removed, not {name!r}.")
        del self._entries[name]
        _mutated()

    def __repr__(self) -> str:
        return f"Model({self.cls.__name__}, prior_count={self.prior_count})"


class Collection(AbstractModel):
    """Named children in declaration order: models, collections, priors or fixed values.

    ``Collection(galaxies=Collection(lens=Model(Galaxy, ...), source=Model(Galaxy, ...)))``.
    A mapping may be given positionally; nested mappings become Collections. Its
    instance supports attribute access and iterates over the children's instances.
    """

    def __init__(self, children: Mapping[str, Any] | None = None, /, *,
                 default_priors: DefaultPriors | None = None, **named_children):
        super().__init__()
        object.__setattr__(self, "_default_priors", default_priors)
        merged = dict(children or {})
        for name, value in named_children.items():
            if name in merged:
                raise ModelError(f"Collection: child {name!r} is given twice.")
            merged[name] = value
        for name, value in merged.items():
            self._check_name(name)
            self._set_entry(name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._entries:
            self._check_name(name)
        self._set_entry(name, value)

    def __delattr__(self, name: str) -> None:
        if name not in self._entries:
            raise AttributeError(name)
        del self._entries[name]
        _mutated()

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self):
        return iter(self._entries.values())

    def __repr__(self) -> str:
        return f"Collection({', '.join(self._entries)}; prior_count={self.prior_count})"
