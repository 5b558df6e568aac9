"""The imaging fit: a masked dataset made once, and a fit of one tracer to it.

:class:`MaskedImaging` precomputes everything that does not depend on the model
parameters (ARCHITECTURE.md, "The hot path"): the data, 1/sigma^2 and the noise
normalisation of the fitted pixels; the sub-pixel grid of the fitted pixels
(uniform or adaptive over-sampling) and the grid of the blurring region,
concatenated into one array so every profile is evaluated once per call; the
:class:`~lenspipe.fit.convolution.Convolver` with its FFT plans.

:func:`model_data_from` is the hot path. A call, in steps:

1. trace the concatenated grid through the planes (fixed mass profiles take
   their deflections from the preloads) and evaluate every light profile on its
   plane's grid, summing them into one sub-pixel image (fixed light profiles on a
   fixed plane take their blurred image from the preloads instead);
2. bin the fitted pixels' sub-pixels to pixel means, and the blurring region's;
3. convolve by FFT (light from the blurring region is blurred in);
4. add the preloaded blurred images and the dataset model's sky level.

:class:`FitImaging` wraps that with noun properties (model image, residuals,
chi-squared, log likelihood: CONVENTIONS.md, "Imaging likelihood"). Every
quantity broadcasts over a batch: with parameters of shape (K, 1) the model data
are (K, N) and ``log_likelihood`` is (K,).
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ..data.mask import Mask
from ..errors import MaskError
from . import oversampling
from .convolution import Convolver

__all__ = ["MaskedImaging", "DatasetModel", "FitImaging", "model_data_from", "planes_from", "traced_grids_from",
           "light_terms_from", "binned_light_from", "chi_squared_from"]


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
        """(N, 2) pixel centres of the fitted pixels, arcsec."""
        return self.mask.masked_grid

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


def planes_from(tracer):
    """(galaxies of each plane, ``{(i, j): beta_ij}``) of a Tracer, exactly as it traces."""
    betas = getattr(tracer, "_betas", None)
    if betas is None:
        from ..lensing.cosmology import scaling_factors
        betas = scaling_factors(tracer.cosmology, tracer.plane_redshifts) if len(tracer.planes) > 2 else {(0, 1): 1.0}
    return tracer.planes, betas


def traced_grids_from(grid, planes, betas, preloads=None):
    """One grid per plane (the first is ``grid``), as ``Tracer.traced_grids_from``.

    With ``preloads`` (only for the dataset's own grid), fixed mass profiles take their
    deflections, and planes behind only fixed mass their traced grids, from it. Sums are
    done in place only on arrays this function made (never on a profile's or the preloads').
    """
    traced, deflections = [grid], []
    for j in range(1, len(planes)):
        plane_deflections, owned = None, False
        for galaxy in planes[j - 1]:
            for name, profile in galaxy.mass_profiles.items():
                d = None if preloads is None else preloads.deflections(j - 1, name, profile)
                if d is None:
                    d = profile.deflections_yx_from(traced[j - 1])
                if plane_deflections is None:
                    plane_deflections = d  # not owned: a profile or the preloads may hold it
                elif owned and plane_deflections.shape == np.broadcast_shapes(plane_deflections.shape, d.shape):
                    plane_deflections += d
                else:
                    plane_deflections, owned = plane_deflections + d, True
        deflections.append(plane_deflections)
        preloaded = None if preloads is None else preloads.traced_grid(j, planes)
        if preloaded is not None:
            traced.append(preloaded)
            continue
        grid_j = None
        for i in range(j):
            if deflections[i] is None:
                continue
            step = deflections[i] if betas[i, j] == 1.0 else betas[i, j] * deflections[i]
            if grid_j is None:
                grid_j = grid - step
            elif grid_j.shape == np.broadcast_shapes(grid_j.shape, step.shape):
                grid_j -= step
            else:
                grid_j = grid_j - step
        traced.append(grid if grid_j is None else grid_j)
    return traced


def light_terms_from(planes, preloads=None):
    """([(plane, profile)] to evaluate, summed preloaded blurred image or None)."""
    terms, fixed = [], None
    for index, galaxies in enumerate(planes):
        for galaxy in galaxies:
            for name, profile in galaxy.light_profiles.items():
                blurred = None if preloads is None else preloads.blurred_image(index, name, profile)
                if blurred is None:
                    terms.append((index, profile))
                else:
                    fixed = blurred if fixed is None else fixed + blurred
    return terms, fixed


def binned_light_from(dataset, terms, traced, planes, betas):
    """Pixel means of the light terms: (fitted (..., N), blurring (..., Nb)), with refinement.

    Steps 1-2 of the module docstring. With the adaptive sampler each light profile is
    then re-integrated finely in its own pixels near its centre (and, in a batch, each
    model in its own pixels), so a profile's pixel values do not depend on which other
    profiles are evaluated with it: preloads and per-galaxy images add up exactly.
    """
    sampler = dataset.sampler
    if not terms:
        return np.zeros(dataset.pixels), np.zeros(dataset.convolver.blurring_pixels)
    images = [profile.image_from(traced[plane]) for plane, profile in terms]
    image, blurring = sampler.binned(_sum(images))
    if not sampler.refines:
        return image, blurring
    flags = [None if getattr(profile, "centre", None) is None
             or type(profile).__name__ in oversampling.SMOOTH_PROFILES
             else sampler.near_centre(traced[plane], profile.centre, plane) for plane, profile in terms]
    flagged = [f for f in flags if f is not None]
    if not flagged or not any(f.any() for f in flagged):
        return image, blurring
    shape = np.broadcast_shapes(image.shape, *(f.shape for f in flagged))
    image = np.array(np.broadcast_to(image, shape)) if image.shape != shape else image
    oversampling.refine(sampler, image, shape, terms, images, flags, planes,
                        lambda grid, planes_rows: traced_grids_from(grid, planes_rows, betas))
    return image, blurring


def _sum(arrays):
    total = arrays[0]
    for array in arrays[1:]:
        total = total + array
    return total


def model_data_from(dataset, tracer, preloads=None, dataset_model=None) -> np.ndarray:
    """The PSF-convolved model of the fitted pixels, shape (..., N) (module docstring, steps 1-4)."""
    planes, betas = planes_from(tracer)
    terms, fixed = light_terms_from(planes, preloads)
    if terms:
        traced = traced_grids_from(dataset.grid, planes, betas, preloads)
        model = dataset.convolver.convolve(*binned_light_from(dataset, terms, traced, planes, betas))
        if fixed is not None:
            model = model + fixed
    else:
        model = np.zeros(dataset.pixels) if fixed is None else fixed
    if dataset_model is not None:
        model = model + dataset_model.background_sky_level
    return model


def chi_squared_from(residuals, inverse_variance):
    """``sum(residuals^2 / sigma^2)`` over the last axis (einsum: no threaded BLAS, same bits per row)."""
    return np.einsum("...i,...i,i->...", residuals, residuals, inverse_variance)


class FitImaging:
    """The fit of a tracer's model image to a masked dataset.

    Parameters
    ----------
    dataset : MaskedImaging
    tracer : Tracer
        Parameters may be floats or (K, 1) arrays (a batch).
    dataset_model : DatasetModel, optional
        Adds a background sky level to the model.
    preloads : Preloads, optional
        Cached images and deflections of components fixed for the whole fit.

    Vectors (``model_data``, ``residuals``) are (..., N) over the fitted pixels;
    ``*_image`` and ``*_map`` properties are (..., N_y, N_x) images, zero outside the mask.
    """

    def __init__(self, dataset, tracer, dataset_model=None, preloads=None):
        self.dataset = dataset
        self.tracer = tracer
        self.dataset_model = dataset_model
        self.preloads = preloads

    @functools.cached_property
    def model_data(self) -> np.ndarray:
        """(..., N) the blurred model of the fitted pixels, plus the sky level."""
        return model_data_from(self.dataset, self.tracer, self.preloads, self.dataset_model)

    @functools.cached_property
    def residuals(self) -> np.ndarray:
        """(..., N) data - model."""
        return self.dataset.data - self.model_data

    @functools.cached_property
    def chi_squared(self):
        """``sum(((d - m) / sigma)^2)`` over the fitted pixels; float, or (K,) for a batch."""
        r = self.residuals
        value = chi_squared_from(r, self.dataset.inverse_variance)
        return float(value) if np.ndim(value) == 0 else value

    @property
    def noise_normalization(self) -> float:
        """``sum(log(2 pi sigma^2))`` over the fitted pixels."""
        return self.dataset.noise_normalization

    @property
    def log_likelihood(self):
        """``-0.5 (chi2 + noise_normalization)``; float, or (K,) for a batch."""
        return -0.5 * (self.chi_squared + self.noise_normalization)

    @property
    def figure_of_merit(self):
        """The log likelihood (there is no linear inversion here)."""
        return self.log_likelihood

    # ------------------------------------------------------------------ maps
    @property
    def model_image(self) -> np.ndarray:
        """(..., N_y, N_x) the model image in the mask (blurred, with the sky level)."""
        return self.dataset.image_2d_from(self.model_data)

    @property
    def residual_map(self) -> np.ndarray:
        """(..., N_y, N_x) data - model in the mask."""
        return self.dataset.image_2d_from(self.residuals)

    @property
    def normalized_residual_map(self) -> np.ndarray:
        """(..., N_y, N_x) (data - model) / sigma in the mask."""
        return self.dataset.image_2d_from(self.residuals / self.dataset.noise_map)

    @property
    def chi_squared_map(self) -> np.ndarray:
        """(..., N_y, N_x) ((data - model) / sigma)^2 in the mask."""
        return self.dataset.image_2d_from(self.residuals**2 * self.dataset.inverse_variance)

    @functools.cached_property
    def galaxy_blurred_data(self) -> list:
        """Per galaxy (``tracer.galaxies`` order), the (..., N) blurred image of its light (zeros if none)."""
        planes, betas = planes_from(self.tracer)
        traced = traced_grids_from(self.dataset.grid, planes, betas)
        out = []
        for galaxy, plane in zip(self.tracer.galaxies, self.tracer.plane_index_of_galaxy):
            terms = [(plane, profile) for profile in galaxy.light_profiles.values()]
            if terms:
                image, blurring = binned_light_from(self.dataset, terms, traced, planes, betas)
                out.append(self.dataset.convolver.convolve(image, blurring))
            else:
                out.append(np.zeros(self.dataset.pixels))
        return out

    @property
    def blurred_images(self) -> list:
        """Per galaxy, the (..., N_y, N_x) PSF-blurred image of its light in the mask."""
        return [self.dataset.image_2d_from(values) for values in self.galaxy_blurred_data]

    @property
    def data_image(self) -> np.ndarray:
        """(N_y, N_x) the data in the mask, zero outside."""
        return self.dataset.image_2d_from(self.dataset.data)

