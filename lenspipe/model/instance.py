"""The instance of a :class:`~lenspipe.model.Collection`.

A lightweight object: attribute access to the children's instances
(``instance.galaxies.lens``), iteration over them in declaration order
(``for galaxy in instance.galaxies``), ``len``, indexing by name or position,
and ``items()``. A child named like a method (``items``) shadows it.
"""

from __future__ import annotations

__all__ = ["CollectionInstance"]


class CollectionInstance:
    """Children's instances by name, in declaration order."""

    def __init__(self, names: tuple[str, ...], values):
        self.__dict__.update(zip(names, values))
        self._names = names

    def __iter__(self):
        attributes = self.__dict__
        return (attributes[name] for name in self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in self._names:
                raise KeyError(key)
            return self.__dict__[key]
        return self.__dict__[self._names[key]]

    def keys(self) -> tuple[str, ...]:
        """The children's names in declaration order."""
        return self._names

    def items(self) -> list[tuple[str, object]]:
        """``(name, instance)`` pairs in declaration order."""
        return [(name, self.__dict__[name]) for name in self._names]

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self._names)
        return f"CollectionInstance({inner})"
