"""Rebuild a fit from what a result file (or the database) stores.

:func:`fit_from_result` is the single path through which ``Result.fit`` and
``Aggregator.values("fit")`` turn a stored result into its maximum-likelihood
``FitImaging``: the dataset is rebuilt from the stored arrays alone, with the
likelihood settings, positions penalty and cosmology the fit used (recorded in its
search JSON), so the rebuilt log likelihood equals the one the sampler saw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..settings import FitSettings

__all__ = ["fit_from_result", "analysis_from_result", "analysis_from_settings", "settings_from_search",
           "adapt_images_from", "mesh_reference_from",
           "source_plane_image"]


def analysis_from_settings(imaging, mask, positions=None, settings=None, adapt_images=None, mesh_reference=None):
    """The :class:`~lenspipe.analysis.AnalysisImaging` a fit uses, from its settings.

    The one path from settings to likelihood: ``lenspipe fit`` builds its analysis here and
    a rebuilt fit (:func:`analysis_from_result`) builds it here from the recorded settings.

    Parameters
    ----------
    imaging : Imaging
    mask : Mask
    positions : ndarray, shape (m, 2), optional
        Multiple-image positions (y, x), arcsec.
    settings : FitSettings, optional
        Its ``likelihood`` (over-sampling), ``positions.threshold`` (arcsec; above 0, with
        two or more positions, the positions penalty applies) and ``cosmology``.
        Default :class:`~lenspipe.settings.FitSettings` (); its ``inversion`` section is how a
        pixelized source is solved.
    adapt_images : dict, optional
        Galaxy name -> (N,) image the fit adapts to (Adapt regularization).
    mesh_reference : dict, optional
        ``{"model": ..., "vector": ...}`` (:func:`mesh_reference_from`): with
        ``inversion.hold_mesh``, the instance whose mass holds the source mesh.
    """
    from ..analysis import AnalysisImaging
    from ..fit.fit_imaging import MaskedImaging
    from ..fit.oversampling import over_sampling_from_settings
    from ..fit.positions import PositionsLHPenalty
    from ..lensing import cosmology_from_name
    from ..settings import FitSettings

    settings = settings if settings is not None else FitSettings()
    masked = MaskedImaging(imaging, mask, over_sampling=over_sampling_from_settings(settings.likelihood))
    threshold = settings.positions.threshold or 0.0
    positions_lh = None
    if positions is not None and threshold > 0 and len(positions) >= 2:
        positions_lh = PositionsLHPenalty(np.asarray(positions, dtype=float), float(threshold))
    reference = None
    if settings.inversion.hold_mesh and mesh_reference is not None:
        from ..model import Model

        reference = Model.from_dict(mesh_reference["model"]).instance_from_vector(
            np.asarray(mesh_reference["vector"], dtype=float))
    return AnalysisImaging(masked, positions_likelihood=positions_lh,
                           cosmology=cosmology_from_name(settings.cosmology), adapt_images=adapt_images,
                           settings_inversion=settings.inversion, mesh_reference=reference)


def mesh_reference_from(result) -> dict:
    """``{"model", "vector"}`` of a result's maximum-likelihood sample: what a later stage's held
    mesh is built from (``inversion.hold_mesh``; :mod:`lenspipe.fit.inversion.held`)."""
    return {"model": result.model, "vector": [float(v) for v in result.max_log_likelihood_vector]}


def settings_from_search(search) -> FitSettings:
    """The :class:`~lenspipe.settings.FitSettings` a stored fit recorded (``search["settings"]``).

    Results written before settings were recorded whole kept ``likelihood``,
    ``positions_threshold`` and ``cosmology`` as separate entries; those are read instead.
    """
    from ..settings import FitSettings

    search = search or {}
    if isinstance(search.get("settings"), dict):
        return FitSettings.from_dict(search["settings"])
    return FitSettings.from_dict({"likelihood": search.get("likelihood") or {},
                                  "cosmology": search.get("cosmology") or "Planck15",
                                  "positions": {"threshold": search.get("positions_threshold") or 0.0}})


def analysis_from_result(*, dataset, search=None):
    """The :class:`~lenspipe.analysis.AnalysisImaging` of a stored dataset.

    Parameters
    ----------
    dataset : lenspipe.results.result_file.ResultDataset
    search : dict, optional
        The search JSON, whose ``settings`` (:func:`settings_from_search`) give the
        over-sampling, the positions threshold and the cosmology.
    """
    from ..data import Imaging, Mask

    imaging = Imaging(dataset.data, dataset.noise_map, dataset.psf, dataset.pixel_scale)
    mask = Mask(np.asarray(dataset.mask, dtype=bool), dataset.pixel_scale)
    return analysis_from_settings(imaging, mask, dataset.positions, settings_from_search(search),
                                  adapt_images=dataset.adapt_images, mesh_reference=dataset.mesh_reference)


def fit_from_result(*, model, dataset, max_log_likelihood_vector, search=None, info=None):
    """The maximum-likelihood ``FitImaging`` of a stored fit.

    Parameters
    ----------
    model : dict
        The fitted model's ``Model.to_dict()``.
    dataset : lenspipe.results.result_file.ResultDataset
        Data, noise map, PSF, mask (True = masked out), positions, pixel scale.
    max_log_likelihood_vector : ndarray, shape (k,)
        Parameters of the highest log-likelihood sample, in ``model.paths`` order.
    search : dict, optional
        The search JSON (likelihood settings such as over-sampling).
    info : dict, optional
        The fit's info JSON (unused; accepted for the aggregator's uniform call).

    Returns
    -------
    FitImaging
    """
    from ..model import Model

    fitted = Model.from_dict(model)
    instance = fitted.instance_from_vector(np.asarray(max_log_likelihood_vector, dtype=float))
    return analysis_from_result(dataset=dataset, search=search).fit_from(instance)


def adapt_images_from(result) -> dict:
    """Galaxy name -> (N,) PSF-blurred model image of that galaxy in a result's maximum-likelihood
    fit, on the fitted pixels: what a later stage's Adapt regularization adapts to.

    Rebuilt from what the result stores (dataset, settings, its own adapt images), so a rerun
    or resumed pipeline gets the same images bit for bit. Each image is floored at
    :data:`ADAPT_MINIMUM_FRACTION` of its maximum, as PyAutoGalaxy's ``adapt_minimum_percent``:
    a pixelized source's model image can dip below zero where the reconstruction does, and an
    adapt image must be a positive weight.
    """
    fit = result.fit
    names = fit.galaxy_names or [str(i) for i in range(len(fit.tracer.galaxies))]
    images = {}
    for name, image in zip(names, fit.galaxy_blurred_data):
        image = np.asarray(image, dtype=float)
        images[name] = np.maximum(image, ADAPT_MINIMUM_FRACTION * image.max()) if image.size else image
    return images


#: Adapt images are floored at this fraction of their maximum (PyAutoGalaxy's adapt_minimum_percent).
ADAPT_MINIMUM_FRACTION = 0.01


def source_plane_image(tracer, half_width, pixels=100, centre=None):
    """The unlensed light of the last plane on a square grid about its brightest profile.

    Parameters
    ----------
    tracer : Tracer or FitImaging
        Given a fit, its ``tracer_with_intensities``: linear light profiles at their solved
        intensities. Given a tracer holding linear light profiles, those are drawn at unit
        intensity (their shape only): pass the fit instead.
    half_width : float
        Half the side of the square, arcsec.
    pixels : int
        Pixels per side.
    centre : (float, float), optional
        (y, x) arcsec of the square's centre; default the mean centre of the source's profiles.

    Returns the image (rows of y, top = largest y) and its extent
    ``(y_min, y_max, x_min, x_max)`` in arcsec, or ``(None, None)`` if the source has no light.
    """
    tracer = getattr(tracer, "tracer_with_intensities", tracer)
    source_galaxies = [g for g, p in zip(tracer.galaxies, tracer.plane_index_of_galaxy)
                       if p == len(tracer.planes) - 1 and g.has_light]
    if not source_galaxies:
        return None, None
    centres = [getattr(p, "centre", (0.0, 0.0)) for g in source_galaxies
               for p in g.light_profiles.values()]
    cy, cx = (float(np.mean([c[0] for c in centres])), float(np.mean([c[1] for c in centres]))) if centre is None \
        else (float(centre[0]), float(centre[1]))
    offsets = (np.arange(pixels) + 0.5) / pixels * 2 * half_width - half_width
    yy, xx = np.meshgrid(cy - offsets, cx + offsets, indexing="ij")
    grid = np.stack([yy.ravel(), xx.ravel()], axis=-1)
    image = sum(g.image_from(grid) for g in source_galaxies).reshape(pixels, pixels)
    extent = (cy - half_width, cy + half_width, cx - half_width, cx + half_width)
    return image, extent
