"""The optimiser's start: independent runs, the best kept, the optimum found.

The likelihood here is a real callable of the kind the search evaluates, ``(K, n) -> (K,)``:
a Gaussian in parameter space around a known lens.
"""

import numpy as np
import pytest

from lenspipe.lensing import Galaxy
from lenspipe.model import Collection, Model
from lenspipe.pipeline.initialise import held_at, initial_from_optimiser, optimise_unmatched
from lenspipe.profiles import ExternalShear, Isothermal, SersicLinear


def lens_model():
    lens = Model(Galaxy, redshift=0.5, bulge=Model(SersicLinear), mass=Model(Isothermal),
                 shear=Model(ExternalShear))
    source = Model(Galaxy, redshift=1.0, bulge=Model(SersicLinear))
    return Collection(galaxies=Collection(lens=lens, source=source))


def gaussian_around_truth(model):
    """A log-likelihood with maximum 0 at a lens with ellipticity and shear, and the truth."""
    truth = model.vector_from_unit_vector(np.full(model.prior_count, 0.5))
    for path, value in [("galaxies.lens.mass.ell_comps.ell_comps_0", 0.08),
                        ("galaxies.lens.shear.gamma_1", 0.03),
                        ("galaxies.lens.mass.einstein_radius", 1.2)]:
        truth[model.paths.index(path)] = value
    sigma = np.full(model.prior_count, 0.005)
    calls = []

    def log_likelihoods(vectors):
        calls.append(len(vectors))
        return -0.5 * np.sum(((vectors - truth) / sigma) ** 2, axis=1)

    return log_likelihoods, truth, sigma, calls


def test_starts_stop_once_two_agree():
    model = lens_model()
    log_likelihoods, truth, sigma, calls = gaussian_around_truth(model)
    centre, ball, info = initial_from_optimiser(model, log_likelihoods, seed=3, starts=3)
    first, second = (s["best_log_posterior"] for s in info["starts"])  # one mode: two runs suffice
    assert abs(first - second) <= 5.0
    assert sum(calls) == info["evaluations"]
    assert np.all(np.abs(centre - truth) < 3.0 * sigma)


def test_three_starts_find_the_optimum_and_keep_the_best():
    model = lens_model()
    log_likelihoods, truth, sigma, calls = gaussian_around_truth(model)
    centre, ball, info = initial_from_optimiser(model, log_likelihoods, seed=3, agree=-1.0)
    assert len(info["starts"]) == 3
    assert sum(calls) == info["evaluations"] == sum(s["evaluations"] for s in info["starts"])
    assert info["best_log_posterior"] == max(s["best_log_posterior"] for s in info["starts"])
    # The centre is the kept start's best point: its log posterior is the one reported.
    log_posterior = (log_likelihoods(centre[None])[0]
                     + model.log_prior_from_vector(centre[None])[0])
    assert log_posterior == pytest.approx(info["best_log_posterior"], abs=1e-9)
    # Converged populations agree to a log-posterior spread of 1, so the best member lies
    # within a few sigma of the maximum along every parameter (the priors, 20 to 400 times
    # wider than sigma, move it by much less).
    assert np.all(np.abs(centre - truth) < 3.0 * sigma)
    assert np.all((ball > 0) & (ball < 0.05))


def test_one_start_and_the_same_seed_give_the_same_start():
    model = lens_model()
    log_likelihoods, *_ = gaussian_around_truth(model)
    first = initial_from_optimiser(model, log_likelihoods, seed=5, starts=1)
    again = initial_from_optimiser(model, log_likelihoods, seed=5, starts=1)
    assert len(first[2]["starts"]) == 1
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])


def test_starts_must_be_positive():
    model = lens_model()
    log_likelihoods, *_ = gaussian_around_truth(model)
    with pytest.raises(ValueError, match="starts"):
        initial_from_optimiser(model, log_likelihoods, seed=1, starts=0)


def test_the_optimiser_logs_its_progress_with_the_time_left(caplog):
    """The optimiser says where it is while it runs (here every generation), not only at the end."""
    model = lens_model()
    log_likelihoods, *_ = gaussian_around_truth(model)
    with caplog.at_level("INFO", logger="lenspipe.fit"):
        _, _, info = initial_from_optimiser(model, log_likelihoods, seed=5, starts=2, report_every=0.0,
                                            max_evaluations=5_000)
    lines = [record.getMessage() for record in caplog.records if "generation" in record.getMessage()]
    generations = sum(start["generations"] for start in info["starts"])
    assert len(lines) == generations
    assert lines[0].startswith("optimiser start 1/2: generation 1 (at most 2000), ")
    assert lines[-1].startswith(f"optimiser start 2/2: generation {info['starts'][1]['generations']} ")
    assert all(" left" in line and "at most -" not in line for line in lines)


def test_the_optimisers_estimate_of_the_evaluations_left_holds_in_the_later_half_of_a_start(caplog):
    """Each line says about how many evaluations remain until the population agrees, from the rate
    its spread's logarithm falls; from half-way through a start that is within 40 % of what the
    start then spent, give or take two generations (differential evolution's spread falls
    near-geometrically on a Gaussian)."""
    import re

    model = lens_model()
    log_likelihoods, *_ = gaussian_around_truth(model)
    with caplog.at_level("INFO", logger="lenspipe.fit"):
        _, _, info = initial_from_optimiser(model, log_likelihoods, seed=5, starts=1, report_every=0.0)
    total, generations = info["starts"][0]["evaluations"], info["starts"][0]["generations"]
    estimates = {}
    for record in caplog.records:
        found = re.search(r"generation (\d+) .*?, (\d+) evaluations, .*, about ([\d,]+) evaluations \(",
                          record.getMessage())
        if found:
            estimates[int(found[1])] = (int(found[2]), int(found[3].replace(",", "")))
    assert min(estimates) == 10  # none before ten generations
    later = [(total - done, estimate) for generation, (done, estimate) in estimates.items()
             if generations / 2 <= generation < generations]
    assert len(later) >= 20
    generation = total / generations  # evaluations a generation: the resolution of "left"
    for left, estimate in later:
        assert abs(estimate - left) <= 0.4 * left + 2 * generation, (left, estimate)


def test_durations_and_time_left_are_formatted_plainly():
    from lenspipe.search.progress import format_duration, time_left

    assert [format_duration(s) for s in (None, 45, 200, 3720)] == ["-", "45s", "3m20s", "1h02m"]
    assert time_left(10, 40, 5.0) == 15.0 and time_left(0, 40, 5.0) is None


def test_a_polish_moves_a_cheaper_likelihoods_optimum_to_the_fits_own():
    """The starts run on a stand-in whose optimum is 20 sigma off along one parameter; the polish under
    the real likelihood brings the centre back to within a few sigma of the real optimum."""
    model = lens_model()
    log_likelihoods, truth, sigma, _ = gaussian_around_truth(model)
    shifted = truth + 20 * sigma * (np.arange(model.prior_count) == 0)

    def stand_in(vectors):
        return -0.5 * np.sum(((vectors - shifted) / sigma) ** 2, axis=1)

    centre, ball, info = initial_from_optimiser(model, stand_in, seed=3, starts=1,
                                                polish_log_likelihoods=log_likelihoods)
    assert np.all(np.abs(centre - truth) < 3.0 * sigma)
    polish = info["polish"]
    assert polish["evaluations"] > 0 and info["best_log_posterior"] == polish["best_log_posterior"]
    assert info["evaluations"] == info["starts"][0]["evaluations"] + polish["evaluations"]


def test_unmatched_parameters_are_optimised_with_the_matched_ones_held():
    """`previous`: the parameters an earlier stage did not fit (here the source's) start at the
    conditional optimum, the matched ones stay at the earlier medians."""
    model = lens_model()
    log_likelihoods, truth, sigma, calls = gaussian_around_truth(model)
    matched = [path for path in model.paths if not path.startswith("galaxies.source")]
    free = np.array([path not in matched for path in model.paths])
    centre, ball = model.vector_from_unit_vector(np.full(model.prior_count, 0.5)), np.full(model.prior_count, 0.01)
    centre[~free] = truth[~free] + 0.5 * sigma[~free]  # an earlier stage's medians, half a sigma off
    new_centre, new_ball, info = optimise_unmatched(model, log_likelihoods, centre, ball, matched, seed=1)
    np.testing.assert_array_equal(new_centre[~free], centre[~free])
    np.testing.assert_array_equal(new_ball[~free], ball[~free])
    # the likelihood is separable, so the conditional optimum of the unmatched ones is the truth
    assert np.all(np.abs(new_centre[free] - truth[free]) < 3.0 * sigma[free])
    assert np.all((new_ball[free] > 0) & (new_ball[free] < 10 * sigma[free]))
    assert info["paths"] == [path for path in model.paths if path.startswith("galaxies.source")]
    assert info["evaluations"] == sum(calls) <= 1000 * free.sum() + 15 * free.sum()  # the default budget
    # every parameter matched: nothing to do, nothing evaluated
    same_centre, same_ball, none = optimise_unmatched(model, log_likelihoods, centre, ball, list(model.paths), seed=1)
    assert none is None and same_centre is centre and sum(calls) == info["evaluations"]


def test_a_noisy_objective_stops_when_the_population_collapses():
    """A pixelized evidence jumps by more than the log-posterior tolerance as the mesh moves; the
    run stops once the population has collapsed in the unit cube, well within its budget."""
    model = lens_model()
    log_likelihoods, truth, sigma, calls = gaussian_around_truth(model)
    rng = np.random.default_rng(0)

    def noisy(vectors):
        return log_likelihoods(vectors) + rng.normal(0.0, 5.0, len(vectors))

    matched = [path for path in model.paths if path != "galaxies.lens.mass.einstein_radius"]
    _, _, info = optimise_unmatched(model, noisy, truth.copy(), np.full(model.prior_count, 0.01), matched, seed=2,
                                    max_evaluations=20_000)
    assert info["evaluations"] < 3000
    assert info["paths"] == ["galaxies.lens.mass.einstein_radius"]


def test_held_parameters_are_fixed_at_the_vectors_values_and_the_rest_stay_free():
    model = lens_model()
    vector = model.vector_from_unit_vector(np.full(model.prior_count, 0.3))
    paths = ["galaxies.lens.mass.einstein_radius", "galaxies.lens.mass.centre.centre_1",
             "galaxies.source.bulge.sersic_index"]
    held = held_at(model, paths, vector)
    assert held.prior_count == model.prior_count - 3
    assert held.paths == [p for p in model.paths if p not in paths]
    assert model.prior_count == 19  # the original is untouched
    free = [model.paths.index(p) for p in held.paths]
    instance = held.instance_from_vector(vector[free])
    expected = model.instance_from_vector(vector)
    assert instance.galaxies.lens.mass.einstein_radius == expected.galaxies.lens.mass.einstein_radius
    assert instance.galaxies.lens.mass.centre == expected.galaxies.lens.mass.centre  # one entry held, one free
    assert instance.galaxies.source.bulge.sersic_index == expected.galaxies.source.bulge.sersic_index
    assert instance.galaxies.source.bulge.effective_radius == expected.galaxies.source.bulge.effective_radius


def test_a_population_with_discarded_members_reports_an_infinite_spread_without_a_warning():
    """A discarded member (energy inf) means the population has not agreed: its spread is inf
    (it was nan, with numpy's 'invalid value' warning in every fit's log), and the run goes on."""
    import warnings

    from lenspipe.pipeline.initialise import _evolve

    def objective(unit_columns):  # (d, K) -> (K,): a bowl, discarded beyond 0.8 in the first parameter
        energy = np.sum((unit_columns - 0.3) ** 2, axis=0)
        return np.where(unit_columns[0] > 0.8, np.inf, energy)

    spreads = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result, population, _ = _evolve(objective, 2, 5, generations=200, popsize=15, tolerance=1e-6,
                                        max_evaluations=10_000, min_generations=1, count={"evaluations": 0},
                                        report=lambda generation, best, spread: spreads.append(spread))
    assert spreads[0] == np.inf
    assert np.isfinite(spreads[-1]) and spreads[-1] <= 1e-6
    np.testing.assert_allclose(result.x, [0.3, 0.3], atol=2e-3)


def test_a_log_uniform_parameter_the_data_barely_constrain_is_not_driven_to_its_prior_edge():
    """The unmatched optimiser maximises the likelihood (the posterior density in the unit cube it
    searches). The density in parameter units adds -ln x for a log-uniform prior, which put an
    Adapt inner_coefficient with a flat evidence at 1.4e-6 of a 1e-6 to 1e6 prior on J0029-0055."""
    from lenspipe.fit.inversion import Constant, Pixelization, Rectangular
    from lenspipe.model import LogUniformPrior

    regularization = Model(Constant, coefficient=LogUniformPrior(1e-6, 1e6))
    source = Model(Galaxy, redshift=1.0, pixelization=Model(Pixelization, mesh=Rectangular((5, 5)),
                                                             regularization=regularization))
    lens = Model(Galaxy, redshift=0.5, mass=Model(Isothermal))
    model = Collection(galaxies=Collection(lens=lens, source=source))
    path = "galaxies.source.pixelization.regularization.coefficient"
    index = model.paths.index(path)

    def log_likelihoods(vectors):  # nearly flat: 0.09 lower at the prior's edge than at 1e-3
        return -0.01 * (np.log10(vectors[:, index]) + 3.0) ** 2

    centre = model.vector_from_unit_vector(np.full(model.prior_count, 0.5))
    matched = [p for p in model.paths if p != path]
    new_centre, _, info = optimise_unmatched(model, log_likelihoods, centre, np.full(model.prior_count, 0.01),
                                             matched, seed=3)
    assert 1e-4 < new_centre[index] < 1e-2  # about 1e-3; ln-x weighting gave ~1e-6
    assert info["unit"][0] > 0.1 and info["best_log_likelihood"] > -0.01
    # the fall of the log likelihood from the optimum to the nearer (lower) limit, 1e-6
    assert info["edge_drop"][0] == pytest.approx(0.01 * 9.0 + info["best_log_likelihood"], abs=1e-6)  # limit clipped at 1e-9
    assert info["best_log_posterior"] == pytest.approx(
        info["best_log_likelihood"] + model.log_prior_from_vector(new_centre[None])[0])
