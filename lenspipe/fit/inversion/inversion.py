"""The linear inversion of a pixelized source: mapping matrix, solve, log evidence.

For one model, in steps (Warren & Dye 2003; Suyu et al. 2006; PyAutoArray's conventions):

1. the pixelization's own sub-grid of the fitted pixels (``s x s`` midpoint points per
   pixel, s uniform or, with an adapt image, larger where the source is bright:
   :func:`adaptive_sub_sizes`) is traced to the source galaxy's plane, and the mesh is laid over it
   (:mod:`.mesh`): each point interpolates between a few source pixels;
2. the mapping matrix ``M`` (N x S, sparse): image pixel i's mean over its points of each
   source pixel's interpolation weight;
3. the blurred mapping matrix ``B = P M`` with ``P`` the PSF as an N x N sparse matrix over
   the fitted pixels (built once per dataset; light from outside the mask is not blurred
   in, as in PyAutoArray's inversions);
4. ``F = B^T W B`` (dense, S x S) and ``D = B^T W d = M^T P^T W d`` with ``W = 1/sigma^2``
   and ``d`` the data minus the rest of the model; the regularization ``H``
   (:mod:`.regularization`). ``F``, ``D`` and linear light profiles' ``C = B^T W E`` are summed
   tile by tile of fitted pixels by a compiled kernel (:mod:`.kernels`, :mod:`.curvature`)
   that never stores ``B``;
5. solve ``(F + H) s = D`` by a dense Cholesky factorisation (LAPACK; linear light profiles
   solved in the same system are eliminated through their Schur complement,
   :class:`LinearSystem`, and kept non-negative as in a parametric fit); a matrix that is not
   positive definite discards the sample. ``positive_only`` solves non-negative least squares
   on the Cholesky factor instead, source pixels included;
6. the log evidence ``-0.5 [chi2 + s^T H s + log det(F + H) - log det H + sum log(2 pi sigma^2)]``
   (CONVENTIONS.md): ``log det(F + H)`` from the Cholesky factor's diagonal, ``log det H``
   from a sparse factorisation of H (SuperLU with a symmetric ordering and diagonal pivots).

Why dense from step 4: on P3 (15,380 pixels, 39 x 39 source) ``F`` has 134 non-zeros a row,
but its sparse assembly by scipy took 71 ms where the kernel adds into a dense array, and a
dense Cholesky of the 1,521 x 1,521 ``F + H`` (LAPACK: 27-35 ms on 2 BLAS threads, 41-50 ms on
the one it is given inside the likelihood) costs about what SuperLU's sparse LU of it did
(46 ms).

The PSF matrix and ``F`` are in :mod:`.curvature`, the solve and log-determinants in
:mod:`.solve`.

Where the time goes on P3 is printed by ``benchmarks/inversion.py``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import typing

import numpy as np
import scipy.linalg
import scipy.sparse

from ...errors import ConfigError
from .curvature import PSF_TRUNCATION, curvature_lower_from, psf_matrix_from
from .kernels import mapping_matrix_csr
from .regularization import pixel_signals_from
from .solve import InversionError, LinearSystem, _symmetric, factorise

__all__ = ["Pixelization", "Inversion", "InversionError", "InversionPositionsError", "LinearSystem", "inversion_from",
           "psf_matrix_from", "pixelization_grid_from", "PixelizationGrid", "adaptive_sub_sizes", "curvature_lower_from",
           "PSF_TRUNCATION", "factorise"]


class InversionPositionsError(ConfigError):
    """A pixelized source fitted without a positions likelihood (see ``AnalysisImaging.check_model``)."""


@dataclasses.dataclass(frozen=True)
class Pixelization:
    """A pixelized source: a mesh and its regularization, a component of a galaxy.

    Parameters
    ----------
    mesh : Rectangular or Delaunay
    regularization : Constant or Adapt
    """

    mesh: object = None
    regularization: object = None

    #: Marks the component for Galaxy and the fit.
    is_pixelization = True


class PixelizationGrid(typing.NamedTuple):
    """The points a pixelized source is sampled at: each fitted pixel's own s x s midpoint grid.

    Attributes
    ----------
    points : ndarray, shape (M, 2)
        Image-plane (y, x) arcsec, pixel by pixel.
    pixel_index : ndarray of int64, shape (M,)
        Each point's fitted pixel.
    indptr : ndarray of int64, shape (N + 1,)
        Pixel i's points are ``points[indptr[i]:indptr[i + 1]]``.
    sub_sizes : ndarray of int64, shape (N,)
        Each pixel's s.
    """

    points: np.ndarray
    pixel_index: np.ndarray
    indptr: np.ndarray
    sub_sizes: np.ndarray


def pixelization_grid_from(dataset, sub_size) -> PixelizationGrid:
    """The :class:`PixelizationGrid` of ``sub_size`` (an int, or (N,) ints: one per fitted pixel).

    Cached on the dataset per sub-size map (a few, at most 8 kept).
    """
    from ..oversampling import pixel_rule

    sub_sizes = np.ascontiguousarray(np.broadcast_to(np.asarray(sub_size, dtype=np.int64), (dataset.pixels,)))
    key = hashlib.sha1(sub_sizes.tobytes()).hexdigest()
    cache = dataset.__dict__.setdefault("_pixelization_grids", {})
    if key not in cache:
        if len(cache) >= 8:
            cache.clear()
        counts = sub_sizes**2
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        points = np.empty((int(indptr[-1]), 2))
        centres = dataset.masked_grid
        for size in np.unique(sub_sizes):
            offsets, _ = pixel_rule(int(size), 1, dataset.pixel_scale)
            pixels = np.flatnonzero(sub_sizes == size)
            rows = indptr[pixels][:, None] + np.arange(len(offsets))[None, :]
            points[rows] = centres[pixels][:, None, :] + offsets[None, :, :]
        cache[key] = PixelizationGrid(points, np.repeat(np.arange(dataset.pixels), counts).astype(np.int64), indptr,
                                      sub_sizes)
    return cache[key]


def adaptive_sub_sizes(adapt_image, noise_map, lower, upper, signal_to_noise_cut):
    """(N,) pixelization sub-sizes: ``upper`` where the adapt image's S/N exceeds the cut, else ``lower``.

    PyAutoArray's ``over_sample_size_via_adapt_from``: S/N is the adapt image (the source's
    model image from an earlier fit) over the noise map; when the largest S/N is below twice
    the cut, the cut becomes half the largest S/N.
    """
    signal_to_noise = np.asarray(adapt_image, dtype=float) / np.asarray(noise_map, dtype=float)
    peak = float(np.max(signal_to_noise)) if signal_to_noise.size else 0.0
    cut = peak / 2.0 if peak < 2.0 * signal_to_noise_cut else signal_to_noise_cut
    return np.where(signal_to_noise > cut, upper, lower).astype(np.int64)


@dataclasses.dataclass
class Inversion:
    """One model's solved pixelized source and the terms of its log evidence.

    Attributes
    ----------
    mapper : Mapper
    mapping_matrix : scipy.sparse.csr_matrix, shape (N, S)
        M: each fitted pixel's mean interpolation weight of each source pixel (unblurred).
    psf_matrix : scipy.sparse.csr_matrix, shape (N, N)
        P over the fitted pixels.
    system : LinearSystem
        The factorised ``F + H`` (and the linear light profiles' block).
    regularization_matrix : scipy.sparse matrix, shape (S, S)
        H.
    data_vector : ndarray, shape (S,)
    reconstruction : ndarray, shape (S,)
        The source pixel values s (image units).
    mapped_image : ndarray, shape (N,)
        ``B s``: the blurred image of the reconstruction on the fitted pixels.
    regularization_term : float
        ``s^T H s``.
    log_det_curvature_reg, log_det_regularization : float
        ``log det(F + H)`` and ``log det H``.
    amplitudes : ndarray, shape (L,)
        The linear light profiles' intensities solved with the source (empty without any).
    linear_image : ndarray or float
        Their blurred image on the fitted pixels (0.0 without any).
    """

    mapper: object
    mapping_matrix: object
    psf_matrix: object
    system: LinearSystem
    regularization_matrix: object
    data_vector: np.ndarray
    reconstruction: np.ndarray
    mapped_image: np.ndarray
    regularization_term: float
    log_det_curvature_reg: float
    log_det_regularization: float
    amplitudes: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    linear_image: object = 0.0

    @property
    def blurred_mapping_matrix(self) -> scipy.sparse.csr_matrix:
        """(N, S) sparse ``B = P M`` (formed on demand; the likelihood never needs it)."""
        return (self.psf_matrix @ self.mapping_matrix).tocsr()

    @property
    def curvature_matrix(self) -> np.ndarray:
        """(S, S) dense ``F = B^T W B``."""
        return _symmetric(self.system.system_lower) - self.regularization_matrix.toarray()

    @property
    def lensed_flux(self) -> float:
        """The reconstruction's unblurred lensed light summed over the fitted pixels (image units x pixels)."""
        return float(np.sum(self.mapping_matrix @ self.reconstruction))

    def source_flux(self, pixel_scale) -> float:
        """The reconstruction's integral over the source plane, in the same units as
        :attr:`lensed_flux` (``sum(values x areas) / pixel_scale^2``)."""
        return float(np.sum(self.reconstruction * self.mapper.areas)) / float(pixel_scale) ** 2

    @property
    def evidence_terms(self) -> float:
        """``s^T H s + log det(F + H) - log det H``: what the log evidence adds to chi-squared."""
        return self.regularization_term + self.log_det_curvature_reg - self.log_det_regularization

    @property
    def reconstruction_noise_map(self) -> np.ndarray:
        """(S,) 1-sigma errors of the source pixels: ``sqrt(diag((F + H)^-1))`` (image units).

        From the inverse of the whole system (linear light profiles included), so a pixel that a
        positive-only solve set to zero still has its honest error.
        """
        total = len(self.amplitudes) + len(self.reconstruction)
        inverse = self.system.solve(np.eye(total))
        return np.sqrt(np.diag(inverse))[len(self.amplitudes):]


def inversion_from(dataset, pixelization, traced, residual_data, grid, trace=None, adapt_values=None,
                   positive_only=False, timer=None, extra=None, reference=None) -> Inversion:
    """Solve one model's pixelized source (module docstring, steps 1-6).

    Parameters
    ----------
    dataset : MaskedImaging
    pixelization : Pixelization
    traced : ndarray, shape (M, 2)
        ``grid.points`` traced to the source plane.
    residual_data : ndarray, shape (N,)
        The data minus the rest of the model (image units).
    grid : PixelizationGrid
        The pixelization's points (:func:`pixelization_grid_from`).
    trace : callable, optional
        Image-plane points -> source-plane points (a Delaunay mesh traces its overlay).
    adapt_values : ndarray, shape (N,), optional
        The adapt image of the source on the fitted pixels (Adapt regularization).
    positive_only : bool
        Solve for non-negative pixel values (slower); default unconstrained.
    extra : ndarray, shape (N, L), optional
        Blurred unit-intensity images of linear light profiles, solved with the source in one
        system ``[[E^T W E, E^T W B], [B^T W E, F + H]] (a, s) = (E^T W d, D)`` with ``a >= 0``
        (free-signed, 20 MGE Gaussians of a lens light re-solved with the source ran to
        intensities of -217 and +471 on J0029-0055 and pulled the mass 0.25" off); the log
        determinants stay those of the source's block, ``F + H`` and ``H`` (PyAutoArray's
        "reduced" matrices).
    timer : StepTimer, optional
        Marks ``inversion_mapper``, ``inversion_curvature``, ``inversion_regularization`` and
        ``inversion_solve``.
    reference : Mapper, optional
        A held mesh (:mod:`.held`): its vertices or extent are kept, and the Adapt pixel
        signals come from its entries, not this model's.
    """
    mark = (lambda step: None) if timer is None else timer.mark
    mapper = pixelization.mesh.mapper_from(traced, dataset.masked_grid, trace, reference=reference)
    sizes = (np.full(len(mapper.indices), mapper.indices.shape[1], dtype=np.int64) if mapper.sizes is None
             else mapper.sizes.astype(np.int64))
    csr = mapping_matrix_csr(np.ascontiguousarray(mapper.indices, dtype=np.int64),
                             np.ascontiguousarray(mapper.weights, dtype=float), sizes, grid.indptr,
                             mapper.pixels)
    mapping = scipy.sparse.csr_matrix((csr[2], csr[1], csr[0]), shape=(dataset.pixels, mapper.pixels))
    mark("inversion_mapper")
    has_light = extra is not None and extra.shape[1] > 0
    columns = np.column_stack([residual_data, extra]) if has_light else residual_data[:, None]
    system_lower, projected = curvature_lower_from(dataset, csr, mapper.pixels, columns)
    data_vector = projected[:, 0]  # D = B^T W d
    psf = psf_matrix_from(dataset)
    mark("inversion_curvature")
    regularization = pixelization.regularization
    signals = None
    if getattr(regularization, "needs_signal", False):
        if adapt_values is None:
            raise ValueError("Adapt regularization needs an adapt image of the source (adapt_images=...)")
        signals = pixel_signals_from(mapper if reference is None else reference,
                                     np.asarray(adapt_values)[grid.pixel_index], regularization.signal_scale)
    h = regularization.matrix_from(mapper, signals)
    mark("inversion_regularization")
    lower_h = scipy.sparse.tril(h).tocoo()
    system_lower[lower_h.row, lower_h.col] += lower_h.data
    light = cross = None
    vector = data_vector
    if has_light:
        weighted_extra = extra * dataset.inverse_variance[:, None]
        light = extra.T @ weighted_extra
        cross = projected[:, 1:]  # (S, L) = B^T W E
        vector = np.concatenate([weighted_extra.T @ residual_data, data_vector])
    system = LinearSystem(system_lower, light, cross)
    _, log_det_h = factorise(h, "regularization matrix")
    if positive_only:  # min |L^T x - L^-1 b|^2 over x >= 0, with the system = L L^T
        from scipy.optimize import nnls

        lower = np.linalg.cholesky(system.matrix())
        target = scipy.linalg.solve_triangular(lower, vector, lower=True, check_finite=False)
        solution = nnls(lower.T, target, maxiter=50 * len(vector))[0]
    else:  # linear light profiles non-negative, as in a parametric fit; the source pixels free
        solution = system.solve(vector, nonnegative_light=True)
    count = system.amplitude_count
    amplitudes, reconstruction = solution[:count], solution[count:]
    linear_image = extra @ amplitudes if count else 0.0
    mapped = psf @ (mapping @ reconstruction)
    mark("inversion_solve")
    return Inversion(mapper, mapping, psf, system, h, data_vector, reconstruction, mapped,
                     float(reconstruction @ (h @ reconstruction)), system.log_det, log_det_h, amplitudes, linear_image)
