"""Multiple images of a source-plane point: solve the lens equation ``beta(theta) = beta_s``.

:func:`multiple_images_from` finds every image-plane position that a tracer maps onto a
source-plane point, in two steps:

1. a grid search: ``|beta(theta) - beta_s|`` on a square grid over the search region; every
   grid point smaller than its eight neighbours is a candidate (each image lies in a basin of
   this distance, whose minimum is 0 at the image);
2. each candidate is refined by a damped Gauss-Newton solve of the 2 x 2 lens equation
   (``scipy.optimize.least_squares``, the Jacobian by central differences); solutions that
   reach the source point to within ``tolerance``, stay inside the region and are not
   demagnified below ``min_magnification`` (a central image hidden in the lens light) are
   kept, one per ``merge`` radius.

:func:`positions_from_result` applies it to an earlier stage's maximum-likelihood model, to
give a pixelized stage its positions and their threshold without hand work (SLaM's
``positions_likelihood_from(factor=3, minimum_threshold=0.2)``).
"""

from __future__ import annotations

import numpy as np

__all__ = ["multiple_images_from", "source_plane_separation", "positions_from_tracer", "positions_from_result",
           "POSITIONS_FACTOR", "POSITIONS_MINIMUM_THRESHOLD"]

#: The positions threshold is max(FACTOR x the images' source-plane separation, MINIMUM) arcsec.
POSITIONS_FACTOR = 3.0
POSITIONS_MINIMUM_THRESHOLD = 0.2


def multiple_images_from(tracer, source_point, half_width, *, centre=(0.0, 0.0), pixel_scale=0.02, plane=-1,
                         tolerance=1e-6, min_magnification=0.1, merge=0.01) -> np.ndarray:
    """(K, 2) image-plane (y, x) positions (arcsec) that ``tracer`` maps onto ``source_point``.

    Parameters
    ----------
    tracer : Tracer
    source_point : (float, float)
        (y, x) in the source plane, arcsec.
    half_width : float
        The search region is the square ``centre +- half_width`` (arcsec).
    centre : (float, float)
    pixel_scale : float
        Spacing of the grid search (arcsec); images closer together than about two grid
        spacings may be found as one.
    plane : int
        The source's plane (default the last).
    tolerance : float
        Largest source-plane miss of an accepted image (arcsec).
    min_magnification : float
        Images with ``|mu|`` below this are left out (demagnified central images).
    merge : float
        Solutions closer than this (arcsec) are one image.

    Returns
    -------
    ndarray, shape (K, 2)
        Ordered by decreasing ``|mu|``.
    """
    from scipy.optimize import least_squares

    target = np.asarray(source_point, dtype=float)
    n = max(int(np.ceil(2 * half_width / pixel_scale)), 3)
    offsets = (np.arange(n) + 0.5) * (2 * half_width / n) - half_width
    yy, xx = np.meshgrid(centre[0] + offsets[::-1], centre[1] + offsets, indexing="ij")
    grid = np.stack([yy.ravel(), xx.ravel()], axis=-1)
    distance = np.linalg.norm(tracer.traced_grids_from(grid)[plane] - target, axis=-1).reshape(n, n)
    padded = np.pad(distance, 1, constant_values=np.inf)
    neighbours = np.stack([padded[1 + dy:1 + dy + n, 1 + dx:1 + dx + n]
                           for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx])
    candidates = np.argwhere(distance < neighbours.min(axis=0))

    def residual(theta):
        return tracer.traced_grids_from(theta[None, :])[plane][0] - target

    images = []
    for row, column in candidates:
        start = np.array([yy[row, column], xx[row, column]])
        solution = least_squares(residual, start, method="lm", xtol=1e-12, ftol=1e-12, diff_step=1e-7)
        theta = solution.x
        if np.linalg.norm(residual(theta)) > tolerance or np.any(np.abs(theta - centre) > half_width):
            continue
        if any(np.linalg.norm(theta - other) < merge for other in images):
            continue
        images.append(theta)
    if not images:
        return np.zeros((0, 2))
    images = np.array(images)
    magnification = np.abs(tracer.magnification_from(images, step=1e-5))
    keep = magnification >= min_magnification
    order = np.argsort(-magnification[keep])
    return images[keep][order]


def source_plane_separation(tracer, positions, plane=-1) -> float:
    """The largest distance (arcsec) between the source-plane points of image-plane ``positions``."""
    traced = tracer.traced_grids_from(np.asarray(positions, dtype=float))[plane]
    if len(traced) < 2:
        return 0.0
    return float(np.max(np.linalg.norm(traced[:, None, :] - traced[None, :, :], axis=-1)))


def positions_from_tracer(tracer, half_width, *, centre=(0.0, 0.0), pixel_scale=0.02):
    """(positions (K, 2), threshold, source centre) for a tracer whose last plane holds a source.

    The source's centre is that of its first light profile with a centre; the positions are
    its multiple images (:func:`multiple_images_from`, solved to 1e-6"), and the threshold is
    ``max(POSITIONS_FACTOR x their source-plane separation, POSITIONS_MINIMUM_THRESHOLD)``.
    """
    source = next((profile.centre for galaxy in tracer.planes[-1] for profile in galaxy.light_profiles.values()
                   if getattr(profile, "centre", None) is not None), None)
    if source is None:
        return np.zeros((0, 2)), 0.0, None
    source = tuple(float(np.asarray(c).reshape(())) for c in source)
    images = multiple_images_from(tracer, source, half_width, centre=centre, pixel_scale=pixel_scale)
    separation = source_plane_separation(tracer, images)
    threshold = max(POSITIONS_FACTOR * separation, POSITIONS_MINIMUM_THRESHOLD)
    return images, float(threshold), source


def positions_from_result(result, half_width, *, centre=(0.0, 0.0), pixel_scale=0.02):
    """(positions, threshold, record) from an earlier stage's maximum-likelihood model.

    ``record`` is what the pixelized stage stores in its ``info["positions"]``: the stage,
    the source centre, the images' source-plane separation and the threshold.
    """
    tracer = result.fit.tracer
    positions, threshold, source = positions_from_tracer(tracer, half_width, centre=centre, pixel_scale=pixel_scale)
    record = {"from_stage": result.name, "source_centre": None if source is None else list(source),
              "images": len(positions), "threshold": threshold,
              "separation": source_plane_separation(tracer, positions) if len(positions) else None}
    return positions, threshold, record
