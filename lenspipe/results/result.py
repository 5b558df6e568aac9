"""A fit's result in memory: its dataset, samples, summary and records, and how one is assembled.

:func:`build_result` computes a :class:`Result`'s identifier and summary from arrays (it needs
no fitting, so benchmarks and tests can make results); :mod:`.result_file` writes and reads
them as HDF5 files.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json

import numpy as np

from .._version import __version__
from ..errors import ResultFileError
from .identifier import canonical_json, dataset_hash, fit_identifier, json_safe
from .reconstruction import Reconstruction
from .summary import dependency_versions, summarise

__all__ = ["FORMAT_VERSION", "ResultDataset", "Result", "build_result"]

#: The result file format this lenspipe writes (and the newest it reads).
FORMAT_VERSION = 1


@dataclasses.dataclass
class ResultDataset:
    """The dataset a fit was made to, as plain arrays.

    Parameters
    ----------
    data, noise_map : ndarray, shape (Ny, Nx)
        Image and 1-sigma noise map (image units, e.g. e-/s).
    psf : ndarray, shape (My, Mx)
        PSF kernel.
    mask : ndarray of bool, shape (Ny, Nx)
        True where a pixel is masked out (not fitted).
    positions : ndarray, shape (P, 2)
        Multiple-image positions (y, x) in arcsec; (0, 2) if none.
    pixel_scale : float
        Arcsec per pixel.
    adapt_images : dict, optional
        Galaxy name -> (N,) image on the fitted pixels (row-major) that the fit adapted to;
        part of the content hash when given.
    mesh_reference : dict, optional
        ``{"model": Model.to_dict(), "vector": [...]}``: the model instance whose mass held the
        pixelized source's mesh (``inversion.hold_mesh``); part of the content hash when given.
    """

    data: np.ndarray
    noise_map: np.ndarray
    psf: np.ndarray
    mask: np.ndarray
    positions: np.ndarray
    pixel_scale: float
    adapt_images: dict = dataclasses.field(default_factory=dict)
    mesh_reference: dict | None = None

    def __post_init__(self):
        self.data = np.asarray(self.data, dtype=float)
        self.noise_map = np.asarray(self.noise_map, dtype=float)
        self.psf = np.asarray(self.psf, dtype=float)
        self.mask = np.asarray(self.mask, dtype=bool)
        self.positions = np.asarray(self.positions, dtype=float).reshape(-1, 2)
        self.pixel_scale = float(self.pixel_scale)
        self.adapt_images = {str(k): np.asarray(v, dtype=float) for k, v in dict(self.adapt_images or {}).items()}
        if self.mesh_reference is not None:  # plain JSON values, as read back from a file
            self.mesh_reference = json.loads(canonical_json(self.mesh_reference))

    def content_hash(self) -> str:
        """SHA-256 of the arrays and pixel scale (:func:`~.identifier.dataset_hash`), and of the
        adapt images and the mesh reference when there are any."""
        digest = dataset_hash(self.data, self.noise_map, self.psf, self.mask, self.positions, self.pixel_scale)
        if not self.adapt_images and self.mesh_reference is None:
            return digest
        import hashlib

        combined = hashlib.sha256(digest.encode())
        for name in sorted(self.adapt_images):
            image = np.ascontiguousarray(self.adapt_images[name], dtype="<f8")
            combined.update(f"adapt_images/{name}|{image.shape}|".encode() + image.tobytes())
        if self.mesh_reference is not None:
            combined.update(b"mesh_reference|" + canonical_json(self.mesh_reference).encode())
        return combined.hexdigest()

    def arrays(self) -> dict[str, np.ndarray]:
        """The five arrays by name."""
        names = ("data", "noise_map", "psf", "mask", "positions")
        return {name: getattr(self, name) for name in names}


@dataclasses.dataclass
class Result:
    """Everything a result file holds. Sample arrays and the dataset may be
    ``None`` when read with ``samples=False`` / ``dataset=False``."""

    identifier: str
    unique_tag: str
    name: str
    path_prefix: str
    parent_identifier: str
    lenspipe_version: str
    versions: dict
    config_hash: str
    seed: int
    created: str
    completed: bool
    model: dict
    search: dict
    summary: dict
    info: dict
    profiling: dict
    parameter_paths: list
    parameters: np.ndarray | None = None
    log_likelihood: np.ndarray | None = None
    log_prior: np.ndarray | None = None
    weight: np.ndarray | None = None
    dataset: ResultDataset | None = None
    format_version: int = FORMAT_VERSION
    reconstruction: Reconstruction | None = None

    @property
    def max_log_likelihood_vector(self) -> np.ndarray:
        """The maximum-likelihood parameters (from the summary), in ``parameter_paths`` order."""
        instance = self.summary["max_log_likelihood_instance"]
        return np.array([instance[path] for path in self.parameter_paths], dtype=float)

    @property
    def fit(self):
        """The maximum-likelihood ``FitImaging``, rebuilt from the stored dataset
        (:func:`lenspipe.results.rebuild.fit_from_result`)."""
        from .rebuild import fit_from_result

        if self.dataset is None:
            raise ResultFileError("This result was read without its dataset; read it with "
                                  "dataset=True to rebuild the fit.")
        return fit_from_result(model=self.model, dataset=self.dataset, search=self.search,
                               info=self.info,
                               max_log_likelihood_vector=self.max_log_likelihood_vector)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def build_result(
    *, unique_tag, name, model, search, parameters, log_likelihood, log_prior, weight=None,
    parameter_paths=None, dataset, latent=None, info=None, profiling=None,
    path_prefix="", parent_identifier="", config_hash="", seed=0, completed=True,
    log_evidence=None, convergence=None, created=None, versions=None, reconstruction=None,
) -> Result:
    """Assemble a :class:`Result` from arrays, computing identifier and summary.

    Needs no fitting, so benchmarks and tests can synthesise result files.

    Parameters
    ----------
    unique_tag, name : str
        The dataset's tag and the stage name.
    model : Model or dict
        The fitted model, or its ``to_dict()``.
    search : dict
        Search settings and diagnostics (``"diagnostics"`` is not hashed).
    parameters : array_like, shape (n, k)
    log_likelihood, log_prior : array_like, shape (n,)
    weight : array_like, shape (n,), optional
        Ones if not given.
    parameter_paths : list of str, optional
        Default ``model.paths``.
    dataset : ResultDataset
    latent : dict of str -> array_like (n,), optional
        Latent variables evaluated at each sample; summarised by weighted
        median and values at 1 and 3 sigma.
    info, profiling : dict, optional
    path_prefix, parent_identifier, config_hash : str
    seed : int
    completed : bool
        False for a result written from an unfinished search.
    log_evidence : float, optional
    convergence : dict, optional
    created : str, optional
        ISO 8601 UTC time; now if not given.
    versions : dict, optional
        Dependency versions; the installed ones if not given.
    reconstruction : Reconstruction, optional
        A pixelized source's reconstruction at the maximum-likelihood model; its log evidence
        becomes the summary's ``fit_log_evidence``.
    """
    model_dict = model.to_dict() if hasattr(model, "to_dict") else dict(model)
    if parameter_paths is None:
        if not hasattr(model, "paths"):
            raise ResultFileError("build_result: give parameter_paths when model is a dict.")
        parameter_paths = list(model.paths)
    parameters = np.asarray(parameters, dtype="<f8")
    count = parameters.shape[0] if parameters.ndim == 2 else -1
    log_likelihood = np.asarray(log_likelihood, dtype="<f8")
    log_prior = np.asarray(log_prior, dtype="<f8")
    weight = np.ones(max(count, 0)) if weight is None else np.asarray(weight, dtype="<f8")
    if count < 0 or parameters.shape[1] != len(parameter_paths) or any(
        array.shape != (count,) for array in (log_likelihood, log_prior, weight)
    ):
        raise ResultFileError(
            f"build_result: parameters must be (n, {len(parameter_paths)}) and log_likelihood, "
            f"log_prior, weight (n,); got {parameters.shape}, {log_likelihood.shape}, "
            f"{log_prior.shape}, {weight.shape}."
        )
    summary = summarise(parameters, log_likelihood, log_prior, weight, parameter_paths,
                        latent=latent, log_evidence=log_evidence, convergence=convergence,
                        fit_log_evidence=None if reconstruction is None else reconstruction.log_evidence)
    search = json_safe(dict(search))
    return Result(
        identifier=fit_identifier(model_dict, search, unique_tag, dataset.content_hash(), name),
        unique_tag=str(unique_tag), name=str(name), path_prefix=str(path_prefix),
        parent_identifier=str(parent_identifier or ""), lenspipe_version=__version__,
        versions=dependency_versions() if versions is None else dict(versions),
        config_hash=str(config_hash), seed=int(seed), created=created or _now(),
        completed=bool(completed), model=json_safe(model_dict), search=search, summary=summary,
        info=json_safe(dict(info or {})), profiling=json_safe(dict(profiling or {})),
        parameter_paths=list(parameter_paths), parameters=parameters,
        log_likelihood=log_likelihood, log_prior=log_prior, weight=weight, dataset=dataset,
        reconstruction=reconstruction,
    )
