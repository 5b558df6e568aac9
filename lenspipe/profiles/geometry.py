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

Speed: a fresh array costs more than an arithmetic pass over it (the kernel
zeroes its pages), so profiles work in place on as few arrays as possible.
Positions are handled as complex numbers ``y + i x`` -- a free view of a
``(..., N, 2)`` grid -- so the shift and rotation into the profile frame is one
complex subtraction and one complex multiplication, and a deflection field
``alpha_y + i alpha_x`` is rotated back to the sky in place and returned as a
``(..., N, 2)`` view of the same memory. Functions that take ``shape`` (see
:func:`broadcast_shape`) return fresh arrays of that full broadcast shape, owned
by the caller.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "axis_ratio_and_angle_from",
    "ell_comps_from",
    "broadcast_shape",
    "complex_grid_from",
    "profile_frame_from",
    "centred_from",
    "transform_grid_to_profile_frame",
    "elliptical_radius_squared_from",
    "circular_radius_squared_from",
    "yx_to_sky",
    "yx_view",
    "rotate_vectors_to_sky",
    "stack_yx",
    "MAX_ELLIPTICITY",
    "RADIUS_FLOOR",
]

#: The largest ``f = (1 - q) / (1 + q)`` allowed; larger values are clipped.
MAX_ELLIPTICITY = 0.9999

#: Radii (arcsec) below this are floored so no profile is NaN or inf at its centre.
RADIUS_FLOOR = 1e-8


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


def broadcast_shape(grid, *parameters):
    """Shape of ``grid[..., 0]`` broadcast against every parameter.

    Parameters
    ----------
    grid : ndarray, shape (..., N, 2)
        ``(y, x)`` coordinates in arcsec.
    *parameters : float, ndarray or tuple of them
        Profile parameters; tuples (``centre``, ``ell_comps``) count component by component.

    Returns
    -------
    tuple of int
        The shape every per-point output of the profile has, e.g. ``(K, N)`` for a batch.
    """
    shapes = [grid.shape[:-1]]
    for parameter in parameters:
        if isinstance(parameter, tuple):
            shapes.extend(np.shape(component) for component in parameter)
        else:
            shapes.append(np.shape(parameter))
    return np.broadcast_shapes(*shapes)


def complex_grid_from(grid):
    """The grid as complex numbers ``y + i x``, shape ``grid.shape[:-1]`` (a view when possible).

    Parameters
    ----------
    grid : array_like, shape (..., N, 2)
        ``(y, x)`` coordinates in arcsec.
    """
    grid = np.asarray(grid, dtype=float)
    if grid.strides[-1] != grid.itemsize:
        grid = np.ascontiguousarray(grid)
    return grid.view(complex)[..., 0]


def profile_frame_from(grid, centre, phi=0.0, shape=None):
    """Profile-frame coordinates as one complex array ``y' + i x'`` (arcsec).

    ``y' + i x' = ((y - yc) + i (x - xc)) exp(i phi)``, which is the rotation of the
    module docstring.

    Parameters
    ----------
    grid : ndarray, shape (..., N, 2)
        ``(y, x)`` coordinates in arcsec.
    centre : tuple of (float or ndarray)
        ``(yc, xc)`` in arcsec.
    phi : float or ndarray
        Rotation angle in radians.
    shape : tuple of int, optional
        The output shape (see :func:`broadcast_shape`); default: the grid broadcast
        against ``centre`` and ``phi``.

    Returns
    -------
    ndarray of complex, shape ``shape``
        A fresh array owned by the caller.
    """
    grid = np.asarray(grid, dtype=float)
    if shape is None:
        shape = broadcast_shape(grid, centre, phi)
    z = centred_from(grid, centre, shape)
    z *= np.exp(1j * np.asarray(phi))
    return z


def centred_from(grid, centre, shape=None):
    """Offsets from a centre as one complex array ``(y - yc) + i (x - xc)`` (arcsec).

    Parameters
    ----------
    grid : ndarray, shape (..., N, 2)
        ``(y, x)`` coordinates in arcsec.
    centre : tuple of (float or ndarray)
        ``(yc, xc)`` in arcsec.
    shape : tuple of int, optional
        The output shape (see :func:`broadcast_shape`).

    Returns
    -------
    ndarray of complex, shape ``shape``
        A fresh array owned by the caller; :func:`yx_view` turns it into ``(..., N, 2)``.
    """
    grid = np.asarray(grid, dtype=float)
    if shape is None:
        shape = broadcast_shape(grid, centre)
    return np.subtract(
        complex_grid_from(grid), centre[0] + 1j * np.asarray(centre[1]),
        out=np.empty(shape, dtype=complex),
    )


def transform_grid_to_profile_frame(grid, centre, phi=0.0, shape=None):
    """Shift a grid to a profile's centre and rotate it into the profile frame.

    Parameters
    ----------
    grid : ndarray, shape (..., N, 2)
        ``(y, x)`` coordinates in arcsec.
    centre : tuple of (float or ndarray)
        ``(yc, xc)`` in arcsec.
    phi : float or ndarray
        Rotation angle in radians.
    shape : tuple of int, optional
        The output shape (see :func:`broadcast_shape`).

    Returns
    -------
    y_prime, x_prime : ndarray, shape broadcast(..., N)
        Coordinates in the profile frame, arcsec: the real and imaginary parts of
        :func:`profile_frame_from` (writable views owned by the caller).
    """
    z = profile_frame_from(grid, centre, phi, shape)
    return z.real, z.imag


def elliptical_radius_squared_from(grid, centre, phi=0.0, x_scale=1.0, y_scale=1.0, shape=None):
    """``(x_scale x')^2 + (y_scale y')^2`` in the profile frame.

    E.g. a Sersic's ``(R / R_e)^2`` with ``R^2 = q x'^2 + y'^2 / q`` takes
    ``x_scale = sqrt(q) / R_e`` and ``y_scale = 1 / (sqrt(q) R_e)``.

    Parameters
    ----------
    grid : ndarray, shape (..., N, 2)
        ``(y, x)`` coordinates in arcsec.
    centre : tuple of (float or ndarray)
        ``(yc, xc)`` in arcsec.
    phi : float or ndarray
        Rotation angle in radians.
    x_scale, y_scale : float or ndarray
        Multipliers of x' and y' (1 / the unit wanted for the result's square root).
    shape : tuple of int, optional
        The output shape (see :func:`broadcast_shape`).

    Returns
    -------
    ndarray, shape ``shape``
        A fresh array owned by the caller.
    """
    grid = np.asarray(grid, dtype=float)
    if shape is None:
        shape = broadcast_shape(grid, centre, phi, x_scale, y_scale)
    z = profile_frame_from(grid, centre, phi, shape)
    u = np.multiply(z.imag, x_scale)
    np.multiply(u, u, out=u)
    y_scaled = z.real
    y_scaled *= y_scale
    np.multiply(y_scaled, y_scaled, out=y_scaled)
    u += y_scaled
    return u


def circular_radius_squared_from(grid, centre, scale=1.0, shape=None):
    """``scale^2 ((y - yc)^2 + (x - xc)^2)``, a fresh array of ``shape``.

    Parameters
    ----------
    grid : ndarray, shape (..., N, 2)
        ``(y, x)`` coordinates in arcsec.
    centre : tuple of (float or ndarray)
        ``(yc, xc)`` in arcsec.
    scale : float or ndarray
        Multiplier of the radius (1 / the unit wanted for the result's square root).
    shape : tuple of int, optional
        The output shape (see :func:`broadcast_shape`).
    """
    grid = np.asarray(grid, dtype=float)
    if shape is None:
        shape = broadcast_shape(grid, centre, scale)
    u = np.subtract(grid[..., 0], centre[0], out=np.empty(shape))
    np.multiply(u, u, out=u)
    v = np.subtract(grid[..., 1], centre[1], out=np.empty(shape))
    np.multiply(v, v, out=v)
    u += v
    u *= np.square(scale)
    return u


def yx_to_sky(z, phi=0.0):
    """Rotate a profile-frame vector field ``v_y' + i v_x'`` back to the sky, in place.

    Parameters
    ----------
    z : ndarray of complex, C-contiguous
        ``v_y' + i v_x'`` (e.g. deflections, arcsec); overwritten.
    phi : float or ndarray
        The profile's rotation angle in radians.

    Returns
    -------
    ndarray, shape ``z.shape + (2,)``
        The vectors in ``(y, x)`` order on the sky: a float view of ``z``'s memory.
    """
    z *= np.exp(-1j * np.asarray(phi))
    return yx_view(z)


def yx_view(z):
    """A C-contiguous complex array ``v_y + i v_x`` seen as floats of shape ``z.shape + (2,)``."""
    return z.view(float).reshape(z.shape + (2,))


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
    shape = np.broadcast_shapes(np.shape(vy_prime), np.shape(vx_prime), np.shape(phi))
    z = np.empty(shape, dtype=complex)
    z.real = vy_prime
    z.imag = vx_prime
    return yx_to_sky(z, phi)


def stack_yx(vy, vx):
    """Stack y and x components into an array of shape ``(..., N, 2)``."""
    shape = np.broadcast_shapes(np.shape(vy), np.shape(vx))
    out = np.empty(shape + (2,))
    out[..., 0] = vy
    out[..., 1] = vx
    return out
