"""FitSettings: one object, every default, validation with named errors, JSON and identity."""

import dataclasses
import json
import re

import pytest

from lenspipe.cli import main
from lenspipe.errors import ConfigError
from lenspipe.settings import BUDGETS, FitSettings, SearchSettings


def test_defaults_round_trip_and_partial_documents():
    settings = FitSettings()
    assert FitSettings.from_dict(settings.to_dict()) == settings
    assert FitSettings.from_json(settings.to_json()) == settings
    partial = FitSettings.from_dict({"likelihood": {"over_sampling": "uniform"}, "initialise": "optimise"})
    assert partial.likelihood.sub_size == 4 and partial.likelihood.over_sampling == "uniform"
    assert partial.initialise.mode == "optimise" and partial.initialise.starts == 3
    assert partial.search == SearchSettings()
    # Integers are accepted for real-valued settings and stored as floats (one JSON form).
    assert FitSettings.from_dict({"passing": {"sigma_factor": 2}}).passing.sigma_factor == 2.0
    assert json.loads(partial.to_json())["likelihood"] == {"over_sampling": "uniform", "sub_size": 4,
                                                           "memory_bound_mb": 256.0}


@pytest.mark.parametrize("document, words", [
    ({"likelihood": {"over_sampling": "adaptve"}}, ["likelihood.over_sampling = 'adaptve'", "did you mean 'adaptive'"]),
    ({"search": {"max_step": 10}}, ["unknown setting search.max_step", "did you mean 'max_steps'"]),
    ({"serch": {}}, ["unknown settings section 'serch'", "did you mean 'search'"]),
    ({"search": {"nwalkers": 6.5}}, ["search.nwalkers = 6.5 must be an integer"]),
    ({"search": {"nwalkers": True}}, ["search.nwalkers = True must be an integer"]),
    ({"search": {"rhat_max": 0.9}}, ["search.rhat_max = 0.9 is out of range", "> 1"]),
    ({"search": {"min_steps": 200, "max_steps": 100}}, ["min_steps = 200 exceeds search.max_steps = 100"]),
    ({"search": {"ess_min": float("nan")}}, ["search.ess_min = nan must be a finite number"]),
    ({"search": {"tau_rtol": 0.01}}, ["search.tau_rtol no longer exists", "search.ess_min", "delete the line"]),
    ({"likelihood": {"sub_size": 0}}, ["likelihood.sub_size = 0 is out of range", "1 to 64"]),
    ({"positions": {"threshold": -0.1}}, ["positions.threshold = -0.1", ">= 0 arcsec"]),
    ({"cosmology": "planck15"}, ["cosmology = 'planck15'", "did you mean 'Planck15'"]),
    ({"initialise": {"mode": "random"}}, ["initialise.mode = 'random' is not one of prior, previous, optimise"]),
    ({"search": [1, 2]}, ["settings section 'search' must be a mapping"]),
])
def test_every_typo_or_bad_value_is_a_config_error_naming_it(document, words):
    with pytest.raises(ConfigError) as caught:
        FitSettings.from_dict(document)
    for word in words:
        assert word in str(caught.value)


def test_numbers_and_switches_given_as_text_convert_and_other_text_is_refused():
    """Snakemake's ``--config search="{max_steps: 200}"`` passes nested values as text."""
    settings = FitSettings.from_dict({"search": {"max_steps": "200", "checkpoint_every": " 2e1 ", "rhat_max": "1.05",
                                                 "light_mode": "False"}, "inversion": {"positive_only": "true"}})
    assert (settings.search.max_steps, settings.search.checkpoint_every) == (200, 20)
    assert settings.search.rhat_max == 1.05 and settings.search.light_mode is False
    assert settings.inversion.positive_only is True
    assert settings == FitSettings.from_dict(settings.to_dict())
    for document, words in [({"search": {"max_steps": "2.5"}}, "search.max_steps = '2.5' must be an integer"),
                            ({"search": {"ess_min": "nan"}}, "search.ess_min = nan must be a finite number"),
                            ({"search": {"light_mode": "yes please"}}, "light_mode = 'yes please' must be true or false"),
                            ({"search": {"max_steps": "0"}}, "search.max_steps = 0 is out of range")]:
        with pytest.raises(ConfigError, match=re.escape(words)):
            FitSettings.from_dict(document)


def test_the_identity_leaves_out_only_the_budgets():
    base = FitSettings()
    assert BUDGETS == {"search.max_steps", "likelihood.memory_bound_mb"}
    assert set(base.flat()) - set(base.identity_dict()) == BUDGETS
    budget = base.merged({"search": {"max_steps": 5}, "likelihood": {"memory_bound_mb": 64}})
    assert budget.identity_hash() == base.identity_hash() and budget != base
    for change in ({"likelihood": {"over_sampling": "uniform"}}, {"cosmology": "WMAP9"},
                   {"positions": {"threshold": 0.3}}, {"passing": {"sigma_factor": 2.0}},
                   {"initialise": "optimise"}, {"search": {"nwalkers": 40}}, {"search": {"rhat_max": 1.05}}):
        assert base.merged(change).identity_hash() != base.identity_hash(), change


def test_settings_are_frozen_and_merged_section_by_section():
    settings = FitSettings.from_dict({"search": {"nwalkers": 40, "max_steps": 400}})
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.search.nwalkers = 2
    merged = settings.merged({"search": {"max_steps": 800}})
    assert (merged.search.nwalkers, merged.search.max_steps) == (40, 800)
    with pytest.raises(ConfigError, match="max_step"):
        settings.merged({"search": {"max_step": 800}})


def test_fit_help_lists_every_setting_with_its_default(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for key, value in FitSettings().flat().items():
        assert f"{key} = {value!r}" in text, key
    assert "search.max_steps = 10000 [budget]" in text


@pytest.mark.parametrize("flags, words", [
    (["--likelihood-yaml", "{over_sampling: adaptve}"], ["likelihood.over_sampling = 'adaptve'"]),
    (["--search-yaml", "{max_step: 10}"], ["unknown setting search.max_step"]),
    (["--settings", '{"search": {"nwalkers": "many"}}'], ["search.nwalkers = 'many' must be an integer"]),
    (["--cosmology", "Planck2015"], ["cosmology = 'Planck2015'"]),
    (["--threads", "0"], ["--threads 0 must be at least 1"]),
])
def test_fit_command_settings_errors_are_named_with_exit_code_2(tmp_path, capsys, flags, words):
    code = main(["fit", "--dataset", str(tmp_path / "d.fits"), "--model-yaml", "{galaxies: {}}",
                 "--unique-tag", "x", "--out", str(tmp_path / "r.h5"), *flags])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("lenspipe fit: error: ")
    for word in words:
        assert word in err
    assert "Traceback" not in err and not (tmp_path / "r.h5").exists()


def test_fit_command_refuses_to_overwrite_its_dataset(tmp_path, capsys):
    dataset = tmp_path / "d.fits"
    dataset.write_bytes(b"not touched")
    code = main(["fit", "--dataset", str(dataset), "--model-yaml", "{galaxies: {}}", "--unique-tag", "x",
                 "--out", str(dataset)])
    assert code == 2 and "overwrite an input" in capsys.readouterr().err
    assert dataset.read_bytes() == b"not touched"
