"""Solving the inversion's linear system and the log-determinants of its evidence.

:class:`LinearSystem` factorises ``F + H`` by a dense Cholesky factorisation (LAPACK), with
linear light profiles eliminated through their Schur complement; :func:`factorise` gives
``log det H`` from a sparse factorisation of the regularization matrix.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from ...errors import LenspipeError
from ..linear import nnls_from_normal_equations

__all__ = ["InversionError", "LinearSystem", "factorise"]


class InversionError(LenspipeError, ArithmeticError):
    """A linear system that cannot be solved (not positive definite): the sample is discarded."""


def _symmetric(lower) -> np.ndarray:
    """The symmetric matrix whose lower triangle is ``lower`` (the upper triangle is ignored)."""
    lower = np.tril(lower)
    return lower + np.tril(lower, -1).T


class LinearSystem:
    """The solved system ``[[A, C^T], [C, F + H]] (a, s) = (b, D)`` of linear light profiles and a source.

    ``F + H`` (S x S) is factorised by a dense Cholesky factorisation (LAPACK), which also gives
    ``log det(F + H)``; the L linear light profiles' block, if any, is eliminated through its
    Schur complement ``A - C (F + H)^-1 C^T`` (L x L), so no second S x S factorisation is made.

    Parameters
    ----------
    system_lower : ndarray, shape (S, S)
        The lower triangle of ``F + H`` (kept unfactorised for :meth:`matrix`).
    light, cross : ndarray, shapes (L, L) and (S, L), optional
        ``A = E^T W E`` and ``C = B^T W E`` of the blurred unit-intensity images E.

    Raises
    ------
    InversionError
        ``F + H`` or the Schur complement is not positive definite: the sample is discarded.
    """

    def __init__(self, system_lower, light=None, cross=None):
        self.system_lower = system_lower
        self.factor = _cholesky(system_lower.copy(), "curvature + regularization matrix")
        self.log_det = 2.0 * float(np.sum(np.log(np.diag(self.factor))))
        self.light, self.cross = light, cross
        if light is not None and light.shape[0]:
            self._projected = scipy.linalg.solve_triangular(self.factor, cross, lower=True, check_finite=False)
            self.schur_matrix = light - self._projected.T @ self._projected
            self.schur = _cholesky(self.schur_matrix.copy(), "linear system of the light profiles and the source")

    @property
    def amplitude_count(self) -> int:
        return 0 if self.light is None else self.light.shape[0]

    def solve(self, vector, nonnegative_light=False) -> np.ndarray:
        """(L + S,) or (L + S, m) solution of the whole system (amplitudes first).

        With ``nonnegative_light`` (one right-hand side), the L amplitudes are the non-negative
        solution of the reduced system ``min (a^T K a - 2 a.r)`` over ``a >= 0``, with ``K`` the
        Schur complement and ``r = b - C (F + H)^-1 D``, solved as a parametric fit solves its
        intensities (:func:`~lenspipe.fit.linear.nnls_from_normal_equations`); the source is
        then the exact solution given them. Without it, both are unconstrained.
        """
        count = self.amplitude_count
        upper, lower = vector[:count], vector[count:]
        solve = lambda v: scipy.linalg.cho_solve((self.factor, True), v, check_finite=False)  # noqa: E731
        if not count:
            return solve(lower)
        projected = scipy.linalg.solve_triangular(self.factor, lower, lower=True, check_finite=False)
        reduced = upper - self._projected.T @ projected
        if nonnegative_light:
            amplitudes = nnls_from_normal_equations(self.schur_matrix, reduced)
        else:
            amplitudes = scipy.linalg.cho_solve((self.schur, True), reduced, check_finite=False)
        return np.concatenate([amplitudes, solve(lower - self.cross @ amplitudes)])

    def matrix(self) -> np.ndarray:
        """The whole system as a dense symmetric (L + S, L + S) array."""
        source = _symmetric(self.system_lower)
        if not self.amplitude_count:
            return source
        return np.block([[self.light, self.cross.T], [self.cross, source]])


def _cholesky(matrix, what) -> np.ndarray:
    """The lower Cholesky factor of a symmetric matrix given by its lower triangle (overwritten)."""
    try:
        factor, _ = scipy.linalg.cho_factor(matrix, lower=True, overwrite_a=True, check_finite=False)
    except np.linalg.LinAlgError:
        raise InversionError(f"the {what} is not positive definite; the sample is discarded") from None
    if not np.all(np.isfinite(np.diag(factor))):
        raise InversionError(f"the {what} is not finite; the sample is discarded")
    return factor


def factorise(matrix, what):
    """(SuperLU factor, log det) of a sparse symmetric positive-definite matrix (here H).

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
