"""summary_text: the numbers of a result, formatted for a terminal."""

from __future__ import annotations

import numpy as np

from lenspipe.results import read_result
from lenspipe.results.summary_text import format_number, summary_text

from .synthetic import make_result, write

SEARCH = {
    "nwalkers": 20, "max_steps": 5000, "ess_min": 400.0, "burn_in_taus": 5.0, "rhat_max": 1.01,
    "diagnostics": {"steps": 1000, "burn_in": 500, "tau": [12.25, 15.5, None], "rhat": [1.002, 1.0041],
                    "ess_bulk": [816.3, 645.2, 700.0], "ess_tail": [523.0, 388.4, 900.0],
                    "rhat_walkers": [1.031, 1.0452],
                    "converged": False, "evaluations": 20000, "discarded": 3,
                    "wall_time": 12.34, "evaluations_per_second": 1620.7},
}


def _line_with(text, start):
    found = [line for line in text.splitlines() if line.strip().startswith(start)]
    assert found, f"no line starting {start!r}"
    return found[0]


def _value(text, key):
    """The value printed after ``key`` on its ``  key   value`` line."""
    found = [line.strip()[len(key):].strip() for line in text.splitlines()
             if line.strip().startswith(key + "  ")]
    assert len(found) == 1, f"{len(found)} lines for {key!r}"
    return found[0]


def test_summary_text_of_a_written_result(tmp_path):
    result = make_result(search=SEARCH, log_evidence=-12.5)
    back = read_result(write(tmp_path, result), samples=False, dataset=False)
    text = summary_text(back)
    assert text.splitlines()[0] == f"lenspipe result {result.identifier}"
    for key, value in [("unique_tag", "lens_1"), ("stage", "mass_total"), ("completed", "yes"),
                       ("seed", "0"), ("config hash", "abc"), ("created", result.created),
                       ("lenspipe version", result.lenspipe_version)]:
        assert _value(text, key) == value, key

    assert _value(text, "steps") == "1000 (max 5000)"
    assert _value(text, "walkers") == "20"
    assert _value(text, "max tau") == "15.5 (1 non-finite)"
    assert _value(text, "burn-in") == ("500 steps (discarded); needs >= 5 x 15.5 = 77.5 "
                                       "(met)")
    assert _value(text, "min ESS (bulk, tail)") == "388.4 (needs >= 400)"
    assert _value(text, "max split-R-hat") == "1.0041 (limit 1.01)"
    assert _value(text, "walker by walker") == "1.0452 (not a stopping rule)"
    assert _value(text, "converged") == "no"
    assert _value(text, "evaluations") == "20000"
    assert _value(text, "discarded") == "3"
    assert _value(text, "wall time") == "12.3 s"
    assert _value(text, "evaluations per second") == "1621"
    assert _value(text, "max log-likelihood") == "0.000"
    assert _value(text, "log evidence") == "-12.500"


def test_parameter_and_latent_rows_hold_the_summary_values():
    result = make_result(einstein_radius=1.25)
    text = summary_text(result)
    summary = result.summary
    for path in result.parameter_paths:
        errors = summary["errors"][path]
        expected = [path, f"{summary['max_log_likelihood_instance'][path]:.5g}",
                    f"{summary['median_pdf_instance'][path]:.5g}",
                    f"[{errors['lower_1']:.5g},", f"{errors['upper_1']:.5g}]",
                    f"[{errors['lower_3']:.5g},", f"{errors['upper_3']:.5g}]"]
        assert _line_with(text, path).split() == expected
    assert _line_with(text, "galaxies.lens.mass.einstein_radius").split()[1] == "1.25"
    latent = summary["latent"]["einstein_mass"]
    assert _line_with(text, "einstein_mass").split() == [
        "einstein_mass", f"{latent['median']:.5g}", f"[{latent['lower_1']:.5g},",
        f"{latent['upper_1']:.5g}]", f"[{latent['lower_3']:.5g},", f"{latent['upper_3']:.5g}]"]
    # the 1-sigma interval of the radius brackets its median
    low, high = summary["errors"]["galaxies.lens.mass.einstein_radius"]["lower_1"], \
        summary["errors"]["galaxies.lens.mass.einstein_radius"]["upper_1"]
    assert low < summary["median_pdf_instance"]["galaxies.lens.mass.einstein_radius"] < high


def test_an_mges_intensities_are_listed_in_numerical_order():
    result = make_result(einstein_radius=1.25)
    entry = dict(result.summary["latent"]["einstein_mass"])
    for i in (10, 2, 1, 0, 19):
        result.summary["latent"][f"galaxies.lens.bulge.intensity_{i}"] = entry
    names = [line.split()[0] for line in summary_text(result).splitlines() if "bulge.intensity_" in line]
    assert names == [f"galaxies.lens.bulge.intensity_{i}" for i in (0, 1, 2, 10, 19)]


def test_missing_search_keys_print_as_not_available():
    result = make_result(search={"diagnostics": {}}, completed=False)
    result.summary.pop("log_evidence")
    text = summary_text(result)
    assert _value(text, "completed") == "NO (unfinished search)"
    for key in ("steps", "walkers", "max tau", "max split-R-hat", "converged", "evaluations",
                "discarded", "wall time", "evaluations per second"):
        assert _value(text, key) == "n/a", key
    assert "burn-in" not in text and "ESS" not in text
    assert _value(text, "log evidence") == "not estimated"


def test_convergence_read_from_the_summary_and_long_wall_time():
    result = make_result(search={"burn_in_taus": 50}, convergence={
        "steps": 200, "burn_in": 100, "tau": [10.0], "rhat": [None], "ess_bulk": [None],
        "ess_tail": [12.0], "converged": True, "wall_time": 5400.0})
    text = summary_text(result)
    assert _value(text, "burn-in") == ("100 steps (discarded); needs >= 50 x 10 = 500 "
                                       "(not met)")
    assert _value(text, "min ESS (bulk, tail)") == "n/a (not estimable yet)"
    assert _value(text, "max split-R-hat") == "n/a (1 non-finite)"
    assert _value(text, "converged") == "yes"
    assert _value(text, "wall time") == "5400 s (90.0 min)"


def test_format_number():
    assert format_number(None) == "n/a"
    assert format_number(True) == "yes"
    assert format_number(12) == "12"
    assert format_number(np.pi) == "3.1416"
    assert format_number(1.0e11) == "1e+11"


def test_start_line_names_the_optimiser_and_its_cost():
    optimised = {**SEARCH, "initialisation": {
        "mode": "optimise", "evaluations": 268050, "wall_time_s": 571.4,
        "best_log_posterior": 15240.9654,
        "starts": [{"best_log_posterior": 15240.9654}, {"best_log_posterior": -35471.69},
                   {"best_log_posterior": 15240.91}]}}
    text = summary_text(make_result(search=optimised))
    assert _value(text, "start") == ("optimise (3 starts): 268050 evaluations, 571 s (9.5 min), "
                                     "best log posterior 15240.965 (each start: 15241.0, -35471.7, "
                                     "15240.9)")
    cheap = {**SEARCH, "initialisation": {
        **optimised["initialisation"], "optimiser_sub_size": 1, "polish": {"evaluations": 26600}}}
    assert _value(summary_text(make_result(search=cheap)), "start").endswith(
        "(each start, on 1 x 1 point(s) per pixel: 15241.0, -35471.7, 15240.9); polished under the "
        "fit's likelihood in 26600 evaluations")
    previous = {**SEARCH, "initialisation": {"mode": "previous", "matched_paths": ["a", "b"]}}
    assert _value(summary_text(make_result(search=previous)), "start") == \
        "previous: 2 parameters from earlier results"
    assert "start" not in [line.split()[0] for line in summary_text(make_result()).splitlines()
                           if line.strip()]
