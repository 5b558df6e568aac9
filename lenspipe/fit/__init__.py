"""The imaging likelihood: PSF convolution, over-sampling, the fit, positions, preloads, batches.

A masked dataset is made once (:class:`MaskedImaging`: grids, index maps, the FFT
convolver, 1/sigma^2); a :class:`FitImaging` fits one tracer (or a batch) to it;
:class:`LikelihoodEvaluator` evaluates (K, n) parameter vectors in chunks for the
search. See ../shared/ARCHITECTURE.md, "The hot path".
"""

from .convolution import Convolver, blurring_pixels_from
from .fit_imaging import DatasetModel, FitImaging, MaskedImaging
from .likelihood import DISCARD_ERRORS, LikelihoodEvaluator, threads_from_environment
from .model_image import model_data_from
from .oversampling import OverSampling, PixelSampler, sub_size_map_from_radial_bins
from .positions import PositionsLHPenalty, PositionsLHResample
from .preloads import Preloads

__all__ = [
    "Convolver",
    "blurring_pixels_from",
    "MaskedImaging",
    "DatasetModel",
    "FitImaging",
    "model_data_from",
    "OverSampling",
    "PixelSampler",
    "sub_size_map_from_radial_bins",
    "PositionsLHPenalty",
    "PositionsLHResample",
    "Preloads",
    "LikelihoodEvaluator",
    "threads_from_environment",
    "DISCARD_ERRORS",
]
