"""WorkflowPlan: what the Snakemake rules ask of the package, unit by unit (no Snakemake here)."""

import json
import re
import shlex
from pathlib import Path

import pytest
import yaml

from lenspipe.errors import ConfigError
from lenspipe.pipeline.workflow import WorkflowPlan, config_hash, derived_seed, read_sheet
from lenspipe.settings import FitSettings

TINY = Path(__file__).resolve().parents[2] / ".test" / "config" / "config.yaml"


def _config(**changes):
    config = yaml.safe_load(TINY.read_text())
    config.update(changes)
    return config


def _args(plan, lens, stage):
    return shlex.split(plan.fit_args(lens, stage))


def _flag(args, name):
    return args[args.index(name) + 1]


def test_names_paths_and_patterns():
    plan = WorkflowPlan.from_config(_config())
    assert plan.lenses == ["tiny_1"]
    assert plan.stages == ["source_lp", "light_lp", "mass_total"]
    assert re.fullmatch(plan.stage_pattern(), "light_lp") and not re.fullmatch(plan.stage_pattern(), "light")
    assert re.fullmatch(plan.lens_pattern(), "tiny_1") and not re.fullmatch(plan.lens_pattern(), "tiny_2")
    assert plan.result_path("tiny_1", "light_lp") == "results/tiny_1/light_lp/result.h5"
    outputs = plan.all_outputs()
    assert len(outputs) == 3 * 4 + 2 and outputs[-2:] == ["results/lenspipe.sqlite", "results/summary.csv"]


def test_stage_dependencies_are_the_references_and_the_stage_before():
    plan = WorkflowPlan.from_config(_config())
    assert plan.stage_dependencies("source_lp") == []
    assert plan.stage_dependencies("light_lp") == ["source_lp"]
    assert plan.stage_dependencies("mass_total") == ["source_lp", "light_lp"]
    inputs = plan.fit_inputs("tiny_1", "mass_total")
    assert inputs == {"dataset": "results/tiny_1/dataset.fits",
                      "stage_source_lp": "results/tiny_1/source_lp/result.h5",
                      "stage_light_lp": "results/tiny_1/light_lp/result.h5"}


def test_fit_settings_merge_the_stage_over_the_config_and_take_defaults_from_one_place():
    config = _config(likelihood={"over_sampling": "uniform"}, cosmology="WMAP9", passing={"sigma_factor": 2.0})
    config["stages"][1]["search"] = {"max_steps": 99}
    plan = WorkflowPlan.from_config(config)
    first, second = plan.fit_settings("source_lp"), plan.fit_settings("light_lp")
    assert first.search.max_steps == 30 and second.search.max_steps == 99
    assert first.search.nwalkers == second.search.nwalkers == 12
    assert first.initialise.mode == "optimise" and second.initialise.mode == FitSettings().initialise.mode
    assert second.likelihood.over_sampling == "uniform"
    assert second.likelihood.sub_size == FitSettings().likelihood.sub_size  # not in the config: the default
    assert second.cosmology == "WMAP9" and second.passing.sigma_factor == 2.0
    # A budget changes the document but not the identity.
    assert first.identity_hash() == FitSettings.from_dict({**first.to_dict(), "search": {
        **first.to_dict()["search"], "max_steps": 99}}).identity_hash()


def test_fit_args_hand_the_fit_one_settings_document():
    plan = WorkflowPlan.from_config(_config())
    args = _args(plan, "tiny_1", "light_lp")
    settings = FitSettings.from_json(_flag(args, "--settings"))
    assert settings == plan.fit_settings("light_lp")
    for old in ("--search-yaml", "--likelihood-yaml", "--cosmology", "--sigma-factor", "--initialise"):
        assert old not in args
    assert json.loads(_flag(args, "--model-yaml")) == plan.stage("light_lp")["model"]
    assert _flag(args, "--seed") == str(derived_seed(7, "tiny_1", "light_lp"))
    assert _flag(args, "--config-hash") == config_hash(plan.config)
    assert "source_lp=results/tiny_1/source_lp/result.h5" in args


@pytest.mark.parametrize("section, value, words", [
    ("likelihood", {"over_sampling": "adaptve"}, ["stage 'source_lp'", "likelihood.over_sampling", "'adaptive'"]),
    ("search", {"max_step": 10}, ["search.max_step", "did you mean 'max_steps'"]),
    ("search", {"nwalkers": 12, "min_steps": 50, "max_steps": 30}, ["min_steps = 50 exceeds"]),
    ("passing", {"sigma_factor": -1}, ["passing.sigma_factor = -1.0", "> 0"]),
    ("cosmology", "planck18", ["cosmology = 'planck18'", "did you mean 'Planck18'"]),
])
def test_a_settings_typo_is_a_config_error_at_check(section, value, words):
    plan = WorkflowPlan.from_config(_config(**{section: value}))
    with pytest.raises(ConfigError) as caught:
        plan.check()
    for word in words:
        assert word in str(caught.value)


def test_a_stage_initialise_typo_names_the_stage():
    config = _config()
    config["stages"][2]["initialise"] = "optimize"
    with pytest.raises(ConfigError, match=r"stage 'mass_total'.*initialise.mode = 'optimize'.*'optimise'"):
        WorkflowPlan.from_config(config).check()


def test_seeds_hashes_and_resources():
    assert derived_seed(7, "a", "b") == derived_seed(7, "a", "b") != derived_seed(7, "a", "c")
    assert 0 <= derived_seed(123, "x") < 2**31
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1}) != config_hash({"a": 2, "b": 2})
    # how a fit is run is not what it computes: more memory, threads or retries rerun nothing
    base = _config()
    execution = dict(base, resources={"fit_stage": {"threads": 4, "mem_mb": 9000}}, retries=3, keep_checkpoints=True)
    assert config_hash(execution) == config_hash(base) != config_hash(dict(base, seed=base.get("seed", 1) + 1))
    assert _flag(_args(WorkflowPlan.from_config(execution), "tiny_1", "source_lp"), "--config-hash") == config_hash(base)
    plan = WorkflowPlan.from_config(_config(resources={"default": {"threads": 2}, "fit_stage": {"mem_mb": 3000}}))
    assert plan.resources("fit_stage") == {"threads": 2, "mem_mb": 3000, "runtime": 10}
    assert plan.resources("ingest") == {"threads": 2, "mem_mb": 1000, "runtime": 10}


def test_sheet_rows_are_typed_and_errors_name_the_line(tmp_path):
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text("# comment\nname\tpixel_scale\tcutout\tsubtract_sky\n"
                     "lens_a\t0.05\t80\tyes\nlens_b\t0.1\t\tno\n")
    rows = read_sheet(sheet)
    assert rows == [{"name": "lens_a", "pixel_scale": 0.05, "cutout": 80, "subtract_sky": True},
                    {"name": "lens_b", "pixel_scale": 0.1, "subtract_sky": False}]
    sheet.write_text("name\tpixel_scale\nlens_a\tfive\n")
    with pytest.raises(ConfigError, match=r"line 2: column 'pixel_scale' must be a number, got 'five'"):
        read_sheet(sheet)
    with pytest.raises(ConfigError, match="does not exist"):
        read_sheet(tmp_path / "missing.tsv")


def test_duplicate_lens_and_stage_names_are_refused(tmp_path):
    config = _config()
    config["stages"].append(dict(config["stages"][1]))
    with pytest.raises(ConfigError, match="stage names must be unique"):
        WorkflowPlan.from_config(config).check()


# ---------------------------------------------------------------- lens names
@pytest.mark.parametrize("name", ["x;touch PWNED;", "../../escaped", "", ".hidden", "a b", "a/b", "$(id)"])
def test_a_lens_name_outside_the_pattern_is_a_config_error(name):
    from lenspipe.pipeline.workflow import check_lens_names

    with pytest.raises(ConfigError, match="is not allowed"):
        check_lens_names({name: {}}, [])
    with pytest.raises(ConfigError, match="dataset sheet row 1: lens name"):
        check_lens_names({}, [{"name": name}])


def test_good_lens_names_pass_and_a_repeated_one_is_named():
    from lenspipe.pipeline.workflow import check_lens_names

    check_lens_names({"demo_1": {}}, [{"name": "J0029-0055"}, {"name": "SDSS.J1+2"}])
    with pytest.raises(ConfigError, match=r"'demo_1' appears twice \(simulate: and dataset sheet row 2\)"):
        check_lens_names({"demo_1": {}}, [{"name": "J1"}, {"name": "demo_1"}])


# ---------------------------------------------------------------- careless sheets
HEADER = "name\tdata\tnoise\tpsf\tpixel_scale\tredshift_lens\tredshift_source\tmask_radius\n"


def test_a_sheet_with_a_utf8_bom_keeps_its_name_column(tmp_path):
    sheet = tmp_path / "s.tsv"
    sheet.write_bytes(b"\xef\xbb\xbf" + (HEADER + "J1\ta\tb\tc\t0.05\t0.2\t0.6\t2\n").encode())
    assert read_sheet(sheet)[0]["name"] == "J1"


def test_a_latin1_sheet_is_a_config_error_saying_to_save_as_utf8(tmp_path):
    sheet = tmp_path / "s.tsv"
    sheet.write_bytes((HEADER + "J1\tcaf\xe9.fits\tb\tc\t0.05\t0.2\t0.6\t2\n").encode("latin-1"))
    with pytest.raises(ConfigError, match="is not UTF-8 text .*save it as UTF-8"):
        read_sheet(sheet)


@pytest.mark.parametrize("cells, expected", [
    ("0.05\tnan\t0.6\t2", "redshift_lens must be a finite number"),
    ("0.05\t0.8\t0.6\t2", "redshift_source 0.6 must be above redshift_lens 0.8"),
    ("0.05\t0.2\t0.6\tnan", "mask_radius must be a finite number"),
])
def test_sheet_numbers_out_of_range_are_named_at_check(tmp_path, cells, expected):
    for name in "abc":
        (tmp_path / name).write_text("x")
    sheet = tmp_path / "s.tsv"
    sheet.write_text(HEADER + f"J1\t{tmp_path}/a\t{tmp_path}/b\t{tmp_path}/c\t{cells}\n")
    plan = WorkflowPlan.from_config({"datasets": str(sheet), "stages": [
        {"name": "s", "model": {"galaxies": {"lens": {"mass": "Isothermal"}}}}]})
    with pytest.raises(ConfigError, match=f"dataset sheet, lens 'J1': {expected}"):
        plan.check()


def test_a_misspelt_rule_under_resources_is_named_with_the_nearest():
    plan = WorkflowPlan.from_config({"stages": [{"name": "s", "model": {"galaxies": {"lens": {"mass": "Isothermal"}}}}],
                                     "resources": {"fit_stages": {"threads": 2}}})
    with pytest.raises(ConfigError, match="resources: unknown rule 'fit_stages'; did you mean 'fit_stage'"):
        plan.check()


def test_the_inversion_section_reaches_the_fit_settings():
    plan = WorkflowPlan.from_config(_config(inversion={"sub_size": 4, "positive_only": True}))
    settings = plan.fit_settings("source_lp")
    assert (settings.inversion.sub_size, settings.inversion.positive_only) == (4, True)
    with pytest.raises(ConfigError, match=r"inversion.sub_siz.*did you mean 'sub_size'"):
        WorkflowPlan.from_config(_config(inversion={"sub_siz": 4})).check()
