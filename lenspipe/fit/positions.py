"""Position likelihoods: the multiple images of one source point must meet in the source plane.

The positions are the ``(y, x)`` arcsec of the multiple images of one source
point (e.g. the brightest pixels of each arc). A mass model traces them to the
source plane; a good model brings them together. Following PyAutoLens:

1. trace the positions to the source plane with the tracer;
2. take the *maximum separation*: the largest distance between any two traced positions;
3. compare with the ``threshold`` (arcsec):

   - :class:`PositionsLHResample` discards a model whose separation exceeds the
     threshold (the analysis turns it into a discarded sample, log likelihood -inf);
   - :class:`PositionsLHPenalty` keeps it but subtracts
     ``factor * (separation - threshold)`` from its log likelihood.

Both work on batched tracers (parameters of shape ``(K, 1)``): the traced positions
are ``(K, P, 2)`` and the separations ``(K,)``.
"""

from __future__ import annotations

import numpy as np

from ..errors import DatasetError

__all__ = ["max_separation_from", "PositionsLHPenalty", "PositionsLHResample"]


def _positions_array(positions) -> np.ndarray:
    array = np.asarray(positions, dtype=np.float64)
    if array.ndim != 2 or array.shape[1] != 2 or len(array) < 2:
        raise DatasetError(
            f"positions must be at least two (y, x) arcsec pairs, shape (P, 2) with P >= 2; got shape "
            f"{array.shape}. Give the positions of two or more multiple images of the same source point."
        )
    if not np.all(np.isfinite(array)):
        raise DatasetError("positions hold NaN or inf; give finite (y, x) arcsec pairs.")
    return array


def max_separation_from(points) -> np.ndarray:
    """Largest pairwise distance of a set of points (arcsec).

    Parameters
    ----------
    points : ndarray, shape (..., P, 2)

    Returns
    -------
    ndarray, shape (...)
    """
    difference = points[..., :, None, :] - points[..., None, :, :]
    return np.sqrt(np.max(np.sum(difference * difference, axis=-1), axis=(-2, -1)))


class _PositionsLH:
    """Shared behaviour: the positions, the threshold and the traced separation."""

    def __init__(self, positions, threshold):
        self.positions = _positions_array(positions)
        self.threshold = float(threshold)
        if not self.threshold > 0:
            raise DatasetError(f"the positions threshold must be a positive number of arcsec; got {threshold!r}.")

    def max_separation_from(self, tracer) -> np.ndarray:
        """Maximum separation (arcsec) of the positions traced to the source plane, shape (K,) or ()."""
        traced = tracer.traced_grids_from(self.positions)[-1]
        return max_separation_from(traced)

    def to_dict(self) -> dict:
        """JSON-safe description."""
        return {"type": type(self).__name__, "positions": self.positions.tolist(), "threshold": self.threshold}


class PositionsLHResample(_PositionsLH):
    """Discard a model whose traced positions are further apart than ``threshold`` arcsec.

    Parameters
    ----------
    positions : array_like, shape (P, 2)
        ``(y, x)`` arcsec of P >= 2 multiple images of one source point.
    threshold : float
        Arcsec.
    """

    def keep_from(self, tracer) -> np.ndarray:
        """True where the model is kept (separation <= threshold); shape (K,) or ()."""
        return self.max_separation_from(tracer) <= self.threshold

    def log_likelihood_penalty_from(self, tracer) -> np.ndarray:
        """0 where kept, +inf where discarded (subtracted from the log likelihood)."""
        return np.where(self.keep_from(tracer), 0.0, np.inf)


class PositionsLHPenalty(_PositionsLH):
    """Penalise a model whose traced positions are further apart than ``threshold`` arcsec.

    Parameters
    ----------
    positions : array_like, shape (P, 2)
        ``(y, x)`` arcsec of P >= 2 multiple images of one source point.
    threshold : float
        Arcsec.
    factor : float
        Log-likelihood penalty per arcsec of excess separation (PyAutoLens's
        ``log_likelihood_penalty_factor``; default 1e8).
    """

    def __init__(self, positions, threshold, factor=1e8):
        super().__init__(positions, threshold)
        self.factor = float(factor)
        if not self.factor >= 0:
            raise DatasetError(f"the positions penalty factor must be >= 0; got {factor!r}.")

    def log_likelihood_penalty_from(self, tracer) -> np.ndarray:
        """``factor * max(separation - threshold, 0)``; shape (K,) or ()."""
        excess = self.max_separation_from(tracer) - self.threshold
        return self.factor * np.maximum(excess, 0.0)

    def to_dict(self) -> dict:
        """JSON-safe description."""
        return {**super().to_dict(), "factor": self.factor}
