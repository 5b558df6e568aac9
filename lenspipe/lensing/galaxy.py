"""A galaxy: a redshift and any number of named light and mass profiles."""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ..profiles.base import LightProfile, MassProfile

__all__ = ["Galaxy"]


class Galaxy:
    """A galaxy at a redshift, with named light and mass profiles.

    Parameters
    ----------
    redshift : float
        The galaxy's redshift.
    **profiles
        Named profiles, e.g. ``bulge=Sersic(...)``, ``mass=Isothermal(...)``,
        ``shear=ExternalShear(...)``, or a pixelized source
        (``pixelization=Pixelization(mesh, regularization)``, :mod:`lenspipe.fit.inversion`).
        Each becomes an attribute of the galaxy.

    Examples
    --------
    >>> from lenspipe.profiles import Sersic, Isothermal
    >>> lens = Galaxy(redshift=0.5, bulge=Sersic(), mass=Isothermal(einstein_radius=1.2))
    >>> lens.mass.einstein_radius
    1.2
    """

    def __init__(self, redshift, **profiles):
        for name, profile in profiles.items():
            if not isinstance(profile, (LightProfile, MassProfile)) and not _is_pixelization(profile):
                raise ModelError(
                    f"galaxy component {name!r} is a {type(profile).__name__}, not a light "
                    "or mass profile or a pixelization; pass profiles such as bulge=Sersic(...), "
                    "mass=Isothermal(...) or pixelization=Pixelization(...)"
                )
        self.redshift = redshift
        self.profiles = dict(profiles)
        for name, profile in profiles.items():
            setattr(self, name, profile)

    def __repr__(self):
        inner = ", ".join(f"{name}={profile!r}" for name, profile in self.profiles.items())
        return f"Galaxy(redshift={self.redshift!r}{', ' if inner else ''}{inner})"

    @property
    def light_profiles(self) -> dict:
        """The light profiles, name -> profile, in the order given."""
        return {n: p for n, p in self.profiles.items() if isinstance(p, LightProfile)}

    @property
    def mass_profiles(self) -> dict:
        """The mass profiles, name -> profile, in the order given."""
        return {n: p for n, p in self.profiles.items() if isinstance(p, MassProfile)}

    @property
    def pixelizations(self) -> dict:
        """The pixelized-source components, name -> Pixelization."""
        return {n: p for n, p in self.profiles.items() if _is_pixelization(p)}

    @property
    def has_light(self) -> bool:
        """Whether the galaxy emits light."""
        return bool(self.light_profiles)

    @property
    def has_mass(self) -> bool:
        """Whether the galaxy deflects light."""
        return bool(self.mass_profiles)

    def image_from(self, grid: np.ndarray) -> np.ndarray:
        """Summed surface brightness of the light profiles (image units), shape ``grid.shape[:-1]``."""
        return _summed(
            [p.image_from(grid) for p in self.light_profiles.values()], grid.shape[:-1]
        )

    def deflections_yx_from(self, grid: np.ndarray) -> np.ndarray:
        """Summed deflection angles (arcsec), shape ``grid.shape[:-1] + (2,)``."""
        return _summed(
            [p.deflections_yx_from(grid) for p in self.mass_profiles.values()], grid.shape
        )

    def convergence_from(self, grid: np.ndarray) -> np.ndarray:
        """Summed convergence (dimensionless), shape ``grid.shape[:-1]``."""
        return _summed(
            [p.convergence_from(grid) for p in self.mass_profiles.values()], grid.shape[:-1]
        )

    def potential_from(self, grid: np.ndarray) -> np.ndarray:
        """Summed lensing potential (arcsec^2), shape ``grid.shape[:-1]``."""
        return _summed(
            [p.potential_from(grid) for p in self.mass_profiles.values()], grid.shape[:-1]
        )


def _summed(arrays, empty_shape):
    """Sum arrays that broadcast together; zeros of ``empty_shape`` when there are none."""
    if not arrays:
        return np.zeros(empty_shape)
    total = arrays[0]
    for array in arrays[1:]:
        total = total + array
    return total


def _is_pixelization(component) -> bool:
    """Whether a component is a pixelized source (duck-typed: lensing sits below fit/inversion)."""
    return getattr(component, "is_pixelization", False) is True
