"""Small helpers shared by the mass profiles: frames, radii and in-place powers.

Every helper returns fresh arrays of the full output shape (the grid broadcast
against every parameter), which the caller then works on in place.
"""

from __future__ import annotations

import numpy as np

from . import geometry

RADIUS_SQUARED_FLOOR = geometry.RADIUS_FLOOR**2


def profile_frame(profile, grid, *parameters):
    """``q, phi, z = y' + i x'`` of an elliptical profile; ``z`` has the full output shape."""
    grid = np.asarray(grid, dtype=float)
    shape = geometry.broadcast_shape(grid, profile.centre, profile.ell_comps, *parameters)
    q, phi = geometry.axis_ratio_and_angle_from(profile.ell_comps)
    return q, phi, geometry.profile_frame_from(grid, profile.centre, phi, shape)


def centred(profile, grid, *parameters):
    """``z = (y - yc) + i (x - xc)`` and ``r`` (floored) of a spherical profile."""
    grid = np.asarray(grid, dtype=float)
    shape = geometry.broadcast_shape(grid, profile.centre, *parameters)
    z = geometry.centred_from(grid, profile.centre, shape)
    r = np.abs(z)
    np.maximum(r, geometry.RADIUS_FLOOR, out=r)
    return z, r


def radius_squared(profile, grid, *parameters):
    """``r^2`` (arcsec^2, floored) of a spherical profile, full output shape."""
    grid = np.asarray(grid, dtype=float)
    shape = geometry.broadcast_shape(grid, profile.centre, *parameters)
    r2 = geometry.circular_radius_squared_from(grid, profile.centre, 1.0, shape)
    np.maximum(r2, RADIUS_SQUARED_FLOOR, out=r2)
    return r2


def scale_radial(z, factor):
    """``factor * (dy, dx)`` in place on ``z = dy + i dx``; returns the ``(..., N, 2)`` view."""
    z.real *= factor
    z.imag *= factor
    return geometry.yx_view(z)


def q_radius_squared(q, z):
    """``R^2 = q^2 x'^2 + y'^2`` (arcsec^2, floored) from ``z = y' + i x'``, which is consumed."""
    r2 = np.multiply(z.imag, q)
    np.multiply(r2, r2, out=r2)
    y2 = z.real
    np.multiply(y2, y2, out=y2)
    r2 += y2
    np.maximum(r2, RADIUS_SQUARED_FLOOR, out=r2)
    return r2


def power(r2, exponent):
    """``(r2)^exponent`` in place, via one log and one exp."""
    np.log(r2, out=r2)
    np.multiply(r2, exponent, out=r2)
    np.exp(r2, out=r2)
    return r2
