"""Linear light profiles: the standard profiles without an ``intensity`` parameter."""

import dataclasses

import numpy as np
import pytest

from lenspipe import profiles
from lenspipe.lensing import Galaxy
from lenspipe.model import Collection, Model, class_from_name
from lenspipe.model.defaults import TUPLE_PARAMETERS

from .helpers import light_profiles

LINEAR = {"SersicLinear": "Sersic", "SersicSphLinear": "SersicSph", "ExponentialLinear": "Exponential",
          "ExponentialSphLinear": "ExponentialSph", "DevVaucouleursLinear": "DevVaucouleurs",
          "DevVaucouleursSphLinear": "DevVaucouleursSph", "GaussianLinear": "Gaussian",
          "GaussianSphLinear": "GaussianSph"}


def _linear_of(profile):
    """The linear variant of a standard profile with the same non-linear parameters."""
    cls = getattr(profiles, type(profile).__name__ + "Linear")
    return cls(**{f.name: getattr(profile, f.name) for f in dataclasses.fields(cls)})


@pytest.mark.parametrize("name", sorted(LINEAR))
def test_parameters_are_the_standard_ones_without_intensity(name):
    cls, standard = getattr(profiles, name), getattr(profiles, LINEAR[name])
    assert name in profiles.__all__ and class_from_name(name) is cls
    assert cls.parameter_names() == tuple(p for p in standard.parameter_names() if p != "intensity")
    assert cls.is_linear and not getattr(standard, "is_linear", False)
    assert isinstance(cls(), profiles.LinearLightProfile) and isinstance(cls(), profiles.LightProfile)
    assert cls().intensity == 1.0 and cls().light_profile_class is standard
    with pytest.raises(TypeError):
        cls(intensity=2.0)
    model = Model(cls)  # intensity is not a free parameter: it is solved for
    assert not any(path.endswith("intensity") for path in model.paths)
    assert model.prior_count == sum(2 if n in TUPLE_PARAMETERS else 1 for n in cls.parameter_names())
    assert Model.from_dict(model.to_dict()).prior_count == model.prior_count


@pytest.mark.parametrize("profile", light_profiles(), ids=lambda p: type(p).__name__)
def test_image_is_the_unit_intensity_image_and_with_intensity_restores_the_profile(profile):
    linear = _linear_of(profile)
    grid = np.random.default_rng(1).uniform(-2.0, 2.0, (50, 2))
    np.testing.assert_allclose(linear.image_from(grid) * profile.intensity, profile.image_from(grid), rtol=1e-14)
    assert linear.with_intensity(profile.intensity) == profile
    batched = linear.with_intensity(np.array([[1.0], [2.0]]))
    assert batched.image_from(grid).shape == (2, 50)
    assert linear.total_flux * profile.intensity == pytest.approx(profile.total_flux, rel=1e-14)


def test_a_fixed_linear_profile_fits_in_a_model_and_batches():
    lens = Model(Galaxy, redshift=0.5, bulge=profiles.SersicLinear(effective_radius=0.7),
                 disk=Model(profiles.ExponentialLinear))
    model = Collection(galaxies=Collection(lens=lens))
    assert model.paths == ["galaxies.lens.disk.centre.centre_0", "galaxies.lens.disk.centre.centre_1",
                           "galaxies.lens.disk.ell_comps.ell_comps_0", "galaxies.lens.disk.ell_comps.ell_comps_1",
                           "galaxies.lens.disk.effective_radius"]
    instance = model.instance_from_vector(np.array([[0.0, 0.0, 0.1, 0.0, 0.5], [0.1, 0.0, 0.0, 0.2, 0.9]]))
    assert instance.galaxies.lens.bulge == profiles.SersicLinear(effective_radius=0.7)
    assert instance.galaxies.lens.disk.image_from(np.zeros((3, 2))).shape == (2, 3)
