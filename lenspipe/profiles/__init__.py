"""Light and mass profiles, in PyAutoLens's parameter names and conventions.

Every profile is a frozen dataclass whose fields are its parameters (arcsec for
positions and radii). Light profiles give ``image_from(grid)``; mass profiles give
``convergence_from``, ``potential_from`` and ``deflections_yx_from``. A grid is an
array of shape ``(..., N, 2)`` of ``(y, x)``; any parameter may be a ``(K, 1)`` array
to evaluate K models at once. The ``*Linear`` light profiles have no ``intensity``: the fit
solves for it; an ``MGE`` (multi-Gaussian expansion) has one solved intensity per Gaussian.
See ../shared/CONVENTIONS.md and docs/internals.md.
"""

from .base import EllipticalMixin, LightProfile, MassProfile
from .light import (
    DevVaucouleurs,
    DevVaucouleursSph,
    Exponential,
    ExponentialSph,
    Gaussian,
    GaussianSph,
    Sersic,
    SersicSph,
)
from .light import (
    DevVaucouleursLinear,
    DevVaucouleursSphLinear,
    ExponentialLinear,
    ExponentialSphLinear,
    GaussianLinear,
    GaussianSphLinear,
    LinearLightProfile,
    SersicLinear,
    SersicSphLinear,
)
from .mass import ExternalShear, PointMass
from .mge import MGE
from .nfw import NFW, NFWSph
from .power_law import Isothermal, IsothermalSph, PowerLaw, PowerLawSph

__all__ = [
    "LightProfile",
    "MassProfile",
    "EllipticalMixin",
    "Sersic",
    "SersicSph",
    "Exponential",
    "ExponentialSph",
    "DevVaucouleurs",
    "DevVaucouleursSph",
    "Gaussian",
    "GaussianSph",
    "LinearLightProfile",
    "SersicLinear",
    "SersicSphLinear",
    "ExponentialLinear",
    "ExponentialSphLinear",
    "DevVaucouleursLinear",
    "DevVaucouleursSphLinear",
    "GaussianLinear",
    "GaussianSphLinear",
    "MGE",
    "Isothermal",
    "IsothermalSph",
    "PowerLaw",
    "PowerLawSph",
    "NFW",
    "NFWSph",
    "ExternalShear",
    "PointMass",
]
