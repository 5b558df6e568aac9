"""Regularization of a pixelized source: the matrix H of the prior on its pixel values.

H enters the linear solve ``(F + H) s = D`` and the log evidence (CONVENTIONS.md). Both
schemes here follow PyAutoArray 2026.7.29.1 number for number:

- :class:`Constant` (``coefficient``): for every pixel i and each neighbour j of i,
  ``H_ii += c^2`` and ``H_ij -= c^2``, plus ``1e-8`` on the diagonal so that H is
  positive definite (neighbour pairs count once from each side).
- :class:`Adapt` (``inner_coefficient``, ``outer_coefficient``, ``signal_scale``): each
  pixel gets a weight ``w_i = (inner s_i + outer (1 - s_i))^2`` from its signal ``s_i`` in
  [0, 1] (the adapt image's mean over the points mapped to the pixel, divided by the
  largest, to the power ``signal_scale``); for every pixel i and neighbour j,
  ``H_ii += w_j^2``, ``H_jj += w_j^2``, ``H_ij -= w_j^2``, ``H_ji -= w_j^2``, plus ``1e-8``
  on the diagonal. Less smoothing where the source is bright (Nightingale, Dye & Massey 2018).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse

__all__ = ["Constant", "Adapt", "pixel_signals_from", "DIAGONAL_FLOOR"]

#: Added to H's diagonal (PyAutoArray's value) so that H is positive definite.
DIAGONAL_FLOOR = 1e-8


def _scalar(value) -> float:
    """A coefficient of one model: a float, or one batch row's (1, 1) array."""
    return float(np.asarray(value, dtype=float).reshape(()))


def _pairs(neighbours):
    """(i, j) of every neighbour entry (each pair appears once from each side when symmetric)."""
    rows = np.repeat(np.arange(neighbours.shape[0]), neighbours.shape[1])
    columns = neighbours.ravel()
    keep = columns >= 0
    return rows[keep], columns[keep]


@dataclasses.dataclass(frozen=True)
class Constant:
    """One regularization coefficient for every pixel.

    Parameters
    ----------
    coefficient : float
        Strength of the smoothing (dimensionless, multiplies source-pixel differences in image units).
    """

    coefficient: float = 1.0
    needs_signal = False

    def matrix_from(self, mapper, pixel_signals=None) -> scipy.sparse.csc_matrix:
        """(S, S) sparse regularization matrix for a mapper's neighbours."""
        c2 = _scalar(self.coefficient) ** 2
        i, j = _pairs(mapper.neighbours)
        return _sparse(mapper.pixels, [(i, i, np.full(i.size, c2)), (i, j, np.full(i.size, -c2))])


@dataclasses.dataclass(frozen=True)
class Adapt:
    """Regularization weighted by the source's expected brightness (from an adapt image).

    Parameters
    ----------
    inner_coefficient : float
        Coefficient where the signal is high (bright source pixels).
    outer_coefficient : float
        Coefficient where the signal is low.
    signal_scale : float
        Exponent applied to the normalised pixel signals (> 0).
    """

    inner_coefficient: float = 1.0
    outer_coefficient: float = 1.0
    signal_scale: float = 1.0
    needs_signal = True

    def weights_from(self, pixel_signals) -> np.ndarray:
        """(S,) effective regularization weights ``(inner s + outer (1 - s))^2``."""
        s = np.asarray(pixel_signals, dtype=float)
        return (_scalar(self.inner_coefficient) * s + _scalar(self.outer_coefficient) * (1.0 - s)) ** 2

    def matrix_from(self, mapper, pixel_signals=None) -> scipy.sparse.csc_matrix:
        """(S, S) sparse regularization matrix; ``pixel_signals`` (S,) in [0, 1] from :func:`pixel_signals_from`."""
        if pixel_signals is None:
            raise ValueError("Adapt regularization needs pixel signals from an adapt image")
        squared = self.weights_from(pixel_signals) ** 2
        i, j = _pairs(mapper.neighbours)
        w = squared[j]
        return _sparse(mapper.pixels, [(i, i, w), (j, j, w), (i, j, -w), (j, i, -w)])


def _sparse(pixels, entries) -> scipy.sparse.csc_matrix:
    """The (S, S) matrix ``DIAGONAL_FLOOR I`` plus the summed (rows, columns, values) entries."""
    diagonal = np.arange(pixels)
    rows = np.concatenate([diagonal] + [e[0] for e in entries])
    columns = np.concatenate([diagonal] + [e[1] for e in entries])
    values = np.concatenate([np.full(pixels, DIAGONAL_FLOOR)] + [e[2] for e in entries])
    return scipy.sparse.csc_matrix((values, (rows, columns)), shape=(pixels, pixels))


def pixel_signals_from(mapper, adapt_values, signal_scale) -> np.ndarray:
    """(S,) signals in [0, 1] from an adapt image (PyAutoArray's ``adaptive_pixel_signals_from``).

    Every (point, pixel) entry of the mapper adds ``weight x adapt value`` to its pixel's sum
    and 1 to its pixel's count; the signal is sum / count (at least 0), divided by the
    largest, to the power ``signal_scale``.

    Parameters
    ----------
    mapper : Mapper
    adapt_values : ndarray, shape (M,)
        The adapt image at each traced point (the value of the pixel it belongs to), image units.
    signal_scale : float
    """
    valid = mapper.valid_entries()
    values = np.broadcast_to(np.asarray(adapt_values, dtype=float)[:, None], valid.shape)[valid]
    flat = mapper.indices[valid]
    total = np.bincount(flat, weights=values * mapper.weights[valid], minlength=mapper.pixels)
    count = np.bincount(flat, minlength=mapper.pixels).astype(float)
    signals = np.maximum(total / np.where(count > 0, count, 1.0), 0.0)  # no negative weight (NaN ** scale)
    peak = signals.max()
    if peak > 0:
        signals = signals / peak
    return signals ** _scalar(signal_scale)
