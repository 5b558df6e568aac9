"""AnalysisImaging: from a model instance to a fit and a log likelihood.

The bridge between the model (``lenspipe.model``) and the imaging fit
(``lenspipe.fit``): an instance's galaxies become a :class:`~lenspipe.lensing.Tracer`,
the tracer is fitted to a :class:`~lenspipe.fit.MaskedImaging`, and the figure of
merit goes to the search.

A model the physics cannot evaluate -- a NaN or inf likelihood, parameters outside
a profile's domain (a :class:`~lenspipe.errors.LenspipeError`), a floating-point
error -- is a *discarded sample*: its log likelihood is ``-inf``, the event is
counted by reason (:attr:`AnalysisImaging.discarded`), and the search goes on.
Errors that are bugs (a wrong shape, a missing attribute) are not swallowed.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import os
import threading
from pathlib import Path

import numpy as np

from .fit.fit_imaging import FitImaging
from .fit.likelihood import DISCARD_ERRORS
from .fit.model_image import StepTimer, binned_light_from, is_linear
from .fit.preloads import Preloads
from .lensing import Tracer
from .lensing.cosmology import default_cosmology

__all__ = ["AnalysisImaging", "AnalysisSettings", "DiscardCounter"]



@dataclasses.dataclass(frozen=True)
class AnalysisSettings:
    """Settings of an :class:`AnalysisImaging`.

    Parameters
    ----------
    use_preloads : bool
        Evaluate the model's fixed components once (:mod:`lenspipe.fit.preloads`).
    raise_errors : bool
        Debugging: raise instead of discarding a sample that fails.
    profiling_repeats : int
        Calls timed by :meth:`AnalysisImaging.profile_log_likelihood_function`.
    """

    use_preloads: bool = True
    raise_errors: bool = False
    profiling_repeats: int = 20


class DiscardCounter:
    """Counts of discarded samples by reason, with the last message of each."""

    def __init__(self):
        self.counts = collections.Counter()
        self.last_message = {}
        self._lock = threading.Lock()

    def add(self, reason: str, message: str = "", count: int = 1):
        """Record ``count`` discarded samples for ``reason`` (thread-safe)."""
        if count:
            with self._lock:
                self.counts[reason] += int(count)
                if message:
                    self.last_message[reason] = message

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    @property
    def total(self) -> int:
        """Number of discarded samples."""
        return int(sum(self.counts.values()))

    def to_dict(self) -> dict:
        """JSON-safe summary."""
        return {"total": self.total, "by_reason": dict(self.counts), "last_message": dict(self.last_message)}


class AnalysisImaging:
    """The log likelihood of lens models given a masked imaging dataset.

    Parameters
    ----------
    dataset : MaskedImaging
        The masked data with its precomputations.
    positions_likelihood : PositionsLHResample or PositionsLHPenalty, optional
        Multiple-image positions that must meet in the source plane.
    cosmology : astropy.cosmology.Cosmology, optional
        Default Planck15.
    settings : AnalysisSettings, optional
    adapt_images : dict, optional
        Galaxy name (as in ``instance.galaxies``) -> (N,) image of that galaxy on the fitted
        pixels, from an earlier result: what Adapt regularization adapts to.
    settings_inversion : InversionSettings, optional
        How a pixelized source is solved (:class:`lenspipe.settings.InversionSettings`).
    raise_inversion_positions_likelihood_exception : bool
        Refuse a model with a pixelized source and no positions likelihood (default True; see
        :meth:`check_model`).
    mesh_reference : instance, optional
        A model instance (``.galaxies``) whose mass holds a pixelized source's mesh
        (``inversion.hold_mesh``; :mod:`lenspipe.fit.inversion.held`); None: each model's own.
    """

    def __init__(self, dataset, positions_likelihood=None, cosmology=None, settings=None, adapt_images=None,
                 settings_inversion=None, raise_inversion_positions_likelihood_exception=True, mesh_reference=None):
        self.dataset = dataset
        self.positions_likelihood = positions_likelihood
        self.cosmology = cosmology if cosmology is not None else default_cosmology()
        self.settings = settings if settings is not None else AnalysisSettings()
        self.adapt_images = dict(adapt_images or {})
        self.settings_inversion = settings_inversion
        self.raise_inversion_positions_likelihood_exception = raise_inversion_positions_likelihood_exception
        self.held_mesh = None
        if mesh_reference is not None:
            from .fit.inversion.held import HeldMesh

            self.held_mesh = HeldMesh(self.tracer_via_instance_from(mesh_reference))
        self.preloads = None
        self.discarded = DiscardCounter()

    @property
    def points_per_model(self) -> int:
        """Points where light is evaluated per model (sets the evaluator's chunk size)."""
        return int(self.dataset.sampler.n_points)

    # ------------------------------------------------------------ the model
    def tracer_via_instance_from(self, instance) -> Tracer:
        """The Tracer of the instance's galaxies (``instance.galaxies``)."""
        return Tracer(list(instance.galaxies), cosmology=self.cosmology)

    def fit_from(self, instance, tracer=None, timer=None) -> FitImaging:
        """The :class:`FitImaging` of an instance (batched instances give batched fits).

        Its ``linear_intensities`` are keyed by the galaxies' names in the instance
        (``galaxies.lens.bulge.intensity``). ``tracer`` (the instance's, if already made)
        and ``timer`` (the likelihood chain's timing hook) are optional.
        """
        galaxies = instance.galaxies
        names = galaxies.keys() if callable(getattr(galaxies, "keys", None)) else None
        tracer = tracer if tracer is not None else self.tracer_via_instance_from(instance)
        return FitImaging(self.dataset, tracer, dataset_model=getattr(instance, "dataset_model", None),
                          preloads=self.preloads, galaxy_names=names, timer=timer,
                          settings_inversion=self.settings_inversion, adapt_images=self.adapt_images,
                          held_mesh=self.held_mesh)

    def check_model(self, model):
        """Refuse a model this analysis should not fit.

        A pixelized source fitted without a positions likelihood can reach unphysical
        solutions that the log evidence prefers: a mass so demagnifying that the source is a
        copy of the lensed image, or a source reconstructed as the lens's own light. The
        multiple-image positions must then meet in the source plane (PyAutoLens's
        ``raise_inversion_positions_likelihood_exception``).

        Raises
        ------
        ConfigError
            A pixelization with Adapt regularization and no adapt image for its galaxy.
        InversionPositionsError
            The model has a pixelization, there is no positions likelihood, and
            ``raise_inversion_positions_likelihood_exception`` is True.
        """
        from .errors import ConfigError
        from .fit.inversion import InversionPositionsError
        from .fit.inversion.pixelized import galaxies_needing_adapt_images, model_has_pixelization

        missing = [name for name in galaxies_needing_adapt_images(model) if name not in self.adapt_images]
        if missing:
            raise ConfigError(
                f"galaxies {', '.join(missing)} have Adapt regularization but no adapt image: give "
                "adapt_images={name: image on the fitted pixels} (a pipeline stage takes them from the stage "
                "before it, so an Adapt stage needs one), or use Constant regularization")

        if self.positions_likelihood is not None or not self.raise_inversion_positions_likelihood_exception:
            return
        if model_has_pixelization(model):
            raise InversionPositionsError(
                "the model has a pixelized source but the analysis has no positions likelihood: without one "
                "the fit can settle on unphysical solutions (a demagnified source that copies the lensed image, "
                "or the lens light reconstructed as source). Give the multiple-image positions and a threshold "
                "(the dataset's positions with positions.threshold > 0, or positions_likelihood=...), or pass "
                "raise_inversion_positions_likelihood_exception=False to fit anyway.")

    def preload(self, model):
        """Check the model (:meth:`check_model`) and evaluate the components it keeps fixed, once
        (see :mod:`lenspipe.fit.preloads`).

        Returns the :class:`Preloads` (also kept on the analysis and used by every later call).
        """
        self.check_model(model)
        if not self.settings.use_preloads or model.prior_count == 0:
            self.preloads = None
            return None
        n = model.prior_count
        try:
            instances = [model.instance_from_vector(model.vector_from_unit_vector(np.full(n, u)))
                         for u in (0.25, 0.75)]
            with np.errstate(all="ignore"):
                preloads = Preloads.from_tracers(self.dataset, *(self.tracer_via_instance_from(i) for i in instances))
        except DISCARD_ERRORS:  # the probe points are outside a profile's domain: no preloads, no harm
            preloads = None
        self.preloads = preloads if preloads else None
        return self.preloads

    # ------------------------------------------------------- log likelihood
    def log_likelihood_array_from(self, instance, timer=None) -> np.ndarray:
        """Log likelihoods of a (possibly batched) instance, shape (K,) or (); ``-inf`` where not finite.

        The one likelihood chain: the instance's tracer, the positions penalty, then
        :class:`FitImaging`'s log likelihood (trace, light, bin, convolve, linear solve,
        chi-squared) minus the penalty. ``timer`` (a :class:`~lenspipe.fit.model_image.StepTimer`)
        marks each step. Exceptions propagate (the caller decides which sample failed).
        """
        with np.errstate(all="ignore"):
            tracer = self.tracer_via_instance_from(instance)
            positions = self.positions_likelihood
            penalty = 0.0 if positions is None else positions.log_likelihood_penalty_from(tracer)
            if timer is not None:
                timer.mark("tracer_positions")
            if np.ndim(penalty) == 0 and np.isinf(penalty):  # one model, discarded before the fit
                self.discarded.add("positions", "traced positions further apart than the threshold")
                return np.asarray(-np.inf)
            log_likelihood = self.fit_from(instance, tracer, timer).figure_of_merit - penalty
        log_likelihood = np.asarray(log_likelihood, dtype=np.float64)
        bad = ~np.isfinite(log_likelihood)
        if bad.any():
            by_positions = bad & np.broadcast_to(np.isinf(np.asarray(penalty)), bad.shape)
            self.discarded.add("positions", "traced positions further apart than the threshold",
                               int(np.count_nonzero(by_positions)))
            self.discarded.add("non-finite", "the log likelihood is NaN or inf",
                               int(np.count_nonzero(bad & ~by_positions)))
            log_likelihood = np.where(bad, -np.inf, log_likelihood)
        return log_likelihood

    def log_likelihood_function(self, instance) -> float:
        """The log likelihood of one instance (CONVENTIONS.md); ``-inf`` for a discarded sample."""
        try:
            return float(self.log_likelihood_array_from(instance))
        except DISCARD_ERRORS as error:
            if self.settings.raise_errors:
                raise
            self.discarded.add(type(error).__name__, str(error))
            return -np.inf

    # ----------------------------------------------------- latent variables
    def latent_variables(self, instance) -> dict:
        """Derived quantities of one (unbatched) instance.

        Returns
        -------
        dict
            ``effective_einstein_radius`` (arcsec; sqrt(area / pi) of the tangential critical
            curve), ``einstein_radius_intermediate`` (arcsec; ``2 sqrt(q) / (1 + q)`` times the
            Einstein radius of the first Isothermal/PowerLaw mass), ``magnification`` (lensed /
            unlensed source flux on the fitted pixels), ``lens_flux`` and ``source_flux``
            (unconvolved light summed over the fitted pixels, image units x pixels; the source's
            as lensed). With linear light profiles, the fluxes use the solved intensities, and
            each solved intensity is a latent variable named by its path,
            ``galaxies.<galaxy>.<profile>.intensity`` (e.g. ``galaxies.lens.bulge.intensity``).
            A pixelized source adds its reconstruction: lensed, its unblurred image on the fitted
            pixels; unlensed, its integral over the source plane (``Inversion.source_flux``).
        """
        tracer = self.tracer_via_instance_from(instance)
        intensities, inversion = {}, None
        pixelized = any(g.pixelizations for g in tracer.galaxies)
        if pixelized or any(is_linear(p) for g in tracer.galaxies for p in g.light_profiles.values()):
            fit = self.fit_from(instance)
            intensities = fit.linear_intensities
            tracer = fit.tracer_with_intensities
            inversion = fit.inversion
        latent = {"effective_einstein_radius": float(tracer.einstein_radius_from())}
        latent["einstein_radius_intermediate"] = _intermediate_einstein_radius(tracer)
        planes, betas = tracer.planes, tracer.betas
        traced = tracer.traced_grids_from(self.dataset.grid)
        lens_terms = [(0, p) for g in planes[0] for p in g.light_profiles.values()]
        source_terms = [(i, p) for i in range(1, len(planes)) for g in planes[i] for p in g.light_profiles.values()]
        latent["lens_flux"] = self._flux(lens_terms, traced, planes, betas)
        latent["source_flux"] = self._flux(source_terms, traced, planes, betas)
        unlensed = self._flux([(0, p) for _, p in source_terms], [self.dataset.grid], planes, betas)
        if inversion is not None:
            latent["source_flux"] += inversion.lensed_flux
            unlensed += inversion.source_flux(self.dataset.pixel_scale)
        latent["magnification"] = latent["source_flux"] / unlensed if unlensed > 0 else float("nan")
        latent.update((name, float(value)) for name, value in intensities.items())
        return latent

    def _flux(self, terms, traced, planes, betas) -> float:
        if not terms:
            return 0.0
        image, _ = binned_light_from(self.dataset, terms, traced, planes, betas)
        return float(np.sum(image))

    # ------------------------------------------------------------ profiling
    def profile_log_likelihood_function(self, instance, path=None, repeats=None) -> dict:
        """Time each step of one likelihood call; write a JSON report to ``path`` if given.

        The calls are :meth:`log_likelihood_array_from` itself (the chain every search
        evaluates, positions penalty included) with a :class:`~lenspipe.fit.model_image.StepTimer`.

        Returns
        -------
        dict
            ``{"steps_ms": {step: median ms}, "total_ms": median ms of a whole call,
            "log_likelihood": value, "info": {pixels, sub-pixels, PSF shape, threads, ...}}``.
            The steps add up to the whole call (the timer's marks are contiguous).
        """
        repeats = int(repeats or self.settings.profiling_repeats)
        steps = collections.defaultdict(list)
        totals = []
        for _ in range(repeats):
            timer = StepTimer()
            value = self.log_likelihood_array_from(instance, timer)
            totals.append(timer.total)
            for name, seconds in timer.steps.items():
                steps[name].append(seconds)
        report = {
            "steps_ms": {name: 1e3 * float(np.median(times)) for name, times in steps.items()},
            "total_ms": 1e3 * float(np.median(totals)),
            "log_likelihood": float(value),
            "repeats": repeats,
            "info": self.info(),
        }
        if path is not None:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(report, indent=2))
        return report

    def info(self) -> dict:
        """Dataset sizes, threads and preloads, for reports."""
        info = dict(self.dataset.info())
        info["threads"] = {"fft": self.dataset.convolver.threads, "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
                           "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                           else os.cpu_count()}
        info["preloads"] = None if self.preloads is None else self.preloads.summary()
        info["positions"] = None if self.positions_likelihood is None else self.positions_likelihood.to_dict()
        info["discarded"] = self.discarded.to_dict()
        return info


def _intermediate_einstein_radius(tracer) -> float:
    """``2 sqrt(q) / (1 + q) * einstein_radius`` of the first Isothermal/PowerLaw mass profile, else NaN."""
    for galaxy in tracer.galaxies:
        for profile in galaxy.mass_profiles.values():
            if type(profile).__name__ not in ("Isothermal", "IsothermalSph", "PowerLaw", "PowerLawSph"):
                continue
            radius = float(profile.einstein_radius)
            if not hasattr(profile, "ell_comps"):
                return radius
            q = float(profile.axis_ratio)
            return float(2.0 * np.sqrt(q) / (1.0 + q) * radius)
    return float("nan")

