"""Content checksums of every stored document of a result file.

Sample arrays carry their own CRC-32 (:mod:`lenspipe.results.codec`); this module covers
the rest, so that one flipped bit anywhere is found before the file is believed:

- ``model``, ``search``, ``summary``, ``info``, ``profiling``: SHA-256 of the stored JSON text;
- ``dataset``: the dataset's content hash (arrays and pixel scale);
- ``attributes``: SHA-256 of the identifying attributes (identifier, tag, name, seed,
  completed, versions, parameter paths, ...).

They are written as one JSON attribute ``checksums`` on the file's root and checked by the
readers of :mod:`lenspipe.results.result_file` (so by ``show``, rebuilds and ``ingest``).
Files written before checksums existed have no such attribute and are read unchecked.
"""

from __future__ import annotations

import hashlib
import json

from ..errors import ResultFileError
from .identifier import canonical_json

__all__ = ["text_checksum", "attributes_checksum", "verify"]

#: The identifying attributes covered by the ``attributes`` checksum.
ATTRIBUTES = ("identifier", "unique_tag", "name", "path_prefix", "parent_identifier",
              "lenspipe_version", "config_hash", "created", "versions", "seed", "completed",
              "parameter_paths")


def text_checksum(text: str) -> str:
    """SHA-256 (hex) of a stored text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def attributes_checksum(fields: dict) -> str:
    """SHA-256 of the identifying attributes (:data:`ATTRIBUTES`) of a result's fields."""
    values = [fields[key] for key in ATTRIBUTES]
    values[ATTRIBUTES.index("seed")] = int(values[ATTRIBUTES.index("seed")])
    values[ATTRIBUTES.index("completed")] = bool(values[ATTRIBUTES.index("completed")])
    return text_checksum(canonical_json(values))


def stored(text) -> dict | None:
    """The ``checksums`` attribute as a dict, ``None`` for a file written without one."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise ResultFileError("the checksums attribute is not a JSON object (corrupt file)")
    return value


def verify(checksums: dict | None, name: str, actual: str, where) -> None:
    """Raise ResultFileError naming ``where`` and ``name`` if a stored checksum differs.

    ``checksums`` is :func:`stored`'s value; ``None`` (an older file) checks nothing.
    """
    if checksums is None:
        return
    expected = checksums.get(name)
    if expected != actual:
        raise ResultFileError(
            f"{where}: the {name} document fails its checksum (stored {str(expected)[:12]}..., "
            f"content {actual[:12]}...); the file was altered or corrupted after it was written: "
            "refit, or restore it from a copy")
