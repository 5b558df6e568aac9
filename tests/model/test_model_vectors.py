"""The search interface: unit cube, log prior, instances (single and batched), round trips."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lenspipe.errors import ModelError
from lenspipe.model import Collection, Model, UniformPrior

from .helpers import Galaxy, Isothermal, Sersic, lens_model, three_galaxy_model, unit_vectors


def test_unit_vector_maps_through_each_prior():
    model = three_galaxy_model()
    unit = unit_vectors(model, 7)
    vectors = model.vector_from_unit_vector(unit)
    assert vectors.shape == unit.shape
    for i, prior in enumerate(model.priors_ordered):
        np.testing.assert_array_equal(vectors[:, i], prior.value_for(unit[:, i]))
    np.testing.assert_array_equal(model.vector_from_unit_vector(unit[0]), vectors[0])
    assert model.vector_from_unit_vector(unit.reshape(7, 1, -1)).shape == (7, 1, model.prior_count)


def test_log_prior_is_the_sum_of_the_prior_densities():
    model = three_galaxy_model()
    vectors = model.vector_from_unit_vector(unit_vectors(model, 5))
    expected = sum(prior.log_prior_from_value(vectors[:, i]) for i, prior in enumerate(model.priors_ordered))
    np.testing.assert_allclose(model.log_prior_from_vector(vectors), expected, rtol=1e-14)
    single = model.log_prior_from_vector(vectors[0])
    assert np.ndim(single) == 0 and single == pytest.approx(expected[0], rel=1e-14)


def test_log_prior_is_minus_infinity_outside_a_support():
    model = three_galaxy_model()
    vectors = model.vector_from_unit_vector(unit_vectors(model, 3))
    einstein = model.paths.index("galaxies.lens.mass.einstein_radius")
    vectors[1, einstein] = -0.1
    vectors[2, 0] = np.nan
    log_prior = model.log_prior_from_vector(vectors)
    assert np.isfinite(log_prior[0]) and log_prior[1] == -np.inf and log_prior[2] == -np.inf


def test_shapes_are_checked():
    model = three_galaxy_model()
    n = model.prior_count
    with pytest.raises(ModelError, match=f"shape \\(..., {n}\\)"):
        model.log_prior_from_vector(np.zeros(n + 1))
    with pytest.raises(ModelError, match="shape"):
        model.vector_from_unit_vector(np.zeros((2, n - 1)))
    with pytest.raises(ModelError, match=f"\\({n},\\) or \\(K, {n}\\)"):
        model.instance_from_vector(np.zeros((2, 2, n)))


def test_single_instances_hold_floats():
    model = three_galaxy_model()
    vector = model.vector_from_unit_vector(unit_vectors(model, 1)[0])
    instance = model.instance_from_vector(vector)
    mass = instance.galaxies.lens.mass
    assert type(mass.einstein_radius) is float and type(mass.centre[0]) is float
    assert instance.galaxies.satellite.mass.centre == (1.1, -0.4)
    assert instance.galaxies.source.bulge.sersic_index == 1.0


def test_batched_instance_equals_the_single_instances():
    model = three_galaxy_model()
    vectors = model.vector_from_unit_vector(unit_vectors(model, 6))
    batched = model.instance_from_vector(vectors)
    bulge = batched.galaxies.lens.bulge
    assert bulge.intensity.shape == (6, 1) and bulge.centre[0].shape == (6, 1)
    assert bulge.ell_comps == (0.05, -0.02)  # fixed parameters stay scalars
    assert batched.galaxies.source.bulge.sersic_index == 1.0
    for k in range(6):
        single = model.instance_from_vector(vectors[k])
        for a, b in zip(batched.galaxies, single.galaxies):
            assert a.redshift == b.redshift
            for name, profile in a.profiles.items():
                other = b.profiles[name]
                for field in type(profile).__dataclass_fields__:
                    np.testing.assert_array_equal(_row(getattr(profile, field), k), _row(getattr(other, field), 0))
    np.testing.assert_array_equal(model.vector_from_instance(batched), vectors)


def _row(value, k):
    """Row k of a (possibly batched) parameter: a scalar, a (K, 1) array or a tuple of those."""
    if isinstance(value, tuple):
        return np.array([_row(item, k) for item in value])
    value = np.asarray(value, dtype=float)
    return value[k, 0] if value.ndim == 2 else value


def test_a_model_with_no_free_parameters_builds_a_constant():
    model = Model(Isothermal, centre=(0.0, 0.0), ell_comps=(0.1, 0.0), einstein_radius=1.0)
    assert model.prior_count == 0 and model.paths == []
    assert model.instance_from_vector(np.zeros(0)) is model.instance_from_vector(np.zeros(0))
    np.testing.assert_array_equal(model.vector_from_instance(Isothermal()), np.zeros(0))


def test_changes_after_building_are_seen():
    model = lens_model()
    vector = model.vector_from_unit_vector(np.full(21, 0.5))
    model.instance_from_vector(vector)
    model.galaxies.source.bulge.sersic_index = 2.5
    assert model.prior_count == 20
    assert model.instance_from_vector(vector[:20]).galaxies.source.bulge.sersic_index == 2.5


def test_instance_from_unit_vector():
    model = Collection(x=UniformPrior(2.0, 4.0))
    assert model.instance_from_unit_vector(np.array([0.25])).x == 2.5


@settings(max_examples=40, deadline=None)
@given(unit=hnp.arrays(float, 19, elements=st.floats(1e-6, 1 - 1e-6)))
def test_vector_instance_vector_round_trip(unit):
    model = _linked_model()
    vector = model.vector_from_unit_vector(unit)
    again = model.vector_from_instance(model.instance_from_vector(vector))
    np.testing.assert_array_equal(again, vector)
    assert np.isfinite(model.log_prior_from_vector(vector))


_CACHE = {}


def _linked_model():
    if "model" not in _CACHE:
        model = lens_model()
        model.galaxies.lens.bulge.centre = model.galaxies.lens.mass.centre
        _CACHE["model"] = model
    return _CACHE["model"]


def test_instance_building_uses_the_real_classes():
    model = lens_model()
    instance = model.instance_from_vector(model.vector_from_unit_vector(np.full(21, 0.5)))
    lens = instance.galaxies.lens
    assert isinstance(lens, Galaxy) and isinstance(lens.bulge, Sersic) and isinstance(lens.mass, Isothermal)
    assert list(lens.profiles) == ["bulge", "mass", "shear"]
