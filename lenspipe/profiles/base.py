"""The two profile contracts: light and mass.

A profile is a frozen dataclass whose fields are its parameters, in
PyAutoLens's names and meanings. Methods take a grid of shape ``(..., N, 2)``
of ``(y, x)`` arcsec. Parameters may be floats, or arrays of shape ``(K, 1)``
for a batch of K models evaluated at once (see :mod:`.geometry`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import ProfileError
from . import geometry

__all__ = ["Profile", "LightProfile", "MassProfile", "EllipticalMixin", "check_scalar"]

_SCALAR_TYPES = (float, int, np.floating, np.integer)


def check_scalar(profile, name, is_valid, requirement, example):
    """Raise :class:`ProfileError` if a scalar parameter is outside its domain.

    Only a Python or numpy scalar is checked: a batched ``(K, 1)`` array is not
    (the model's priors bound it), so the check costs nanoseconds.

    Parameters
    ----------
    profile : Profile
        The profile being built (its class name goes in the message).
    name : str
        The parameter's name.
    is_valid : callable
        ``is_valid(value) -> bool``; NaN must give False.
    requirement : str
        What the value must be, e.g. ``"> 0 (arcsec)"``.
    example : str
        A valid value to suggest, e.g. ``"0.6"``.
    """
    value = getattr(profile, name)
    if isinstance(value, _SCALAR_TYPES) or (isinstance(value, np.ndarray) and value.ndim == 0):
        if not is_valid(value):
            cls = type(profile).__name__
            raise ProfileError(
                f"{cls}: {name}={value!r} is outside its domain; it must be {requirement}. "
                f"Pass a valid value, e.g. {cls}({name}={example}), or bound the parameter's prior."
            )


class Profile:
    """Shared behaviour of light and mass profiles."""

    @classmethod
    def parameter_names(cls) -> tuple[str, ...]:
        """Names of the profile's parameters, in declaration order."""
        return tuple(field.name for field in dataclasses.fields(cls))

    def replace(self, **changes):
        """A copy with some parameters changed (``dataclasses.replace``)."""
        return dataclasses.replace(self, **changes)


class EllipticalMixin:
    """``axis_ratio`` and ``angle`` derived from ``ell_comps``."""

    @property
    def axis_ratio(self):
        """Minor/major axis ratio ``q`` (dimensionless)."""
        return geometry.axis_ratio_and_angle_from(self.ell_comps)[0]

    @property
    def angle(self):
        """Position angle ``phi`` of the major axis, radians counter-clockwise from +x."""
        return geometry.axis_ratio_and_angle_from(self.ell_comps)[1]


class LightProfile(Profile):
    """A surface-brightness profile: ``image_from(grid)``."""

    def image_from(self, grid: np.ndarray) -> np.ndarray:
        """Surface brightness at each ``(y, x)`` of ``grid`` (image units, e.g. e-/s).

        Returns an array of shape ``grid.shape[:-1]`` (broadcast with batched parameters).
        """
        raise NotImplementedError  # abstract: each profile class defines it


class MassProfile(Profile):
    """A lensing mass profile: convergence, potential and deflections."""

    def convergence_from(self, grid: np.ndarray) -> np.ndarray:
        """Dimensionless convergence kappa at each point; shape ``grid.shape[:-1]``."""
        raise NotImplementedError  # abstract: each profile class defines it

    def potential_from(self, grid: np.ndarray) -> np.ndarray:
        """Lensing potential psi (arcsec^2) at each point; shape ``grid.shape[:-1]``."""
        raise NotImplementedError  # abstract: each profile class defines it

    def deflections_yx_from(self, grid: np.ndarray) -> np.ndarray:
        """Deflection angles (arcsec), shape ``grid.shape[:-1] + (2,)`` in ``(y, x)`` order."""
        raise NotImplementedError  # abstract: each profile class defines it
