"""The linear inversion of a pixelized source: mapping matrix, solve, log evidence.

For one model, in steps (Warren & Dye 2003; Suyu et al. 2006; PyAutoArray's conventions):

1. the pixelization's own sub-grid of the fitted pixels (``sub_size x sub_size`` midpoint
   points per pixel) is traced to the source galaxy's plane, and the mesh is laid over it
   (:mod:`.mesh`): each point interpolates between a few source pixels;
2. the mapping matrix ``M`` (N x S, sparse): image pixel i's mean over its points of each
   source pixel's interpolation weight;
3. the blurred mapping matrix ``B = P M`` with ``P`` the PSF as an N x N sparse matrix over
   the fitted pixels (built once per dataset; light from outside the mask is not blurred
   in, as in PyAutoArray's inversions);
4. ``F = B^T W B`` and ``D = B^T W d`` with ``W = 1/sigma^2`` and ``d`` the data minus the
   rest of the model; the regularization ``H`` (:mod:`.regularization`);
5. solve ``(F + H) s = D``: ``F`` and ``H`` are sparse (a source pixel couples only to the
   pixels its blurred image overlaps), so by a sparse LU factorisation with a symmetric
   fill-reducing ordering and diagonal pivots (SuperLU), which for these symmetric
   positive-definite matrices is a Cholesky factorisation up to the diagonal scaling; a
   non-positive pivot means the matrix is not positive definite and the sample is discarded.
   ``positive_only`` solves non-negative least squares on a dense Cholesky factor instead;
6. the log evidence ``-0.5 [chi2 + s^T H s + log det(F + H) - log det H + sum log(2 pi sigma^2)]``
   (CONVENTIONS.md), the log-determinants as the sums of the logs of the factors' pivots.

The PSF matrix leaves out kernel values below :data:`PSF_TRUNCATION` of the kernel's peak
(a Gaussian's far wings): their contribution to any pixel is below that fraction of the
brightest contribution, far below the 1e-6 to which the log evidence is compared with
PyAutoLens; a real PSF's wings above it are all kept.

Where the time goes on P3 is printed by ``benchmarks/inversion.py``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from ...errors import ConfigError, LenspipeError
from .regularization import pixel_signals_from

__all__ = ["Pixelization", "Inversion", "InversionError", "InversionPositionsError", "inversion_from", "psf_matrix_from",
           "pixelization_grid_from"]


#: PSF values below this fraction of the kernel's peak are left out of the PSF matrix.
PSF_TRUNCATION = 1e-12


class InversionError(LenspipeError, ArithmeticError):
    """A linear system that cannot be solved (not positive definite): the sample is discarded."""


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


def pixelization_grid_from(dataset, sub_size: int):
    """(N s^2, 2) midpoint points of the fitted pixels (pixel by pixel) and each point's pixel index.

    Cached on the dataset per ``sub_size``.
    """
    from ..oversampling import pixel_rule

    cache = dataset.__dict__.setdefault("_pixelization_grids", {})
    if sub_size not in cache:
        offsets, _ = pixel_rule(sub_size, 1, dataset.pixel_scale)
        centres = dataset.masked_grid
        grid = (centres[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
        cache[sub_size] = (np.ascontiguousarray(grid), np.repeat(np.arange(len(centres)), len(offsets)))
    return cache[sub_size]


def psf_matrix_from(dataset) -> scipy.sparse.csr_matrix:
    """The PSF as an (N, N) sparse matrix over the fitted pixels: ``(P x)_i = sum_j psf(i - j) x_j``.

    Kernel values below :data:`PSF_TRUNCATION` of the peak are left out. Cached on the dataset.
    """
    if "_psf_matrix" not in dataset.__dict__:
        mask = dataset.mask.array
        psf = dataset.imaging.psf
        h_y, h_x = psf.shape[0] // 2, psf.shape[1] // 2
        index = np.full(mask.shape, -1)
        rows, columns = np.nonzero(~mask)
        index[rows, columns] = np.arange(len(rows))
        padded = np.full((mask.shape[0] + 2 * h_y, mask.shape[1] + 2 * h_x), -1)
        padded[h_y:h_y + mask.shape[0], h_x:h_x + mask.shape[1]] = index
        out_rows, out_columns, values = [], [], []
        for dy in range(-h_y, h_y + 1):
            for dx in range(-h_x, h_x + 1):
                value = psf[h_y + dy, h_x + dx]
                if abs(value) < PSF_TRUNCATION * np.abs(psf).max():
                    continue
                target = padded[rows + dy + h_y, columns + dx + h_x]  # pixel i = j + (dy, dx)
                keep = target >= 0
                out_rows.append(target[keep])
                out_columns.append(np.flatnonzero(keep))
                values.append(np.full(int(keep.sum()), value))
        n = len(rows)
        matrix = scipy.sparse.csr_matrix((np.concatenate(values), (np.concatenate(out_rows),
                                                                   np.concatenate(out_columns))), shape=(n, n))
        dataset.__dict__["_psf_matrix"] = matrix
    return dataset.__dict__["_psf_matrix"]


@dataclasses.dataclass
class Inversion:
    """One model's solved pixelized source and the terms of its log evidence.

    Attributes
    ----------
    mapper : Mapper
    mapping_matrix : scipy.sparse.csr_matrix, shape (N, S)
        M: each fitted pixel's mean interpolation weight of each source pixel (unblurred).
    blurred_mapping_matrix : scipy.sparse.csr_matrix, shape (N, S)
    curvature_matrix, regularization_matrix : scipy.sparse matrix, shape (S, S)
        F and H.
    data_vector : ndarray, shape (S,)
    reconstruction : ndarray, shape (S,)
        The source pixel values s (image units).
    mapped_image : ndarray, shape (N,)
        ``B s``: the blurred image of the reconstruction on the fitted pixels.
    amplitudes : ndarray, shape (L,)
        The linear light profiles' intensities solved with the source (empty without any).
    linear_image : ndarray or float
        Their blurred image on the fitted pixels (0.0 without any).
    regularization_term : float
        ``s^T H s``.
    log_det_curvature_reg, log_det_regularization : float
        ``log det(F + H)`` and ``log det H``.
    """

    mapper: object
    mapping_matrix: object
    blurred_mapping_matrix: object
    curvature_matrix: object
    regularization_matrix: object
    data_vector: np.ndarray
    reconstruction: np.ndarray
    mapped_image: np.ndarray
    regularization_term: float
    log_det_curvature_reg: float
    log_det_regularization: float
    _factor: object = None
    amplitudes: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    linear_image: object = 0.0

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
        inverse = self._factor.solve(np.eye(total))
        return np.sqrt(np.diag(inverse))[len(self.amplitudes):]


def factorise(matrix, what):
    """(SuperLU factor, log det) of a sparse symmetric positive-definite matrix.

    A symmetric fill-reducing ordering with diagonal pivots keeps the factorisation symmetric,
    so every pivot of a positive-definite matrix is positive and the log determinant is the sum
    of their logs.

    Raises
    ------
    InversionError
        A pivot that is not positive (the matrix is not positive definite): the sample is discarded.
    """
    try:
        factor = scipy.sparse.linalg.splu(scipy.sparse.csc_matrix(matrix), permc_spec="MMD_AT_PLUS_A",
                                          diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    except RuntimeError:  # exactly singular
        raise InversionError(f"the {what} is singular; the sample is discarded") from None
    pivots = factor.U.diagonal()
    if not np.all(pivots > 0):
        raise InversionError(f"the {what} is not positive definite; the sample is discarded")
    return factor, float(np.sum(np.log(pivots)))


def inversion_from(dataset, pixelization, traced, residual_data, sub_size, trace=None, adapt_values=None,
                   positive_only=False, timer=None, extra=None) -> Inversion:
    """Solve one model's pixelized source (module docstring, steps 1-6).

    Parameters
    ----------
    dataset : MaskedImaging
    pixelization : Pixelization
    traced : ndarray, shape (N s^2, 2)
        The pixelization grid (:func:`pixelization_grid_from` with ``sub_size`` s) traced to the
        source plane.
    residual_data : ndarray, shape (N,)
        The data minus the rest of the model (image units).
    sub_size : int
        Points per pixel side of the pixelization grid.
    trace : callable, optional
        Image-plane points -> source-plane points (a Delaunay mesh traces its overlay).
    adapt_values : ndarray, shape (N,), optional
        The adapt image of the source on the fitted pixels (Adapt regularization).
    positive_only : bool
        Solve for non-negative pixel values (slower); default unconstrained.
    extra : ndarray, shape (N, L), optional
        Blurred unit-intensity images of linear light profiles, solved with the source in one
        system ``[[E^T W E, E^T W B], [B^T W E, F + H]] (a, s) = (E^T W d, D)``; the log
        determinants stay those of the source's block, ``F + H`` and ``H`` (PyAutoArray's
        "reduced" matrices).
    timer : StepTimer, optional
        Marks ``inversion_mapper``, ``inversion_blurred_mapping``, ``inversion_curvature``,
        ``inversion_regularization`` and ``inversion_solve``.
    """
    mark = (lambda step: None) if timer is None else timer.mark
    _, pixel_index = pixelization_grid_from(dataset, sub_size)
    sub_points = sub_size * sub_size
    mapper = pixelization.mesh.mapper_from(traced, dataset.masked_grid, trace)
    mark("inversion_mapper")
    valid = mapper.valid_entries()
    rows = np.broadcast_to(pixel_index[:, None], valid.shape)[valid]
    mapping = scipy.sparse.csr_matrix((mapper.weights[valid] / sub_points, (rows, mapper.indices[valid])),
                                      shape=(dataset.pixels, mapper.pixels))
    blurred = (psf_matrix_from(dataset) @ mapping).tocsr()
    mark("inversion_blurred_mapping")
    weighted = blurred.copy()  # W B: each row scaled in place (``multiply`` builds a COO copy, ~20x slower)
    weighted.data *= np.repeat(dataset.inverse_variance, np.diff(blurred.indptr))
    curvature = (blurred.T @ weighted).tocsc()
    data_vector = weighted.T @ residual_data
    mark("inversion_curvature")
    regularization = pixelization.regularization
    signals = None
    if getattr(regularization, "needs_signal", False):
        if adapt_values is None:
            raise ValueError("Adapt regularization needs an adapt image of the source (adapt_images=...)")
        signals = pixel_signals_from(mapper, np.asarray(adapt_values)[pixel_index], regularization.signal_scale)
    h = regularization.matrix_from(mapper, signals)
    mark("inversion_regularization")
    factor, log_det_fh = factorise(curvature + h, "curvature + regularization matrix")
    _, log_det_h = factorise(h, "regularization matrix")
    system, vector = curvature + h, data_vector
    if extra is not None and extra.shape[1]:
        weighted_extra = extra * dataset.inverse_variance[:, None]
        cross = scipy.sparse.csr_matrix(np.asarray((blurred.T @ weighted_extra).T))  # (L, S)
        system = scipy.sparse.bmat([[scipy.sparse.csr_matrix(extra.T @ weighted_extra), cross],
                                    [cross.T, curvature + h]]).tocsc()
        vector = np.concatenate([weighted_extra.T @ residual_data, data_vector])
        factor, _ = factorise(system, "linear system of the light profiles and the source")
    if positive_only:  # min |L^T x - L^-1 b|^2 over x >= 0, with the system = L L^T
        from scipy.optimize import nnls

        lower = np.linalg.cholesky(system.toarray())
        target = scipy.linalg.solve_triangular(lower, vector, lower=True, check_finite=False)
        solution = nnls(lower.T, target, maxiter=50 * len(vector))[0]
    else:
        solution = factor.solve(vector)
    count = 0 if extra is None else extra.shape[1]
    amplitudes, reconstruction = solution[:count], solution[count:]
    linear_image = extra @ amplitudes if count else 0.0
    mapped = blurred @ reconstruction
    mark("inversion_solve")
    return Inversion(mapper, mapping, blurred, curvature, h, data_vector, reconstruction, mapped,
                     float(reconstruction @ (h @ reconstruction)), log_det_fh, log_det_h, factor, amplitudes, linear_image)
