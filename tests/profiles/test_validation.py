"""Parameters outside their domain raise ProfileError at construction (scalars only)."""

import math

import numpy as np
import pytest

from lenspipe import profiles
from lenspipe.errors import LenspipeError, ProfileError

BAD = [
    (profiles.Sersic, "effective_radius", -0.5),
    (profiles.Sersic, "effective_radius", 0.0),
    (profiles.Sersic, "sersic_index", 0.0),
    (profiles.SersicSph, "effective_radius", -1.0),
    (profiles.Exponential, "effective_radius", -1.0),
    (profiles.ExponentialSph, "effective_radius", -1.0),
    (profiles.DevVaucouleurs, "effective_radius", -1.0),
    (profiles.DevVaucouleursSph, "effective_radius", -1.0),
    (profiles.Gaussian, "sigma", -0.1),
    (profiles.GaussianSph, "sigma", 0.0),
    (profiles.NFW, "scale_radius", -2.0),
    (profiles.NFWSph, "scale_radius", 0.0),
    (profiles.PowerLaw, "slope", 1.0),
    (profiles.PowerLaw, "slope", 3.0),
    (profiles.PowerLaw, "slope", 3.5),
    (profiles.PowerLaw, "slope", math.nan),
    (profiles.PowerLaw, "einstein_radius", -1.0),
    (profiles.PowerLawSph, "slope", 0.5),
    (profiles.PowerLawSph, "einstein_radius", -1.0),
]


@pytest.mark.parametrize("cls, name, value", BAD, ids=lambda x: getattr(x, "__name__", str(x)))
def test_bad_scalar_raises_profile_error(cls, name, value):
    with pytest.raises(ProfileError) as info:
        cls(**{name: value})
    message = str(info.value)
    assert cls.__name__ in message and name in message and "e.g." in message
    assert isinstance(info.value, LenspipeError)


@pytest.mark.parametrize("cls, name, value", BAD[:3], ids=lambda x: getattr(x, "__name__", str(x)))
def test_numpy_scalars_are_checked_too(cls, name, value):
    with pytest.raises(ProfileError):
        cls(**{name: np.float64(value)})
    with pytest.raises(ProfileError):
        cls(**{name: np.array(value)})


def test_batched_arrays_are_not_validated():
    # The model's priors bound batched values; construction stays cheap and never raises.
    profile = profiles.Sersic(effective_radius=np.array([[0.5], [-0.5]]))
    assert profile.effective_radius.shape == (2, 1)
    profiles.PowerLaw(slope=np.array([[2.0], [3.5]]))


@pytest.mark.parametrize(
    "cls, values",
    [
        (profiles.PowerLaw, dict(slope=1.0001, einstein_radius=0.0)),
        (profiles.PowerLawSph, dict(slope=2.9999)),
        (profiles.Sersic, dict(sersic_index=0.3, effective_radius=1e-6)),
        (profiles.NFW, dict(scale_radius=1e-3, kappa_s=-0.1)),  # kappa_s is linear: any sign is allowed
        (profiles.Gaussian, dict(sigma=1e-6)),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_valid_boundaries_are_accepted(cls, values):
    """Values just inside a domain construct, are stored as given and evaluate to finite numbers."""
    profile = cls(**values)
    for name, value in values.items():
        assert getattr(profile, name) == value
    grid = np.array([[0.0, 0.0], [0.05, -0.02], [0.3, 0.4], [-1.2, 0.7]])  # includes the centre
    if isinstance(profile, profiles.LightProfile):
        outputs = [profile.image_from(grid)]
    else:
        outputs = [profile.convergence_from(grid), profile.deflections_yx_from(grid)]
    for output in outputs:
        assert output.shape[0] == len(grid) and np.all(np.isfinite(output)), (cls.__name__, output)
