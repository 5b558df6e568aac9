"""One result file read and checked completely, before ingest writes anything of it.

:func:`load_record` opens a result file (its checksums are verified by the readers of
:mod:`lenspipe.results.result_file`), checks that its documents have the types ingest reads,
that its model rebuilds with the samples' parameter paths and that every path is a dotted
name, and returns everything ingest writes, fixed parameter values included.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import hashlib
import zlib
from pathlib import Path

import h5py

from ..errors import LenspipeError, ResultFileError
from ..results.codec import read_encoded
from ..results.identifier import canonical_json
from ..results.reconstruction import ARRAYS as RECONSTRUCTION_ARRAYS
from ..results.result_file import (
    SAMPLE_ARRAYS,
    open_result,
    read_checked_reconstruction,
    read_dataset,
    read_header,
    read_texts,
)
from ..results.summary import components_from_model
from .schema import SAMPLES_CODEC, STATISTICS, npy_bytes, valid_path

__all__ = ["load_record", "Record"]


@dataclasses.dataclass
class Record:
    """One result file, read and checked, ready to write."""

    fit: dict
    components: list
    parameters: list
    latent: list
    info: list
    samples: dict
    dataset: dict
    adapt_images: list = dataclasses.field(default_factory=list)
    reconstruction: dict | None = None
    mesh_reference: str | None = None


def _info_value(value):
    if isinstance(value, bool):
        return int(value)
    if value is None or isinstance(value, (int, float, str)):
        return value
    return canonical_json(value)


def _float(value):
    return None if value is None else float(value)


def _check_documents(path, header) -> None:
    """The JSON documents have the types ingest reads (a readable but malformed file is refused)."""
    for key in ("model", "search", "summary", "info", "profiling"):
        if not isinstance(header[key], dict):
            raise ResultFileError(f"{path}: the {key} document is a {type(header[key]).__name__}, "
                                  "not a JSON object; the file was not written by lenspipe")
    paths = header["parameter_paths"]
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ResultFileError(f"{path}: samples/parameter_paths is not a list of names")
    summary = header["summary"]
    for key in ("max_log_likelihood_instance", "median_pdf_instance", "errors", "latent"):
        if not isinstance(summary.get(key, {}), dict):
            raise ResultFileError(f"{path}: summary {key!r} is not a JSON object")


def _check_model(path, model: dict, paths) -> None:
    """The stored model rebuilds, with the stored parameter paths (else every later
    ``values("samples")`` over the database would fail at this fit)."""
    from ..model import Model

    try:
        rebuilt = Model.from_dict(model)
    except (LenspipeError, KeyError, TypeError, ValueError, AttributeError) as error:
        raise ResultFileError(f"{path}: the stored model cannot be rebuilt ({error}); was it "
                              "written by another lenspipe or edited by hand?") from None
    if list(rebuilt.paths) != list(paths):
        raise ResultFileError(f"{path}: the stored model's parameters {list(rebuilt.paths)[:4]}... "
                              f"differ from the samples' {list(paths)[:4]}...")


def _fixed_parameters(node, prefix="", out=None) -> dict:
    """{path: value} of every fixed number in a stored model (a component taken from an earlier
    stage, a centre held at 0), so that a query on a parameter finds the fit whether the
    parameter was free or fixed in it. A pair of numbers ``centre`` gives ``centre.centre_0``
    and ``centre.centre_1``, as free tuple parameters are named."""
    out = {} if out is None else out
    if not isinstance(node, dict):
        return out
    for key, child in (node.get("children") or {}).items():
        _fixed_parameters(child, f"{prefix}.{key}" if prefix else key, out)
    for key, value in (node.get("parameters") or {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):
            if "type" in value:  # a nested component; a dict without "type" is a prior
                _fixed_parameters(value, path, out)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[path] = float(value)
        elif (isinstance(value, list) and len(value) == 2
              and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
            out[f"{path}.{key}_0"], out[f"{path}.{key}_1"] = map(float, value)
    return out


def _check(path, header, shapes, components) -> None:
    paths = header["parameter_paths"]
    summary = header["summary"]
    count = shapes["parameters"][0] if len(shapes["parameters"]) == 2 else -1
    if count < 0 or shapes["parameters"][1] != len(paths) or any(
            shapes[name] != (count,) for name in SAMPLE_ARRAYS[1:]):
        raise ResultFileError(f"{path}: sample arrays of inconsistent shapes {shapes}.")
    names = list(paths) + [item["path"] for item in components] + list(summary.get("latent", {}))
    bad = [name for name in names if not valid_path(name)]
    if bad:
        raise ResultFileError(f"{path}: invalid parameter or component paths {bad[:5]}; paths "
                              "must be dotted Python identifiers.")
    if len(set(paths)) != len(paths):
        raise ResultFileError(f"{path}: repeated parameter paths.")
    if not header["identifier"]:
        raise ResultFileError(f"{path}: the result file has no identifier.")
    for key in ("max_log_likelihood_instance", "median_pdf_instance", "errors"):
        missing = set(paths) - set(summary.get(key, {}))
        if missing:
            raise ResultFileError(f"{path}: summary {key!r} lacks {sorted(missing)[:5]}.")


def load_record(path) -> Record:
    """Read and check one result file; everything ingest will write.

    Raises
    ------
    ResultFileError
        If the file is missing, truncated, corrupt or incomplete.
    """
    path = Path(path)
    with open_result(path) as f:
        texts = read_texts(f)
        header = read_header(f, texts)
        _check_documents(path, header)
        _check_model(path, header["model"], header["parameter_paths"])
        versions = str(f.attrs["versions"])
        group = h5py.h5g.open(f.id, b"samples")
        arrays = {name: h5py.h5d.open(group, name.encode()) for name in SAMPLE_ARRAYS}
        shapes = {name: tuple(array.shape) for name, array in arrays.items()}
        components = components_from_model(header["model"])
        _check(path, header, shapes, components)
        blobs = {name: read_encoded(array) for name, array in arrays.items()}
        dataset = read_dataset(f)
        reconstruction = read_checked_reconstruction(f)
    summary, paths = header["summary"], header["parameter_paths"]
    data_hash = dataset.content_hash()
    fit = {key: header[key] for key in ("identifier", "unique_tag", "name", "path_prefix",
                                        "parent_identifier", "seed", "config_hash", "created",
                                        "lenspipe_version")}
    content = hashlib.sha256(canonical_json(
        [fit, header["completed"], paths, versions, texts, data_hash,
         {name: zlib.crc32(blob) for name, blob in blobs.items()}]).encode())
    fit.update(
        completed=int(header["completed"]), n_samples=shapes["parameters"][0],
        max_log_likelihood=_float(summary.get("max_log_likelihood")),
        log_evidence=_float(summary.get("log_evidence")), n_parameters=len(paths),
        dataset_hash=data_hash, content_hash=content.hexdigest(), source=str(path.resolve()),
        ingested=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        versions=versions, **texts)
    ml, median, errors = (summary["max_log_likelihood_instance"], summary["median_pdf_instance"],
                          summary["errors"])
    parameters = [(p, _float(ml[p]), _float(median[p]), *(_float(errors[p].get(k)) for k in
                   ("lower_1", "upper_1", "lower_3", "upper_3"))) for p in paths]
    free = set(paths)
    parameters += [(p, value, value, value, value, value, value)
                   for p, value in _fixed_parameters(header["model"]).items()
                   if p not in free and valid_path(p)]
    latent = [(name, *(_float(values.get(k)) for k in STATISTICS[1:]))
              for name, values in summary.get("latent", {}).items()]
    info = [(str(key), _info_value(value)) for key, value in header["info"].items()]
    samples = dict(codec=SAMPLES_CODEC, n_samples=shapes["parameters"][0], n_parameters=len(paths),
                   parameter_paths=canonical_json(list(paths)), **blobs)
    arrays = {key: npy_bytes(value) for key, value in dataset.arrays().items()}
    adapt = [(str(name), npy_bytes(image)) for name, image in sorted(dataset.adapt_images.items())]
    stored_reconstruction = None
    if reconstruction is not None:
        stored_reconstruction = dict(
            galaxy=reconstruction.galaxy, mesh=reconstruction.mesh, regularization=reconstruction.regularization,
            log_evidence=_float(reconstruction.log_evidence), terms=canonical_json(reconstruction.terms),
            **{name: npy_bytes(getattr(reconstruction, name)) for name in RECONSTRUCTION_ARRAYS})
    return Record(fit, [(item["path"], str(item["class"])) for item in components], parameters,
                   latent, info, samples, dict(hash=data_hash, pixel_scale=dataset.pixel_scale,
                                               **arrays), adapt, stored_reconstruction,
                  None if dataset.mesh_reference is None else canonical_json(dataset.mesh_reference))


