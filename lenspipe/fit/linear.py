"""The amplitudes of linear light profiles: non-negative weighted linear least squares.

A linear light profile (``SersicLinear``, ...; CONVENTIONS.md: "Linear variants have no
``intensity``: it is solved for") contributes ``a_l B_l`` to the model, ``B_l`` its
PSF-blurred image at unit intensity (its *basis*). Given the rest of the model ``m0``
(every non-linear profile, blurred, plus the sky), the data ``d`` and the inverse
variance ``w`` of the fitted pixels, :func:`solve_amplitudes` finds

    a = argmin_{a >= 0} sum_i w_i (d_i - m0_i - sum_l a_l B_li)^2,

vectorised over a batch of models, in steps:

1. normal equations ``F = B W B^T`` (..., L, L) and ``b = B W (d - m0)`` (..., L), by
   ``einsum`` (no threaded BLAS: a row's bits do not depend on the batch);
2. Jacobi scaling ``F' = D F D``, ``b' = D b`` with ``D = diag(F)^(-1/2)``: a unit diagonal,
   whatever the profiles' units. A profile with (almost) no light in the mask
   (``F_ll <= 0``, not finite, or below :data:`NEGLIGIBLE` times the largest ``F_mm``)
   gets amplitude 0;
3. the unconstrained solution by Cholesky elimination written out over the L axis
   (L is small); a pivot below :data:`COLLINEAR` (the profile is, to that precision, a
   combination of the ones before it) drops that profile (amplitude 0): no exception,
   no NaN, for any batch member;
4. the models with a negative amplitude: every subset of the profiles (2^L of them,
   all at once) is solved unconstrained on its own, and the feasible one (all
   amplitudes >= 0; the empty set always is) with the least chi-squared, i.e. the least
   ``-2 a.b + a^T F a``, is kept. That is the exact non-negative least-squares solution
   (the minimiser of a convex quadratic over the orthant is the unconstrained minimiser on
   the face it lies on), checked against ``scipy.optimize.nnls`` in the tests.

The cost is a few einsums over the fitted pixels and a few dozen array operations on
(..., L, L) arrays: negligible beside the profiles' evaluation.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["solve_amplitudes", "normal_equations_from", "nnls_from_normal_equations", "COLLINEAR", "NEGLIGIBLE"]

#: Pivots of the unit-diagonal normal matrix below this drop a profile (collinear with others).
COLLINEAR = 1e-10
#: A profile whose ``F_ll`` is below this fraction of the largest ``F_mm`` has no usable light.
NEGLIGIBLE = 1e-24


def _dot(a, b):
    """``sum_i a_i b_i`` over the last axis (einsum: no BLAS, the same bits per row whatever the batch)."""
    return np.einsum("...i,...i->...", a, b)


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
    bases = _as_list(bases)
    residual = data - model
    count = len(bases)
    weighted = [basis * inverse_variance for basis in bases]
    products = {}
    for l in range(count):
        for m in range(l, count):
            products[l, m] = _dot(weighted[l], bases[m])
    rhs = [_dot(w_basis, residual) for w_basis in weighted]
    lead = np.broadcast_shapes(*(np.shape(v) for v in products.values()), *(np.shape(v) for v in rhs))
    normal = np.empty(lead + (count, count))
    for (l, m), value in products.items():
        normal[..., l, m] = value
        normal[..., m, l] = value
    vector = np.empty(lead + (count,))
    for l, value in enumerate(rhs):
        vector[..., l] = value
    return normal, vector


def solve_amplitudes(model, bases, data, inverse_variance):
    """Non-negative amplitudes of the basis images and the completed model.

    Parameters
    ----------
    model : ndarray, shape (..., N)
        ``m0``: every non-linear component, blurred, plus the sky.
    bases : sequence of L ndarrays (..., N), or ndarray (..., L, N)
        The blurred unit-intensity images of the L linear profiles; each broadcasts over
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
    bases = _as_list(bases)
    normal, vector = normal_equations_from(model, bases, data, inverse_variance)
    amplitudes = nnls_from_normal_equations(normal, vector)
    total = model
    for l, basis in enumerate(bases):
        total = total + amplitudes[..., l, None] * basis
    return amplitudes, total


def nnls_from_normal_equations(normal, vector):
    """``argmin_{a >= 0} (a^T F a - 2 a.b)`` for (..., L, L) ``F`` and (..., L) ``b`` (steps 2-4).

    ``F`` must be symmetric positive semi-definite (a Gram matrix). A row with a NaN in
    ``b`` keeps it (the likelihood is then discarded, as for any non-finite model).
    """
    normal = np.asarray(normal, dtype=np.float64)
    vector = np.asarray(vector, dtype=np.float64)
    lead, count = vector.shape[:-1], vector.shape[-1]
    normal = normal.reshape(-1, count, count)
    vector = vector.reshape(-1, count)
    index = np.arange(count)
    diagonal = normal[:, index, index]
    finite = np.isfinite(diagonal)
    with np.errstate(invalid="ignore", divide="ignore"):
        largest = np.max(np.where(finite, diagonal, 0.0), axis=-1, keepdims=True)
        usable = finite & (diagonal > 0) & (diagonal > NEGLIGIBLE * largest)
        scale = np.where(usable, 1.0 / np.sqrt(diagonal), 0.0)
    scaled = normal * scale[:, :, None] * scale[:, None, :]
    rhs = vector * scale
    all_usable = bool(usable.all())
    solution = _solve_unit_spd(scaled, rhs, None if all_usable else usable)
    negative = np.any(solution < 0, axis=-1)
    if negative.any():
        rows = np.flatnonzero(negative)
        subsets = np.array(list(itertools.product((False, True), repeat=count)), dtype=bool)  # (S, L)
        f_rows, b_rows = scaled[rows], rhs[rows]  # (R, L, L), (R, L)
        active = usable[rows][:, None, :] & subsets[None]  # (R, S, L)
        candidates = _solve_unit_spd(np.broadcast_to(f_rows[:, None], active.shape + (count,)),
                                     np.broadcast_to(b_rows[:, None], active.shape), active)  # (R, S, L)
        quadratic = (np.einsum("rsl,rlm,rsm->rs", candidates, f_rows, candidates)
                     - 2.0 * np.einsum("rsl,rl->rs", candidates, b_rows))
        feasible = np.all(candidates >= 0, axis=-1)  # the empty subset (index 0) always is
        best = np.argmin(np.where(feasible, quadratic, np.inf), axis=-1)
        solution[rows] = candidates[np.arange(rows.size), best]
    return (solution * scale).reshape(lead + (count,))


def _solve_unit_spd(matrix, rhs, active=None):
    """Solve ``A x = y`` restricted to the ``active`` variables (None: all), x = 0 elsewhere; batched.

    ``matrix`` (..., L, L) is symmetric with unit diagonal where active. Cholesky-style
    elimination without pivoting (stable for such matrices), written over the L axis; a pivot
    <= :data:`COLLINEAR` drops its variable. Never modifies its arguments.
    """
    count = matrix.shape[-1]
    if active is None:
        a = np.array(matrix)
        y = np.array(rhs)
    else:
        a = np.where(active[..., :, None] & active[..., None, :], matrix, 0.0)
        y = np.where(active, rhs, 0.0)
        index = np.arange(count)
        a[..., index, index] = np.where(active, a[..., index, index], 1.0)
    for k in range(count):
        pivot = a[..., k, k]
        drop = ~(pivot > COLLINEAR)
        if drop.any():
            a[..., k, :] = np.where(drop[..., None], 0.0, a[..., k, :])
            a[..., :, k] = np.where(drop[..., None], 0.0, a[..., :, k])
            a[..., k, k] = np.where(drop, 1.0, pivot)
            y[..., k] = np.where(drop, 0.0, y[..., k])
            pivot = a[..., k, k]
        if k + 1 < count:
            factor = a[..., k + 1:, k] / pivot[..., None]
            a[..., k + 1:, k + 1:] -= factor[..., :, None] * a[..., None, k, k + 1:]
            y[..., k + 1:] -= factor * y[..., k, None]
    x = np.empty_like(y)
    for k in range(count - 1, -1, -1):
        value = y[..., k]
        if k + 1 < count:
            value = value - np.einsum("...j,...j->...", a[..., k, k + 1:], x[..., k + 1:])
        x[..., k] = value / a[..., k, k]
    return x


def _as_list(bases):
    if isinstance(bases, np.ndarray):
        return [bases[..., l, :] for l in range(bases.shape[-2])]
    return list(bases)
