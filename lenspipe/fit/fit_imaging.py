"""The imaging fit: a fit of one tracer to a masked dataset.

:class:`MaskedImaging` (the dataset, with everything that does not depend on the model
parameters) and :class:`DatasetModel` live in :mod:`lenspipe.fit.masked_imaging` and are
re-exported here.

The model data themselves (the hot path: tracing, light evaluation, binning,
convolution, the linear light profiles' amplitudes) are computed by
:mod:`lenspipe.fit.model_image`; :func:`model_data_from`, :func:`model_fit_from`,
:class:`ModelFit` and :class:`LinearTerm` are re-exported here.

:class:`FitImaging` wraps that with noun properties (model image, residuals,
chi-squared, log likelihood: CONVENTIONS.md, "Imaging likelihood"). Every
quantity broadcasts over a batch: with parameters of shape (K, 1) the model data
are (K, N) and ``log_likelihood`` is (K,).
"""

from __future__ import annotations


import numpy as np

from .masked_imaging import DatasetModel, MaskedImaging
from .model_image import (LinearTerm, ModelFit, binned_light_from, chi_squared_from, is_linear, model_data_from,
                          model_fit_from)

__all__ = ["MaskedImaging", "DatasetModel", "FitImaging", "ModelFit", "LinearTerm", "model_data_from", "model_fit_from"]


class _cached:
    """A cached property that takes no lock.

    ``functools.cached_property`` holds one lock per class, not per instance, before Python
    3.12, so fits computed on the chunked evaluator's threads would run one at a time
    (measured on P1: 6.5 ms against 3.6 ms per vector on 2 threads). Each fit is used by one
    thread, so no lock is needed: the value is stored in the instance's ``__dict__``, which
    later lookups find first.
    """

    def __init__(self, function):
        self.function = function
        self.__doc__ = function.__doc__
        self.name = function.__name__

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = self.function(instance)
        instance.__dict__[self.name] = value
        return value


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
    timer : StepTimer, optional
        The likelihood chain's timing hook (:func:`~lenspipe.fit.model_image.model_fit_from`);
        :attr:`chi_squared` marks ``chi_squared``.

    Vectors (``model_data``, ``residuals``) are (..., N) over the fitted pixels;
    ``*_image`` and ``*_map`` properties are (..., N_y, N_x) images, zero outside the mask.
    With linear light profiles the model uses their solved intensities
    (:attr:`linear_intensities`), and so do the per-galaxy images; use
    :attr:`tracer_with_intensities` for anything else computed from the tracer
    (fluxes, source-plane images).
    """

    def __init__(self, dataset, tracer, dataset_model=None, preloads=None, galaxy_names=None, timer=None,
                 settings_inversion=None, adapt_images=None, held_mesh=None):
        self.dataset = dataset
        self.timer = timer
        self.tracer = tracer
        self.dataset_model = dataset_model
        self.preloads = preloads
        self.galaxy_names = None if galaxy_names is None else [str(name) for name in galaxy_names]
        self.settings_inversion = settings_inversion
        self.adapt_images = adapt_images
        self.held_mesh = held_mesh

    @_cached
    def model_fit(self) -> ModelFit:
        """The model with the linear light profiles' terms, amplitudes and bases (:class:`ModelFit`)."""
        adapt = None
        if self.adapt_images:
            names = self.galaxy_names or [str(i) for i in range(len(self.tracer.galaxies))]
            adapt = {id(galaxy): self.adapt_images[name] for name, galaxy in zip(names, self.tracer.galaxies)
                     if name in self.adapt_images}
        return model_fit_from(self.dataset, self.tracer, self.preloads, self.dataset_model, self.timer,
                              self.settings_inversion, adapt, self.held_mesh)

    @_cached
    def model_data(self) -> np.ndarray:
        """(..., N) the blurred model of the fitted pixels, plus the sky level."""
        return self.model_fit.model

    # ------------------------------------------------------- linear profiles
    def _galaxy_index(self, galaxy) -> int:
        return next(i for i, g in enumerate(self.tracer.galaxies) if g is galaxy)

    def _intensity_key(self, term) -> str:
        index = self._galaxy_index(term.galaxy)
        name = self.galaxy_names[index] if self.galaxy_names is not None else str(index)
        suffix = "" if term.index is None else f"_{term.index}"
        return f"galaxies.{name}.{term.name}.intensity{suffix}"

    @property
    def has_linear_light_profiles(self) -> bool:
        """Whether any light profile's intensity is solved for."""
        return any(is_linear(p) for g in self.tracer.galaxies for p in g.light_profiles.values())

    @_cached
    def linear_intensities(self) -> dict:
        """The solved intensity of every linear light profile, by path.

        ``{"galaxies.<galaxy>.<profile>.intensity": value}``, ``<galaxy>`` the galaxy's name
        (``galaxy_names``) or its index in ``tracer.galaxies``; a value is a float, or a (K,)
        array for a batch. A profile with several amplitudes (an MGE) has one key per
        Gaussian, ``...<profile>.intensity_<i>``, ``i = 0`` the narrowest. Empty without
        linear light profiles.
        """
        fit = self.model_fit
        out = {}
        for l, term in enumerate(fit.linear):
            value = fit.amplitudes[..., l]
            out[self._intensity_key(term)] = float(value) if np.ndim(value) == 0 else value
        return out

    @_cached
    def tracer_with_intensities(self):
        """The tracer with each linear light profile replaced by its standard profile at its solved intensity.

        Batched amplitudes become (K, 1) intensities; an MGE becomes the ``Basis`` of its
        Gaussians (``MGE.with_intensities``). The tracer itself when there is no linear light
        profile.
        """
        fit = self.model_fit
        if not fit.linear:
            return self.tracer
        from ..lensing import Galaxy, Tracer  # lensing sits below fit

        solved = {}  # (profile, name, galaxy) -> [amplitude index, ...]
        for l, term in enumerate(fit.linear):
            solved.setdefault((id(term.profile), term.name, id(term.galaxy)), []).append(l)
        galaxies = []
        for galaxy in self.tracer.galaxies:
            profiles = {}
            for name, profile in galaxy.profiles.items():
                columns = solved.get((id(profile), name, id(galaxy)))
                if columns is None:
                    profiles[name] = profile
                elif getattr(profile, "amplitude_count", None) is not None:  # an MGE: (..., G)
                    profiles[name] = profile.with_intensities(fit.amplitudes[..., columns])
                else:
                    value = fit.amplitudes[..., columns[0]]
                    profiles[name] = profile.with_intensity(float(value) if np.ndim(value) == 0 else value[..., None])
            galaxies.append(Galaxy(galaxy.redshift, **profiles))
        return Tracer(galaxies, cosmology=self.tracer.cosmology)

    # ------------------------------------------------------------ likelihood
    @_cached
    def residuals(self) -> np.ndarray:
        """(..., N) data - model."""
        return self.dataset.data - self.model_data

    @_cached
    def chi_squared(self):
        """``sum(((d - m) / sigma)^2)`` over the fitted pixels; float, or (K,) for a batch."""
        value = chi_squared_from(self.residuals, self.dataset.inverse_variance)
        if self.timer is not None:
            self.timer.mark("chi_squared")
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
    def inversion(self):
        """The pixelized source's :class:`~lenspipe.fit.inversion.Inversion` (a list for a batch), or None."""
        inversions = self.model_fit.inversions
        if not inversions:
            return None
        return inversions[0] if np.ndim(self.chi_squared) == 0 else list(inversions)

    @property
    def log_evidence(self):
        """With a pixelized source, ``-0.5 [chi2 + s^T H s + log det(F + H) - log det H + noise_normalization]``
        (CONVENTIONS.md); None without one. Float, or (K,) for a batch."""
        inversions = self.model_fit.inversions
        if not inversions:
            return None
        terms = np.array([inversion.evidence_terms for inversion in inversions])
        value = -0.5 * (self.chi_squared + terms + self.noise_normalization)
        return float(value[0]) if np.ndim(self.chi_squared) == 0 else value

    @property
    def figure_of_merit(self):
        """What the search maximises: the log evidence with a pixelized source, else the log
        likelihood (linear light profiles' intensities at their best fit)."""
        evidence = self.log_evidence
        return self.log_likelihood if evidence is None else evidence

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

    @_cached
    def galaxy_blurred_data(self) -> list:
        """Per galaxy (``tracer.galaxies`` order), the (..., N) blurred image of its light (zeros if none).

        A linear light profile contributes its solved intensity times its blurred basis, and a
        pixelized source its blurred reconstruction, exactly as in the model.
        """
        planes, betas = self.tracer.planes, self.tracer.betas
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
                    traced = self.tracer.traced_grids_from(self.dataset.grid)
                binned, blurring = binned_light_from(self.dataset, terms, traced, planes, betas)
                image = self.dataset.convolver.convolve(binned, blurring)
            for contribution in linear.get(id(galaxy), ()):
                image = contribution if image is None else image + contribution
            if galaxy.pixelizations and fit.inversions:
                mapped = np.stack([inversion.mapped_image for inversion in fit.inversions])
                mapped = mapped[0] if len(fit.inversions) == 1 and np.ndim(self.chi_squared) == 0 else mapped
                image = mapped if image is None else image + mapped
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
