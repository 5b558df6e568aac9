"""The packaged default priors cover every registered profile exactly."""

import dataclasses

import numpy as np
import pytest

from lenspipe import profiles
from lenspipe.model import Model, registered_classes
from lenspipe.model.defaults import TUPLE_PARAMETERS, packaged_default_priors

PROFILE_CLASSES = [registered_classes()[name] for name in profiles.__all__
                   if name in registered_classes()]


def test_every_profile_in_profiles_all_is_registered():
    names = {name for name in profiles.__all__ if not name.endswith("Profile") and name != "EllipticalMixin"}
    assert names <= set(registered_classes())
    assert len(PROFILE_CLASSES) == len(names) >= 16


@pytest.mark.parametrize("cls", PROFILE_CLASSES, ids=lambda cls: cls.__name__)
def test_default_priors_name_exactly_the_profile_parameters(cls):
    # a class's settings (MGE.total_gaussians, ...) have no prior: a Model fixes them at their defaults
    fields = [field.name for field in dataclasses.fields(cls) if field.name not in getattr(cls, "fixed_parameters", ())]
    assert list(packaged_default_priors().entries_for(cls)) == fields
    model = Model(cls)
    assert model.prior_count == sum(2 if name in TUPLE_PARAMETERS else 1 for name in fields)


@pytest.mark.parametrize("cls", PROFILE_CLASSES, ids=lambda cls: cls.__name__)
def test_interior_of_the_default_priors_builds_valid_profiles(cls):
    model = Model(cls)
    unit = np.random.default_rng(3).uniform(1e-6, 1 - 1e-6, size=(50, model.prior_count))
    vectors = model.vector_from_unit_vector(unit)
    assert np.isfinite(model.log_prior_from_vector(vectors)).all()
    for vector in vectors:
        assert isinstance(model.instance_from_vector(vector), cls)
