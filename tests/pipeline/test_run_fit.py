"""run_fit records what its likelihood depended on, and a rebuilt fit applies it again."""

import numpy as np
import pytest

from lenspipe.data import read_dataset, write_dataset
from lenspipe.model import Model
from lenspipe.pipeline.datasets import simulate_dataset
from lenspipe.pipeline.run import FitRequest, run_fit
from lenspipe.results import read_result
from lenspipe.errors import CheckpointError, ConfigError
from lenspipe.results.rebuild import adapt_images_from, analysis_from_result
from lenspipe.settings import FitSettings

SPEC = {
    "name": "tiny", "shape": [24, 24], "pixel_scale": 0.1, "psf_sigma": 0.08, "psf_shape": [5, 5],
    "exposure_time": 2000.0, "background_sky": 0.1, "mask_radius": 1.1,
    "truth": {
        "lens": {"bulge": {"class": "SersicSph", "centre": [0.0, 0.0], "intensity": 0.5,
                           "effective_radius": 0.5, "sersic_index": 2.0},
                 "mass": {"class": "IsothermalSph", "centre": [0.0, 0.0], "einstein_radius": 0.7}},
        "source": {"bulge": {"class": "ExponentialSph", "centre": [0.05, 0.05], "intensity": 1.0,
                             "effective_radius": 0.15}},
    },
}
MODEL = {"galaxies": {
    "lens": {"bulge": {"class": "SersicSphLinear", "centre": [0.0, 0.0], "sersic_index": 2.0},
             "mass": {"class": "IsothermalSph", "centre": [0.0, 0.0]}},
    "source": {"bulge": {"class": "ExponentialSphLinear", "centre": [0.05, 0.05]}},
}}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A short fit of a dataset with two image positions, a 0.01" threshold, and WMAP9."""
    folder = tmp_path_factory.mktemp("run_fit")
    simulate_dataset(SPEC, seed=3, out=folder / "simulated.fits")
    imaging, mask, _, provenance = read_dataset(folder / "simulated.fits")
    positions = np.array([[0.75, 0.05], [-0.65, 0.05]])
    write_dataset(folder / "dataset.fits", imaging, mask, positions=positions,
                  provenance={**provenance, "positions_threshold": 0.01})
    settings = FitSettings.from_dict({"initialise": "prior", "cosmology": "WMAP9",
                                      "search": {"nwalkers": 8, "max_steps": 10, "checkpoint_every": 10}})
    request = FitRequest(dataset=str(folder / "dataset.fits"), model_spec=MODEL, settings=settings,
                         out=str(folder / "result.h5"), stage="source_lp", unique_tag="tiny",
                         seed=2, threads=1)
    run_fit(request)
    return folder


@pytest.fixture(scope="module")
def fitted(folder):
    return read_result(folder / "result.h5")


def test_the_search_json_records_the_settings_with_the_datasets_threshold(fitted):
    settings = FitSettings.from_dict(fitted.search["settings"])
    assert settings.positions.threshold == 0.01  # unset in the request: the dataset's, resolved
    assert settings.cosmology == "WMAP9"
    assert settings.search.nwalkers == 8 and settings.initialise.mode == "prior"
    assert fitted.search["settings_hash"] == settings.identity_hash()
    assert fitted.search["initialisation"] == {"mode": "prior"}
    # ten steps do not converge: the summary says so among its warnings
    assert "not_converged" in [warning["code"] for warning in fitted.summary["warnings"]]


def test_a_rebuilt_analysis_gives_the_samplers_log_likelihood(fitted):
    model = Model.from_dict(fitted.model)
    analysis = analysis_from_result(dataset=fitted.dataset, search=fitted.search)
    assert analysis.cosmology.name == "WMAP9"
    order = np.argsort(fitted.log_likelihood)
    rows = order[[0, len(order) // 2, -1]]
    for row in rows:
        instance = model.instance_from_vector(fitted.parameters[row])
        assert analysis.log_likelihood_function(instance) == pytest.approx(
            fitted.log_likelihood[row], rel=1e-12, abs=1e-9)
    # The penalty (1e8 per arcsec of excess separation) is active at the poorest sample:
    # without it the same model scores far higher.
    unpenalised = {**fitted.search["settings"], "positions": {"threshold": 0.0}}
    plain = analysis_from_result(dataset=fitted.dataset, search={**fitted.search, "settings": unpenalised})
    worst = model.instance_from_vector(fitted.parameters[rows[0]])
    assert plain.log_likelihood_function(worst) > fitted.log_likelihood[rows[0]] + 1e3


def _settings(max_steps, **sections):
    return FitSettings.from_dict({"initialise": "prior", **sections,
                                  "search": {"nwalkers": 8, "checkpoint_every": 10, "max_steps": max_steps}})


def test_a_fit_that_ran_out_of_steps_is_extended_by_raising_max_steps(folder, tmp_path):
    """max_steps is a budget, not part of the checkpoint's identity: rerunning with a
    larger one resumes, and the chain equals one run with the larger budget."""
    dataset = tmp_path / "dataset.fits"
    dataset.write_bytes((folder / "dataset.fits").read_bytes())
    common = dict(dataset=str(dataset), model_spec=MODEL, stage="source_lp", unique_tag="tiny",
                  seed=2, threads=1)
    short = FitRequest(out=str(tmp_path / "short.h5"), settings=_settings(10), keep_checkpoint=True, **common)
    first = run_fit(short)
    assert (tmp_path / "short.checkpoint.h5").exists()  # the default checkpoint is derived from --out
    extended = run_fit(FitRequest(out=str(tmp_path / "short.h5"), settings=_settings(20), **common))
    whole = run_fit(FitRequest(out=str(tmp_path / "whole.h5"), settings=_settings(20), **common))
    assert extended.search["diagnostics"]["resumed_from_step"] == 10
    assert extended.search["diagnostics"]["steps"] == whole.search["diagnostics"]["steps"] == 20
    np.testing.assert_array_equal(extended.parameters, whole.parameters)
    np.testing.assert_array_equal(extended.log_likelihood, whole.log_likelihood)
    # The budget is not part of the result's identity either: the extended fit is the same fit.
    assert first.identifier == extended.identifier == whole.identifier


@pytest.mark.parametrize("changed, setting", [
    ({"likelihood": {"over_sampling": "uniform"}}, "likelihood.over_sampling"),
    ({"cosmology": "Planck18"}, "cosmology"),
    ({"positions": {"threshold": 0.5}}, "positions.threshold"),
])
def test_a_checkpoint_made_under_other_settings_is_refused(folder, tmp_path, changed, setting):
    """A rerun whose likelihood, cosmology or positions settings changed never continues the old
    chain: the refusal names the setting and how to start afresh, and nothing is written."""
    dataset = tmp_path / "dataset.fits"
    dataset.write_bytes((folder / "dataset.fits").read_bytes())
    common = dict(dataset=str(dataset), model_spec=MODEL, stage="source_lp", unique_tag="tiny",
                  seed=2, threads=1)
    out = tmp_path / "result.h5"
    run_fit(FitRequest(out=str(out), settings=_settings(10), keep_checkpoint=True, **common))
    before = out.read_bytes()
    with pytest.raises(CheckpointError, match=rf"setting {setting}: checkpoint .*Delete .*result\.checkpoint\.h5"):
        run_fit(FitRequest(out=str(out), settings=_settings(10, **changed), **common))
    assert out.read_bytes() == before


def test_two_fits_in_one_folder_do_not_share_a_checkpoint(folder, tmp_path):
    """By hand, two fits written to one folder each get their own checkpoint: the second starts
    afresh (no 'resuming'), and its chain equals the same fit run alone."""
    dataset = tmp_path / "dataset.fits"
    dataset.write_bytes((folder / "dataset.fits").read_bytes())
    common = dict(dataset=str(dataset), model_spec=MODEL, stage="source_lp", unique_tag="tiny", threads=1)
    run_fit(FitRequest(out=str(tmp_path / "a.h5"), seed=2, settings=_settings(10), keep_checkpoint=True, **common))
    second = run_fit(FitRequest(out=str(tmp_path / "b.h5"), seed=5, settings=_settings(10), keep_checkpoint=True,
                                **common))
    alone = tmp_path / "alone"
    alone.mkdir()
    reference = run_fit(FitRequest(out=str(alone / "b.h5"), seed=5, settings=_settings(10), **common))
    assert second.search["diagnostics"].get("resumed_from_step") in (None, 0)
    assert {p.name for p in tmp_path.glob("*.checkpoint.h5")} == {"a.checkpoint.h5", "b.checkpoint.h5"}
    np.testing.assert_array_equal(second.parameters, reference.parameters)


def test_an_output_path_equal_to_an_input_is_refused(folder, tmp_path):
    dataset = tmp_path / "dataset.fits"
    dataset.write_bytes((folder / "dataset.fits").read_bytes())
    before = dataset.read_bytes()
    with pytest.raises(ConfigError, match="overwrite an input"):
        run_fit(FitRequest(dataset=str(dataset), out=str(dataset), model_spec=MODEL, settings=_settings(10)))
    assert dataset.read_bytes() == before


def test_the_checkpoint_is_removed_after_success_unless_kept(folder, tmp_path):
    """A finished fit's samples are all in its result: the checkpoint goes, unless asked for."""
    dataset = tmp_path / "dataset.fits"
    dataset.write_bytes((folder / "dataset.fits").read_bytes())
    common = dict(dataset=str(dataset), model_spec=MODEL, stage="source_lp", unique_tag="tiny", threads=1,
                  seed=2, settings=_settings(10))
    run_fit(FitRequest(out=str(tmp_path / "a.h5"), **common))
    run_fit(FitRequest(out=str(tmp_path / "b.h5"), keep_checkpoint=True, **common))
    assert sorted(p.name for p in tmp_path.glob("*.h5")) == ["a.h5", "b.checkpoint.h5", "b.h5"]


def test_a_pixelized_stage_adapts_to_the_previous_stage_and_its_result_rebuilds(folder, fitted, tmp_path):
    """source_pix after source_lp: the previous stage's galaxy images are the adapt images, stored
    with the dataset; the rebuilt fit gives the sampler's log evidence and finite latents."""
    pixelized = {"galaxies": {
        "lens": {"bulge": {"instance": "source_lp"}, "mass": {"priors_from": "source_lp"}},
        "source": {"pixelization": {"class": "Pixelization", "mesh": {"class": "Rectangular", "shape": [12, 12]},
                                    "regularization": "Adapt"}}}}
    result = run_fit(FitRequest(dataset=str(folder / "dataset.fits"), model_spec=pixelized, out=str(tmp_path / "pix.h5"),
                                stage="source_pix", unique_tag="tiny", seed=4, threads=1,
                                previous={"source_lp": str(folder / "result.h5")},
                                settings=FitSettings.from_dict({"search": {"nwalkers": 12, "max_steps": 10,
                                                                           "checkpoint_every": 10},
                                                                "inversion": {"positive_only": True}})))
    stored = read_result(tmp_path / "pix.h5")
    # the adapt images are source_lp's galaxy images, rebuilt bit for bit from its result
    expected = adapt_images_from(fitted)
    assert set(stored.dataset.adapt_images) == set(expected) == {"lens", "source"}
    for name, image in expected.items():
        np.testing.assert_array_equal(stored.dataset.adapt_images[name], image)
    assert stored.dataset.adapt_images["lens"].shape == (int((~stored.dataset.mask).sum()),)
    assert stored.dataset.adapt_images["lens"].max() > 0
    for image in stored.dataset.adapt_images.values():  # floored at 1 % of the maximum, as PyAutoGalaxy
        assert image.min() >= 0.01 * image.max()
    fit = stored.fit
    assert fit.inversion is not None and np.isfinite(fit.log_evidence)
    best = int(np.argmax(stored.log_likelihood))
    # the figure of merit the sampler saw: the log evidence minus the positions penalty (zero at the best)
    assert fit.figure_of_merit == pytest.approx(stored.log_likelihood[best], rel=1e-10)
    # A non-negative source has a finite, positive magnification at every sample (an unconstrained
    # one can integrate to a negative flux behind a short chain's lens light; its magnification is
    # then undefined and left out of the latents rather than given a sentinel).
    assert fit.inversion.reconstruction.min() >= 0
    latent = result.summary["latent"]
    assert np.isfinite(latent["magnification"]["median"]) and latent["magnification"]["median"] > 0
    # the stored reconstruction is the rebuilt fit's, and its log evidence the summary's fit_log_evidence
    reconstruction = stored.reconstruction
    assert (reconstruction.galaxy, reconstruction.mesh, reconstruction.regularization) == ("source", "Rectangular",
                                                                                           "Adapt")
    np.testing.assert_allclose(reconstruction.values, fit.inversion.reconstruction, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(reconstruction.noise_map, fit.inversion.reconstruction_noise_map, rtol=1e-9)
    np.testing.assert_array_equal(reconstruction.vertices, fit.inversion.mapper.vertices)
    assert reconstruction.vertices.shape == (144, 2) and np.all(reconstruction.noise_map > 0)
    assert stored.summary["fit_log_evidence"] == pytest.approx(fit.log_evidence, rel=1e-10)
    assert reconstruction.log_evidence == pytest.approx(fit.log_evidence, rel=1e-10)
    assert sum(reconstruction.terms[k] for k in ("chi_squared", "regularization_term", "log_det_curvature_reg",
                                                 "noise_normalization")) - reconstruction.terms[
        "log_det_regularization"] == pytest.approx(-2 * fit.log_evidence, rel=1e-10)
    from lenspipe.results.summary_text import summary_text

    assert f"fit log evidence        {fit.log_evidence:.3f} (Rectangular 144 pixels, Adapt)" in summary_text(stored)
    # a parametric stage stores none
    assert read_result(folder / "result.h5").reconstruction is None
    assert "fit log evidence" not in summary_text(fitted)
    # the database: the reconstruction and adapt images through values(), and values("fit") rebuilds the
    # pixelized fit (Adapt regularization needs the adapt images)
    from lenspipe.database import Aggregator, ingest

    database = tmp_path / "db.sqlite"
    assert ingest(database, [tmp_path / "pix.h5", folder / "result.h5"], jobs=1).ok
    with Aggregator.from_database(database) as agg:
        pix = agg.query("name == 'source_pix'")
        rebuilt = next(pix.values("fit"))
        assert rebuilt.log_evidence == pytest.approx(fit.log_evidence, rel=1e-12)
        from_db = next(pix.values("reconstruction"))
        np.testing.assert_array_equal(from_db.values, reconstruction.values)
        assert (from_db.mesh, from_db.log_evidence) == ("Rectangular", reconstruction.log_evidence)
        adapt = next(pix.values("adapt_images"))
        assert set(adapt) == {"lens", "source"}
        np.testing.assert_array_equal(adapt["source"], stored.dataset.adapt_images["source"])
        assert list(agg.query("name == 'source_lp'").values("reconstruction")) == [None]
        assert list(agg.query("fit_log_evidence > -1e30").values("name")) == ["source_pix"]
        # the mesh and regularization are model components
        assert len(agg.query(agg.model.galaxies.source.pixelization.mesh == "Rectangular")) == 1
        assert len(agg.query(agg.model.galaxies.source.pixelization.regularization == "Adapt")) == 1
        assert len(agg.query(agg.model.galaxies.source.pixelization.mesh == "Delaunay")) == 0
    # the pictures: fit subplot with critical curves, the reconstruction and its noise map, the corner plot
    from matplotlib.image import imread

    from lenspipe.results.commands import show_result

    pictures = {name: tmp_path / f"{name}.png" for name in ("fit", "source", "corner")}
    show_result(tmp_path / "pix.h5", fit_plot=pictures["fit"], source_plot=pictures["source"],
                corner_plot=pictures["corner"], corner_select=["galaxies.lens.mass"])
    shapes = {name: imread(path).shape[:2] for name, path in pictures.items()}
    assert shapes["fit"] == (700, 1400) and shapes["source"] == (520, 1200)
    assert all(imread(path).std() > 0 for path in pictures.values())
    assert fitted.summary["fit_log_evidence"] is None
    # `previous`: the regularization, which source_lp did not fit, was optimised before the walkers started
    unmatched = stored.search["initialisation"]["unmatched"]
    assert unmatched["paths"] == [p for p in stored.parameter_paths if ".regularization." in p]
    assert 0 < unmatched["evaluations"] <= 3000
    # a later stage with that pixelized source as an instance keeps the adapt images its regularization was
    # fitted with (source_pix's own, i.e. source_lp's images), not source_pix's model images
    light = {"galaxies": {"lens": {"bulge": {"class": "MGE", "total_gaussians": 4, "sigma_min": 0.05, "sigma_max": 1.0},
                                   "mass": {"instance": "source_pix"}},
                          "source": {"instance": "source_pix"}}}
    later = run_fit(FitRequest(dataset=str(folder / "dataset.fits"), model_spec=light, out=str(tmp_path / "light.h5"),
                               stage="light_lp", unique_tag="tiny", seed=5, threads=1,
                               previous={"source_lp": str(folder / "result.h5"), "source_pix": str(tmp_path / "pix.h5")},
                               settings=FitSettings.from_dict({"search": {"nwalkers": 12, "max_steps": 2,
                                                                          "checkpoint_every": 2}})))
    for name, image in stored.dataset.adapt_images.items():
        np.testing.assert_array_equal(later.dataset.adapt_images[name], image)
    assert np.max(np.abs(adapt_images_from(stored)["source"] - stored.dataset.adapt_images["source"])) > 0


def test_a_corrupted_reconstruction_fails_its_checksum(folder, fitted, tmp_path):
    """One changed value of the stored reconstruction is found before the file is believed."""
    import h5py

    from lenspipe.errors import ResultFileError
    from lenspipe.results.reconstruction import Reconstruction
    from lenspipe.results.result_file import write_result

    import dataclasses

    rng = np.random.default_rng(0)
    reconstruction = Reconstruction("source", "Delaunay", "Constant", rng.normal(size=(30, 2)), rng.normal(size=30),
                                    rng.uniform(1, 2, 30), rng.uniform(1, 2, 30), -12.5, {"chi_squared": 1.0})
    path = write_result(tmp_path / "with.h5", dataclasses.replace(fitted, reconstruction=reconstruction))
    np.testing.assert_array_equal(read_result(path).reconstruction.values, reconstruction.values)
    with h5py.File(path, "r+") as f:
        f["reconstruction/values"][3] += 1e-9
    with pytest.raises(ResultFileError, match="reconstruction document fails its checksum"):
        read_result(path)


def test_the_optimiser_evaluates_a_cheaper_likelihood_unless_told_not_to(folder):
    """optimiser_sub_size = 1: the same analysis on one point per pixel (the same positions penalty and
    cosmology), which differs from the fit's adaptive one; 0: the fit's own evaluator."""
    from lenspipe.fit.likelihood import LikelihoodEvaluator
    from lenspipe.pipeline.run import _optimiser_evaluator
    from lenspipe.pipeline.stages import stage_model_from
    from lenspipe.results.rebuild import analysis_from_settings

    imaging, mask, positions, _ = read_dataset(folder / "dataset.fits")
    model = stage_model_from(MODEL, {}, (0.5, 1.0), 3.0)
    vectors = model.vector_from_unit_vector(np.random.default_rng(1).uniform(0.3, 0.7, (6, model.prior_count)))
    for sub_size in (0, 1, 2):
        settings = FitSettings.from_dict({"initialise": {"mode": "optimise", "optimiser_sub_size": sub_size},
                                          "positions": {"threshold": 0.01}, "cosmology": "WMAP9"})
        fit = LikelihoodEvaluator(model, analysis_from_settings(imaging, mask, positions, settings), threads=1)
        chosen = _optimiser_evaluator(model, imaging, mask, positions, settings, {}, fit, 1)
        if sub_size == 0:
            assert chosen is fit
            continue
        uniform = FitSettings.from_dict({"likelihood": {"over_sampling": "uniform", "sub_size": sub_size},
                                         "positions": {"threshold": 0.01}, "cosmology": "WMAP9"})
        expected = LikelihoodEvaluator(model, analysis_from_settings(imaging, mask, positions, uniform), threads=1)
        np.testing.assert_allclose(chosen(vectors), expected(vectors), rtol=1e-12)
        assert np.abs(chosen(vectors) - fit(vectors)).max() > 1.0  # another image: other chi-squared


def test_too_few_walkers_are_raised_and_said(caplog):
    from lenspipe.pipeline.run import _search_from
    from lenspipe.settings import SearchSettings

    with caplog.at_level("WARNING", logger="lenspipe.fit"):
        assert _search_from(SearchSettings(nwalkers=12), seed=1, n_parameters=19).nwalkers == 40
        assert _search_from(SearchSettings(nwalkers=41), seed=1, n_parameters=19).nwalkers == 42
        assert _search_from(SearchSettings(), seed=1, n_parameters=19).nwalkers == 40  # the default: silent
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["search.nwalkers = 12 raised to 40",
                                                                      "search.nwalkers = 41 raised to 42"]


def test_a_pixelized_stage_without_positions_gets_them_from_the_parametric_stage(folder, fitted):
    """No positions in the dataset: an earlier stage's positions are passed on with their threshold;
    without any, the multiple images of the parametric source's centre under its maximum-likelihood
    model are solved, with threshold max(3 x their source-plane separation, 0.2")."""
    import dataclasses

    from lenspipe.pipeline.run import automatic_positions

    _, mask, _, _ = read_dataset(folder / "dataset.fits")
    positions, threshold, record = automatic_positions({"source_lp": fitted}, ["source_lp"], mask)
    np.testing.assert_array_equal(positions, fitted.dataset.positions)
    assert threshold == 0.01 and record["passed_on"] and record["from_stage"] == "source_lp"

    bare = dataclasses.replace(fitted, dataset=dataclasses.replace(fitted.dataset, positions=np.zeros((0, 2))))
    positions, threshold, record = automatic_positions({"source_lp": bare}, ["source_lp"], mask)
    tracer = bare.fit.tracer
    assert len(positions) >= 2 and record["images"] == len(positions) and record["from_stage"] == "source_lp"
    centre = record["source_centre"]
    np.testing.assert_allclose(tracer.traced_grids_from(positions)[-1], np.tile(centre, (len(positions), 1)),
                               atol=1e-6)
    assert threshold == max(3 * record["separation"], 0.2)


def test_a_held_mesh_without_an_earlier_stage_is_a_named_error_before_any_work(folder, tmp_path):
    """inversion.hold_mesh builds the mesh from an earlier stage's best mass; a first stage has none."""
    pixelized = {"galaxies": {
        "lens": {"mass": {"class": "IsothermalSph", "centre": [0.0, 0.0]}},
        "source": {"pixelization": {"class": "Pixelization", "mesh": {"class": "Rectangular", "shape": [8, 8]},
                                    "regularization": "Constant"}}}}
    request = FitRequest(dataset=str(folder / "dataset.fits"), model_spec=pixelized, out=str(tmp_path / "pix.h5"),
                         stage="source_pix", unique_tag="tiny", seed=4, threads=1,
                         settings=FitSettings.from_dict({"inversion": {"hold_mesh": True},
                                                         "search": {"nwalkers": 8, "max_steps": 10}}))
    with pytest.raises(ConfigError, match="inversion.hold_mesh builds the source mesh from an earlier stage"):
        run_fit(request)
    assert list(tmp_path.iterdir()) == []
