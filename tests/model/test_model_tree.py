"""Building model trees: defaults, overrides, attribute access, linking, fixing, assertions."""

import numpy as np
import pytest

from lenspipe.errors import ConfigError, ModelError
from lenspipe.model import (
    Collection,
    CollectionInstance,
    GaussianPrior,
    LogUniformPrior,
    Model,
    TruncatedGaussianPrior,
    UniformPrior,
    load_default_priors,
)

from .helpers import ExternalShear, Galaxy, Isothermal, PowerLaw, Sersic, lens_model, three_galaxy_model


def test_free_parameters_get_the_packaged_default_priors():
    mass = Model(Isothermal)
    assert mass.prior_count == 5
    assert mass.paths == ["centre.centre_0", "centre.centre_1", "ell_comps.ell_comps_0",
                          "ell_comps.ell_comps_1", "einstein_radius"]
    assert mass.einstein_radius.to_dict() == {"prior": "Uniform", "lower_limit": 0.0, "upper_limit": 4.0}
    assert mass.centre.centre_0.to_dict() == {"prior": "Gaussian", "mean": 0.0, "sigma": 0.1}
    assert isinstance(mass.ell_comps[1], TruncatedGaussianPrior) and mass.ell_comps[1].limits == (-1.0, 1.0)
    assert mass.centre[0] is not mass.centre[1]
    bulge = Model(Sersic)
    assert isinstance(bulge.intensity, LogUniformPrior)
    assert bulge.sersic_index.limits == (0.8, 8.0)
    assert Model(PowerLaw).slope.limits == (1.5, 3.0)
    assert Model(ExternalShear).gamma_1.limits == (-0.2, 0.2)


def test_each_model_gets_fresh_priors():
    assert Model(Isothermal).einstein_radius is not Model(Isothermal).einstein_radius


def test_overrides_fix_free_and_mix():
    prior = UniformPrior(0.5, 2.0)
    mass = Model(Isothermal, einstein_radius=prior, centre=(0.0, GaussianPrior(0.0, 0.5)), ell_comps=(0.1, -0.1))
    assert mass.einstein_radius is prior
    assert mass.centre[0] == 0.0 and isinstance(mass.centre[1], GaussianPrior)
    assert mass.prior_count == 2
    assert mass.paths == ["centre.centre_1", "einstein_radius"]
    assert Model(Isothermal, einstein_radius=1).einstein_radius == 1.0


def test_unknown_parameters_and_bad_values_raise_model_error():
    with pytest.raises(ModelError, match="no parameter 'radius'.*einstein_radius"):
        Model(Isothermal, radius=1.0)
    with pytest.raises(ModelError, match=r"centre is a 2-tuple.*centre=\(0.0, 0.0\)"):
        Model(Isothermal, centre=0.0)
    with pytest.raises(ModelError, match="takes 2 values"):
        Model(Isothermal, centre=(0.0, 0.0, 0.0))
    with pytest.raises(ModelError, match="centre_1: expected a number or a Prior"):
        Model(Isothermal, centre=(0.0, "x"))
    with pytest.raises(ModelError, match="needs a class"):
        Model(Isothermal())
    mass = Model(Isothermal)
    with pytest.raises(ModelError, match="no parameter 'slope'"):
        mass.slope = 2.0
    with pytest.raises(AttributeError, match="no entry 'slope'"):
        mass.slope


def test_galaxy_needs_a_redshift_and_takes_any_profiles():
    with pytest.raises(ModelError, match=r"Galaxy.redshift has no default prior.*redshift=0.5"):
        Model(Galaxy, mass=Isothermal)
    galaxy = Model(Galaxy, redshift=0.5, bulge=Model(Sersic), mass=Isothermal)
    assert galaxy.redshift == 0.5
    assert galaxy.prior_count == 7 + 5
    galaxy.shear = Model(ExternalShear)
    assert galaxy.prior_count == 14
    assert [name for name, _ in galaxy.items()] == ["redshift", "bulge", "mass", "shear"]
    del galaxy.bulge
    assert galaxy.prior_count == 7
    with pytest.raises(ModelError, match="reserved"):
        galaxy.paths = Model(Sersic)
    with pytest.raises(ModelError, match="only an extra child"):
        del galaxy.redshift


def test_linking_shares_priors_and_reduces_the_count():
    model = lens_model()
    lens = model.galaxies.lens
    assert model.prior_count == 21
    lens.bulge.centre = lens.mass.centre
    assert model.prior_count == 19
    assert lens.bulge.centre.centre_0 is lens.mass.centre.centre_0
    # The path of a linked prior is the first met depth-first, in declaration order.
    assert model.paths[:2] == ["galaxies.lens.bulge.centre.centre_0", "galaxies.lens.bulge.centre.centre_1"]
    assert "galaxies.lens.mass.centre.centre_0" not in model.paths
    lens.mass.ell_comps = (lens.bulge.ell_comps[0], 0.0)
    assert model.prior_count == 17
    model.galaxies.source.bulge.effective_radius = lens.bulge.effective_radius
    assert model.prior_count == 16
    instance = model.instance_from_vector(model.vector_from_unit_vector(np.full(16, 0.3)))
    assert instance.galaxies.lens.bulge.centre == instance.galaxies.lens.mass.centre
    assert instance.galaxies.source.bulge.effective_radius == instance.galaxies.lens.bulge.effective_radius


def test_fixing_by_assignment():
    model = lens_model()
    model.galaxies.lens.mass.einstein_radius = 1.2
    model.galaxies.lens.shear = ExternalShear(gamma_1=0.01, gamma_2=-0.02)
    assert model.prior_count == 21 - 1 - 2
    instance = model.instance_from_vector(np.full(model.prior_count, 0.1))
    assert instance.galaxies.lens.mass.einstein_radius == 1.2
    assert instance.galaxies.lens.shear == ExternalShear(gamma_1=0.01, gamma_2=-0.02)


def test_a_fixed_component_is_built_once():
    shear = ExternalShear(gamma_1=0.01, gamma_2=-0.02)
    model = Collection(lens=Model(Galaxy, redshift=0.5, mass=Isothermal, shear=shear))
    first = model.instance_from_vector(np.full(5, 0.1))
    second = model.instance_from_vector(np.full((3, 5), 0.2))
    assert first.lens.shear is second.lens.shear
    assert model.lens.shear.prior_count == 0


def test_a_fixed_galaxy_instance_becomes_a_fixed_model():
    galaxy = Galaxy(redshift=0.5, bulge=Sersic(intensity=2.0), mass=Isothermal(einstein_radius=1.3))
    model = Collection(lens=galaxy, source=Model(Galaxy, redshift=1.0, bulge=Sersic))
    assert model.prior_count == 7
    assert [name for name, _ in model.lens.items()] == ["redshift", "bulge", "mass"]
    built = model.instance_from_vector(np.full(7, 0.5)).lens
    assert built.mass == galaxy.mass and built.bulge == galaxy.bulge and built.redshift == 0.5


def test_collection_instances_iterate_in_declaration_order():
    model = three_galaxy_model()
    instance = model.instance_from_vector(np.full(model.prior_count, 0.4))
    assert isinstance(instance.galaxies, CollectionInstance)
    galaxies = list(instance.galaxies)
    assert [g.redshift for g in galaxies] == [0.5, 0.5, 1.0]
    assert galaxies[0] is instance.galaxies.lens is instance.galaxies["lens"] is instance.galaxies[0]
    assert len(instance.galaxies) == 3 and instance.galaxies.keys() == ("lens", "satellite", "source")
    assert [name for name, _ in instance.galaxies.items()] == ["lens", "satellite", "source"]
    assert all(isinstance(g, Galaxy) for g in galaxies)
    assert isinstance(instance.galaxies.lens.mass, Isothermal)


def test_collections_hold_priors_numbers_and_nested_mappings():
    a = UniformPrior(0.0, 1.0)
    model = Collection({"x": a, "y": 2.0}, nested={"z": GaussianPrior(0.0, 1.0)}, w=(a, 3.0))
    assert model.paths == ["x", "nested.z"]
    instance = model.instance_from_vector(np.array([0.25, -1.0]))
    assert (instance.x, instance.y, instance.nested.z, instance.w) == (0.25, 2.0, -1.0, (0.25, 3.0))
    with pytest.raises(ModelError, match="given twice"):
        Collection({"x": 1.0}, x=2.0)
    with pytest.raises(ModelError, match="not a valid entry name"):
        Collection({"_x": 1.0})


def test_assertions_give_minus_infinity():
    model = lens_model()
    model.add_assertion("galaxies.lens.bulge.effective_radius", ">", "galaxies.source.bulge.effective_radius")
    model.galaxies.lens.mass.add_assertion("einstein_radius", "<=", 3.0)
    paths = model.paths
    vectors = model.vector_from_unit_vector(np.full((4, model.prior_count), 0.5))
    lens_re = paths.index("galaxies.lens.bulge.effective_radius")
    source_re = paths.index("galaxies.source.bulge.effective_radius")
    einstein = paths.index("galaxies.lens.mass.einstein_radius")
    vectors[:, lens_re], vectors[:, source_re] = 5.0, 1.0
    vectors[1, lens_re] = 0.5
    vectors[2, einstein] = 3.5
    vectors[3, einstein] = 3.0
    log_prior = model.log_prior_from_vector(vectors)
    assert np.isfinite(log_prior[[0, 3]]).all()
    assert log_prior[1] == -np.inf and log_prior[2] == -np.inf
    assert model.assertions == [("galaxies.lens.bulge.effective_radius", ">", "galaxies.source.bulge.effective_radius")]


def test_assertions_on_fixed_parameters_and_tuple_components():
    mass = Model(Isothermal, centre=(0.0, 0.0))
    mass.add_assertion("centre.centre_0", "<", "ell_comps.ell_comps_0")
    assert mass.log_prior_from_vector(np.array([0.1, 0.0, 1.0])) > -np.inf
    assert mass.log_prior_from_vector(np.array([-0.1, 0.0, 1.0])) == -np.inf


def test_bad_assertions_raise_model_error():
    model = lens_model()
    with pytest.raises(ModelError, match="operator"):
        model.add_assertion("galaxies.lens.mass.einstein_radius", "!=", 1.0)
    with pytest.raises(ModelError, match="does not name a parameter"):
        model.add_assertion("galaxies.lens.mass.radius", "<", 1.0)
    with pytest.raises(ModelError, match="names a component"):
        model.add_assertion("galaxies.lens.mass", "<", 1.0)
    with pytest.raises(ModelError, match="path or a number"):
        model.add_assertion("galaxies.lens.mass.einstein_radius", "<", [1.0])


def test_default_prior_overrides():
    priors = load_default_priors({"Isothermal": {"einstein_radius": {"prior": "Uniform", "lower_limit": 0.5,
                                                                     "upper_limit": 2.5}},
                                  "PowerLaw": {"slope": UniformPrior(1.8, 2.2)}})
    mass = Model(Isothermal, default_priors=priors)
    assert mass.einstein_radius.limits == (0.5, 2.5)
    assert mass.centre[0].to_dict() == {"prior": "Gaussian", "mean": 0.0, "sigma": 0.1}
    galaxy = Model(Galaxy, redshift=0.5, mass=PowerLaw, default_priors=priors)
    assert galaxy.mass.slope.limits == (1.8, 2.2)
    assert Model(Isothermal).einstein_radius.limits == (0.0, 4.0)


@pytest.mark.parametrize(
    "overrides, words",
    [
        ({"Isothermal": {"einstein_radius": {"prior": "Uniform", "lower_limit": 2.0, "upper_limit": 1.0}}},
         "Isothermal.einstein_radius"),
        ({"Isothermal": {"einstein_radius": 1.0}}, "Isothermal.einstein_radius must be a prior"),
        ({"Isothermal": ["x"]}, "Isothermal must map"),
        ({"Isothermal": {"radius": {"prior": "Uniform", "lower_limit": 0, "upper_limit": 1}}},
         "Isothermal has no parameter 'radius'"),
        ({"Isotermal": {"einstein_radius": {"prior": "Uniform", "lower_limit": 0, "upper_limit": 1}}},
         "Unknown model class 'Isotermal'"),
    ],
)
def test_bad_default_prior_overrides_raise_config_error(overrides, words):
    with pytest.raises(ConfigError, match=words):
        load_default_priors(overrides)


def test_models_can_be_deep_copied_with_their_links():
    import copy

    model = lens_model()
    model.galaxies.lens.bulge.centre = model.galaxies.lens.mass.centre
    before = model.to_dict()
    again = copy.deepcopy(model)
    assert again.to_dict() == before
    assert again.paths == model.paths
    assert again.galaxies.lens.bulge.centre[0] is again.galaxies.lens.mass.centre[0]
    assert again.galaxies.lens.bulge.centre[0] is not model.galaxies.lens.mass.centre[0]


def test_children_may_be_named_like_the_constructor_arguments():
    model = Collection(children=UniformPrior(0.0, 1.0), cls=2.0)
    assert model.paths == ["children"] and model.cls == 2.0
