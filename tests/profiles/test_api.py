"""The public namespace, the dataclass contract, and every profile's behaviour at its centre."""

import dataclasses

import numpy as np
import pytest

from lenspipe import profiles
from lenspipe.profiles import geometry

from .helpers import light_profiles, mass_profiles, profile_id

LIGHT = ["Sersic", "SersicSph", "Exponential", "ExponentialSph", "DevVaucouleurs",
         "DevVaucouleursSph", "Gaussian", "GaussianSph"]
MASS = ["Isothermal", "IsothermalSph", "PowerLaw", "PowerLawSph", "NFW", "NFWSph",
        "ExternalShear", "PointMass"]


def test_namespace_exports_every_profile():
    assert set(LIGHT + MASS) <= set(profiles.__all__)
    for name in profiles.__all__:
        assert hasattr(profiles, name)
    for name in LIGHT:
        assert issubclass(getattr(profiles, name), profiles.LightProfile)
    for name in MASS:
        assert issubclass(getattr(profiles, name), profiles.MassProfile)


# PyAutoLens's parameter names, order and defaults (2026.7.29.1).
DEFAULTS = {
    "Sersic": dict(centre=(0.0, 0.0), ell_comps=(0.0, 0.0), intensity=0.1,
                   effective_radius=0.6, sersic_index=4.0),
    "SersicSph": dict(centre=(0.0, 0.0), intensity=0.1, effective_radius=0.6, sersic_index=4.0),
    "Exponential": dict(centre=(0.0, 0.0), ell_comps=(0.0, 0.0), intensity=0.1,
                        effective_radius=0.6),
    "DevVaucouleursSph": dict(centre=(0.0, 0.0), intensity=0.1, effective_radius=0.6),
    "Gaussian": dict(centre=(0.0, 0.0), ell_comps=(0.0, 0.0), intensity=0.1, sigma=1.0),
    "GaussianSph": dict(centre=(0.0, 0.0), intensity=0.1, sigma=1.0),
    "Isothermal": dict(centre=(0.0, 0.0), ell_comps=(0.0, 0.0), einstein_radius=1.0),
    "IsothermalSph": dict(centre=(0.0, 0.0), einstein_radius=1.0),
    "PowerLaw": dict(centre=(0.0, 0.0), ell_comps=(0.0, 0.0), einstein_radius=1.0, slope=2.0),
    "PowerLawSph": dict(centre=(0.0, 0.0), einstein_radius=1.0, slope=2.0),
    "NFW": dict(centre=(0.0, 0.0), ell_comps=(0.0, 0.0), kappa_s=0.05, scale_radius=1.0),
    "NFWSph": dict(centre=(0.0, 0.0), kappa_s=0.05, scale_radius=1.0),
    "ExternalShear": dict(gamma_1=0.0, gamma_2=0.0),
    "PointMass": dict(centre=(0.0, 0.0), einstein_radius=1.0),
}


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_parameters_and_defaults(name):
    cls = getattr(profiles, name)
    assert cls.parameter_names() == tuple(DEFAULTS[name])
    assert dataclasses.asdict(cls()) == DEFAULTS[name]


def test_profiles_are_frozen_and_replaceable():
    light = profiles.Sersic()
    with pytest.raises(dataclasses.FrozenInstanceError):
        light.intensity = 2.0
    assert light.replace(intensity=2.0).intensity == 2.0
    assert profiles.Exponential().sersic_index == 1.0
    assert profiles.DevVaucouleurs().sersic_index == 4.0


def test_axis_ratio_and_angle_of_elliptical_profiles():
    light = profiles.Sersic(ell_comps=geometry.ell_comps_from(0.6, 0.7))
    assert light.axis_ratio == pytest.approx(0.6, rel=1e-14)
    assert light.angle == pytest.approx(0.7, rel=1e-14)


CENTRE = (0.1, -0.2)


def centred(profile):
    fields = {f.name for f in dataclasses.fields(profile)}
    return profile.replace(centre=CENTRE) if "centre" in fields else profile


@pytest.mark.parametrize("profile", mass_profiles() + light_profiles(), ids=profile_id)
def test_finite_at_the_centre_without_warnings(profile):
    profile = centred(profile)
    grid = np.array([CENTRE, (CENTRE[0] + 1e-12, CENTRE[1]), (CENTRE[0], CENTRE[1] - 1e-9)])
    names = (["image_from"] if isinstance(profile, profiles.LightProfile)
             else ["convergence_from", "deflections_yx_from", "potential_from"])
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        for name in names:
            values = getattr(profile, name)(grid)
            assert np.all(np.isfinite(values)), name
            # Batched centres too: one model centred on the grid point, one not.
            batch = profile.replace(centre=(np.array([[CENTRE[0]], [0.0]]), CENTRE[1])) \
                if "centre" in profile.parameter_names() else profile
            assert np.all(np.isfinite(getattr(batch, name)(grid))), name


@pytest.mark.parametrize("profile", mass_profiles(), ids=profile_id)
def test_deflection_at_the_exact_centre_is_zero(profile):
    # A singular profile's deflection is direction-dependent at its centre; lenspipe
    # returns 0 there (the external shear is 0 at the origin by its formula).
    centre = getattr(profile, "centre", (0.0, 0.0))
    assert np.all(profile.deflections_yx_from(np.array([centre])) == 0.0)


def test_geometry_frame_matches_conventions():
    grid = np.random.default_rng(2).uniform(-1, 1, size=(20, 2))
    phi = 0.83
    y_p, x_p = geometry.transform_grid_to_profile_frame(grid, (0.2, -0.3), phi)
    dy, dx = grid[:, 0] - 0.2, grid[:, 1] + 0.3
    np.testing.assert_allclose(x_p, np.cos(phi) * dx + np.sin(phi) * dy, rtol=0, atol=1e-15)
    np.testing.assert_allclose(y_p, -np.sin(phi) * dx + np.cos(phi) * dy, rtol=0, atol=1e-15)
    back = geometry.rotate_vectors_to_sky(y_p, x_p, phi)
    np.testing.assert_allclose(back, np.stack([dy, dx], -1), rtol=0, atol=1e-15)
    q, angle = geometry.axis_ratio_and_angle_from(geometry.ell_comps_from(0.45, -1.2))
    assert (q, angle) == (pytest.approx(0.45, rel=1e-14), pytest.approx(-1.2, rel=1e-14))
