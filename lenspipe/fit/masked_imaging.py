"""The masked dataset of an imaging fit, made once, and the dataset's own model parameters.

:class:`MaskedImaging` precomputes everything that does not depend on the model
parameters (ARCHITECTURE.md, "The hot path"): the data, 1/sigma^2 and the noise
normalisation of the fitted pixels; the sub-pixel grid of the fitted pixels
(uniform or adaptive over-sampling) and the grid of the blurring region,
concatenated into one array so every profile is evaluated once per call; the
:class:`~lenspipe.fit.convolution.Convolver` with its FFT plans.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ..data.mask import Mask
from ..errors import MaskError
from . import oversampling
from .convolution import Convolver

__all__ = ["MaskedImaging", "DatasetModel"]


@dataclasses.dataclass(frozen=True)
class DatasetModel:
    """Parameters of the dataset itself, fitted with the lens model.

    Parameters
    ----------
    background_sky_level : float or ndarray (K, 1)
        A constant (image units) added to every model pixel: the residual sky left in
        the data after sky subtraction.
    """

    background_sky_level: float = 0.0


class MaskedImaging:
    """An :class:`~lenspipe.data.Imaging` restricted to a mask, with its parameter-free precomputations.

    Parameters
    ----------
    imaging : Imaging
        Data, noise map, PSF (normalised, odd) and pixel scale.
    mask : Mask or ndarray of bool
        True = masked out; same shape as the data.
    over_sampling : None, int, ndarray or oversampling.OverSampling
        None = the adaptive default (:mod:`lenspipe.fit.oversampling`); an int = uniform
        ``s x s`` sub-pixels; an array of one size per fitted pixel (row-major) or an
        image of sizes; or an ``OverSampling`` rule.
    blurring_sub_size : int
        Uniform over-sampling of the blurring region (default 1).
    planner_effort, wisdom_path, fft_threads
        Passed to the :class:`Convolver`.

    Attributes
    ----------
    data, noise_map, inverse_variance : ndarray, shape (N,)
        Of the fitted pixels, row-major.
    noise_normalization : float
        ``sum(log(2 pi sigma^2))`` over the fitted pixels.
    sampler : oversampling.PixelSampler
        The points where light is evaluated and their weights.
    grid : ndarray, shape (M + Mb, 2)
        The fitted pixels' points followed by the blurring region's, (y, x) arcsec.
    convolver : Convolver
    """

    def __init__(self, imaging, mask, over_sampling=None, blurring_sub_size=1,
                 planner_effort="FFTW_MEASURE", wisdom_path=None, fft_threads=1):
        if not isinstance(mask, Mask):
            mask = Mask(np.asarray(mask, dtype=bool), imaging.pixel_scale)
        if mask.shape != imaging.shape:
            raise MaskError(f"the mask has shape {mask.shape} but the data have shape {imaging.shape}.")
        if not np.isclose(mask.pixel_scale, imaging.pixel_scale, rtol=1e-9, atol=0):
            raise MaskError(f"the mask's pixel scale {mask.pixel_scale} differs from the data's "
                            f"{imaging.pixel_scale}.")
        self.imaging = imaging
        self.mask = mask
        self.pixel_scale = float(imaging.pixel_scale)
        fitted = ~mask.array
        self.data = np.ascontiguousarray(imaging.data[fitted])
        self.noise_map = np.ascontiguousarray(imaging.noise_map[fitted])
        self.inverse_variance = 1.0 / self.noise_map**2
        self.noise_normalization = float(np.sum(np.log(2.0 * np.pi * self.noise_map**2)))
        self.convolver = Convolver(mask.array, imaging.psf, planner_effort=planner_effort,
                                   wisdom_path=wisdom_path, threads=fft_threads)
        self.blurring_sub_size = int(blurring_sub_size)
        if self.blurring_sub_size < 1:
            raise MaskError(f"blurring_sub_size must be an integer >= 1; got {blurring_sub_size!r}.")
        self.over_sampling = oversampling.over_sampling_from(over_sampling)
        self.sampler = oversampling.PixelSampler(mask.masked_grid, self._blurring_centres(), self.pixel_scale,
                                                 self.over_sampling, self.blurring_sub_size)
        self.sampler.set_noise(self.noise_map)
        self.grid = self.sampler.grid

    @functools.cached_property
    def typical_noise(self) -> float:
        """The median noise of the fitted pixels (sets the refinement scale of faint linear profiles)."""
        return float(np.median(self.noise_map))

    # -------------------------------------------------------------- geometry
    @property
    def pixels(self) -> int:
        """N, the number of fitted pixels."""
        return self.data.size

    @property
    def shape(self):
        """(N_y, N_x) of the image."""
        return self.mask.shape

    @property
    def masked_grid(self) -> np.ndarray:
        """(N, 2) pixel centres of the fitted pixels, arcsec (made once: the inversion reads it every call)."""
        if "_masked_grid" not in self.__dict__:
            self.__dict__["_masked_grid"] = self.mask.masked_grid
        return self.__dict__["_masked_grid"]

    def _blurring_centres(self) -> np.ndarray:
        """(Nb, 2) centres of the blurring-region pixels (some may lie beyond the image's edge)."""
        n_y, n_x = self.shape
        rows, cols = self.convolver.blurring_rows, self.convolver.blurring_cols
        return np.column_stack([(n_y / 2.0 - 0.5 - rows) * self.pixel_scale,
                                (cols - n_x / 2.0 + 0.5) * self.pixel_scale])

    def image_2d_from(self, values) -> np.ndarray:
        """Scatter (..., N) values of the fitted pixels into (..., N_y, N_x) images, zero outside."""
        values = np.asarray(values)
        out = np.zeros(values.shape[:-1] + self.shape)
        out[..., ~self.mask.array] = values
        return out

    def info(self) -> dict:
        """Sizes for profiling reports."""
        return {"pixels": int(self.pixels), "sub_pixels": int(self.sampler.n_fitted_points),
                "blurring_pixels": int(self.convolver.blurring_pixels),
                "blurring_sub_pixels": int(self.sampler.n_points - self.sampler.n_fitted_points),
                "psf_shape": list(self.imaging.psf.shape), "fft_shape": list(self.convolver.box_shape),
                "over_sampling": self.sampler.describe()}
