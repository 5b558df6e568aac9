"""Queries that name what does not exist, overflow, nest too deep or reach Python internals,
and the diagnostics and fixed values a query can select on. Real result files, real sqlite."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from lenspipe.database import Aggregator, ingest
from lenspipe.errors import QueryError
from lenspipe.model import Collection, GaussianPrior, Model
from lenspipe.results.reconstruction import Reconstruction
from lenspipe.results.result_file import build_result, write_result
from results.synthetic import LpTestGalaxy, LpTestIsothermal, dataset, make_result, write


def _diagnostics(converged, tau, rhat):
    return {"nwalkers": 20, "max_steps": 100,
            "diagnostics": {"steps": 100, "converged": converged, "tau": tau, "rhat": rhat}}


def _fixed_mass_result(einstein_radius: float):
    """A fit whose lens mass is fixed (taken from an earlier stage): only its centre is free."""
    mass = Model(LpTestIsothermal, centre=(GaussianPrior(0.0, 0.1), GaussianPrior(0.0, 0.1)),
                 einstein_radius=einstein_radius)
    model = Collection(galaxies=Collection(lens=Model(LpTestGalaxy, redshift=0.5, mass=mass)))
    rng = np.random.default_rng(3)
    parameters = rng.normal(0.0, 0.05, size=(50, model.prior_count))
    reconstruction = Reconstruction("source", "Rectangular", "Constant", rng.normal(size=(9, 2)), rng.normal(size=9),
                                    np.ones(9), np.ones(9), -1234.5, {"chi_squared": 10.0})
    result = build_result(unique_tag="fixed_lens", name="light_lp", model=model,
                          search=_diagnostics(True, [2.0, 3.0], [1.001, 1.002]),
                          parameters=parameters, log_likelihood=-rng.uniform(1, 2, 50),
                          log_prior=np.zeros(50), dataset=dataset(7), profiling={"wall_time_s": 12.5},
                          reconstruction=reconstruction)
    result.summary["warnings"] = [{"code": "prior_edge", "message": "at the edge"},
                                  {"code": "positions_apart", "message": "apart"}]
    return result


@pytest.fixture
def database(tmp_path):
    folder = tmp_path / "results"
    write(folder, make_result(unique_tag="lens_1", einstein_radius=0.9, seed=1, info={"survey": "SLACS"},
                              search=_diagnostics(False, [40.0, 55.0], [1.2, 1.05])))
    write(folder, make_result(unique_tag="lens_2", einstein_radius=1.4, seed=2, data_seed=2,
                              search=_diagnostics(True, [4.0, 5.0], [1.001, 1.004])))
    write_result(folder / "fixed_lens" / "light_lp" / "result.h5", _fixed_mass_result(1.1), fsync=False)
    path = tmp_path / "lenspipe.sqlite"
    assert ingest(path, [folder]).ok
    return path


@pytest.mark.parametrize("expression, expected", [
    ("einstien_radius > 1", "no fit in this database has the parameter path 'einstien_radius'; the nearest "
                            "are 'galaxies.lens.mass.einstein_radius'"),
    ("galaxies.lens.mass.einstien_radius > 1", "'galaxies.lens.mass.einstein_radius'"),
    ("galaxies.lens.mas == LpTestIsothermal", "component path 'galaxies.lens.mas'; the nearest are "
                                              "'galaxies.lens.mass'"),
    ("info.surv == 'x'", "info key 'surv'"),
    ("latent.einstein_mas > 1", "latent variable 'einstein_mas'; the nearest are 'einstein_mass'"),
    ("galaxies.__class__.x == 1", "names in a query do not start with '_'"),
    ("(" * 329 + "unique_tag == 'a'" + ")" * 329, "nests parentheses and negations more than 50 levels"),
    ("unique_tag == '\ud800'", "lone surrogate"),
    ("unique_tag == 'a' | " * 700 + "unique_tag == 'b'", "the limit is 10000"),
])
def test_a_bad_query_is_a_query_error_that_says_why(database, expression, expected):
    with Aggregator.from_database(database) as agg:
        with pytest.raises(QueryError) as error:
            list(agg.query(expression))
    assert expected in str(error.value)


def test_python_values_out_of_range_and_unknown_columns_are_query_errors(database):
    with Aggregator.from_database(database) as agg:
        with pytest.raises(QueryError, match="too large to compare"):
            agg.query(agg.model.galaxies.lens.mass.einstein_radius > 10**400)
        with pytest.raises(QueryError, match="parameter path 'galaxies.lens.mass.radius'"):
            list(agg.rows(["unique_tag", "galaxies.lens.mass.radius"]))
        with pytest.raises(QueryError, match="info key 'nope'"):
            agg.order_by('info["nope"]')


def test_the_cli_names_a_misspelt_column(capsys, database):
    from lenspipe.cli import main

    code = main(["query", str(database), "--columns", "unique_tag,einstien_radius"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "parameter path 'einstien_radius'" in err and "galaxies.lens.mass.einstein_radius" in err


def test_converged_max_tau_rhat_and_wall_time_are_queryable(database):
    with Aggregator.from_database(database) as agg:
        assert sorted(agg.query("converged == true").values("unique_tag")) == ["fixed_lens", "lens_2"]
        assert list(agg.query("max_tau > 50").values("unique_tag")) == ["lens_1"]
        assert list(agg.query("rhat < 1.003").values("unique_tag")) == ["fixed_lens"]
        assert list(agg.query("wall_time_s > 10").values("unique_tag")) == ["fixed_lens"]
        assert list(agg.order_by("unique_tag").values("converged")) == [True, False, True]
        # a pixelized fit's log evidence (null for the parametric fits)
        assert list(agg.query("fit_log_evidence < -1000").values("unique_tag")) == ["fixed_lens"]
        assert list(agg.order_by("unique_tag").values("fit_log_evidence")) == [-1234.5, None, None]
        # the fits to look at: those with warnings, and which
        assert list(agg.query("warnings > 0").values("unique_tag")) == ["fixed_lens"]
        assert list(agg.order_by("unique_tag").values("warnings")) == [2, 0, 0]
        assert list(agg.query("warning_codes == 'prior_edge,positions_apart'").values("unique_tag")) == ["fixed_lens"]


def test_fit_summary_has_the_diagnostics_columns(database):
    with sqlite3.connect(database) as connection:
        rows = connection.execute('SELECT "unique_tag", "converged", "steps", "max_tau", "rhat", "wall_time_s", '
                                  '"fit_log_evidence", "warnings", "warning_codes" FROM "fit_summary" '
                                  'ORDER BY "unique_tag"').fetchall()
    assert rows == [("fixed_lens", 1, 100, 3.0, 1.002, 12.5, -1234.5, 2, "prior_edge,positions_apart"),
                    ("lens_1", 0, 100, 55.0, 1.2, None, None, 0, None), ("lens_2", 1, 100, 5.0, 1.004, None, None, 0, None)]


def test_a_value_is_found_whether_free_or_fixed(database):
    with Aggregator.from_database(database) as agg:
        found = agg.query("galaxies.lens.mass.einstein_radius > 1.0").order_by("unique_tag")
        assert list(found.values("unique_tag")) == ["fixed_lens", "lens_2"]
        row = next(agg.query("unique_tag == 'fixed_lens'").rows(["galaxies.lens.mass.einstein_radius.lower_3"]))
        assert row == {"galaxies.lens.mass.einstein_radius.lower_3": 1.1}
