"""The result file: one HDF5 file per fit, written once, atomically.

Layout (``docs/internals.md``, "The result file"):

- root attributes: ``format`` ("lenspipe-result"), ``format_version``,
  ``identifier``, ``unique_tag``, ``name``, ``path_prefix``,
  ``parent_identifier``, ``lenspipe_version``, ``versions`` (JSON),
  ``config_hash``, ``seed``, ``created`` (ISO 8601 UTC), ``completed``;
- ``model``, ``search``, ``summary``, ``info``, ``profiling``: scalar JSON strings;
- ``samples/``: ``parameters`` (n, k), ``log_likelihood``, ``log_prior``,
  ``weight`` (n,), all float64, attribute ``parameter_paths`` (JSON list);
- ``dataset/``: ``data``, ``noise_map``, ``psf``, ``mask``, ``positions``,
  attribute ``pixel_scale``; ``dataset/adapt_images/<galaxy>`` (N,) when the fit used adapt
  images (a pixelized source's Adapt regularization); attribute ``mesh_reference`` (JSON: the
  model and vector whose mass held the source mesh) when the fit held it;
- ``reconstruction/``: a pixelized source's reconstruction at the maximum-likelihood model
  (:mod:`lenspipe.results.reconstruction`), when the model has one.

The in-memory :class:`Result` and :func:`build_result` are in :mod:`lenspipe.results.result`
(re-exported here). Each sample array is one HDF5 chunk with the standard shuffle and deflate
filters and the CRC-32 of the stored chunk in its attribute ``crc32`` (the codec:
:mod:`lenspipe.results.codec`); the ``summary`` JSON is made by
:mod:`lenspipe.results.summary`. The file is written to a temporary file in the
destination folder, flushed to disk and moved into place with
:func:`os.replace`, so a reader sees either no file or a whole one.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from ..data.files import atomic_path
from ..errors import ResultFileError
from . import checksums as _checksums
from .codec import _attr, _read, write_encoded
from .identifier import canonical_json
from .reconstruction import Reconstruction, read_reconstruction, write_reconstruction
from .result import FORMAT_VERSION, Result, ResultDataset, build_result  # re-exported: their home is .result

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ResultDataset",
    "Result",
    "build_result",
    "write_result",
    "read_result",
    "open_result",
    "read_header",
    "read_texts",
    "read_dataset",
    "read_samples",
    "read_checked_reconstruction",
]

FORMAT = "lenspipe-result"
SAMPLE_ARRAYS = ("parameters", "log_likelihood", "log_prior", "weight")
JSON_DATASETS = ("model", "search", "summary", "info", "profiling")


def _write_samples(group, result: Result) -> None:
    group.attrs["parameter_paths"] = json.dumps(list(result.parameter_paths))
    for name in SAMPLE_ARRAYS:
        write_encoded(group, name, np.ascontiguousarray(getattr(result, name), dtype="<f8"))


def _write(path: Path, result: Result) -> None:
    with h5py.File(path, "w") as f:
        attrs = f.attrs
        attrs["format"] = FORMAT
        attrs["format_version"] = np.int64(result.format_version)
        for key in ("identifier", "unique_tag", "name", "path_prefix", "parent_identifier",
                    "lenspipe_version", "config_hash", "created"):
            attrs[key] = str(getattr(result, key))
        attrs["versions"] = canonical_json(result.versions)
        attrs["seed"] = np.int64(result.seed)
        attrs["completed"] = np.bool_(result.completed)
        texts = {key: canonical_json(getattr(result, key)) for key in JSON_DATASETS}
        for key, text in texts.items():
            f.create_dataset(key, data=text)
        sums = {key: _checksums.text_checksum(text) for key, text in texts.items()}
        sums["dataset"] = result.dataset.content_hash()
        sums["attributes"] = _checksums.attributes_checksum(vars(result))
        if result.reconstruction is not None:
            sums["reconstruction"] = result.reconstruction.checksum()
            write_reconstruction(f, result.reconstruction)
        attrs["checksums"] = canonical_json(sums)
        _write_samples(f.create_group("samples"), result)
        group = f.create_group("dataset")
        group.attrs["pixel_scale"] = np.float64(result.dataset.pixel_scale)
        for key, array in result.dataset.arrays().items():
            group.create_dataset(key, data=array)
        if result.dataset.adapt_images:
            adapt = group.create_group("adapt_images")
            for name, image in result.dataset.adapt_images.items():
                adapt.create_dataset(name, data=image)
        if result.dataset.mesh_reference is not None:
            group.attrs["mesh_reference"] = canonical_json(result.dataset.mesh_reference)


def write_result(path, result: Result, *, fsync: bool = True) -> Path:
    """Write ``result`` to ``path`` atomically (temporary file, then ``os.replace``).

    Parameters
    ----------
    path : str or Path
    result : Result
        Needs sample arrays and a dataset.
    fsync : bool
        Flush the file to disk before moving it into place.

    Returns
    -------
    Path
    """
    path = Path(path)
    if result.parameters is None or result.dataset is None:
        raise ResultFileError("write_result: the result has no samples or no dataset to write.")
    with atomic_path(path, fsync=fsync) as temporary:
        _write(temporary, result)
    return path


class open_result:
    """Context manager: an open, checked result file (``h5py.File``).

    Raises :class:`~lenspipe.errors.ResultFileError` when the file is missing,
    truncated, not a lenspipe result, of a newer format, or missing a group;
    errors raised inside the block by h5py (corrupt data) become
    ResultFileError too, with the cause chained.
    """

    def __init__(self, path):
        self.path = Path(path)
        self.file = None

    def __enter__(self) -> h5py.File:
        try:
            self.file = h5py.File(self.path, "r")
        except (OSError, ValueError) as error:
            raise ResultFileError(f"{self.path}: cannot open as HDF5 (missing, truncated or "
                                  f"corrupt): {error}") from error
        try:
            _check(self.file, self.path)
        except BaseException:
            self.file.close()
            raise
        return self.file

    def __exit__(self, kind, error, traceback):
        self.file.close()
        if isinstance(error, (OSError, KeyError, ValueError, TypeError, RuntimeError)):
            raise ResultFileError(f"{self.path}: corrupt or incomplete result file: "
                                  f"{error}") from error
        return False


def _check(f: h5py.File, path: Path) -> None:
    exists = f.id.links.exists
    if not h5py.h5a.exists(f.id, b"format") or _attr(f.id, "format") != FORMAT:
        raise ResultFileError(f"{path}: not a lenspipe result file (no format={FORMAT!r} "
                              "attribute).")
    version = int(_attr(f.id, "format_version"))
    if version > FORMAT_VERSION:
        raise ResultFileError(f"{path}: result format {version} is newer than this lenspipe "
                              f"reads ({FORMAT_VERSION}); upgrade lenspipe.")
    names = [*JSON_DATASETS, "samples", "dataset"]
    if exists(b"samples"):
        names += [f"samples/{key}" for key in SAMPLE_ARRAYS]
    missing = [name for name in names if not exists(name.encode())]
    if missing:
        raise ResultFileError(f"{path}: incomplete result file, missing {', '.join(missing)}.")


def read_texts(f: h5py.File) -> dict[str, str]:
    """The JSON datasets (model, search, summary, info, profiling) as stored text."""
    texts = {}
    sums = _stored_checksums(f)
    for key in JSON_DATASETS:
        value = _read(h5py.h5d.open(f.id, key.encode()))[()]
        texts[key] = value.decode() if isinstance(value, bytes) else str(value)
        _checksums.verify(sums, key, _checksums.text_checksum(texts[key]), f.filename)
    return texts


def _stored_checksums(f: h5py.File) -> dict | None:
    """The file's ``checksums`` attribute (None for a file written before them)."""
    if not h5py.h5a.exists(f.id, b"checksums"):
        return None
    try:
        return _checksums.stored(_attr(f.id, "checksums"))
    except ResultFileError as error:
        raise ResultFileError(f"{f.filename}: {error}") from None


_TEXT_ATTRS = ("identifier", "unique_tag", "name", "path_prefix", "parent_identifier",
               "lenspipe_version", "config_hash", "created")


def read_header(f: h5py.File, texts: dict | None = None) -> dict:
    """Attributes and JSON datasets of an open result file as a dict of
    :class:`Result` fields (no arrays); ``texts`` as from :func:`read_texts`."""
    texts = read_texts(f) if texts is None else texts
    fields = {key: str(_attr(f.id, key)) for key in _TEXT_ATTRS}
    fields.update(versions=json.loads(_attr(f.id, "versions")), seed=int(_attr(f.id, "seed")),
                  completed=bool(_attr(f.id, "completed")),
                  format_version=int(_attr(f.id, "format_version")),
                  parameter_paths=json.loads(_attr(h5py.h5g.open(f.id, b"samples"),
                                                   "parameter_paths")))
    _checksums.verify(_stored_checksums(f), "attributes", _checksums.attributes_checksum(fields),
                      f.filename)
    fields.update({key: json.loads(text) for key, text in texts.items()})
    return fields


def read_dataset(f: h5py.File) -> ResultDataset:
    """The ``dataset`` group of an open result file."""
    group = h5py.h5g.open(f.id, b"dataset")
    adapt = {}
    if "adapt_images" in f["dataset"]:
        adapt = {name: np.asarray(array[()]) for name, array in f["dataset"]["adapt_images"].items()}
    reference = f["dataset"].attrs.get("mesh_reference")
    dataset = ResultDataset(pixel_scale=float(_attr(group, "pixel_scale")), adapt_images=adapt,
                            mesh_reference=None if reference is None else json.loads(reference),
                            **{key: _read(h5py.h5d.open(group, key.encode())) for key in
                               ("data", "noise_map", "psf", "mask", "positions")})
    _checksums.verify(_stored_checksums(f), "dataset", dataset.content_hash(), f.filename)
    return dataset


def read_checked_reconstruction(f: h5py.File) -> Reconstruction | None:
    """The ``reconstruction`` group of an open result file (checksum verified), None without one."""
    reconstruction = read_reconstruction(f)
    if reconstruction is not None:
        _checksums.verify(_stored_checksums(f), "reconstruction", reconstruction.checksum(), f.filename)
    return reconstruction


def read_samples(f: h5py.File) -> dict[str, np.ndarray]:
    """The four sample arrays of an open result file."""
    group = h5py.h5g.open(f.id, b"samples")
    return {key: _read(h5py.h5d.open(group, key.encode())) for key in SAMPLE_ARRAYS}


def read_result(path, *, samples: bool = True, dataset: bool = True) -> Result:
    """Read a result file.

    Parameters
    ----------
    path : str or Path
    samples, dataset : bool
        Whether to read the sample arrays, and the dataset with the reconstruction (if any).

    Raises
    ------
    ResultFileError
        If the file is missing, truncated, corrupt or incomplete.
    """
    with open_result(path) as f:
        fields = read_header(f)
        if samples:
            fields.update(read_samples(f))
        if dataset:
            fields["dataset"] = read_dataset(f)
            fields["reconstruction"] = read_checked_reconstruction(f)
    return Result(**fields)
