"""The amplitudes of linear light profiles: non-negative weighted linear least squares.

A linear light profile (``SersicLinear``, ...; CONVENTIONS.md: "Linear variants have no
``intensity``: it is solved for") contributes ``a_l B_l`` to the model, ``B_l`` its
PSF-blurred image at unit intensity (its *basis*); an MGE contributes one basis per Gaussian.
Given the rest of the model ``m0`` (every non-linear profile, blurred, plus the sky), the
data ``d`` and the inverse variance ``w`` of the fitted pixels, :func:`solve_amplitudes` finds

    a = argmin_{a >= 0} sum_i w_i (d_i - m0_i - sum_l a_l B_li)^2,

vectorised over a batch of models, in steps:

1. normal equations ``F = S S^T`` (..., L, L) and ``b = S (sqrt(w) (d - m0))`` (..., L) with
   ``S = B sqrt(w)``, one matrix product per model (numpy calls BLAS once per model of a
   stack, so a row's bits do not depend on the batch), on one BLAS thread
   (:func:`single_threaded_blas`);
2. Jacobi scaling ``F' = D F D``, ``b' = D b`` with ``D = diag(F)^(-1/2)``: a unit diagonal,
   whatever the profiles' units. A profile with (almost) no light in the mask
   (``F_ll <= 0``, not finite, or below :data:`NEGLIGIBLE` times the largest ``F_mm``)
   gets amplitude 0 (its row and column become the identity's, its ``b'`` 0);
3. per model, the pivoted Cholesky factorisation ``P^T F' P = U^T U`` (LAPACK ``dpstrf``),
   stopped at the first pivot at or below :data:`COLLINEAR`: its rank r leaves out the part
   of a basis that is, to that precision, a combination of the others (duplicated or nested
   Gaussians: no exception, no NaN). With r = L the unconstrained solution, if all >= 0, is
   the answer (the usual case for a few profiles);
4. otherwise ``||U P^T a - c||^2`` with ``U^T c = P^T b'`` equals ``a^T F' a - 2 a.b'`` up
   to a constant, so the non-negative problem is ``scipy.optimize.nnls(U P^T, c)`` on the
   small r x L factor (Lawson & Hanson's active set: about 0.2 ms for L = 60, linear in
   the number of models, where enumerating the 2^L active sets is not).

A model with a NaN in ``F`` or ``b`` gets NaN amplitudes, and so does one where the active
set fails to converge (the likelihood is then discarded, as for any non-finite model).

Accuracy. The normal equations square the bases' condition number, and an MGE's Gaussians
are nearly collinear (eigenvalues of ``F'`` down to 1e-16). Two choices keep the solution
exact: :data:`COLLINEAR` sits just above rounding (``L eps`` ~ 1e-14), and a basis past the
rank keeps its projection on the kept ones (the full r x L factor). The chi-squared then
equals that of ``scipy.optimize.nnls`` on the weighted design matrix (QR, no normal equations)
to 1e-10 relative on P1-MGE and for 60 Gaussians in one MGE (tests/fit/test_linear.py);
dropping those bases outright, or a threshold of 1e-10, lost up to 18 in chi-squared on P1.

Cost, for the 60 bases of P1-MGE (7,860 pixels): about 1 ms for step 1 and 0.2-0.5 ms for
steps 2-4 per model (benchmarks/mge.py).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.linalg import lapack
from scipy.optimize import nnls

from .blas import single_threaded_blas

__all__ = ["solve_amplitudes", "normal_equations_from", "nnls_from_normal_equations", "stacked_bases_from",
           "COLLINEAR", "NEGLIGIBLE"]

#: Pivots of the unit-diagonal normal matrix at or below this end the factorisation (see Accuracy).
COLLINEAR = 1e-13
#: A profile whose ``F_ll`` is below this fraction of the largest ``F_mm`` has no usable light.
NEGLIGIBLE = 1e-24


def stacked_bases_from(bases) -> np.ndarray:
    """The bases as one (..., L, N) array (a list of broadcastable (..., N) arrays, or already stacked)."""
    if isinstance(bases, np.ndarray):
        return bases
    bases = [np.asarray(basis, dtype=np.float64) for basis in bases]
    lead = np.broadcast_shapes(*(basis.shape[:-1] for basis in bases))
    stacked = np.empty(lead + (len(bases), bases[0].shape[-1]))
    for index, basis in enumerate(bases):
        stacked[..., index, :] = basis
    return stacked


def normal_equations_from(model, bases, data, inverse_variance):
    """``F`` (..., L, L) and ``b`` (..., L) of the weighted least-squares problem.

    Parameters
    ----------
    model : ndarray, shape (..., N)
        The fixed part of the model, ``m0``.
    bases : sequence of L ndarrays (..., N), or ndarray (..., L, N)
        The basis images (each broadcastable against ``model``).
    data, inverse_variance : ndarray, shape (N,)
    """
    stacked = stacked_bases_from(bases)
    root = np.sqrt(inverse_variance)
    weighted = stacked * root  # S = B sqrt(w)
    residual = (data - model) * root
    lead = np.broadcast_shapes(weighted.shape[:-2], residual.shape[:-1])
    weighted = np.broadcast_to(weighted, lead + weighted.shape[-2:])
    with single_threaded_blas():
        normal = weighted @ np.swapaxes(weighted, -1, -2)
        vector = (weighted @ np.broadcast_to(residual, lead + residual.shape[-1:])[..., None])[..., 0]
    return normal, vector


def solve_amplitudes(model, bases, data, inverse_variance):
    """Non-negative amplitudes of the basis images and the completed model.

    Parameters
    ----------
    model : ndarray, shape (..., N)
        ``m0``: every non-linear component, blurred, plus the sky.
    bases : sequence of L ndarrays (..., N), or ndarray (..., L, N)
        The blurred unit-intensity images of the L linear bases; each broadcasts over
        the batch (a preloaded basis may be (N,) beside (K, N) ones).
    data, inverse_variance : ndarray, shape (N,)
        Of the fitted pixels.

    Returns
    -------
    amplitudes : ndarray, shape (..., L)
        ``a >= 0`` minimising ``sum w (d - m0 - a.B)^2`` (module docstring).
    model : ndarray, shape (..., N)
        ``m0 + sum_l a_l B_l``.
    """
    stacked = stacked_bases_from(bases)
    normal, vector = normal_equations_from(model, stacked, data, inverse_variance)
    amplitudes = nnls_from_normal_equations(normal, vector)
    lead = np.broadcast_shapes(amplitudes.shape[:-1], stacked.shape[:-2])
    with single_threaded_blas():
        solved = (np.broadcast_to(amplitudes, lead + amplitudes.shape[-1:])[..., None, :]
                  @ np.broadcast_to(stacked, lead + stacked.shape[-2:]))[..., 0, :]
    return amplitudes, model + solved


def nnls_from_normal_equations(normal, vector):
    """``argmin_{a >= 0} (a^T F a - 2 a.b)`` for (..., L, L) ``F`` and (..., L) ``b`` (steps 2-4).

    ``F`` must be symmetric positive semi-definite (a Gram matrix).
    """
    normal = np.asarray(normal, dtype=np.float64)
    vector = np.asarray(vector, dtype=np.float64)
    lead, count = vector.shape[:-1], vector.shape[-1]
    normal = normal.reshape(-1, count, count)
    vector = vector.reshape(-1, count)
    scaled, rhs, scale, finite = _unit_diagonal(normal, vector)
    solution = np.full(vector.shape, np.nan)
    rows = np.flatnonzero(finite)
    if rows.size:
        solution[rows] = _nonnegative_solutions(scaled[rows], rhs[rows])
    return (solution * scale).reshape(lead + (count,))


def _unit_diagonal(normal, vector):
    """Step 2: (scaled F', b', the scale D (R, L), which rows are finite (R,))."""
    count = vector.shape[-1]
    index = np.arange(count)
    diagonal = normal[:, index, index]
    finite_diagonal = np.isfinite(diagonal)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        largest = np.max(np.where(finite_diagonal, diagonal, 0.0), axis=-1, keepdims=True)
        usable = finite_diagonal & (diagonal > 0) & (diagonal > NEGLIGIBLE * largest)
        scale = np.where(usable, 1.0 / np.sqrt(np.where(usable, diagonal, 1.0)), 0.0)
        both = usable[:, :, None] & usable[:, None, :]
        scaled = np.where(both, normal * scale[:, :, None] * scale[:, None, :], 0.0)
        rhs = np.where(usable, vector * scale, 0.0)
    scaled[:, index, index] = 1.0
    finite = np.isfinite(scaled).all(axis=(-2, -1)) & np.isfinite(rhs).all(axis=-1)
    return scaled, rhs, scale, finite


def _nonnegative_solutions(scaled, rhs):
    """Steps 3-4 for (R, L, L) unit-diagonal ``F'`` and (R, L) ``b'``, all finite."""
    solution = np.empty_like(rhs)
    with single_threaded_blas():
        for r, (matrix, b) in enumerate(zip(scaled, rhs)):
            solution[r] = _nonnegative_solution(matrix, b)
    return solution


def _nonnegative_solution(matrix, b):
    """One model: pivoted Cholesky ``P^T F' P = U^T U`` of rank r (U: r x L), then the
    unconstrained solution if r = L and it is >= 0, else ``nnls(U P^T, c)``, ``U_r^T c = (P^T b')_r``."""
    upper, pivots, rank, _ = lapack.dpstrf(matrix, lower=0, tol=COLLINEAR)
    count = b.size
    if rank == 0:
        return np.zeros(count)
    order = pivots - 1
    upper = np.triu(upper[:rank, :])  # the rows of the kept pivots, every column
    c = linalg.solve_triangular(upper[:, :rank], b[order[:rank]], trans="T", check_finite=False)
    if rank == count:
        unconstrained = np.empty(count)
        unconstrained[order] = linalg.solve_triangular(upper, c, check_finite=False)
        if np.all(unconstrained >= 0):
            return unconstrained
    factor = np.empty((rank, count))  # U P^T: a dropped basis keeps its projection on the kept ones
    factor[:, order] = upper
    try:
        return nnls(factor, c, maxiter=100 * count)[0]
    except RuntimeError:  # no convergence (not met in the tests): the model is discarded
        return np.full(count, np.nan)
