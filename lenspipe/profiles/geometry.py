"""Elliptical geometry shared by every profile.

Conventions (../shared/CONVENTIONS.md, PyAutoLens's):

- ``ell_comps = (e1, e2)`` with ``e1 = f sin 2phi``, ``e2 = f cos 2phi`` and
  ``f = (1 - q) / (1 + q)``; ``phi`` in radians counter-clockwise from +x.
- The profile frame: ``x' = cos(phi) (x - xc) + sin(phi) (y - yc)``,
  ``y' = -sin(phi) (x - xc) + cos(phi) (y - yc)``.

Batching: a parameter may be a float or an array broadcastable against
``grid[..., 0]`` (for a batch of K models, shape ``(K, 1)``); a grid is an
array of shape ``(..., N, 2)`` holding ``(y, x)`` in arcsec. Every function
here broadcasts, so one code path serves a single model and a batch.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "axis_ratio_and_angle_from",
    "ell_comps_from",
    "transform_grid_to_profile_frame",
    "rotate_vectors_to_sky",
    "stack_yx",
    "MAX_ELLIPTICITY",
]

#: The largest ``f = (1 - q) / (1 + q)`` allowed; larger values are clipped.
MAX_ELLIPTICITY = 0.9999


def axis_ratio_and_angle_from(ell_comps):
    """Axis ratio ``q`` and position angle ``phi`` (radians) from ``ell_comps``.

    Parameters
    ----------
    ell_comps : tuple of (float or ndarray)
        ``(e1, e2)``, dimensionless.

    Returns
    -------
    q : float or ndarray
        Minor/major axis ratio, in ``(0, 1]``.
    phi : float or ndarray
        Angle of the major axis, radians counter-clockwise from +x.
    """
    e1, e2 = ell_comps
    f = np.minimum(np.sqrt(np.square(e1) + np.square(e2)), MAX_ELLIPTICITY)
    q = (1.0 - f) / (1.0 + f)
    phi = 0.5 * np.arctan2(e1, e2)
    return q, phi


def ell_comps_from(axis_ratio, angle):
    """``ell_comps`` from an axis ratio and a position angle in radians (inverse of the above).

    Parameters
    ----------
    axis_ratio : float or ndarray
        ``q`` in ``(0, 1]``.
    angle : float or ndarray
        ``phi`` in radians counter-clockwise from +x.

    Returns
    -------
    tuple of (float or ndarray)
        ``(e1, e2)``.
    """
    f = (1.0 - np.asarray(axis_ratio)) / (1.0 + np.asarray(axis_ratio))
    return f * np.sin(2.0 * angle), f * np.cos(2.0 * angle)


def transform_grid_to_profile_frame(grid, centre, phi=0.0):
    """Shift a grid to a profile's centre and rotate it into the profile frame.

    Parameters
    ----------
    grid : ndarray, shape (..., N, 2)
        ``(y, x)`` coordinates in arcsec.
    centre : tuple of (float or ndarray)
        ``(yc, xc)`` in arcsec.
    phi : float or ndarray
        Rotation angle in radians.

    Returns
    -------
    y_prime, x_prime : ndarray, shape broadcast(..., N)
        Coordinates in the profile frame, arcsec.
    """
    dy = grid[..., 0] - centre[0]
    dx = grid[..., 1] - centre[1]
    if np.all(np.asarray(phi) == 0.0):
        return dy + 0.0 * dx, dx + 0.0 * dy
    cos_phi, sin_phi = np.cos(phi), np.sin(phi)
    x_prime = cos_phi * dx + sin_phi * dy
    y_prime = -sin_phi * dx + cos_phi * dy
    return y_prime, x_prime


def rotate_vectors_to_sky(vy_prime, vx_prime, phi=0.0):
    """Rotate vector components from a profile frame back to the sky frame.

    Parameters
    ----------
    vy_prime, vx_prime : ndarray
        Components along the profile's y' and x' axes (e.g. deflections, arcsec).
    phi : float or ndarray
        The profile's rotation angle in radians.

    Returns
    -------
    ndarray, shape (..., N, 2)
        The vectors in ``(y, x)`` order on the sky.
    """
    if np.all(np.asarray(phi) == 0.0):
        return stack_yx(vy_prime, vx_prime)
    cos_phi, sin_phi = np.cos(phi), np.sin(phi)
    vx = cos_phi * vx_prime - sin_phi * vy_prime
    vy = sin_phi * vx_prime + cos_phi * vy_prime
    return stack_yx(vy, vx)


def stack_yx(vy, vx):
    """Stack y and x components into an array of shape ``(..., N, 2)``."""
    vy, vx = np.broadcast_arrays(vy, vx)
    return np.stack([vy, vx], axis=-1)
