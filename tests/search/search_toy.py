"""Small problems for the search tests (imported by the tests and by subprocess scripts)."""

import numpy as np

from lenspipe.model import Collection, UniformPrior

MEAN = np.array([1.0, -2.0])
COVARIANCE = np.array([[1.0, 0.8], [0.8, 1.0]])
_PRECISION = np.linalg.inv(COVARIANCE)


def toy_model(lower=(-10.0, -10.0), upper=(10.0, 10.0)):
    """A Collection of len(lower) free parameters ``x0``, ``x1``... with uniform priors."""
    priors = {f"x{i}": UniformPrior(lo, hi) for i, (lo, hi) in enumerate(zip(lower, upper))}
    return Collection(priors)


def gaussian_log_likelihoods(vectors):
    """Correlated 2-D Gaussian, (K, 2) -> (K,)."""
    d = np.asarray(vectors, dtype=float) - MEAN
    # Elementwise arithmetic: the same value for a vector whatever the batch it is in.
    a, b, c = _PRECISION[0, 0], _PRECISION[0, 1], _PRECISION[1, 1]
    return -0.5 * (a * d[:, 0] ** 2 + 2.0 * b * d[:, 0] * d[:, 1] + c * d[:, 1] ** 2)
