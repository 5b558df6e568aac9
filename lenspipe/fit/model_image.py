"""The model data of an imaging fit: tracing, light evaluation, binning, convolution.

These functions compute what :class:`~lenspipe.fit.fit_imaging.FitImaging` fits to
a :class:`~lenspipe.fit.fit_imaging.MaskedImaging`. :func:`model_fit_from` is the
hot path (ARCHITECTURE.md, "The hot path"), written once: ``FitImaging`` runs it, and
through it ``AnalysisImaging``, the chunked evaluator and
``profile_log_likelihood_function`` (which passes a :class:`StepTimer`, the optional
timing hook that marks the end of each step). A call, in steps:

1. trace the concatenated grid through the planes (``Tracer.traced_grids_from``: fixed
   mass profiles take their deflections from the preloads) and evaluate every light profile on its
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
times the bases. A profile with several amplitudes (an ``MGE``: ``amplitude_count``
Gaussians) gives one :class:`LinearTerm` per amplitude (``index`` 0, 1, ...); its G images
are evaluated, binned and convolved together (``images_from``: one rotation, one batched
FFT) and, all being Gaussians (smooth), not refined. A model with no linear profile takes
exactly the path above.

:func:`chi_squared_from` reduces the residuals; :func:`light_terms_from` and
:func:`binned_light_from` are steps shared with the preloads and the analysis.
"""

from __future__ import annotations

import time
import typing

import numpy as np

from . import oversampling
from ..lensing.tracer import trace_grids
from .inversion.pixelized import invert, pixelizations_from
from .linear import solve_amplitudes

__all__ = ["ModelFit", "LinearTerm", "StepTimer", "model_data_from", "model_fit_from",
           "light_terms_from", "linear_light_terms_from", "binned_light_from", "linear_basis_from",
           "linear_bases_from", "chi_squared_from", "is_linear", "amplitude_count"]


class StepTimer:
    """The optional timing hook of the likelihood chain: seconds spent in each named step.

    The chain calls :meth:`mark` at the end of each step; the time since the previous mark
    is added to that step. ``steps`` maps step name -> seconds (summed over calls).
    """

    def __init__(self):
        self.steps: dict[str, float] = {}
        self.start = self._last = time.perf_counter()

    @property
    def total(self) -> float:
        """Seconds from the timer's creation to its last mark."""
        return self._last - self.start

    def mark(self, step: str) -> None:
        now = time.perf_counter()
        self.steps[step] = self.steps.get(step, 0.0) + (now - self._last)
        self._last = now


def _no_mark(step: str) -> None:
    """The timing hook when nothing is timed."""


def is_linear(profile) -> bool:
    """Whether a light profile's intensity is solved for (a ``*Linear`` profile)."""
    return getattr(profile, "is_linear", False)


class LinearTerm(typing.NamedTuple):
    """One solved amplitude: its linear light profile, where it is, and its preloaded blurred basis or None.

    ``index`` is None for a profile with one amplitude (``SersicLinear``), else the position of
    the amplitude in the profile's ``amplitude_count`` (an ``MGE``'s Gaussian, narrowest first).
    """

    plane: int
    galaxy: object
    name: str
    profile: object
    basis: object = None
    index: typing.Optional[int] = None


def amplitude_count(profile):
    """None for a linear profile with one amplitude, else its number of amplitudes (an MGE's G)."""
    return getattr(profile, "amplitude_count", None)


def _light_terms(planes, preloads=None):
    """(non-linear terms to evaluate, summed preloaded blurred image or None, [LinearTerm])."""
    terms, fixed, linear = [], None, []
    for index, galaxies in enumerate(planes):
        for galaxy in galaxies:
            for name, profile in galaxy.light_profiles.items():
                if getattr(profile, "is_linear", False):
                    basis = None if preloads is None else preloads.linear_basis(index, name, profile)
                    count = amplitude_count(profile)
                    if count is None:
                        linear.append(LinearTerm(index, galaxy, name, profile, basis))
                    else:  # a preloaded basis is then (G, N)
                        linear.extend(LinearTerm(index, galaxy, name, profile, None if basis is None else basis[i], i)
                                      for i in range(count))
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
                        lambda grid, planes_rows: trace_grids(grid, planes_rows, betas))
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

    A profile with several amplitudes (an MGE) gives (..., G, N) and (..., G, Nb): its
    Gaussians' images, not refined (Gaussians are smooth, ``oversampling.SMOOTH_PROFILES``).
    """
    sampler = dataset.sampler
    if amplitude_count(profile) is not None:
        return sampler.binned(profile.images_from(traced[plane]))
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
                        lambda grid, planes_rows: trace_grids(grid, planes_rows, betas))
    scaled /= scale if scale.ndim == 0 else np.broadcast_to(scale, shape[:-1])[..., None]
    return scaled, blurring


def linear_bases_from(dataset, linear, traced, planes, betas) -> list:
    """The (..., N) blurred unit-intensity bases of linear terms (preloaded ones as they are).

    The terms of one profile with several amplitudes are computed together, once.
    """
    bases, stacks = [], {}
    for term in linear:
        if term.basis is not None:
            bases.append(term.basis)
        elif term.index is None:
            bases.append(dataset.convolver.convolve(
                *linear_basis_from(dataset, term.profile, term.plane, traced, planes, betas)))
        else:
            key = (term.plane, id(term.galaxy), term.name)
            if key not in stacks:
                stacks[key] = dataset.convolver.convolve(
                    *linear_basis_from(dataset, term.profile, term.plane, traced, planes, betas))
            bases.append(stacks[key][..., term.index, :])
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
    inversions: tuple = ()


def model_fit_from(dataset, tracer, preloads=None, dataset_model=None, timer=None, inversion=None,
                   adapt_images=None, held_mesh=None) -> ModelFit:
    """The model of the fitted pixels with the solved intensities of its linear light profiles.

    The hot path, steps 1-4 of the module docstring, then the linear light profiles' bases and
    amplitudes when there are any.

    Parameters
    ----------
    dataset : MaskedImaging
    tracer : Tracer
        Parameters may be floats or (K, 1) arrays (a batch).
    preloads : Preloads, optional
    dataset_model : DatasetModel, optional
        Adds its background sky level.
    timer : StepTimer, optional
        Marks the end of each step: ``ray_tracing``, ``light_binning_refinement``,
        ``convolution``, with linear light profiles ``linear_bases`` and ``linear_solve``, and
        with a pixelized source the ``inversion_*`` steps of :func:`~lenspipe.fit.inversion.inversion_from`.
    inversion : InversionSettings, optional
        How a pixelized source is solved (default ``InversionSettings()``).
    adapt_images : dict, optional
        ``id(galaxy) -> (N,)`` adapt images (Adapt regularization).
    held_mesh : HeldMesh, optional
        A pixelized source's mesh held at a reference mass (:mod:`lenspipe.fit.inversion.held`).

    A galaxy with a ``pixelization`` adds a linear inversion (:mod:`lenspipe.fit.inversion`)
    solved against the data minus the rest of the model, with the linear light profiles'
    amplitudes in the same linear system (unconstrained, or non-negative with
    ``positive_only``); ``ModelFit.inversions`` holds it (one per batch row).
    """
    mark = _no_mark if timer is None else timer.mark
    planes, betas = tracer.planes, tracer.betas
    terms, fixed, linear = _light_terms(planes, preloads)
    traced = None
    if terms or any(term.basis is None for term in linear):
        traced = tracer.traced_grids_from(dataset.grid, preloads)
    mark("ray_tracing")
    binned = binned_light_from(dataset, terms, traced, planes, betas) if terms else None
    mark("light_binning_refinement")
    if binned is not None:
        model = dataset.convolver.convolve(*binned)
        if fixed is not None:
            model = model + fixed
    else:
        model = np.zeros(dataset.pixels) if fixed is None else fixed
    if dataset_model is not None:
        model = model + dataset_model.background_sky_level
    mark("convolution")
    pixelized = pixelizations_from(planes)
    if pixelized:  # the linear light profiles' amplitudes join the pixelized source's linear system
        from ..settings import InversionSettings

        bases = linear_bases_from(dataset, linear, traced, planes, betas) if linear else []
        mark("linear_bases")
        model, inversions = invert(dataset, tracer, pixelized, model, inversion or InversionSettings(), adapt_images,
                                   timer, bases, held=held_mesh)
        amplitudes = None
        if linear:
            amplitudes = np.stack([inv.amplitudes for inv in inversions])
            amplitudes = amplitudes[0] if np.ndim(model) == 1 else amplitudes
        return ModelFit(model, tuple(linear), amplitudes, tuple(bases), tuple(inversions))
    if not linear:
        return ModelFit(model)
    bases = linear_bases_from(dataset, linear, traced, planes, betas)
    mark("linear_bases")
    amplitudes, model = solve_amplitudes(model, bases, dataset.data, dataset.inverse_variance)
    mark("linear_solve")
    return ModelFit(model, tuple(linear), amplitudes, tuple(bases))


def model_data_from(dataset, tracer, preloads=None, dataset_model=None) -> np.ndarray:
    """The PSF-convolved model of the fitted pixels, shape (..., N): :func:`model_fit_from`'s ``model``."""
    return model_fit_from(dataset, tracer, preloads, dataset_model).model


def chi_squared_from(residuals, inverse_variance):
    """``sum(residuals^2 / sigma^2)`` over the last axis (einsum: no threaded BLAS, same bits per row)."""
    return np.einsum("...i,...i,i->...", residuals, residuals, inverse_variance)
