"""lenspipe.pipeline.stages: references between SLaM stages and the stage models they give.

The earlier stage's posterior is a hand-made sample set whose quantiles are known exactly
(as in tests/model/test_model_passing.py): per parameter three equally weighted samples
``m - s``, ``m``, ``m + s``. The weighted median is ``m`` and the 1-sigma values are
``m -/+ P s`` with ``P = erf(1/sqrt(2))``, so a passed prior has mean ``m`` and width
``max(k P s, floor)``. The log-likelihoods ``[-1, -3, -2]`` make the *first* sample
(``m - s``) the maximum-likelihood one, so an ``{instance: ...}`` (maximum likelihood)
and a ``{priors_from: ...}`` (median) are told apart by ``s``.

Tolerances: medians and 1-sigma errors come from linear interpolation of three points,
exact up to a few ulp, hence ``rel=1e-9``; fixed instance values are copied, compared
exactly.
"""

import copy
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from lenspipe.errors import ConfigError, LenspipeError, ModelError
from lenspipe.lensing import Galaxy
from lenspipe.model import GaussianPrior, TruncatedGaussianPrior, load_passing_floors, model_from_yaml
from lenspipe.pipeline.stages import check_stage_models, stage_model_from, stage_references
from lenspipe.profiles import ExternalShear, Isothermal, PowerLaw, Sersic
from lenspipe.search.samples import Samples

P = math.erf(1.0 / math.sqrt(2.0))
REDSHIFTS = (0.4, 1.6)
CONFIG = Path(__file__).resolve().parents[2] / "config"

#: The first stage: every component free, redshifts from the dataset.
FIRST = {"galaxies": {"lens": {"mass": "Isothermal", "shear": "ExternalShear"},
                      "source": {"bulge": "Sersic"}}}

#: Posterior (median m, spread s) of some parameters of FIRST; the others get (prior median,
#: 0.01). einstein_radius: k P s = 3 P 0.1 = 0.205 above its floor 0.1; centre: 3 P 0.001 =
#: 0.003 below its floor 0.05, so both branches of max(k sigma, floor) are exercised.
POSTERIOR = {
    "galaxies.lens.mass.einstein_radius": (1.2, 0.1),
    "galaxies.lens.mass.centre.centre_0": (0.02, 0.001),
    "galaxies.lens.mass.centre.centre_1": (-0.03, 0.001),
    "galaxies.lens.mass.ell_comps.ell_comps_0": (0.1, 0.04),
    "galaxies.lens.shear.gamma_1": (0.03, 0.05),
    "galaxies.source.bulge.effective_radius": (0.3, 0.05),
    "galaxies.source.bulge.sersic_index": (1.5, 0.4),
}


def _samples(model):
    middle = model.vector_from_unit_vector(np.full(model.prior_count, 0.5))
    spread = np.full(model.prior_count, 0.01)
    for path, (median, sigma) in POSTERIOR.items():
        middle[model.paths.index(path)] = median
        spread[model.paths.index(path)] = sigma
    parameters = np.stack([middle - spread, middle, middle + spread])
    return Samples(model, parameters, log_likelihood=[-1.0, -3.0, -2.0], log_prior=np.zeros(3))


@pytest.fixture(scope="module")
def first():
    """The first stage's model and its samples."""
    model = stage_model_from(FIRST, {}, REDSHIFTS)
    return model, _samples(model)


def _floor(name, mean):
    absolute, relative = load_passing_floors()[name]
    return max(absolute, relative * abs(mean))


def _instance(model):
    """An instance of ``model`` at the middle of its priors."""
    return model.instance_from_vector(model.vector_from_unit_vector(np.full(model.prior_count, 0.5)))


def _stage(name, model):
    return {"name": name, "model": model}


# ------------------------------------------------------------------ stage_references
def test_a_model_without_references_refers_to_no_stage():
    assert stage_references(FIRST) == []


def test_references_are_found_at_every_depth_in_first_seen_order_without_repeats():
    spec = {
        "galaxies": {
            "lens": {"bulge": {"instance": "light"}, "mass": {"class": "PowerLaw", "priors_from": "mass"},
                     "shear": {"priors_from": "light"}},
            "source": {"instance": "source"},
        },
        "extra": {"deeper": {"still": {"priors_from": "extra"}}},
    }
    assert stage_references(spec) == ["light", "mass", "source", "extra"]


def test_the_shipped_configs_stages_refer_to_the_stages_their_comments_describe():
    for name in ("config.yaml", "slacs_parametric.yaml"):
        stages = yaml.safe_load((CONFIG / name).read_text())["stages"]
        references = {stage["name"]: stage_references(stage["model"]) for stage in stages}
        assert references == {"source_lp": [], "light_lp": ["source_lp"],
                              "mass_total": ["light_lp", "source_lp"]}, name


# ------------------------------------------------------------- plain models, redshifts
def test_galaxies_without_a_redshift_get_the_datasets_and_given_ones_are_kept():
    spec = {"galaxies": {"lens": {"mass": "Isothermal"}, "satellite": {"mass": "IsothermalSph"},
                         "source": {"bulge": "Sersic"}, "far": {"redshift": 2.5, "bulge": "Sersic"}}}
    model = stage_model_from(spec, {}, REDSHIFTS)
    galaxies = model.galaxies
    assert galaxies.lens.cls is Galaxy
    assert (galaxies.lens.redshift, galaxies.satellite.redshift, galaxies.source.redshift,
            galaxies.far.redshift) == (0.4, 1.6, 1.6, 2.5)
    assert stage_model_from(spec, {}, (0.25, 0.75)).galaxies.lens.redshift == 0.25


def test_a_model_without_references_is_the_plain_yaml_model(first):
    model, _ = first
    plain = model_from_yaml({"galaxies": {"lens": {"redshift": 0.4, **FIRST["galaxies"]["lens"]},
                                          "source": {"redshift": 1.6, **FIRST["galaxies"]["source"]}}})
    assert model.paths == plain.paths
    assert model.to_dict() == plain.to_dict()


def test_stage_model_from_leaves_the_config_spec_untouched(first):
    _, samples = first
    spec = {"galaxies": {"lens": {"mass": {"instance": "first"}, "shear": {"priors_from": "first"}},
                         "source": {"bulge": "Sersic"}}}
    before = copy.deepcopy(spec)
    stage_model_from(spec, {"first": samples}, REDSHIFTS)
    assert spec == before


# ------------------------------------------------------------------------ instance
def test_instance_fixes_a_profile_at_the_maximum_likelihood_values(first):
    _, samples = first
    spec = {"galaxies": {"lens": {"mass": {"instance": "first"}, "shear": "ExternalShear"},
                         "source": {"bulge": "Sersic"}}}
    model = stage_model_from(spec, {"first": samples}, REDSHIFTS)
    assert not any(path.startswith("galaxies.lens.mass.") for path in model.paths)
    assert model.galaxies.lens.mass.prior_count == 0
    mass = _instance(model).galaxies.lens.mass
    best = samples.max_log_likelihood_instance.galaxies.lens.mass
    assert isinstance(mass, Isothermal) and mass == best
    # the maximum-likelihood sample is m - s, not the median m
    assert mass.einstein_radius == 1.2 - 0.1
    assert mass.centre == (0.02 - 0.001, -0.03 - 0.001)
    # the other components stay free
    assert "galaxies.lens.shear.gamma_1" in model.paths
    assert "galaxies.source.bulge.sersic_index" in model.paths


def test_instance_of_a_whole_galaxy_fixes_every_profile(first):
    _, samples = first
    spec = {"galaxies": {"lens": {"mass": "Isothermal"}, "source": {"instance": "first"}}}
    model = stage_model_from(spec, {"first": samples}, REDSHIFTS)
    assert all(path.startswith("galaxies.lens.mass.") for path in model.paths)
    assert model.prior_count == 5
    source = _instance(model).galaxies.source
    best = samples.max_log_likelihood_instance.galaxies.source
    # Galaxy compares by identity: compare its redshift and (dataclass) profiles
    assert source.redshift == best.redshift and source.profiles == best.profiles
    assert list(source.profiles) == ["bulge"]
    assert isinstance(source.bulge, Sersic) and source.bulge.effective_radius == 0.3 - 0.05


def test_path_takes_the_component_from_another_place_of_the_earlier_model(first):
    _, samples = first
    spec = {"galaxies": {"main": {"redshift": 0.4, "bulge": "Sersic",
                                  "mass": {"instance": "first", "path": "galaxies.lens.mass"}}}}
    model = stage_model_from(spec, {"first": samples}, REDSHIFTS)
    assert _instance(model).galaxies.main.mass == samples.max_log_likelihood_instance.galaxies.lens.mass


# --------------------------------------------------------------------- priors_from
def test_priors_from_centres_gaussians_on_the_posterior_median_with_width_max_k_sigma_floor(first):
    _, samples = first
    spec = {"galaxies": {"lens": {"mass": {"priors_from": "first"}, "shear": {"instance": "first"}},
                         "source": {"bulge": "Sersic"}}}
    model = stage_model_from(spec, {"first": samples}, REDSHIFTS)
    mass = model.galaxies.lens.mass
    assert mass.cls is Isothermal and mass.prior_count == 5

    einstein = mass.einstein_radius
    assert isinstance(einstein, TruncatedGaussianPrior)
    assert einstein.limits == (0.0, 4.0)  # the first stage's Uniform(0, 4) support
    assert einstein.mean == pytest.approx(1.2, rel=1e-9)
    assert 3 * P * 0.1 > _floor("einstein_radius", 1.2)  # k sigma wins ...
    assert einstein.sigma == pytest.approx(3 * P * 0.1, rel=1e-9)

    for index, median in enumerate((0.02, -0.03)):
        centre = mass.centre[index]
        assert isinstance(centre, GaussianPrior)  # the unbounded Gaussian stays unbounded
        assert centre.mean == pytest.approx(median, rel=1e-9)
        assert 3 * P * 0.001 < _floor("centre", median)  # ... the floor wins
        assert centre.sigma == _floor("centre", median)


def test_the_sigma_factor_scales_the_passed_widths(first):
    _, samples = first
    spec = {"galaxies": {"lens": {"mass": {"priors_from": "first"}}}}
    wide = stage_model_from(spec, {"first": samples}, REDSHIFTS, sigma_factor=5.0)
    narrow = stage_model_from(spec, {"first": samples}, REDSHIFTS, sigma_factor=1.0)
    assert wide.galaxies.lens.mass.einstein_radius.sigma == pytest.approx(5 * P * 0.1, rel=1e-9)
    # P * 0.1 = 0.068 is below the einstein_radius floor: the floor takes over
    assert P * 0.1 < _floor("einstein_radius", 1.2)
    assert narrow.galaxies.lens.mass.einstein_radius.sigma == _floor("einstein_radius", 1.2)


def test_priors_from_a_whole_galaxy_passes_each_profile(first):
    _, samples = first
    spec = {"galaxies": {"lens": {"mass": "Isothermal"}, "source": {"priors_from": "first"}}}
    model = stage_model_from(spec, {"first": samples}, REDSHIFTS)
    source = model.galaxies.source
    assert source.cls is Galaxy and source.bulge.cls is Sersic
    radius = source.bulge.effective_radius
    assert radius.mean == pytest.approx(0.3, rel=1e-9)
    expected = max(3 * P * 0.05, _floor("effective_radius", 0.3))
    assert radius.sigma == pytest.approx(expected, rel=1e-9)
    index = source.bulge.sersic_index
    assert (index.mean, index.sigma) == (pytest.approx(1.5, rel=1e-9), pytest.approx(3 * P * 0.4, rel=1e-9))
    assert model.prior_count == 5 + 7


def test_an_isothermal_posterior_seeds_a_power_law(first):
    _, samples = first
    spec = {"galaxies": {"lens": {"mass": {"class": "PowerLaw", "priors_from": "first"},
                                  "shear": {"priors_from": "first"}},
                         "source": {"bulge": "Sersic"}}}
    model = stage_model_from(spec, {"first": samples}, REDSHIFTS)
    mass = model.galaxies.lens.mass
    assert mass.cls is PowerLaw and mass.prior_count == 6
    # the parameters the two classes share are passed ...
    assert mass.einstein_radius.mean == pytest.approx(1.2, rel=1e-9)
    assert mass.einstein_radius.sigma == pytest.approx(3 * P * 0.1, rel=1e-9)
    assert mass.ell_comps[0].mean == pytest.approx(0.1, rel=1e-9)
    assert mass.centre[1].mean == pytest.approx(-0.03, rel=1e-9)
    # ... the one Isothermal lacks keeps PowerLaw's default prior
    default = model_from_yaml({"galaxies": {"lens": {"redshift": 0.4, "mass": "PowerLaw"}}})
    assert mass.slope.to_dict() == default.galaxies.lens.mass.slope.to_dict()
    shear = model.galaxies.lens.shear
    assert shear.cls is ExternalShear
    assert shear.gamma_1.mean == pytest.approx(0.03, rel=1e-9)
    assert shear.gamma_1.sigma == pytest.approx(3 * P * 0.05, rel=1e-9)


def test_the_shipped_configs_mass_total_stage_builds_from_its_earlier_stages():
    """config.yaml's three stages, each from the samples of the ones before."""
    stages = yaml.safe_load((CONFIG / "config.yaml").read_text())["stages"]
    samples = {}
    for stage in stages:
        model = stage_model_from(stage["model"], samples, REDSHIFTS)
        samples[stage["name"]] = Samples(
            model, np.stack([model.vector_from_unit_vector(np.full(model.prior_count, u))
                             for u in (0.4, 0.5, 0.6)]),
            log_likelihood=[-1.0, -3.0, -2.0], log_prior=np.zeros(3))
    lens = model.galaxies.lens
    assert lens.mass.cls is PowerLaw
    assert lens.bulge.prior_count == 0  # {instance: light_lp}
    assert "galaxies.lens.mass.slope" in model.paths
    assert not any(path.startswith("galaxies.lens.bulge.") for path in model.paths)
    # light_lp fixed the source at source_lp's maximum likelihood; mass_total passes it on
    source_lp = samples["source_lp"]
    index = source_lp.model.paths.index("galaxies.source.bulge.effective_radius")
    passed = model.galaxies.source.bulge.effective_radius
    assert passed.mean == pytest.approx(source_lp.median_pdf_vector[index], rel=1e-9)


# --------------------------------------------------------------- check_stage_models
@pytest.mark.parametrize("name", ["config.yaml", "slacs.yaml", "slacs_parametric.yaml"])
def test_the_shipped_configs_stages_pass_the_check(name):
    check_stage_models(yaml.safe_load((CONFIG / name).read_text())["stages"])


def test_the_pixelized_slacs_chain_builds_every_stage_model():
    """Each stage of config/slacs.yaml makes a model (earlier stages stood in by their priors'
    medians), with a pixelization exactly where SLaM has one."""
    from lenspipe.fit.inversion.pixelized import model_has_pixelization

    stages = yaml.safe_load((CONFIG / "slacs.yaml").read_text())["stages"]
    references = {stage["name"]: stage_references(stage["model"]) for stage in stages}
    assert references == {"source_lp": [], "source_pix_1": ["source_lp"], "source_pix_2": ["source_lp", "source_pix_1"],
                          "light_lp": ["source_pix_1", "source_pix_2"],
                          "mass_total": ["light_lp", "source_pix_1", "source_pix_2"]}
    assert [stage["name"] for stage in stages if "pixelization" in str(stage["model"])] == [
        "source_pix_1", "source_pix_2"]
    model = stage_model_from(stages[0]["model"], {}, REDSHIFTS)
    assert not model_has_pixelization(model) and model.prior_count == 15


GOOD = {"galaxies": {"lens": {"mass": "Isothermal"}}}


@pytest.mark.parametrize("stages, expected", [
    pytest.param([_stage("a", {"galaxies": {"lens": {"mass": {"instance": "b"}}}}), _stage("b", GOOD)],
                 "stage 'a', galaxies.lens.mass: instance: 'b' is not an earlier stage; a stage can only "
                 "refer to stages before it (none)", id="later stage"),
    pytest.param([_stage("a", GOOD), _stage("b", {"galaxies": {"lens": {"mass": {"priors_from": "nope"}}}})],
                 "stage 'b', galaxies.lens.mass: priors_from: 'nope' is not an earlier stage; a stage can "
                 "only refer to stages before it (['a'])", id="unknown stage"),
    pytest.param([_stage("a", GOOD), _stage("b", {"galaxies": {"source": {"priors_from": "b"}}})],
                 "stage 'b', galaxies.source: priors_from: 'b' is not an earlier stage", id="itself"),
])
def test_a_reference_to_a_stage_that_is_not_earlier_is_a_config_error_naming_stage_and_key(stages, expected):
    with pytest.raises(ConfigError) as error:
        check_stage_models(stages)
    assert str(error.value).startswith(expected)


@pytest.mark.parametrize("model, expected", [
    pytest.param({"galaxies": {"lens": {"mass": {"class": "PowerLw", "priors_from": "a"}}}},
                 "stage 'b', galaxies.lens.mass: Unknown model class 'PowerLw'", id="class with priors_from"),
    pytest.param({"galaxies": {"lens": {"mass": "Isothermel"}}},
                 "stage 'b': galaxies.lens.mass.class: Unknown model class 'Isothermel'", id="plain class"),
    pytest.param({"galaxies": {"lens": {"mass": {"class": "Isothermal", "einstein_radus": 1.0}}}},
                 "stage 'b': galaxies.lens.mass: Isothermal has no parameter 'einstein_radus'",
                 id="unknown parameter"),
    pytest.param({"galaxies": {"lens": {"mass": {"class": "Isothermal", "einstein_radius": {
        "prior": "Uniform", "lower_limit": 2.0, "upper_limit": 1.0}}}}},
                 "stage 'b': galaxies.lens.mass.einstein_radius: UniformPrior: lower_limit",
                 id="bad prior"),
    pytest.param({"galaxies": {"lens": {"mass": {"class": "PowerLaw", "centre": {"instance": "a"}}}}},
                 "stage 'b': galaxies.lens.mass.centre: expected a number, a prior", id="reference to a parameter"),
    pytest.param({"galaxies": {"lens": {"mass": {"priors_from": "a"}}}, "assertions": "nope"},
                 "stage 'b': assertions: expected a list", id="assertions not a list"),
])
def test_a_bad_model_is_a_config_error_naming_the_stage_and_the_key(model, expected):
    with pytest.raises(ConfigError) as error:
        check_stage_models([_stage("a", GOOD), _stage("b", model)])
    assert str(error.value).startswith(expected)


def test_the_check_stops_at_the_first_bad_stage_and_names_it():
    stages = [_stage("a", GOOD), _stage("b", {"galaxies": {"lens": {"mass": "Nope1"}}}),
              _stage("c", {"galaxies": {"lens": {"mass": "Nope2"}}})]
    with pytest.raises(ConfigError, match=r"^stage 'b': .*'Nope1'"):
        check_stage_models(stages)


@pytest.mark.parametrize("galaxies", [["lens"], "Isothermal"], ids=["list", "string"])
def test_galaxies_that_is_not_a_mapping_is_a_config_error(galaxies):
    with pytest.raises(ConfigError, match=r"stage 'a'.*galaxies"):
        check_stage_models([_stage("a", {"galaxies": galaxies})])


# ---------------------------------------------------------------- stage_model_from errors
def test_a_reference_whose_result_was_not_given_names_the_key_the_stage_and_the_fix(first):
    _, samples = first
    spec = {"galaxies": {"lens": {"mass": {"instance": "first"}, "shear": {"priors_from": "other"}}}}
    with pytest.raises(ConfigError) as error:
        stage_model_from(spec, {"first": samples}, REDSHIFTS)
    assert str(error.value) == ("galaxies.lens.shear refers to stage 'other', whose result was not "
                                "given; pass it with --previous other=PATH/result.h5")


def test_a_path_missing_from_the_earlier_model_names_the_path(first):
    _, samples = first
    spec = {"galaxies": {"lens": {"mass": {"instance": "first", "path": "galaxies.lens.bulge"}}}}
    with pytest.raises(ModelError, match=r"'galaxies.lens.bulge' is not in the instance \(no 'bulge'\)"):
        stage_model_from(spec, {"first": samples}, REDSHIFTS)
    spec = {"galaxies": {"lens": {"mass": {"priors_from": "first", "path": "galaxies.lens.mass.einstein_radius"}}}}
    with pytest.raises(ModelError, match=r"'galaxies.lens.mass.einstein_radius' is a parameter, not a component"):
        stage_model_from(spec, {"first": samples}, REDSHIFTS)


def test_an_unknown_plain_class_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"^galaxies.lens.mass.class: Unknown model class 'Isothermel'"):
        stage_model_from({"galaxies": {"lens": {"mass": "Isothermel"}}}, {}, REDSHIFTS)


def test_an_unknown_class_in_a_priors_from_entry_names_the_key(first):
    _, samples = first
    spec = {"galaxies": {"lens": {"mass": {"class": "PowerLw", "priors_from": "first"}}}}
    with pytest.raises(LenspipeError, match="'PowerLw'") as error:
        stage_model_from(spec, {"first": samples}, REDSHIFTS)
    assert "galaxies.lens.mass" in str(error.value)
