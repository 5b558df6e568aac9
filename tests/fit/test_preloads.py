"""Preloads: fixed components evaluated once give the same likelihoods as evaluating them each time."""

import numpy as np
import pytest

from lenspipe.analysis import AnalysisImaging, AnalysisSettings
from lenspipe.fit.fit_imaging import MaskedImaging
from lenspipe.fit.preloads import same_profile
from lenspipe.lensing import Galaxy
from lenspipe.model import Collection, Model
from lenspipe.profiles import ExternalShear, Isothermal, Sersic


def _model(fix_lens_light=False, fix_mass=False):
    truth_bulge = Sersic(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), intensity=2.0, effective_radius=0.8,
                         sersic_index=3.0)
    truth_mass = Isothermal(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), einstein_radius=1.2)
    lens = Model(Galaxy, redshift=0.5, bulge=truth_bulge if fix_lens_light else Model(Sersic),
                 mass=truth_mass if fix_mass else Model(Isothermal),
                 shear=ExternalShear(gamma_1=0.02, gamma_2=0.01) if fix_mass else Model(ExternalShear))
    return Collection(galaxies=Collection(lens=lens, source=Model(Galaxy, redshift=1.0, bulge=Model(Sersic))))


def _vectors(model, rng, k=5):
    return model.vector_from_unit_vector(0.45 + 0.1 * rng.random((k, model.prior_count)))


@pytest.mark.parametrize("fixed", [dict(fix_lens_light=True), dict(fix_mass=True),
                                   dict(fix_lens_light=True, fix_mass=True)])
def test_preloaded_likelihoods_equal_plain_ones(noisy_small_lens, fixed):
    imaging, _, mask = noisy_small_lens
    dataset = MaskedImaging(imaging, mask, planner_effort="FFTW_ESTIMATE", wisdom_path=False)
    model = _model(**fixed)
    preloaded = AnalysisImaging(dataset)
    preloads = preloaded.preload(model)
    assert preloads is not None
    summary = preloads.summary()
    assert bool(summary["blurred_images"]) == fixed.get("fix_lens_light", False)
    assert bool(summary["deflections"]) == fixed.get("fix_mass", False)
    plain = AnalysisImaging(dataset, settings=AnalysisSettings(use_preloads=False))
    assert plain.preload(model) is None
    vectors = _vectors(model, np.random.default_rng(4))
    batched = preloaded.log_likelihood_array_from(model.instance_from_vector(vectors))
    expected = [plain.log_likelihood_function(model.instance_from_vector(v)) for v in vectors]
    np.testing.assert_allclose(batched, expected, rtol=1e-11)
    single = [preloaded.log_likelihood_function(model.instance_from_vector(v)) for v in vectors]
    np.testing.assert_allclose(single, expected, rtol=1e-11)


def test_a_changed_profile_never_uses_a_stale_preload(noisy_small_lens):
    imaging, _, mask = noisy_small_lens
    dataset = MaskedImaging(imaging, mask, planner_effort="FFTW_ESTIMATE", wisdom_path=False)
    model = _model(fix_lens_light=True)
    analysis = AnalysisImaging(dataset)
    analysis.preload(model)
    instance = model.instance_from_vector(_vectors(model, np.random.default_rng(5), 1)[0])
    before = analysis.log_likelihood_function(instance)
    lens = instance.galaxies.lens
    instance.galaxies.lens = Galaxy(0.5, bulge=lens.bulge.replace(intensity=3.0), mass=lens.mass, shear=lens.shear)
    after = analysis.log_likelihood_function(instance)
    plain = AnalysisImaging(dataset, settings=AnalysisSettings(use_preloads=False)).log_likelihood_function(instance)
    assert after != before
    assert after == pytest.approx(plain, rel=1e-12)


def test_same_profile():
    a = Sersic(intensity=1.0)
    assert same_profile(a, Sersic(intensity=1.0))
    assert not same_profile(a, Sersic(intensity=2.0))
    assert not same_profile(a, Sersic(intensity=np.array([[1.0], [1.0]])))  # batched is never "fixed"
    assert not same_profile(a, Isothermal())
