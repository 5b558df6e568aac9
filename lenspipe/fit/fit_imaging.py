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

Linear light profiles (``SersicLinear``, ...: ``is_linear``; their intensity is solved
for) are not summed into that image. Each is evaluated at unit intensity, binned and
refined on its own (:func:`linear_basis_from`), convolved on its own (a fixed one's
blurred basis comes from the preloads), and the non-negative amplitudes that best fit the
data given the rest of the model (steps 1-4) are solved for by
:func:`lenspipe.fit.linear.solve_amplitudes`; the model is the rest plus the amplitudes
times the bases. A model with no linear profile takes exactly the path above.

:class:`FitImaging` wraps that with noun properties (model image, residuals,
chi-squared, log likelihood: CONVENTIONS.md, "Imaging likelihood"). Every
quantity broadcasts over a batch: with parameters of shape (K, 1) the model data
are (K, N) and ``log_likelihood`` is (K,).
"""

from __future__ import annotations

import dataclasses
import functools
import typing

import numpy as np

from ..data.mask import Mask
from ..errors import MaskError
from . import oversampling
from .convolution import Convolver
from .linear import solve_amplitudes

__all__ = ["MaskedImaging", "DatasetModel", "FitImaging", "ModelFit", "LinearTerm", "model_data_from", "model_fit_from",
           "planes_from", "traced_grids_from", "light_terms_from", "linear_light_terms_from", "binned_light_from",
           "linear_basis_from", "linear_bases_from", "chi_squared_from", "is_linear"]


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


def is_linear(profile) -> bool:
    """Whether a light profile's intensity is solved for (a ``*Linear`` profile)."""
    return getattr(profile, "is_linear", False)


class LinearTerm(typing.NamedTuple):
    """A linear light profile met in the planes: where it is, and its preloaded blurred basis or None."""

    plane: int
    galaxy: object
    name: str
    profile: object
    basis: object = None


def _light_terms(planes, preloads=None):
    """(non-linear terms to evaluate, summed preloaded blurred image or None, [LinearTerm])."""
    terms, fixed, linear = [], None, []
    for index, galaxies in enumerate(planes):
        for galaxy in galaxies:
            for name, profile in galaxy.light_profiles.items():
                if getattr(profile, "is_linear", False):
                    basis = None if preloads is None else preloads.linear_basis(index, name, profile)
                    linear.append(LinearTerm(index, galaxy, name, profile, basis))
                    continue
                blurred = None if preloads is None else preloads.blurred_image(index, name, profile)
                if blurred is None:
                    terms.append((index, profile))
                else:
                    fixed = blurred if fixed is None else fixed + blurred
    return terms, fixed, linear


def light_terms_from(planes, preloads=None):
    """([(plane, profile)] to evaluate, summed preloaded blurred image or None).

    Non-linear light profiles only; see :func:`linear_light_terms_from` for the linear ones.
    """
    terms, fixed, _ = _light_terms(planes, preloads)
    return terms, fixed


def linear_light_terms_from(planes, preloads=None) -> list:
    """The linear light profiles of the planes, as :class:`LinearTerm` (plane, galaxy, name, profile, basis)."""
    return _light_terms(planes, preloads)[2]


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


def _refines(profile) -> bool:
    """Whether the adaptive rule refines the profile near its centre (a cusp: all but Gaussians)."""
    cls = getattr(profile, "light_profile_class", None) or type(profile)
    return getattr(profile, "centre", None) is not None and cls.__name__ not in oversampling.SMOOTH_PROFILES


class _ScaledSampler:
    """The dataset's sampler as seen by a profile of intensity ``scale`` (per batch row): the
    first estimates of :func:`oversampling.refine` are scaled like the refined values."""

    def __init__(self, sampler, scale_rows):
        self._sampler = sampler
        self._scale_rows = scale_rows

    def __getattr__(self, name):
        return getattr(self._sampler, name)

    def first_estimate(self, values, rows, pixels):
        scale = self._scale_rows
        return self._sampler.first_estimate(values, rows, pixels) * (scale[rows] if scale.size > 1 else scale[0])


def linear_basis_from(dataset, profile, plane, traced, planes, betas):
    """Pixel means (fitted (..., N), blurring (..., Nb)) of a linear profile at unit intensity.

    The adaptive refinement treats the basis as it treats any light profile, with one
    choice to make: its deeper levels stop where an estimate moves by less than the
    tolerance (noise sigmas), so they depend on the profile's brightness, which a
    linear profile does not have. It is refined as the standard profile with the
    intensity that fits it *alone* to the data (``sum w B d / sum w B^2`` over the fitted
    pixels, on the unconvolved Gauss-point basis; at least the intensity that puts its
    brightest pixel at the median noise), then divided by that intensity. This intensity
    depends on the profile and the dataset only, so a preloaded basis equals a computed
    one and a profile's basis does not depend on the other profiles of the model.
    """
    sampler = dataset.sampler
    values = profile.image_from(traced[plane])
    image, blurring = sampler.binned(values)
    if not sampler.refines or not _refines(profile):
        return image, blurring
    flag = sampler.near_centre(traced[plane], profile.centre, plane)
    if not flag.any():
        return image, blurring
    shape = np.broadcast_shapes(image.shape, flag.shape)
    fitted = dataset.inverse_variance
    with np.errstate(divide="ignore", invalid="ignore"):
        alone = (np.einsum("...i,i,i->...", image, fitted, dataset.data)
                 / np.einsum("...i,...i,i->...", image, image, fitted))
        peak = np.max(np.abs(image), axis=-1)
        scale = np.fmax(alone, dataset.typical_noise / peak)
    scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
    scale_rows = np.ascontiguousarray(np.broadcast_to(scale, shape[:-1])).reshape(-1)
    intensity = float(scale) if scale.ndim == 0 else scale.reshape(scale.shape + (1,))
    scaled = np.array(np.broadcast_to(image * (scale if scale.ndim == 0 else scale[..., None]), shape))
    # Only the planes up to the profile's own are traced (the planes behind it do not move its grid).
    oversampling.refine(_ScaledSampler(sampler, scale_rows), scaled, shape, [(plane, profile.with_intensity(intensity))],
                        [values], [flag], planes[:plane + 1],
                        lambda grid, planes_rows: traced_grids_from(grid, planes_rows, betas))
    scaled /= scale if scale.ndim == 0 else np.broadcast_to(scale, shape[:-1])[..., None]
    return scaled, blurring


def linear_bases_from(dataset, linear, traced, planes, betas) -> list:
    """The (..., N) blurred unit-intensity bases of linear terms (preloaded ones as they are)."""
    bases = []
    for term in linear:
        if term.basis is not None:
            bases.append(term.basis)
        else:
            bases.append(dataset.convolver.convolve(
                *linear_basis_from(dataset, term.profile, term.plane, traced, planes, betas)))
    return bases


def _sum(arrays):
    total = arrays[0]
    for array in arrays[1:]:
        total = total + array
    return total


class ModelFit(typing.NamedTuple):
    """The model of the fitted pixels and, with linear light profiles, how it was solved.

    Attributes
    ----------
    model : ndarray, shape (..., N)
        The blurred model of the fitted pixels, with the sky level.
    linear : tuple of LinearTerm
        The linear light profiles, in plane, galaxy and profile order (empty without any).
    amplitudes : ndarray, shape (..., L), or None
        Their solved non-negative intensities.
    bases : tuple of ndarray (..., N)
        Their blurred unit-intensity images.
    """

    model: np.ndarray
    linear: tuple = ()
    amplitudes: object = None
    bases: tuple = ()


def model_fit_from(dataset, tracer, preloads=None, dataset_model=None) -> ModelFit:
    """The model of the fitted pixels with the solved intensities of its linear light profiles."""
    planes, betas = planes_from(tracer)
    terms, fixed, linear = _light_terms(planes, preloads)
    if not linear:
        return ModelFit(_model_from(dataset, planes, betas, terms, fixed, preloads, dataset_model))
    return _linear_model_fit(dataset, planes, betas, terms, fixed, linear, preloads, dataset_model)


def _linear_model_fit(dataset, planes, betas, terms, fixed, linear, preloads, dataset_model) -> ModelFit:
    """Steps 1-4 for the non-linear terms, then the linear profiles' bases and amplitudes."""
    traced = None
    if terms or any(term.basis is None for term in linear):
        traced = traced_grids_from(dataset.grid, planes, betas, preloads)
    if terms:
        model = dataset.convolver.convolve(*binned_light_from(dataset, terms, traced, planes, betas))
        if fixed is not None:
            model = model + fixed
    else:
        model = np.zeros(dataset.pixels) if fixed is None else fixed
    if dataset_model is not None:
        model = model + dataset_model.background_sky_level
    bases = linear_bases_from(dataset, linear, traced, planes, betas)
    amplitudes, model = solve_amplitudes(model, bases, dataset.data, dataset.inverse_variance)
    return ModelFit(model, tuple(linear), amplitudes, tuple(bases))


def _model_from(dataset, planes, betas, terms, fixed, preloads, dataset_model):
    """Steps 1-4 for a model without linear light profiles."""
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


def model_data_from(dataset, tracer, preloads=None, dataset_model=None) -> np.ndarray:
    """The PSF-convolved model of the fitted pixels, shape (..., N) (module docstring, steps 1-4).

    Linear light profiles get their solved intensities (:func:`model_fit_from`).
    """
    planes, betas = planes_from(tracer)
    terms, fixed, linear = _light_terms(planes, preloads)
    if linear:
        return _linear_model_fit(dataset, planes, betas, terms, fixed, linear, preloads, dataset_model).model
    return _model_from(dataset, planes, betas, terms, fixed, preloads, dataset_model)


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
    galaxy_names : sequence of str, optional
        Names of ``tracer.galaxies`` (e.g. ``instance.galaxies.keys()``), for the keys of
        :attr:`linear_intensities`; default their indices.

    Vectors (``model_data``, ``residuals``) are (..., N) over the fitted pixels;
    ``*_image`` and ``*_map`` properties are (..., N_y, N_x) images, zero outside the mask.
    With linear light profiles the model uses their solved intensities
    (:attr:`linear_intensities`), and so do the per-galaxy images; use
    :attr:`tracer_with_intensities` for anything else computed from the tracer
    (fluxes, source-plane images).
    """

    def __init__(self, dataset, tracer, dataset_model=None, preloads=None, galaxy_names=None):
        self.dataset = dataset
        self.tracer = tracer
        self.dataset_model = dataset_model
        self.preloads = preloads
        self.galaxy_names = None if galaxy_names is None else [str(name) for name in galaxy_names]

    @functools.cached_property
    def model_fit(self) -> ModelFit:
        """The model with the linear light profiles' terms, amplitudes and bases (:class:`ModelFit`)."""
        return model_fit_from(self.dataset, self.tracer, self.preloads, self.dataset_model)

    @functools.cached_property
    def model_data(self) -> np.ndarray:
        """(..., N) the blurred model of the fitted pixels, plus the sky level."""
        return self.model_fit.model

    # ------------------------------------------------------- linear profiles
    def _galaxy_index(self, galaxy) -> int:
        return next(i for i, g in enumerate(self.tracer.galaxies) if g is galaxy)

    def _intensity_key(self, term) -> str:
        index = self._galaxy_index(term.galaxy)
        name = self.galaxy_names[index] if self.galaxy_names is not None else str(index)
        return f"galaxies.{name}.{term.name}.intensity"

    @property
    def has_linear_light_profiles(self) -> bool:
        """Whether any light profile's intensity is solved for."""
        return any(is_linear(p) for g in self.tracer.galaxies for p in g.light_profiles.values())

    @functools.cached_property
    def linear_intensities(self) -> dict:
        """The solved intensity of every linear light profile, by path.

        ``{"galaxies.<galaxy>.<profile>.intensity": value}``, ``<galaxy>`` the galaxy's name
        (``galaxy_names``) or its index in ``tracer.galaxies``; a value is a float, or a (K,)
        array for a batch. Empty without linear light profiles.
        """
        fit = self.model_fit
        out = {}
        for l, term in enumerate(fit.linear):
            value = fit.amplitudes[..., l]
            out[self._intensity_key(term)] = float(value) if np.ndim(value) == 0 else value
        return out

    @functools.cached_property
    def tracer_with_intensities(self):
        """The tracer with each linear light profile replaced by its standard profile at its solved intensity.

        Batched amplitudes become (K, 1) intensities. The tracer itself when there is no
        linear light profile.
        """
        fit = self.model_fit
        if not fit.linear:
            return self.tracer
        from ..lensing import Galaxy, Tracer  # lensing sits below fit

        solved = {}
        for l, term in enumerate(fit.linear):
            value = fit.amplitudes[..., l]
            solved[id(term.profile), term.name, id(term.galaxy)] = (
                float(value) if np.ndim(value) == 0 else value[..., None])
        galaxies = []
        for galaxy in self.tracer.galaxies:
            profiles = {}
            for name, profile in galaxy.profiles.items():
                key = (id(profile), name, id(galaxy))
                profiles[name] = profile.with_intensity(solved[key]) if key in solved else profile
            galaxies.append(Galaxy(galaxy.redshift, **profiles))
        return Tracer(galaxies, cosmology=self.tracer.cosmology)

    # ------------------------------------------------------------ likelihood
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
        """The log likelihood (the linear light profiles' intensities are at their best fit;
        there is no regularised inversion here)."""
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
        """Per galaxy (``tracer.galaxies`` order), the (..., N) blurred image of its light (zeros if none).

        A linear light profile contributes its solved intensity times its blurred basis, exactly
        as in the model.
        """
        planes, betas = planes_from(self.tracer)
        fit = self.model_fit
        linear = {id(term.galaxy): [] for term in fit.linear}
        for l, term in enumerate(fit.linear):
            linear[id(term.galaxy)].append(fit.amplitudes[..., l, None] * fit.bases[l])
        traced = None
        out = []
        for galaxy, plane in zip(self.tracer.galaxies, self.tracer.plane_index_of_galaxy):
            terms = [(plane, profile) for profile in galaxy.light_profiles.values() if not is_linear(profile)]
            image = None
            if terms:
                if traced is None:
                    traced = traced_grids_from(self.dataset.grid, planes, betas)
                binned, blurring = binned_light_from(self.dataset, terms, traced, planes, betas)
                image = self.dataset.convolver.convolve(binned, blurring)
            for contribution in linear.get(id(galaxy), ()):
                image = contribution if image is None else image + contribution
            out.append(np.zeros(self.dataset.pixels) if image is None else image)
        return out

    @property
    def blurred_images(self) -> list:
        """Per galaxy, the (..., N_y, N_x) PSF-blurred image of its light in the mask."""
        return [self.dataset.image_2d_from(values) for values in self.galaxy_blurred_data]

    @property
    def data_image(self) -> np.ndarray:
        """(N_y, N_x) the data in the mask, zero outside."""
        return self.dataset.image_2d_from(self.dataset.data)
