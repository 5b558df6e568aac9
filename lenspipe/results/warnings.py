"""Warnings a lens modeller wants on every fit: solutions that look converged but are not right.

:func:`fit_warnings` checks one fit after its search and returns a list of
``{"code": ..., "message": ...}``, stored as the result summary's ``warnings`` and shown by
``lenspipe show``, the report and the database (``warnings`` counts them; the ``fit_summary``
column ``warning_codes`` lists their codes). The codes:

``prior_edge``
    A free parameter's posterior reaches a limit of its prior (:func:`prior_edge_warnings`):
    the data wanted a value the prior forbids (a source effective radius run to the 30" edge,
    a regularization coefficient at its bound), unless the log likelihood is flat from the
    median to that limit (a parameter the data leave unconstrained there); or a parameter
    held at its optimum (``initialise.hold_unmatched``) was optimised to a limit (:func:`held_edge_warnings`).
``source_larger_than_mask``
    More than :data:`OUTSIDE_FRACTION` of a parametric source's lensed light (unblurred, at
    its solved intensities) falls outside the fitted pixels: the source is fitting the lens
    light or the sky, not the arcs.
``source_off_arcs``
    A parametric source's centre has fewer than two images under the maximum-likelihood mass:
    it does not sit on multiply-imaged arcs.
``positions_apart``
    The dataset's positions trace to source-plane points further apart than the positions
    threshold under the maximum-likelihood mass.
``mass_off_light``
    A galaxy's mass centre lies more than :data:`MASS_LIGHT_OFFSET` from its light's centre
    in the maximum-likelihood model (:func:`mass_light_warnings`): on J0029-0055 a pixelized
    source pulled the mass 0.25" off the light, to an axis ratio of 0.49 against Bolton et
    al.'s 0.89, with nothing else in the summary to show it.
``not_converged``
    The search stopped before the stopping rule (docs/pipeline.md) was met.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fit_warnings", "edge_rises", "EDGE_FRACTION", "EDGE_FLAT", "EDGE_INSIDE", "OUTSIDE_FRACTION",
           "MASS_LIGHT_OFFSET", "CODES"]

#: A 3-sigma value closer to a prior limit than this fraction of the median's distance to it reaches it.
EDGE_FRACTION = 0.1
#: The largest fraction of a source's lensed light that may fall outside the mask.
OUTSIDE_FRACTION = 0.5
#: The largest offset (arcsec) of a galaxy's mass centre from its light's: 2 HST pixels, several times
#: the offsets usual for early-type lens galaxies.
MASS_LIGHT_OFFSET = 0.1
CODES = ("prior_edge", "source_larger_than_mask", "source_off_arcs", "positions_apart", "mass_off_light",
         "not_converged")


def _warning(code, message) -> dict:
    return {"code": code, "message": message}


def _edge_candidates(model, summary: dict) -> list:
    """(index, path, side, limit, median, 3-sigma bound) of each posterior reaching a finite
    limit of its prior.

    Reaching: the 3-sigma value on the limit's side lies closer to the limit than
    :data:`EDGE_FRACTION` of the distance from the median to the limit (for a Gaussian
    posterior, the limit is within about 3.3 sigma of the median), so the prior cuts the
    posterior.
    """
    median, errors = summary.get("median_pdf_instance", {}), summary.get("errors", {})
    out = []
    for index, (path, prior) in enumerate(zip(model.paths, model.priors_ordered)):
        value, bounds = median.get(path), errors.get(path, {})
        if value is None:
            continue
        for side, limit, bound in zip(("lower", "upper"), prior.limits, (bounds.get("lower_3"), bounds.get("upper_3"))):
            if bound is not None and np.isfinite(limit) and abs(limit - bound) <= EDGE_FRACTION * abs(limit - value):
                out.append((index, path, side, limit, value, bound))
    return out


def _unit_place(prior, value) -> float:
    """``value``'s place in ``prior``'s unit cube (its cumulative probability, to 1e-4)."""
    grid = np.linspace(0.0, 1.0, 10001)
    return float(np.interp(value, prior.value_for(grid), grid))


def edge_rises(model, summary: dict, best_vector, log_likelihoods) -> dict:
    """(path, side) -> rise of the log likelihood from a parameter's posterior median to the prior
    limit its posterior reaches (``side``: ``"lower"`` or ``"upper"``; a posterior spread over its
    whole prior has both), the other parameters at their maximum-likelihood values.

    Two evaluations for each parameter :func:`prior_edge_warnings` would flag (a limit probed
    at 1e-9 inside it, in the prior's unit cube, as the optimisers do); none otherwise.

    Parameters
    ----------
    model : Model
    summary : dict
    best_vector : ndarray, shape (n_parameters,)
        The maximum-likelihood parameters.
    log_likelihoods : callable
        (K, n_parameters) -> (K,), the fit's own evaluator.
    """
    candidates = _edge_candidates(model, summary)
    if not candidates:
        return {}
    vectors = []
    for index, _, side, _, value, _ in candidates:
        prior = model.priors_ordered[index]
        at_median, at_limit = np.array(best_vector, dtype=float), np.array(best_vector, dtype=float)
        at_median[index] = value
        at_limit[index] = prior.value_for(1e-9 if side == "lower" else 1.0 - 1e-9)
        vectors += [at_median, at_limit]
    values = np.asarray(log_likelihoods(np.array(vectors)), dtype=float).reshape(-1, 2)
    rises = values[:, 1] - values[:, 0]
    return {(path, side): float(rise) if np.isfinite(rise) else -np.inf
            for (_, path, side, *_), rise in zip(candidates, rises)}


def prior_edge_warnings(model, summary: dict, edge_rise=None) -> list:
    """``prior_edge`` for each free parameter whose posterior reaches a finite limit of its prior
    (:func:`_edge_candidates`), unless the data leave it unconstrained there.

    A compact source (effective radius 0.1 +- 0.02" on a 0-30" prior) is not flagged; one run to
    the 30" edge is. Unconstrained: the log likelihood changes by at most :data:`EDGE_FLAT`
    from the posterior's median to the limit (``edge_rise``, :func:`edge_rises`) and the median
    lies at least :data:`EDGE_INSIDE` inside the limit in the prior's unit cube. The prior, not
    the data, then sets how far the posterior runs, and widening it changes nothing else: an
    Adapt ``inner_coefficient`` whose log evidence is flat to 0.4 from 1e-6 to 1e-2 (J0029-0055's
    source_pix_2) is such a parameter; a posterior piled against the limit, or a likelihood that
    rises or falls towards it, is flagged.

    Parameters
    ----------
    model : Model
    summary : dict
        ``median_pdf_instance`` and ``errors`` (1- and 3-sigma bounds).
    edge_rise : dict, optional
        (path, side) -> :func:`edge_rises`'s value; without it every reaching posterior is flagged.
    """
    out = []
    for index, path, side, limit, value, bound in _edge_candidates(model, summary):
        rise = None if edge_rise is None else edge_rise.get((path, side))
        if rise is not None and abs(rise) <= EDGE_FLAT:
            place = _unit_place(model.priors_ordered[index], value)
            if min(place, 1.0 - place) >= EDGE_INSIDE:
                continue
        how = "" if rise is None else f"; the log likelihood changes by {rise:+.3g} from the median to the limit"
        out.append(_warning("prior_edge", f"{path}: the posterior (median {value:.4g}, 3 sigma {bound:.4g}) "
                                          f"reaches the {side} limit {limit:.4g} of its prior{how}; widen the "
                                          "prior or check the model"))
    return out


#: Unconstrained towards a limit: the log likelihood changes by at most this from the median to it ...
EDGE_FLAT = 1.0
#: ... and the median is at least this far inside the limit in the prior's unit cube.
EDGE_INSIDE = 0.1


def held_edge_warnings(held: dict) -> list:
    """``prior_edge`` for each parameter held at its optimum (``initialise.hold_unmatched``) whose
    optimum lies within :data:`HELD_EDGE_UNIT` of a limit of its prior, in the prior's unit cube
    (for a log-uniform regularization coefficient over 1e-6 to 1e6, below 1.7e-6 or above 5.8e5),
    unless the log likelihood falls by more than :data:`HELD_EDGE_DROP` from the optimum to that
    limit: then the optimum is inside the prior, only close to its limit (an Adapt
    ``signal_scale`` of 0.013 on J0029-0055, whose log evidence at 0 is 9,500 lower).

    Parameters
    ----------
    held : dict
        Path -> (the value it was held at, that value's place in its prior's unit cube, the fall
        of the log likelihood from it to the nearer limit: None where the limit's is not finite).
    """
    out = []
    for path, (value, u, drop) in held.items():
        near = u is not None and min(u, 1.0 - u) < HELD_EDGE_UNIT
        if near and drop is not None and drop <= HELD_EDGE_DROP:
            side = "lower" if u < 0.5 else "upper"
            out.append(_warning("prior_edge", f"{path}: held at its optimum {value:.4g}, at the {side} edge of its "
                                              f"prior (the log likelihood there is within {max(drop, 0.0):.2g} of "
                                              "the optimum); widen the prior or check the model"))
    return out


#: A held parameter's optimum this close to 0 or 1 in its prior's unit cube is near the prior's edge.
HELD_EDGE_UNIT = 0.02
#: ... and at it unless the log likelihood falls by more than this from the optimum to the limit.
HELD_EDGE_DROP = 1.0


def _source_terms(tracer):
    last = len(tracer.planes) - 1
    return [(galaxy, profile) for galaxy, plane in zip(tracer.galaxies, tracer.plane_index_of_galaxy)
            if plane == last for profile in galaxy.light_profiles.values()]


def source_warnings(fit, mask, pixel_scale) -> list:
    """``source_larger_than_mask`` and ``source_off_arcs`` for a fit's parametric source."""
    from ..lensing.image_solver import multiple_images_from

    tracer = fit.tracer_with_intensities
    terms = _source_terms(tracer)
    if not terms:
        return []
    out = []
    fitted = mask.masked_grid
    half_width = float(np.max(np.abs(fitted))) + pixel_scale
    # the lensed source on a grid twice the mask's extent (2x coarser than the data: 4x the area,
    # the same number of points), each point inside or outside the fitted pixels
    step = 2 * pixel_scale
    axis = np.arange(-2 * half_width + step / 2, 2 * half_width, step)
    yy, xx = np.meshgrid(axis[::-1], axis, indexing="ij")
    grid = np.stack([yy.ravel(), xx.ravel()], axis=-1)
    traced = tracer.traced_grids_from(grid)[-1]
    light = sum(np.asarray(profile.image_from(traced), dtype=float).reshape(-1) for _, profile in terms)
    shape = mask.array.shape
    rows = np.clip(np.round((shape[0] - 1) / 2 - grid[:, 0] / pixel_scale).astype(int), -1, shape[0])
    columns = np.clip(np.round((shape[1] - 1) / 2 + grid[:, 1] / pixel_scale).astype(int), -1, shape[1])
    on_image = (rows >= 0) & (rows < shape[0]) & (columns >= 0) & (columns < shape[1])
    inside = np.zeros(len(grid), dtype=bool)
    inside[on_image] = ~mask.array[rows[on_image], columns[on_image]]
    total = float(np.sum(np.abs(light)))
    if total > 0:
        outside = float(np.sum(np.abs(light[~inside]))) / total
        if outside > OUTSIDE_FRACTION:
            out.append(_warning("source_larger_than_mask",
                                f"{100 * outside:.0f} % of the source's lensed light falls outside the mask "
                                f"(within {2 * half_width:.3g}\"): the source is fitting light that is not the arcs"))
    centre = next((profile.centre for _, profile in terms if getattr(profile, "centre", None) is not None), None)
    if centre is not None:
        centre = tuple(float(np.asarray(c).reshape(())) for c in centre)
        images = multiple_images_from(tracer, centre, half_width, pixel_scale=max(pixel_scale, 0.02))
        if len(images) < 2:
            out.append(_warning("source_off_arcs", f"the source centre ({centre[0]:.3g}, {centre[1]:.3g})\" has "
                                                   f"{len(images)} image(s) within the mask's extent: it is not on "
                                                   "multiply-imaged arcs"))
    return out


def positions_warnings(fit, positions, threshold) -> list:
    """``positions_apart`` when the positions do not meet within the threshold in the source plane."""
    from ..lensing.image_solver import source_plane_separation

    positions = np.asarray(positions, dtype=float).reshape(-1, 2)
    if len(positions) < 2 or not threshold:
        return []
    separation = source_plane_separation(fit.tracer, positions)
    if separation <= threshold:
        return []
    return [_warning("positions_apart", f"the positions trace to source-plane points {separation:.3g}\" apart, "
                                        f"more than the threshold {threshold:.3g}\"")]


def mass_light_warnings(tracer, names=None) -> list:
    """``mass_off_light`` for each galaxy whose first mass profile's centre lies more than
    :data:`MASS_LIGHT_OFFSET` from its first light profile's centre (arcsec); ``names`` are the
    galaxies' names in the model, in the tracer's order."""
    out = []
    for index, galaxy in enumerate(tracer.galaxies):
        lights = [p for p in galaxy.light_profiles.values() if getattr(p, "centre", None) is not None]
        masses = [p for p in galaxy.mass_profiles.values() if getattr(p, "centre", None) is not None]
        if not lights or not masses:
            continue
        offset = float(np.hypot(*np.subtract(np.ravel(masses[0].centre)[:2], np.ravel(lights[0].centre)[:2])))
        if offset > MASS_LIGHT_OFFSET:
            name = f"galaxies.{names[index]}" if names else f"galaxy {index}"
            out.append(_warning("mass_off_light", f"{name}: its mass centre lies {offset:.3g}\" from its light's "
                                                  f"(more than {MASS_LIGHT_OFFSET}\"); check the mass model, the "
                                                  "positions and the source's regularization"))
    return out


def fit_warnings(model, summary, fit, mask, *, positions=(), threshold=0.0, diagnostics=None, held=None,
                 edge_rise=None) -> list:
    """Every warning of one fit (module docstring), in the order of :data:`CODES`.

    Parameters
    ----------
    model : Model
    summary : dict
        The result's summary (``median_pdf_instance``, ``errors``).
    fit : FitImaging
        The maximum-likelihood fit.
    mask : Mask
    positions : array_like, shape (K, 2)
    threshold : float
        The positions threshold (arcsec; 0: no penalty).
    diagnostics : dict, optional
        The search's diagnostics (``converged``).
    held : dict, optional
        Path -> (value, place in its prior's unit cube) of parameters held at their optimum
        (``initialise.hold_unmatched``): :func:`held_edge_warnings`.
    edge_rise : dict, optional
        :func:`edge_rises` of the fit: a parameter unconstrained up to its prior's limit is not
        flagged (:func:`prior_edge_warnings`).
    """
    out = held_edge_warnings(held or {}) + prior_edge_warnings(model, summary, edge_rise)
    out += source_warnings(fit, mask, mask.pixel_scale)
    out += positions_warnings(fit, positions, threshold)
    out += mass_light_warnings(fit.tracer, getattr(fit, "galaxy_names", None))
    if diagnostics is not None and diagnostics.get("converged") is False:
        out.append(_warning("not_converged", f"the search stopped at {diagnostics.get('steps')} steps before the "
                                             "stopping rule was met; raise search.max_steps and rerun to extend it"))
    return out
