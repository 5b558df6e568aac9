"""The PSF over the fitted pixels and the curvature matrix ``F = (P M)^T W (P M)``.

:func:`psf_matrix_from` is the PSF as an (N, N) sparse matrix over the fitted pixels (built
once per dataset); :func:`curvature_lower_from` sums ``F`` (and ``B^T W X`` for image-plane
columns) tile by tile with the compiled kernel of :mod:`.kernels`.

The PSF matrix leaves out kernel values below :data:`PSF_TRUNCATION` of the kernel's peak
(a Gaussian's far wings): their contribution to any pixel is below that fraction of the
brightest contribution, far below the 1e-6 to which the log evidence is compared with
PyAutoLens; a real PSF's wings above it are all kept.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse

from ..blas import single_threaded_blas
from .kernels import curvature_lower

__all__ = ["PSF_TRUNCATION", "psf_matrix_from", "curvature_lower_from", "TILE"]

#: PSF values below this fraction of the kernel's peak are left out of the PSF matrix.
PSF_TRUNCATION = 1e-12


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


#: Side of the square tiles of fitted pixels the curvature kernel works on (6: fastest of 3, 4, 6
#: and 8 on P1 and P3, ``benchmarks/inversion.py``).
TILE = 6


def _curvature_preloads(dataset) -> tuple:
    """The dataset's part of the curvature kernel's arguments; cached on the dataset.

    The PSF matrix's CSR arrays with each entry's column as its position in its row's tile's
    halo, the inverse variance, the fitted pixels ordered tile by tile (``order``,
    ``tile_indptr``) for :data:`TILE` x :data:`TILE` tiles, and each tile's halo, the fitted
    pixels its rows of P reach (``halo_indptr``, ``halo``).
    """
    if "_curvature_preloads" not in dataset.__dict__:
        matrix = psf_matrix_from(dataset)
        rows, columns = np.nonzero(~dataset.mask.array)
        key = (rows // TILE) * (dataset.mask.array.shape[1] // TILE + 1) + columns // TILE
        order = np.argsort(key, kind="stable")
        tile_keys, starts = np.unique(key[order], return_index=True)
        tile_of_pixel = np.searchsorted(tile_keys, key)
        pixels = len(rows)
        entry_tile = np.repeat(tile_of_pixel, np.diff(matrix.indptr))
        pairs, position = np.unique(entry_tile * pixels + matrix.indices, return_inverse=True)
        halo_indptr = np.searchsorted(pairs // pixels, np.arange(len(tile_keys) + 1))
        dataset.__dict__["_curvature_preloads"] = (
            matrix.indptr.astype(np.int64), (position - halo_indptr[entry_tile]).astype(np.int64),
            np.ascontiguousarray(matrix.data, dtype=float), np.ascontiguousarray(dataset.inverse_variance, dtype=float),
            order.astype(np.int64), np.append(starts, len(order)).astype(np.int64),
            halo_indptr.astype(np.int64), (pairs % pixels).astype(np.int64))
    return dataset.__dict__["_curvature_preloads"]


def curvature_lower_from(dataset, mapping, source_pixels, columns=None) -> tuple:
    """The lower triangle of ``F = (P M)^T W (P M)`` as a dense (S, S) array (a new array), and
    ``(P M)^T W X`` for image-plane columns ``X``, summed from the same tiles.

    On the calling thread, tile after tile in one order: the matrix (and every log evidence)
    does not depend on the threads a fit is given. Splitting the tiles over threads would make
    the sum's rounding depend on their number, and summing a fixed split on one thread cost
    11-15 ms more per call on P3 (an (S, S) zero-fill and addition); a batch's parallelism is
    the evaluator's, one model per thread.

    Parameters
    ----------
    dataset : MaskedImaging
    mapping : tuple of ndarray
        M's CSR arrays (:func:`~.kernels.mapping_matrix_csr`).
    source_pixels : int
        S.
    columns : ndarray, shape (N, R), optional
        X: the residual data (for the data vector ``D``) and the linear light profiles'
        blurred bases (for ``C``), image units. Summed here rather than as ``M^T P^T (W X)``,
        a pass of the sparse PSF over every column (8 ms a call for 21 columns on J0029-0055).

    Returns
    -------
    (ndarray, ndarray)
        ``F``'s lower triangle (S, S) and ``(P M)^T W X`` (S, R).
    """
    preloads = _curvature_preloads(dataset)
    columns = np.zeros((dataset.pixels, 0)) if columns is None else np.ascontiguousarray(columns, dtype=float)
    total = np.zeros((source_pixels, source_pixels))
    projected = np.zeros((source_pixels, columns.shape[1]))
    with single_threaded_blas():  # each tile's product is small: one BLAS thread
        curvature_lower(*mapping, *preloads, columns, total, projected)
    return total, projected
