"""Models to JSON and back, the class registry, and models from workflow YAML."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lenspipe.errors import ConfigError, ModelError
from lenspipe.model import (
    Collection,
    Model,
    TruncatedGaussianPrior,
    UniformPrior,
    class_from_name,
    model_from_yaml,
    name_from_class,
    register_class,
)

from .helpers import ExternalShear, Galaxy, Isothermal, PowerLaw, lens_model, three_galaxy_model


def _json_round_trip(model):
    return Model.from_dict(json.loads(json.dumps(model.to_dict(), allow_nan=False)))


def test_dictionary_layout():
    data = Model(Isothermal, centre=(0.0, 0.0), einstein_radius=UniformPrior(0.5, 2.0)).to_dict()
    assert data == {
        "type": "model",
        "class": "Isothermal",
        "parameters": {
            "centre": [0.0, 0.0],
            "ell_comps": [
                {"prior": "TruncatedGaussian", "mean": 0.0, "sigma": 0.3, "lower_limit": -1.0, "upper_limit": 1.0,
                 "id": 0},
                {"prior": "TruncatedGaussian", "mean": 0.0, "sigma": 0.3, "lower_limit": -1.0, "upper_limit": 1.0,
                 "id": 1},
            ],
            "einstein_radius": {"prior": "Uniform", "lower_limit": 0.5, "upper_limit": 2.0, "id": 2},
        },
    }


def test_round_trip_keeps_paths_priors_links_fixed_values_and_assertions():
    model = three_galaxy_model()
    model.add_assertion("galaxies.lens.mass.einstein_radius", ">", 0.3)
    model.galaxies.source.add_assertion("bulge.effective_radius", "<", "bulge.sersic_index")
    again = _json_round_trip(model)
    assert isinstance(again, Collection)
    assert again.paths == model.paths and again.prior_count == model.prior_count == 17
    assert [p.to_dict() for p in again.priors_ordered] == [p.to_dict() for p in model.priors_ordered]
    assert again.galaxies.lens.bulge.centre[0] is again.galaxies.lens.mass.centre[0]
    assert again.galaxies.satellite.mass.centre == (1.1, -0.4)
    assert again.galaxies.source.assertions == [("bulge.effective_radius", "<", "bulge.sersic_index")]
    assert again.to_dict() == model.to_dict()
    vectors = model.vector_from_unit_vector(np.random.default_rng(1).uniform(size=(4, 17)))
    np.testing.assert_array_equal(again.log_prior_from_vector(vectors), model.log_prior_from_vector(vectors))


def test_unbounded_truncation_round_trips():
    model = Collection(x=TruncatedGaussianPrior(1.0, 0.5, lower_limit=0.0))
    assert model.to_dict()["children"]["x"]["upper_limit"] is None
    assert _json_round_trip(model).x.limits == (0.0, np.inf)


def _set(model, path, value):
    """Assign ``value`` at a parameter path (a tuple component replaces its tuple)."""
    *owner_path, name = path.split(".")
    owner = model
    for part in owner_path[:-1] if name[-2:] in ("_0", "_1") and owner_path[-1] == name[:-2] else owner_path:
        owner = getattr(owner, part)
    if name[-2:] in ("_0", "_1") and owner_path and owner_path[-1] == name[:-2]:
        items = list(getattr(owner, name[:-2]))
        items[int(name[-1])] = value
        setattr(owner, name[:-2], tuple(items))
    else:
        setattr(owner, name, value)


operations = st.lists(
    st.tuples(st.sampled_from(["fix", "link", "prior"]), st.integers(0, 100), st.integers(0, 100),
              st.floats(0.05, 0.5)),
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(operations=operations)
def test_random_models_round_trip_through_json(operations):
    model = lens_model()
    for kind, i, j, value in operations:
        paths = model.paths
        if not paths:
            break
        target = paths[i % len(paths)]
        if kind == "fix":
            _set(model, target, value)
        elif kind == "link":
            _set(model, target, model.resolve(paths[j % len(paths)]))
        else:
            _set(model, target, UniformPrior(value, value + 1.0))
    again = _json_round_trip(model)
    assert again.to_dict() == model.to_dict()
    assert again.paths == model.paths
    for path in model.paths:
        assert again.resolve(path).to_dict() == model.resolve(path).to_dict()
    if model.prior_count:
        unit = np.linspace(0.1, 0.9, model.prior_count)
        vector = model.vector_from_unit_vector(unit)
        np.testing.assert_array_equal(again.vector_from_unit_vector(unit), vector)
        assert again.log_prior_from_vector(vector) == model.log_prior_from_vector(vector)


def test_from_dict_errors():
    with pytest.raises(ModelError, match="Unknown model class 'Sersik'; valid names are: .*Galaxy.*Sersic"):
        Model.from_dict({"type": "model", "class": "Sersik", "parameters": {}})
    with pytest.raises(ModelError, match="type 'model' or 'collection'"):
        Model.from_dict({"class": "Sersic"})
    with pytest.raises(ModelError, match="prior id 0 is used for two different priors"):
        Model.from_dict({"type": "collection", "children": {
            "a": {"prior": "Uniform", "lower_limit": 0, "upper_limit": 1, "id": 0},
            "b": {"prior": "Uniform", "lower_limit": 0, "upper_limit": 2, "id": 0}}})


def test_registry():
    assert class_from_name("Galaxy") is Galaxy and class_from_name("Isothermal") is Isothermal
    assert name_from_class(PowerLaw) == "PowerLaw"

    class Unregistered:
        def __init__(self, a):
            self.a = a

    model = Collection(x=Model(Unregistered, a=1.0))
    with pytest.raises(ModelError, match="not a registered model class.*register_class"):
        model.to_dict()
    with pytest.raises(ModelError, match="already registered"):
        register_class(Unregistered, name="Isothermal")


EXAMPLE = """
galaxies:
  lens: {redshift: 0.5, bulge: Sersic, mass: Isothermal, shear: ExternalShear}
  source:
    redshift: 1.0
    bulge: {class: Sersic, effective_radius: {prior: Uniform, lower_limit: 0.0, upper_limit: 2.0}}
"""


def test_model_from_yaml_example():
    model = model_from_yaml(EXAMPLE)
    assert model.paths == lens_model().paths
    assert model.galaxies.source.bulge.effective_radius.limits == (0.0, 2.0)
    assert model.galaxies.lens.bulge.effective_radius.limits == (0.0, 30.0)
    assert model.galaxies.lens.redshift == 0.5 and model.galaxies.lens.cls is Galaxy
    instance = model.instance_from_vector(model.vector_from_unit_vector(np.full(21, 0.5)))
    assert isinstance(instance.galaxies.lens.shear, ExternalShear)
    assert Model.from_yaml(EXAMPLE).to_dict() == model.to_dict()


def test_model_from_yaml_links_tuples_fixed_values_and_assertions():
    model = model_from_yaml({
        "galaxies": {
            "lens": {
                "redshift": 0.5,
                "bulge": {"class": "Sersic", "centre": {"link": "galaxies.lens.mass.centre"},
                          "ell_comps": [0.1, {"prior": "Gaussian", "mean": 0.0, "sigma": 0.2}]},
                "mass": {"class": "PowerLaw", "slope": 2.0,
                         "centre": {"prior": "Gaussian", "mean": 0.0, "sigma": 0.05}},
            },
        },
        "assertions": ["galaxies.lens.mass.einstein_radius > 0.2",
                       ["galaxies.lens.bulge.effective_radius", "<", "galaxies.lens.mass.einstein_radius"]],
    })
    lens = model.galaxies.lens
    assert lens.bulge.centre[0] is lens.mass.centre[0] and lens.mass.centre[0] is not lens.mass.centre[1]
    assert lens.mass.centre[1].to_dict() == {"prior": "Gaussian", "mean": 0.0, "sigma": 0.05}
    assert lens.bulge.ell_comps[0] == 0.1 and lens.mass.slope == 2.0
    assert model.assertions == [("galaxies.lens.mass.einstein_radius", ">", 0.2),
                                ("galaxies.lens.bulge.effective_radius", "<", "galaxies.lens.mass.einstein_radius")]
    assert model.prior_count == 2 + 1 + 3 + 2 + 1


@pytest.mark.parametrize(
    "text, words",
    [
        ("galaxies:\n  lens: {redshift: 0.5, mass: Isotermal}", r"galaxies\.lens\.mass.*Unknown model class 'Isotermal'"),
        ("galaxies:\n  lens: {redshift: 0.5, mass: {class: Isothermal, radius: 1.0}}",
         r"galaxies\.lens\.mass: .*no parameter 'radius'"),
        ("galaxies:\n  lens: {mass: Isothermal}", r"galaxies\.lens: Galaxy\.redshift has no default prior"),
        ("galaxies:\n  lens: {redshift: 0.5, mass: {class: Isothermal, einstein_radius: "
         "{prior: Uniform, lower_limit: 3, upper_limit: 1}}}", r"galaxies\.lens\.mass\.einstein_radius: .*lower_limit"),
        ("galaxies:\n  lens: {redshift: 0.5, mass: {class: Isothermal, einstein_radius: {width: 1}}}",
         r"galaxies\.lens\.mass\.einstein_radius: expected a number"),
        ("galaxies:\n  lens: {redshift: 0.5, mass: {class: Isothermal, centre: [0.0]}}",
         r"galaxies\.lens\.mass\.centre: a tuple parameter takes 2"),
        ("galaxies:\n  lens: {redshift: 0.5, mass: {class: Isothermal, centre: {link: galaxies.x.centre}}}",
         r"galaxies\.lens\.mass\.centre: the link target 'galaxies\.x\.centre'"),
        ("galaxies:\n  lens: {redshift: 0.5, mass: Isothermal}\nassertions: ['galaxies.lens.mass.slope < 2']",
         r"assertions\[0\]: .*galaxies\.lens\.mass\.slope"),
        ("galaxies: [", "cannot be parsed"),
        ("- 1", "non-empty mapping"),
    ],
)
def test_model_from_yaml_errors_name_the_bad_key(text, words):
    with pytest.raises(ConfigError, match=words):
        model_from_yaml(text)
