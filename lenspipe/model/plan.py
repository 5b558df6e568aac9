"""The build plan: a model tree compiled for the search's hot loop.

Walking a model tree with ``getattr`` for every likelihood batch is slow, so a
model compiles itself once (and again only after it is changed) into a
:class:`BuildPlan`:

1. Walk the tree depth-first in declaration order. Each new prior object gets
   the next parameter index and its path; a prior met again (a link) reuses
   its index.
2. Lay out a flat *store*: slots ``0..n-1`` hold the parameter values, the
   slots after them hold fixed values and the objects built so far.
3. Record one *step* per node that depends on a parameter, children before
   parents: ``store[slot] = make(get(store))``, where ``get`` is an
   ``operator.itemgetter`` of the node's argument slots and ``make`` calls the
   class (or builds a tuple or a :class:`CollectionInstance`). A node whose
   arguments are all fixed is built once, now, and stored as a fixed value, so
   a fixed component is the same object in every instance.
4. Group the priors by kind, so that the log prior and the unit-cube
   transform are one vectorised call per kind.

Building an instance is then ``store = values + fixed`` and a loop over the
steps.
"""

from __future__ import annotations

import inspect
import operator

import numpy as np

from ..errors import ModelError
from .instance import CollectionInstance
from .introspect import signature_of
from .model import AbstractModel, Model
from .priors import Prior

__all__ = ["BuildPlan"]

_OPERATORS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def _getter(indices: list[int]):
    """A callable ``store -> tuple`` of the values at ``indices``."""
    if len(indices) >= 2:
        return operator.itemgetter(*indices)
    if len(indices) == 1:
        index = indices[0]
        return lambda store: (store[index],)
    return lambda store: ()


def _model_maker(model: Model, names: tuple[str, ...]):
    cls = model.cls
    named, _ = signature_of(cls)
    positional = tuple(p.name for p in named) == names and all(
        p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in named
    )
    if positional:
        return lambda values: cls(*values)
    return lambda values: cls(**dict(zip(names, values)))


def _collection_maker(names: tuple[str, ...]):
    return lambda values: CollectionInstance(names, values)


class BuildPlan:
    """A model tree compiled into index tables (see the module docstring)."""

    def __init__(self, root: AbstractModel):
        self.priors: list[Prior] = []
        self.paths: list[str] = []
        self.components: list[tuple[str, Model]] = []
        self._index: dict[int, int] = {}
        self._readers: list[tuple[str, int | None]] = []
        self._tail: list = []
        self._fixed: list[bool] = []
        self._symbolic_steps: list = []
        self._symbolic_assertions: list = []
        root_source = self._visit(root, "")
        self._finalise(root_source)

    # ------------------------------------------------------------- compiling
    def _store_fixed(self, value) -> tuple[str, int]:
        self._tail.append(value)
        self._fixed.append(True)
        return ("s", len(self._tail) - 1)

    def _is_fixed(self, source) -> bool:
        return source[0] == "s" and self._fixed[source[1]]

    def _leaf(self, entry, path: str, reader: tuple[str, int | None]):
        if isinstance(entry, Prior):
            key = id(entry)
            if key not in self._index:
                self._index[key] = len(self.priors)
                self.priors.append(entry)
                self.paths.append(path)
                self._readers.append(reader)
            return ("p", self._index[key])
        return self._store_fixed(entry)

    def _node(self, make, sources):
        if all(self._is_fixed(source) for source in sources):
            return self._store_fixed(make(tuple(self._tail[s[1]] for s in sources)))
        self._tail.append(None)
        self._fixed.append(False)
        slot = len(self._tail) - 1
        self._symbolic_steps.append((slot, make, sources))
        return ("s", slot)

    def _visit(self, node: AbstractModel, prefix: str):
        names = tuple(node._entries)
        sources = []
        if isinstance(node, Model):
            self.components.append((prefix[:-1], node))
        for name, entry in node._entries.items():
            path = prefix + name
            if isinstance(entry, AbstractModel):
                sources.append(self._visit(entry, path + "."))
            elif isinstance(entry, tuple):
                parts = [self._leaf(item, f"{path}.{name}_{i}", (path, i)) for i, item in enumerate(entry)]
                sources.append(self._node(tuple, parts))
            else:
                sources.append(self._leaf(entry, path, (path, None)))
        for left, op, right in node._assertions:
            self._symbolic_assertions.append((node, prefix, left, op, right))
        make = _model_maker(node, names) if isinstance(node, Model) else _collection_maker(names)
        return self._node(make, sources)

    def _finalise(self, root_source) -> None:
        n = len(self.priors)

        def resolve(source) -> int:
            return source[1] if source[0] == "p" else n + source[1]

        self._steps = [(n + slot, make, _getter([resolve(s) for s in sources]))
                       for slot, make, sources in self._symbolic_steps]
        self._root = resolve(root_source)
        self._root_fixed = self._is_fixed(root_source)
        self._attrgetters = [(operator.attrgetter(path), component) for path, component in self._readers]

        groups: dict[type, list[int]] = {}
        for k, prior in enumerate(self.priors):
            groups.setdefault(type(prior), []).append(k)
        self._groups = []
        for kind, indices in groups.items():
            columns = zip(*(self.priors[k]._parameters() for k in indices))
            self._groups.append((kind, np.array(indices), tuple(np.array(c, dtype=float) for c in columns)))

        self._assertions = []
        for node, prefix, left, op, right in self._symbolic_assertions:
            sides = []
            for side in (left, right):
                entry = node.resolve(side) if isinstance(side, str) else side
                if isinstance(entry, Prior):
                    sides.append((True, self._index[id(entry)]))
                else:
                    sides.append((False, entry))
            self._assertions.append((sides[0], _OPERATORS[op], sides[1]))
        del self._symbolic_steps, self._symbolic_assertions, self._readers

    # --------------------------------------------------------------- queries
    def index_of(self, prior: Prior) -> int:
        """The parameter index of ``prior`` (ModelError if it is not in the model)."""
        try:
            return self._index[id(prior)]
        except KeyError:
            raise ModelError(f"{prior!r} is not a free parameter of this model.") from None

    def _check(self, array: np.ndarray, what: str) -> None:
        n = len(self.priors)
        if array.ndim == 0 or array.shape[-1] != n:
            raise ModelError(f"{what} must have shape (..., {n}) for this model's {n} free parameters, got {array.shape}.")

    # ------------------------------------------------------ search interface
    def vector_from_unit_vector(self, unit):
        unit = np.asarray(unit, dtype=float)
        self._check(unit, "The unit vector")
        out = np.empty_like(unit)
        for kind, indices, parameters in self._groups:
            out[..., indices] = kind._value_for(unit[..., indices], *parameters)
        return out

    def log_prior_from_vector(self, vector):
        vector = np.asarray(vector, dtype=float)
        self._check(vector, "The parameter vector")
        total = np.zeros(vector.shape[:-1])
        for kind, indices, parameters in self._groups:
            total = total + kind._log_density(vector[..., indices], *parameters).sum(axis=-1)
        for (left_free, left), compare, (right_free, right) in self._assertions:
            a = vector[..., left] if left_free else left
            b = vector[..., right] if right_free else right
            total = np.where(compare(a, b), total, -np.inf)
        return total[()]

    def instance_from_vector(self, vector):
        if self._root_fixed:
            return self._tail[self._root - len(self.priors)]
        vector = np.asarray(vector, dtype=float)
        n = len(self.priors)
        if vector.shape == (n,):
            store = vector.tolist()
        elif vector.ndim == 2 and vector.shape[1] == n:
            store = list(np.ascontiguousarray(vector.T)[:, :, None])
        else:
            raise ModelError(f"instance_from_vector takes shape ({n},) or (K, {n}), got {vector.shape}.")
        store += self._tail
        for slot, make, get in self._steps:
            store[slot] = make(get(store))
        return store[self._root]

    def vector_from_instance(self, instance):
        values = []
        for read, component in self._attrgetters:
            value = read(instance)
            values.append(value if component is None else value[component])
        arrays = [np.asarray(value, dtype=float) for value in values]
        if all(array.ndim == 0 for array in arrays):
            return np.array(arrays, dtype=float)
        size = max(array.size for array in arrays)
        return np.stack([np.broadcast_to(array.reshape(-1), (size,)) for array in arrays], axis=-1)
