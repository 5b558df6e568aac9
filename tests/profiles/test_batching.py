"""Batching: (K, 1) parameters give the same numbers as K separate evaluations (to 1e-12).

The batched and single code paths are the same numpy code, so they agree to rounding;
the one exception is PowerLaw, whose series length follows the largest ellipticity in the
batch, which changes the sum by at most its 1e-14 truncation bound.
"""

import dataclasses

import numpy as np
import pytest

from lenspipe.profiles import LightProfile

from .helpers import light_profiles, mass_profiles, profile_id

K = 3


def variants(profile):
    """K versions of ``profile`` with every parameter changed a little."""
    out = []
    for k in range(K):
        changes = {}
        for field in dataclasses.fields(profile):
            value = getattr(profile, field.name)
            if isinstance(value, tuple):
                changes[field.name] = (value[0] + 0.03 * k, value[1] - 0.02 * k)
            else:
                changes[field.name] = value * (1.0 + 0.05 * k)
        out.append(dataclasses.replace(profile, **changes))
    return out


def batched(profiles, only=None):
    """One profile whose parameters (all, or those named in ``only``) are (K, 1) arrays."""
    first = profiles[0]
    changes = {}
    for field in dataclasses.fields(first):
        if only is not None and field.name not in only:
            continue
        values = [getattr(p, field.name) for p in profiles]
        if isinstance(values[0], tuple):
            changes[field.name] = tuple(np.array([[v[i]] for v in values]) for i in range(2))
        else:
            changes[field.name] = np.array([[v] for v in values])
    return dataclasses.replace(first, **changes)


def methods(profile):
    if isinstance(profile, LightProfile):
        return ("image_from",)
    return ("convergence_from", "deflections_yx_from", "potential_from")


def assert_same(batch, singles):
    scale = max(np.max(np.abs(s)) for s in singles)
    np.testing.assert_allclose(batch, np.stack(singles), rtol=1e-12, atol=1e-12 * scale)


GRID = np.random.default_rng(5).uniform(-2.0, 2.0, size=(40, 2))
GRIDS = np.random.default_rng(6).uniform(-2.0, 2.0, size=(K, 40, 2))


@pytest.mark.parametrize("profile", mass_profiles() + light_profiles(), ids=profile_id)
def test_batched_parameters_on_one_grid(profile):
    singles = variants(profile)
    batch = batched(singles)
    for method in methods(profile):
        result = getattr(batch, method)(GRID)
        assert result.shape[:2] == (K, len(GRID))
        assert_same(result, [getattr(s, method)(GRID) for s in singles])


@pytest.mark.parametrize("profile", mass_profiles() + light_profiles(), ids=profile_id)
def test_batched_parameters_on_batched_grids(profile):
    singles = variants(profile)
    batch = batched(singles)
    for method in methods(profile):
        result = getattr(batch, method)(GRIDS)
        assert result.shape[:2] == (K, GRIDS.shape[1])
        assert_same(result, [getattr(s, method)(g) for s, g in zip(singles, GRIDS)])


@pytest.mark.parametrize("profile", mass_profiles() + light_profiles(), ids=profile_id)
def test_single_parameters_on_batched_grids(profile):
    for method in methods(profile):
        result = getattr(profile, method)(GRIDS)
        assert result.shape[:2] == (K, GRIDS.shape[1])
        assert_same(result, [getattr(profile, method)(g) for g in GRIDS])


@pytest.mark.parametrize("profile", mass_profiles() + light_profiles(), ids=profile_id)
def test_each_parameter_batched_alone(profile):
    # A batch where one parameter varies and the others are plain floats still gives (K, N).
    singles_all = variants(profile)
    for field in dataclasses.fields(profile):
        singles = [dataclasses.replace(profile, **{field.name: getattr(s, field.name)})
                   for s in singles_all]
        batch = batched(singles, only={field.name})
        for method in methods(profile):
            result = getattr(batch, method)(GRID)
            assert result.shape[:2] == (K, len(GRID)), (field.name, method)
            assert_same(result, [getattr(s, method)(GRID) for s in singles])


def test_centre_with_one_batched_component():
    profile = mass_profiles()[0]
    centre = (np.array([[0.0], [0.1], [0.2]]), 0.05)
    batch = dataclasses.replace(profile, centre=centre)
    singles = [dataclasses.replace(profile, centre=(c, 0.05)) for c in (0.0, 0.1, 0.2)]
    assert_same(batch.deflections_yx_from(GRID), [s.deflections_yx_from(GRID) for s in singles])
