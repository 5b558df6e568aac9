"""The MGE in models: default priors for its geometry, its settings fixed, YAML configs, batches."""

import json

import numpy as np
import pytest

from lenspipe.errors import ConfigError
from lenspipe.lensing import Galaxy
from lenspipe.model import Model, UniformPrior, model_from_yaml
from lenspipe.profiles import MGE


def test_a_model_samples_the_geometry_and_fixes_the_settings():
    model = Model(MGE)
    assert model.paths == ["centre.centre_0", "centre.centre_1", "ell_comps.ell_comps_0", "ell_comps.ell_comps_1"]
    instance = model.instance_from_vector(np.array([0.1, -0.1, 0.05, 0.02]))
    assert isinstance(instance, MGE) and instance.amplitude_count == 20
    assert (instance.sigma_min, instance.sigma_max) == (0.01, 3.0)
    batch = model.instance_from_vector(np.zeros((3, 4)))
    assert batch.centre[0].shape == (3, 1) and batch.amplitude_count == 20
    # a setting may be given a value, or (deliberately) a prior
    assert Model(MGE, total_gaussians=30, sigma_max=2.5).instance_from_vector(np.zeros(4)).amplitude_count == 30
    assert Model(MGE, sigma_max=UniformPrior(1.0, 4.0)).prior_count == 5


def test_yaml_configs_name_the_mge_plainly_or_with_settings():
    model = model_from_yaml("""
galaxies:
  lens:
    redshift: 0.5
    bulge: MGE
    disk: {class: MGE, total_gaussians: 10, sigma_max: 2.5, centre: {link: galaxies.lens.bulge.centre}}
    mass: Isothermal
  source: {redshift: 1.0, bulge: {class: MGE, sigma_max: 1.0}}
""")
    assert model.prior_count == 4 + 2 + 5 + 4
    assert "galaxies.lens.disk.ell_comps.ell_comps_0" in model.paths
    assert "galaxies.lens.disk.centre.centre_0" not in model.paths  # linked to the bulge's
    instance = model.instance_from_vector(np.linspace(-0.1, 0.1, model.prior_count) + np.where(
        np.array([p.endswith("einstein_radius") for p in model.paths]), 1.0, 0.0))
    lens = instance.galaxies.lens
    assert isinstance(lens, Galaxy) and lens.disk.amplitude_count == 10 and lens.disk.sigma_max == 2.5
    assert lens.disk.centre == lens.bulge.centre
    assert instance.galaxies.source.bulge.sigma_max == 1.0
    restored = Model.from_dict(json.loads(json.dumps(model.to_dict())))
    assert restored.paths == model.paths
    assert restored.instance_from_vector(np.zeros(model.prior_count)).galaxies.lens.disk.amplitude_count == 10


def test_an_unknown_setting_is_a_config_error():
    with pytest.raises(ConfigError, match="total_gaussian"):
        model_from_yaml("galaxies:\n  lens: {redshift: 0.5, bulge: {class: MGE, total_gaussian: 10}}\n")
