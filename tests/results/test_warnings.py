"""Warnings on fits made to fail: a source at its prior's edge and larger than the mask, a source
off the arcs, positions that do not meet, an unconverged search; and none on a good fit."""

import numpy as np
import pytest

from lenspipe.data import Mask, simulate_imaging
from lenspipe.fit.fit_imaging import FitImaging, MaskedImaging
from lenspipe.lensing import Galaxy, Tracer
from lenspipe.model import Collection, Model, UniformPrior
from lenspipe.profiles import Isothermal, Sersic
from lenspipe.results.warnings import edge_rises, fit_warnings

MASS = Isothermal(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), einstein_radius=1.0)


def _psf():
    k = np.arange(5) - 2
    psf = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / 1.28)
    return psf / psf.sum()


@pytest.fixture(scope="module")
def dataset():
    source = Sersic(centre=(0.05, 0.02), ell_comps=(0.1, 0.0), intensity=2.0, effective_radius=0.2, sersic_index=1.0)
    imaging, _ = simulate_imaging(Tracer([Galaxy(0.5, mass=MASS), Galaxy(1.0, bulge=source)]), (40, 40), 0.1, _psf(),
                                  exposure_time=1000.0, background_sky=0.1, seed=2, sub_size=4)
    mask = Mask.circular((40, 40), 0.1, 1.8)
    return MaskedImaging(imaging, mask, over_sampling=1, planner_effort="FFTW_ESTIMATE", wisdom_path=False), mask


def _model():
    source = Model(Galaxy, redshift=1.0, bulge=Model(Sersic, effective_radius=UniformPrior(0.0, 30.0)))
    lens = Model(Galaxy, redshift=0.5, mass=Model(Isothermal, einstein_radius=UniformPrior(0.5, 2.0)))
    return Collection(galaxies=Collection(lens=lens, source=source))


def _fit(dataset, source):
    return FitImaging(dataset, Tracer([Galaxy(0.5, mass=MASS), Galaxy(1.0, bulge=source)]))


def _summary(median, sigma):
    """A summary with Gaussian 3-sigma values, clipped to the priors' limits like real samples."""
    limits = {"galaxies.lens.mass.einstein_radius": (0.5, 2.0), "galaxies.source.bulge.effective_radius": (0.0, 30.0)}
    errors = {path: {"lower_3": max(value - 3 * sigma[path], limits[path][0]),
                     "upper_3": min(value + 3 * sigma[path], limits[path][1])} for path, value in median.items()}
    return {"median_pdf_instance": median, "errors": errors}


def _codes(warnings):
    return [w["code"] for w in warnings]


def test_a_good_fit_has_no_warnings(dataset):
    masked, mask = dataset
    fit = _fit(masked, Sersic(centre=(0.05, 0.02), ell_comps=(0.1, 0.0), intensity=2.0, effective_radius=0.2,
                              sersic_index=1.0))
    # a compact source (0.1 +- 0.02" on a 0-30" prior) is not at the prior's edge
    summary = _summary({"galaxies.lens.mass.einstein_radius": 1.0, "galaxies.source.bulge.effective_radius": 0.1},
                       {"galaxies.lens.mass.einstein_radius": 0.01, "galaxies.source.bulge.effective_radius": 0.02})
    images = np.array([[1.05, 0.02], [-0.95, 0.02]])  # close to the images of the source centre
    assert fit_warnings(_model(), summary, fit, mask, positions=images, threshold=0.3,
                        diagnostics={"converged": True, "steps": 900}) == []


def test_a_source_run_to_its_prior_edge_and_beyond_the_mask_is_flagged(dataset):
    """The failure issue 15 saw on real SLACS lenses: the source's effective radius at the 30" edge of its
    prior, its light spread far outside the mask."""
    masked, mask = dataset
    fit = _fit(masked, Sersic(centre=(0.05, 0.02), ell_comps=(0.1, 0.0), intensity=0.01, effective_radius=29.5,
                              sersic_index=1.0))
    summary = _summary({"galaxies.lens.mass.einstein_radius": 1.0, "galaxies.source.bulge.effective_radius": 29.5},
                       {"galaxies.lens.mass.einstein_radius": 0.01, "galaxies.source.bulge.effective_radius": 0.3})
    warnings = fit_warnings(_model(), summary, fit, mask)
    assert _codes(warnings) == ["prior_edge", "source_larger_than_mask"]
    assert "galaxies.source.bulge.effective_radius" in warnings[0]["message"] and "upper limit 30" in warnings[0]["message"]
    assert "% of the source's lensed light falls outside the mask" in warnings[1]["message"]


def test_a_source_off_the_arcs_positions_apart_and_an_unconverged_search_are_flagged(dataset):
    masked, mask = dataset
    fit = _fit(masked, Sersic(centre=(1.4, 1.2), ell_comps=(0.0, 0.0), intensity=2.0, effective_radius=0.1,
                              sersic_index=1.0))
    sigma = {"galaxies.lens.mass.einstein_radius": 0.01, "galaxies.source.bulge.effective_radius": 0.01}
    median = {"galaxies.lens.mass.einstein_radius": 1.0, "galaxies.source.bulge.effective_radius": 0.1}
    positions = np.array([[1.05, 0.02], [-0.5, 0.3]])
    warnings = fit_warnings(_model(), _summary(median, sigma), fit, mask, positions=positions,
                            threshold=0.2, diagnostics={"converged": False, "steps": 5000})
    # singly imaged, its one image lands 2.8" out, beyond the 1.8" mask
    assert _codes(warnings) == ["source_larger_than_mask", "source_off_arcs", "positions_apart", "not_converged"]
    assert "0 image(s)" in warnings[1]["message"] and "5000 steps" in warnings[3]["message"]
    # the lower edge too
    median["galaxies.lens.mass.einstein_radius"] = 0.51
    assert "lower limit 0.5" in fit_warnings(_model(), _summary(median, sigma), fit, mask)[0]["message"]


def test_a_parameter_held_at_its_prior_edge_is_flagged(dataset):
    """initialise.hold_unmatched: a regularization coefficient optimised to 1.5e-6 of a 1e-6 to 1e6 prior
    (unit-cube 0.015) with a flat likelihood down to the limit is not sampled, but still at its prior's
    edge; one at 0.3 of the cube is not, nor one near the limit whose likelihood falls by 9,500 there."""
    masked, mask = dataset
    fit = _fit(masked, Sersic(centre=(0.05, 0.02), ell_comps=(0.1, 0.0), intensity=2.0, effective_radius=0.2,
                              sersic_index=1.0))
    summary = _summary({"galaxies.lens.mass.einstein_radius": 1.0, "galaxies.source.bulge.effective_radius": 0.1},
                       {"galaxies.lens.mass.einstein_radius": 0.01, "galaxies.source.bulge.effective_radius": 0.02})
    held = {"galaxies.source.pixelization.regularization.inner_coefficient": (1.5e-6, 0.015, 0.4),
            "galaxies.source.pixelization.regularization.outer_coefficient": (3.7e-4, 0.3, 50.0),
            "galaxies.source.pixelization.regularization.signal_scale": (0.995, 0.995, 0.0)}
    warnings = fit_warnings(_model(), summary, fit, mask, diagnostics={"converged": True, "steps": 900}, held=held)
    assert [w["code"] for w in warnings] == ["prior_edge", "prior_edge"]
    assert "inner_coefficient: held at its optimum 1.5e-06, at the lower edge" in warnings[0]["message"]
    assert "within 0.4 of the optimum" in warnings[0]["message"]
    assert "signal_scale: held at its optimum 0.995, at the upper edge" in warnings[1]["message"]
    inside = {"galaxies.source.pixelization.regularization.signal_scale": (0.0127, 0.0127, 9500.0),
              "galaxies.source.pixelization.regularization.inner_coefficient": (1.1e-6, 0.004, None)}  # -inf at 0
    assert fit_warnings(_model(), summary, fit, mask, diagnostics={"converged": True, "steps": 900},
                        held=inside) == []


def test_edge_rises_probe_the_log_likelihood_from_the_median_to_the_limit():
    """The effective radius's posterior (median 0.05", 3 sigma down to 0) reaches the 0 limit of its
    prior; the log likelihood -0.5 ((r - 0.1) / 0.05)^2 changes by -2 + 0.5 = -1.5 from the median
    to the limit (probed at 1e-9 of the cube: 3e-8"). The Einstein radius's does not reach a limit
    and is not probed."""
    model = _model()
    index = model.paths.index("galaxies.source.bulge.effective_radius")
    summary = _summary({"galaxies.lens.mass.einstein_radius": 1.0, "galaxies.source.bulge.effective_radius": 0.05},
                       {"galaxies.lens.mass.einstein_radius": 0.01, "galaxies.source.bulge.effective_radius": 0.02})
    calls = []

    def log_likelihoods(vectors):
        calls.append(len(vectors))
        return -0.5 * ((vectors[:, index] - 0.1) / 0.05) ** 2

    best = np.full(model.prior_count, 0.3)
    rises = edge_rises(model, summary, best, log_likelihoods)
    assert list(rises) == [("galaxies.source.bulge.effective_radius", "lower")] and calls == [2]
    assert rises["galaxies.source.bulge.effective_radius", "lower"] == pytest.approx(-1.5, abs=1e-5)


def test_a_posterior_spread_over_its_whole_prior_is_probed_at_both_limits():
    """The Einstein radius's posterior (median 1.25, sigma 0.5) reaches both limits of its 0.5-2.0
    prior; the log likelihood 2 (theta - 1.25) changes by -1.5 to the lower limit and +1.5 to the
    upper one, each probed and kept under its own side."""
    model = _model()
    index = model.paths.index("galaxies.lens.mass.einstein_radius")
    path = "galaxies.lens.mass.einstein_radius"
    summary = _summary({path: 1.25, "galaxies.source.bulge.effective_radius": 10.0},
                       {path: 0.5, "galaxies.source.bulge.effective_radius": 1.0})
    rises = edge_rises(model, summary, np.full(model.prior_count, 1.0),
                       lambda vectors: 2.0 * (vectors[:, index] - 1.25))
    assert sorted(rises) == [(path, "lower"), (path, "upper")]
    assert rises[path, "lower"] == pytest.approx(-1.5, abs=1e-6)
    assert rises[path, "upper"] == pytest.approx(1.5, abs=1e-6)


def test_a_posterior_the_data_leave_unconstrained_up_to_its_limit_is_not_flagged(dataset):
    """A regularization-like parameter: its posterior spreads to the limit because the log likelihood
    is flat there (J0029-0055's Adapt inner_coefficient, flat to 0.4 from 1e-6 to 1e-2), not because
    the data want it beyond. It is flagged when the likelihood rises or falls towards the limit by more
    than 1, or when its median is itself within 0.1 of the limit in the prior's unit cube."""
    masked, mask = dataset
    fit = _fit(masked, Sersic(centre=(0.05, 0.02), ell_comps=(0.1, 0.0), intensity=2.0, effective_radius=0.2,
                              sersic_index=1.0))
    path = "galaxies.source.bulge.effective_radius"
    diagnostics = {"converged": True, "steps": 900}

    def warnings(median, rise):
        summary = _summary({"galaxies.lens.mass.einstein_radius": 1.0, path: median},
                           {"galaxies.lens.mass.einstein_radius": 0.01, path: median / 2})
        return fit_warnings(_model(), summary, fit, mask, diagnostics=diagnostics,
                            edge_rise=None if rise is None else {(path, "lower"): rise})

    assert warnings(10.0, 0.3) == []  # unconstrained from 10" (a third of the cube) down to 0
    assert _codes(warnings(10.0, None)) == ["prior_edge"]  # without the probe
    rising = warnings(10.0, 2.5)
    assert _codes(rising) == ["prior_edge"] and "changes by +2.5 from the median to the limit" in rising[0]["message"]
    assert _codes(warnings(10.0, -1.2)) == ["prior_edge"]
    assert _codes(warnings(10.0, -np.inf)) == ["prior_edge"]
    assert _codes(warnings(2.7, 0.3)) == ["prior_edge"]  # piled against the limit: 0.09 of the cube


def test_a_mass_pulled_off_its_light_is_flagged(dataset):
    """J0029-0055's source_pix_1: a pixelized source pulled the mass 0.25" off the lens light."""
    masked, mask = dataset
    source = Galaxy(1.0, bulge=Sersic(centre=(0.05, 0.02), ell_comps=(0.1, 0.0), intensity=2.0, effective_radius=0.2,
                                      sersic_index=1.0))
    summary = _summary({"galaxies.lens.mass.einstein_radius": 1.0, "galaxies.source.bulge.effective_radius": 0.1},
                       {"galaxies.lens.mass.einstein_radius": 0.01, "galaxies.source.bulge.effective_radius": 0.02})
    diagnostics = {"converged": True, "steps": 900}
    for light_centre, expected in [((0.05, 0.0), []), ((0.25, 0.14), ["mass_off_light"])]:
        lens = Galaxy(0.5, bulge=Sersic(centre=light_centre, intensity=0.5, effective_radius=0.8, sersic_index=4.0),
                      mass=MASS)
        fit = FitImaging(masked, Tracer([lens, source]), galaxy_names=["lens", "source"])
        warnings = fit_warnings(_model(), summary, fit, mask, diagnostics=diagnostics)
        assert _codes(warnings) == expected
    assert warnings[0]["message"].startswith('galaxies.lens: its mass centre lies 0.287" from its light')
