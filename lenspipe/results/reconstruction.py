"""A pixelized source's reconstruction, as stored in a result file.

The group ``reconstruction/`` of a result file holds the maximum-likelihood model's
reconstruction of its pixelized source (the one galaxy with a ``pixelization``):

- attributes ``galaxy`` (its name in the model, e.g. "source"), ``mesh`` and
  ``regularization`` (class names), ``log_evidence`` and the evidence's terms
  (``chi_squared``, ``regularization_term``, ``log_det_curvature_reg``,
  ``log_det_regularization``, ``noise_normalization``), as JSON in ``terms``;
- datasets ``vertices`` (S, 2) (y, x) arcsec in the source plane (pixel centres of a
  rectangular mesh, vertices of a Delaunay mesh), ``values`` (S,) the reconstructed surface
  brightness (image units), ``noise_map`` (S,) its 1-sigma errors
  (:attr:`~lenspipe.fit.inversion.Inversion.reconstruction_noise_map`), and ``areas`` (S,)
  each pixel's share of the source plane (arcsec^2).

The arrays are covered by the file's ``reconstruction`` checksum. ``Result.fit`` rebuilds the
same reconstruction from the stored dataset and adapt images; this copy is for pictures and
the database, which should not have to re-solve the inversion.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

__all__ = ["Reconstruction", "reconstruction_from", "write_reconstruction", "read_reconstruction"]

ARRAYS = ("vertices", "values", "noise_map", "areas")
TERMS = ("chi_squared", "regularization_term", "log_det_curvature_reg", "log_det_regularization",
         "noise_normalization")


@dataclasses.dataclass
class Reconstruction:
    """One pixelized source's reconstruction at the maximum-likelihood model.

    Attributes
    ----------
    galaxy, mesh, regularization : str
        The galaxy's name and the mesh's and regularization's class names.
    vertices : ndarray, shape (S, 2)
        Source-plane (y, x) of the pixels, arcsec.
    values, noise_map : ndarray, shape (S,)
        Surface brightness and its 1-sigma error, image units.
    areas : ndarray, shape (S,)
        Each pixel's share of the source plane, arcsec^2.
    log_evidence : float
        The fit's log evidence (CONVENTIONS.md).
    terms : dict
        Its terms (:data:`TERMS`).
    """

    galaxy: str
    mesh: str
    regularization: str
    vertices: np.ndarray
    values: np.ndarray
    noise_map: np.ndarray
    areas: np.ndarray
    log_evidence: float
    terms: dict

    def __post_init__(self):
        for name in ARRAYS:
            setattr(self, name, np.ascontiguousarray(getattr(self, name), dtype="<f8"))

    def checksum(self) -> str:
        """SHA-256 of the arrays and the attributes."""
        digest = hashlib.sha256(json.dumps([self.galaxy, self.mesh, self.regularization,
                                            repr(float(self.log_evidence)),
                                            {k: repr(float(v)) for k, v in sorted(self.terms.items())}]).encode())
        for name in ARRAYS:
            array = getattr(self, name)
            digest.update(f"{name}|{array.shape}|".encode() + array.tobytes())
        return digest.hexdigest()


def reconstruction_from(fit) -> Reconstruction | None:
    """The :class:`Reconstruction` of an (unbatched) FitImaging, or None without a pixelized source.

    The galaxy is named by ``fit.galaxy_names`` (its index without them).
    """
    inversion = fit.inversion
    if inversion is None:
        return None
    names = fit.galaxy_names or [str(i) for i in range(len(fit.tracer.galaxies))]
    galaxy, pixelized = next((name, g) for name, g in zip(names, fit.tracer.galaxies) if g.pixelizations)
    pixelization = next(iter(pixelized.pixelizations.values()))
    terms = {"chi_squared": float(fit.chi_squared), "regularization_term": inversion.regularization_term,
             "log_det_curvature_reg": inversion.log_det_curvature_reg,
             "log_det_regularization": inversion.log_det_regularization,
             "noise_normalization": float(fit.noise_normalization)}
    mapper = inversion.mapper
    return Reconstruction(galaxy=str(galaxy), mesh=type(pixelization.mesh).__name__,
                          regularization=type(pixelization.regularization).__name__,
                          vertices=mapper.vertices, values=inversion.reconstruction,
                          noise_map=inversion.reconstruction_noise_map, areas=mapper.areas,
                          log_evidence=float(fit.log_evidence), terms={k: float(v) for k, v in terms.items()})


def write_reconstruction(f, reconstruction: Reconstruction) -> None:
    """Write the ``reconstruction`` group into an open h5py File."""
    group = f.create_group("reconstruction")
    for key in ("galaxy", "mesh", "regularization"):
        group.attrs[key] = str(getattr(reconstruction, key))
    group.attrs["log_evidence"] = np.float64(reconstruction.log_evidence)
    group.attrs["terms"] = json.dumps(reconstruction.terms, sort_keys=True)
    for name in ARRAYS:
        group.create_dataset(name, data=getattr(reconstruction, name))


def read_reconstruction(f) -> Reconstruction | None:
    """The ``reconstruction`` group of an open h5py File, or None without one."""
    if "reconstruction" not in f:
        return None
    group = f["reconstruction"]

    def text(key):
        value = group.attrs[key]
        return value.decode() if isinstance(value, bytes) else str(value)

    return Reconstruction(galaxy=text("galaxy"), mesh=text("mesh"), regularization=text("regularization"),
                          log_evidence=float(group.attrs["log_evidence"]), terms=json.loads(text("terms")),
                          **{name: np.asarray(group[name][()]) for name in ARRAYS})
