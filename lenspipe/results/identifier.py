"""Content hashes that name a fit: the identifier and the dataset hash.

A fit's identifier is the SHA-256 (first 32 hex digits) of a canonical JSON
document holding:

1. the model, as ``Model.to_dict()`` gives it (classes and priors);
2. the search settings: the search JSON without the records of how a run went
   (:data:`RUN_RECORDS`: ``diagnostics``, ``discarded``, and ``initialisation``, whose
   evaluations and wall times describe a run, not the question asked; how the walkers
   start is asked by the ``initialise`` setting) and without the budgets: the fit's
   settings enter through ``settings_hash`` (:meth:`lenspipe.settings.FitSettings.identity_hash`,
   which leaves the budgets out and is also the settings part of a checkpoint's identity),
   not through the whole ``settings`` document, and the sampler's flat ``max_steps`` is
   left out (:data:`UNHASHED`); plus the stage ``name``;
3. the ``unique_tag``;
4. the hash of the dataset's content (:func:`dataset_hash`).

Canonical JSON sorts keys, uses no whitespace, and turns numpy scalars and
arrays into Python numbers and lists, so the same inputs give the same
identifier on every machine.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping

import numpy as np

__all__ = ["canonical_json", "json_safe", "dataset_hash", "fit_identifier", "IDENTIFIER_LENGTH",
           "RUN_RECORDS", "UNHASHED"]

#: Keys of a search JSON that record how a run went, left out of the identifier.
RUN_RECORDS = ("diagnostics", "discarded", "initialisation")

#: Keys of a search JSON not hashed: the run records, the whole settings document (its
#: budget-free ``settings_hash`` is hashed instead) and the sampler's budget.
UNHASHED = RUN_RECORDS + ("settings", "max_steps")

#: Hex digits kept from the SHA-256 digest of an identifier.
IDENTIFIER_LENGTH = 32

#: The dataset arrays that enter :func:`dataset_hash`, in hashing order.
DATASET_ARRAYS = ("data", "noise_map", "psf", "mask", "positions")


def json_safe(value):
    """A copy of ``value`` that :func:`json.dumps` accepts in strict mode.

    numpy scalars become Python scalars (``.item()``), arrays become nested
    lists, tuples become lists, and non-finite floats become ``None`` (strict
    JSON has no NaN or infinity). Mapping keys become strings.
    """
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def canonical_json(value) -> str:
    """Deterministic JSON text of ``value``: sorted keys, no whitespace, strict."""
    return json.dumps(
        json_safe(value), sort_keys=True, separators=(",", ":"), allow_nan=False, ensure_ascii=False
    )


def _hash_array(digest, name: str, array) -> None:
    array = np.ascontiguousarray(np.asarray(array))
    header = f"{name}|{array.dtype.str}|{array.shape}|".encode()
    digest.update(header)
    digest.update(array.tobytes())


def dataset_hash(data, noise_map, psf, mask, positions, pixel_scale) -> str:
    """SHA-256 hex digest of a dataset's content.

    Each array enters with its name, dtype and shape, so two datasets whose
    bytes coincide but whose shapes differ hash differently.

    Parameters
    ----------
    data, noise_map, psf : ndarray
        Image, its 1-sigma noise map and the PSF kernel (image units).
    mask : ndarray of bool
        True where a pixel is masked out (not fitted).
    positions : ndarray, shape (P, 2)
        Multiple-image positions (y, x) in arcsec; shape (0, 2) if none.
    pixel_scale : float
        Arcsec per pixel.
    """
    digest = hashlib.sha256()
    arrays = dict(data=data, noise_map=noise_map, psf=psf, mask=mask, positions=positions)
    for name in DATASET_ARRAYS:
        _hash_array(digest, name, arrays[name])
    digest.update(f"pixel_scale|{float(pixel_scale)!r}".encode())
    return digest.hexdigest()


def search_settings(search: Mapping) -> dict:
    """The part of a search's JSON that identifies a fit: all but :data:`UNHASHED`."""
    return {key: value for key, value in dict(search).items() if key not in UNHASHED}


def fit_identifier(model: Mapping, search: Mapping, unique_tag: str, data_hash: str,
                   name: str = "") -> str:
    """The identifier of a fit (32 hex digits).

    Parameters
    ----------
    model : mapping
        ``Model.to_dict()`` of the fitted model (classes and priors).
    search : mapping
        The search JSON; its :data:`UNHASHED` keys are ignored.
    unique_tag : str
        The dataset's tag (e.g. the lens name).
    data_hash : str
        :func:`dataset_hash` of the fitted dataset.
    name : str
        The stage (search) name, part of the search settings.
    """
    payload = {
        "model": model,
        "search": search_settings(search),
        "name": name,
        "unique_tag": unique_tag,
        "dataset": data_hash,
    }
    digest = hashlib.sha256(canonical_json(payload).encode("utf-8"))
    return digest.hexdigest()[:IDENTIFIER_LENGTH]
