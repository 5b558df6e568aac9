"""Critical curves, caustics and the effective Einstein radius.

The tangential eigenvalue of the lens-mapping Jacobian, ``lambda_t = 1 - kappa - gamma``,
is evaluated on a regular grid; its zero contour (marching squares, via contourpy,
which matplotlib ships) is the tangential critical curve. The effective Einstein
radius is ``sqrt(A / pi)`` with A the area enclosed by the largest closed curve.
For a singular isothermal ellipsoid this equals the intermediate-axis Einstein
radius ``2 sqrt(q) / (1 + q) * einstein_radius``.
"""

from __future__ import annotations

import contourpy
import numpy as np

__all__ = ["tangential_eigen_value_map", "tangential_critical_curves", "critical_curves_and_caustics",
           "einstein_radius_from_tracer"]


def _square_grid(centre, half_width, pixels):
    offsets = (np.arange(pixels) + 0.5) / pixels * 2.0 * half_width - half_width
    y = centre[0] + offsets[::-1]
    x = centre[1] + offsets
    yy, xx = np.meshgrid(y, x, indexing="ij")
    return y, x, np.stack([yy.ravel(), xx.ravel()], axis=-1)


def _eigen_value_maps(tracer, centre, half_width, pixels):
    """The grid's y and x axes (arcsec) and ``(lambda_t, lambda_r)`` maps (rows of y)."""
    y, x, grid = _square_grid(centre, half_width, pixels)
    step = 1e-3 * (2.0 * half_width / pixels)
    jac = tracer.jacobian_from(grid, step=step)
    trace_half = 0.5 * (jac[:, 0, 0] + jac[:, 1, 1])
    det = jac[:, 0, 0] * jac[:, 1, 1] - jac[:, 0, 1] * jac[:, 1, 0]
    disc = np.sqrt(np.maximum(trace_half**2 - det, 0.0))
    return y, x, (trace_half - disc).reshape(pixels, pixels), (trace_half + disc).reshape(pixels, pixels)


def tangential_eigen_value_map(tracer, centre, half_width, pixels):
    """``lambda_t = 1 - kappa - gamma`` on a square grid of ``pixels`` x ``pixels`` centred on ``centre`` (arcsec).

    Returns the grid's y and x axes (arcsec) and the map (rows of y).
    """
    y, x, tangential, _ = _eigen_value_maps(tracer, centre, half_width, pixels)
    return y, x, tangential


def _closed_zero_contours(x, y, values):
    generator = contourpy.contour_generator(x, y, values, line_type="Separate")
    return [np.stack([line[:, 1], line[:, 0]], axis=-1) for line in generator.lines(0.0)
            if len(line) > 3 and np.allclose(line[0], line[-1])]


def tangential_critical_curves(tracer, centre=(0.0, 0.0), half_width=4.0, pixels=400):
    """Closed tangential critical curves as a list of (M, 2) ``(y, x)`` arrays (arcsec)."""
    y, x, lam = tangential_eigen_value_map(tracer, centre, half_width, pixels)
    return _closed_zero_contours(x, y, lam)


def critical_curves_and_caustics(tracer, centre=(0.0, 0.0), half_width=4.0, pixels=400) -> dict:
    """Tangential and radial critical curves and their caustics, for pictures.

    Returns
    -------
    dict
        ``tangential_critical_curves``, ``radial_critical_curves`` (zero contours of
        ``lambda_t = 1 - kappa - gamma`` and ``lambda_r = 1 - kappa + gamma``) and
        ``tangential_caustics``, ``radial_caustics`` (the curves traced to the last plane):
        lists of closed (M, 2) ``(y, x)`` arrays, arcsec. A singular isothermal profile has
        no radial critical curve (an empty list).
    """
    y, x, tangential, radial = _eigen_value_maps(tracer, centre, half_width, pixels)
    out = {"tangential_critical_curves": _closed_zero_contours(x, y, tangential),
           "radial_critical_curves": _closed_zero_contours(x, y, radial)}
    for kind in ("tangential", "radial"):
        out[f"{kind}_caustics"] = [tracer.traced_grids_from(curve)[-1] for curve in out[f"{kind}_critical_curves"]]
    return out


def _area(curve):
    y, x = curve[:, 0], curve[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _mass_centre(tracer):
    for galaxy in tracer.galaxies:
        for profile in galaxy.mass_profiles.values():
            centre = getattr(profile, "centre", None)
            if centre is not None:
                return (float(centre[0]), float(centre[1]))
    return (0.0, 0.0)


def einstein_radius_from_tracer(tracer, half_width=None, pixels=400):
    """Effective Einstein radius (arcsec) from the largest tangential critical curve.

    Parameters
    ----------
    tracer : Tracer
        A tracer whose parameters are plain floats (not a batch).
    half_width : float, optional
        Half-width of the search grid in arcsec; default 4 arcsec, widened until the
        curve fits inside it.
    pixels : int
        Grid size per side; the radius is accurate to about 1e-4 of the half-width.

    Returns
    -------
    float
        ``sqrt(A / pi)`` in arcsec, or 0.0 when there is no tangential critical curve.
    """
    centre = _mass_centre(tracer)
    width = 4.0 if half_width is None else float(half_width)
    for _ in range(4):
        curves = tangential_critical_curves(tracer, centre, width, pixels)
        if not curves:
            return 0.0
        largest = max(curves, key=_area)
        extent = np.max(np.abs(largest - np.asarray(centre)))
        if half_width is not None or extent < 0.9 * width:
            break
        width *= 2.0
    refined = tangential_critical_curves(tracer, centre, min(width, 1.2 * extent), pixels)
    if refined:
        largest = max(refined, key=_area)
    return float(np.sqrt(_area(largest) / np.pi))
