"""SLaM prior passing on a hand-made sample set whose quantiles are known exactly.

Three equally weighted samples per parameter, ``m - s``, ``m``, ``m + s``: the weighted
median is ``m`` and the 1-sigma values are ``m -/+ p s`` with ``p = erf(1/sqrt(2))``
(linear interpolation at quantiles ``(1 -/+ p) / 2`` of three points), so
``sigma_posterior = p s`` and the passed width is ``max(k p s, floor)``.
"""

import json
import math

import numpy as np
import pytest

from lenspipe.errors import ModelError
from lenspipe.model import (
    Collection,
    GaussianPrior,
    Model,
    TruncatedGaussianPrior,
    UniformPrior,
    component_instance,
    component_model,
    load_passing_floors,
)
from lenspipe.search.samples import Samples

from .helpers import Galaxy, Isothermal, PowerLaw, Sersic

P = math.erf(1.0 / math.sqrt(2.0))

MEDIANS = {
    "galaxies.lens.bulge.centre.centre_0": (0.01, 0.001),
    "galaxies.lens.bulge.centre.centre_1": (-0.02, 0.001),
    "galaxies.lens.bulge.intensity": (2.0, 1.0),
    "galaxies.lens.bulge.effective_radius": (0.8, 0.01),
    "galaxies.lens.bulge.sersic_index": (3.0, 0.5),
    "galaxies.lens.mass.einstein_radius": (1.2, 0.1),
    "galaxies.source.bulge.ell_comps.ell_comps_0": (0.1, 0.02),
}


def _fitted():
    lens = Model(Galaxy, redshift=0.5, bulge=Model(Sersic, ell_comps=(0.05, 0.0)),
                 mass=Model(Isothermal, ell_comps=(0.1, -0.05)))
    lens.mass.centre = lens.bulge.centre
    source = Model(Galaxy, redshift=1.0, bulge=Sersic)
    model = Collection(galaxies=Collection(lens=lens, source=source))
    middle = model.vector_from_unit_vector(np.full(model.prior_count, 0.5))
    spread = np.full(model.prior_count, 0.01)
    for path, (median, sigma) in MEDIANS.items():
        middle[model.paths.index(path)] = median
        spread[model.paths.index(path)] = sigma
    parameters = np.stack([middle - spread, middle, middle + spread])
    samples = Samples(model, parameters, log_likelihood=[-3.0, -1.0, -2.0], log_prior=np.zeros(3))
    return model, samples


def test_the_hand_made_sample_set_has_the_documented_quantiles():
    model, samples = _fitted()
    i = model.paths.index("galaxies.lens.mass.einstein_radius")
    assert samples.median_pdf_vector[i] == pytest.approx(1.2, abs=1e-12)
    np.testing.assert_allclose(samples.errors_at_sigma(1.0)[i], [P * 0.1, P * 0.1], rtol=1e-9)


def test_component_model_means_widths_and_truncation():
    _, samples = _fitted()
    mass = component_model(samples, "galaxies.lens.mass")
    assert mass.cls is Isothermal and mass.ell_comps == (0.1, -0.05)  # fixed stays fixed
    einstein = mass.einstein_radius
    assert isinstance(einstein, TruncatedGaussianPrior)
    assert einstein.mean == pytest.approx(1.2) and einstein.sigma == pytest.approx(3 * P * 0.1)
    assert einstein.limits == (0.0, 4.0)  # the earlier Uniform(0, 4) support
    centre = mass.centre[0]
    assert isinstance(centre, GaussianPrior)  # an unbounded earlier prior stays unbounded
    assert centre.mean == pytest.approx(0.01) and centre.sigma == 0.05  # floor 0.05 > 3 p 0.001

    bulge = component_model(samples, "galaxies.lens.bulge")
    assert bulge.intensity.sigma == pytest.approx(3 * P * 1.0)  # above the relative floor 0.5 * 2
    assert bulge.intensity.limits == (1e-6, 1e6)
    assert bulge.effective_radius.sigma == pytest.approx(0.16)  # floor max(0.1, 0.2 * 0.8)
    assert bulge.sersic_index.sigma == pytest.approx(3 * P * 0.5)
    source = component_model(samples, "galaxies.source.bulge")
    assert source.ell_comps[0].sigma == 0.1 and source.ell_comps[0].limits == (-1.0, 1.0)


def test_width_factor_and_floor_overrides():
    _, samples = _fitted()
    assert component_model(samples, "galaxies.lens.mass", k=1.0).einstein_radius.sigma == 0.1
    assert component_model(samples, "galaxies.lens.mass", k=5.0).einstein_radius.sigma == pytest.approx(5 * P * 0.1)
    wide = component_model(samples, "galaxies.lens.mass", floors={"einstein_radius": 0.5})
    assert wide.einstein_radius.sigma == 0.5
    relative = component_model(samples, "galaxies.lens.mass", floors={"einstein_radius": {"relative": 1.0}})
    assert relative.einstein_radius.sigma == pytest.approx(1.2)
    assert load_passing_floors({"slope": 0.3})["slope"] == (0.3, 0.0)


def test_isothermal_posterior_passed_into_a_power_law():
    _, samples = _fitted()
    power_law = component_model(samples, "galaxies.lens.mass", cls=PowerLaw)
    assert power_law.cls is PowerLaw
    assert power_law.einstein_radius.mean == pytest.approx(1.2)
    assert power_law.centre[1].mean == pytest.approx(-0.02)
    assert power_law.ell_comps == (0.1, -0.05)
    assert isinstance(power_law.slope, UniformPrior) and power_law.slope.limits == (1.5, 3.0)
    assert power_law.prior_count == 4


def test_a_galaxy_passes_as_a_whole_keeping_its_links():
    _, samples = _fitted()
    lens = component_model(samples, "galaxies.lens")
    assert lens.cls is Galaxy and lens.redshift == 0.5
    assert lens.bulge.centre[0] is lens.mass.centre[0]
    assert lens.prior_count == 2 + 3 + 1
    galaxies = component_model(samples, "galaxies")
    assert isinstance(galaxies, Collection) and list(galaxies._entries) == ["lens", "source"]


def test_component_instance_is_the_maximum_likelihood_component():
    model, samples = _fitted()
    lens = component_instance(samples, "galaxies.lens")
    assert isinstance(lens, Galaxy)
    assert lens.mass.einstein_radius == pytest.approx(1.2) and lens.mass.centre == lens.bulge.centre
    assert component_instance(samples, "galaxies.lens.mass.einstein_radius") == pytest.approx(1.2)
    # The next stage: lens fixed, source passed as priors; it writes to JSON and back.
    stage = Collection(galaxies=Collection(lens=lens, source=component_model(samples, "galaxies.source")))
    assert stage.prior_count == 7
    again = Model.from_dict(json.loads(json.dumps(stage.to_dict())))
    assert again.to_dict() == stage.to_dict()
    built = again.instance_from_vector(again.vector_from_unit_vector(np.full(7, 0.5)))
    assert built.galaxies.lens.mass == lens.mass


def test_passing_errors():
    model, samples = _fitted()
    with pytest.raises(ModelError, match="is a parameter, not a component"):
        component_model(samples, "galaxies.lens.mass.einstein_radius")
    with pytest.raises(ModelError, match="no 'halo'"):
        component_model(samples, "galaxies.lens.halo")
    with pytest.raises(ModelError, match="only replace the class of a Model"):
        component_model(samples, "galaxies", cls=PowerLaw)
    with pytest.raises(ModelError, match="carry their model"):
        component_model(Samples(None, samples.parameters, samples.log_likelihood, samples.log_prior), "galaxies")
    with pytest.raises(ModelError, match="k must be positive"):
        component_model(samples, "galaxies.lens", k=0.0)
    with pytest.raises(ModelError, match="not in the instance"):
        component_instance(samples, "galaxies.halo")
