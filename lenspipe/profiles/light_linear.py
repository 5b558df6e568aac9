"""The linear variants of the light profiles: the same shapes, with the intensity solved for.

A linear profile's fields are its standard profile's without ``intensity`` (see
:class:`LinearLightProfile`); the fit solves the amplitudes (:mod:`lenspipe.fit.linear`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .base import EllipticalMixin, LightProfile
from .light import (DevVaucouleurs, DevVaucouleursSph, Exponential, ExponentialSph, Gaussian, GaussianSph, Sersic,
                    SersicSph, _circular_radius_squared, _GaussianFamily, _SersicFamily, _SphericalSersicFamily)

__all__ = ['LinearLightProfile', 'SersicLinear', 'SersicSphLinear', 'ExponentialLinear', 'ExponentialSphLinear', 'DevVaucouleursLinear', 'DevVaucouleursSphLinear', 'GaussianLinear', 'GaussianSphLinear']


# ---------------------------------------------------------------------------- linear variants
class LinearLightProfile(LightProfile):
    """Mixin of the linear light profiles: the amplitude is solved for, not a parameter.

    A linear profile's fields are its standard profile's without ``intensity``;
    ``intensity`` is the class constant 1.0, so ``image_from`` gives the unit-intensity
    image. The fit (:func:`lenspipe.fit.model_image.model_data_from`) recognises the class
    by ``is_linear`` and solves for the amplitude by non-negative linear least squares.
    """

    #: Marks the class for the fit: its amplitude is solved for.
    is_linear = True
    #: Not a parameter: the basis image has unit intensity.
    intensity = 1.0
    #: The standard profile with the same shape (set by each class).
    light_profile_class: type = None

    def with_intensity(self, intensity):
        """The standard profile (``light_profile_class``) of this shape with ``intensity``.

        ``intensity`` may be a float or a ``(K, 1)`` array (a batch of solved amplitudes).
        """
        cls = self.light_profile_class
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(cls)
                  if field.name != "intensity"}
        return cls(intensity=intensity, **values)


@dataclass(frozen=True)
class SersicLinear(LinearLightProfile, _SersicFamily, EllipticalMixin):
    """:class:`Sersic` whose intensity is solved for (parameters: all but ``intensity``)."""

    centre: tuple = (0.0, 0.0)
    ell_comps: tuple = (0.0, 0.0)
    effective_radius: float = 0.6
    sersic_index: float = 4.0

    light_profile_class = Sersic


@dataclass(frozen=True)
class SersicSphLinear(LinearLightProfile, _SphericalSersicFamily):
    """:class:`SersicSph` whose intensity is solved for."""

    centre: tuple = (0.0, 0.0)
    effective_radius: float = 0.6
    sersic_index: float = 4.0

    light_profile_class = SersicSph


@dataclass(frozen=True)
class ExponentialLinear(LinearLightProfile, _SersicFamily, EllipticalMixin):
    """:class:`Exponential` whose intensity is solved for."""

    centre: tuple = (0.0, 0.0)
    ell_comps: tuple = (0.0, 0.0)
    effective_radius: float = 0.6

    sersic_index = 1.0
    light_profile_class = Exponential


@dataclass(frozen=True)
class ExponentialSphLinear(LinearLightProfile, _SphericalSersicFamily):
    """:class:`ExponentialSph` whose intensity is solved for."""

    centre: tuple = (0.0, 0.0)
    effective_radius: float = 0.6

    sersic_index = 1.0
    light_profile_class = ExponentialSph


@dataclass(frozen=True)
class DevVaucouleursLinear(LinearLightProfile, _SersicFamily, EllipticalMixin):
    """:class:`DevVaucouleurs` whose intensity is solved for."""

    centre: tuple = (0.0, 0.0)
    ell_comps: tuple = (0.0, 0.0)
    effective_radius: float = 0.6

    sersic_index = 4.0
    light_profile_class = DevVaucouleurs


@dataclass(frozen=True)
class DevVaucouleursSphLinear(LinearLightProfile, _SphericalSersicFamily):
    """:class:`DevVaucouleursSph` whose intensity is solved for."""

    centre: tuple = (0.0, 0.0)
    effective_radius: float = 0.6

    sersic_index = 4.0
    light_profile_class = DevVaucouleursSph


@dataclass(frozen=True)
class GaussianLinear(LinearLightProfile, _GaussianFamily, EllipticalMixin):
    """:class:`Gaussian` whose intensity is solved for."""

    centre: tuple = (0.0, 0.0)
    ell_comps: tuple = (0.0, 0.0)
    sigma: float = 1.0

    light_profile_class = Gaussian


@dataclass(frozen=True)
class GaussianSphLinear(LinearLightProfile, _GaussianFamily):
    """:class:`GaussianSph` whose intensity is solved for."""

    _radius_squared = staticmethod(_circular_radius_squared)

    centre: tuple = (0.0, 0.0)
    sigma: float = 1.0

    light_profile_class = GaussianSph
