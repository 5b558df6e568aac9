"""The pixelized SLaM chain through real Snakemake (.test/config/pixelized.yaml): a parametric start,
two pixelized stages whose positions are solved from the first and whose adapt images come through
the result files, then the lens light and a power-law mass on the pixelized source."""

from __future__ import annotations

import numpy as np
import pytest

from lenspipe.database import Aggregator
from lenspipe.results.result_file import read_result

from .conftest import REPO, snakemake

PIXELIZED = REPO / ".test" / "config" / "pixelized.yaml"
STAGES = ("source_lp", "source_pix_1", "source_pix_2", "light_lp", "mass_total")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("pixelized")
    snakemake(workdir, "--cores", "2", configfile=PIXELIZED, timeout=1200, check=True)
    return workdir


@pytest.mark.slow
def test_every_stage_of_the_pixelized_chain_runs_and_passes_on(chain):
    folder = chain / "results" / "tiny_1"
    results = {stage: read_result(folder / stage / "result.h5") for stage in STAGES}
    for stage in STAGES:
        for name in ("fit.png", "source.png", "corner.png", "summary.txt"):
            assert (folder / stage / name).stat().st_size > 0, (stage, name)
    # source_lp has no reconstruction; every later stage solves the pixelized source
    assert results["source_lp"].reconstruction is None
    meshes = {stage: results[stage].reconstruction.mesh for stage in STAGES[1:]}
    assert meshes == {"source_pix_1": "Rectangular", "source_pix_2": "Delaunay", "light_lp": "Delaunay",
                      "mass_total": "Delaunay"}
    # positions: solved from source_lp's source (the dataset gives none), then passed on
    automatic = results["source_pix_1"].info["positions"]
    assert automatic["from_stage"] == "source_lp" and automatic["images"] >= 2 and automatic["threshold"] >= 0.2
    first = results["source_pix_1"].dataset.positions
    assert len(first) == automatic["images"]
    for stage in STAGES[2:]:
        np.testing.assert_array_equal(results[stage].dataset.positions, first)
        assert results[stage].info["positions"]["passed_on"]
    # adapt images: a stage that fits a pixelization adapts to the previous stage's galaxy images; the stages
    # that hold source_pix_2's source fixed keep the images its regularization was fitted with (SLaM's rule)
    assert set(results["source_pix_1"].dataset.adapt_images) == {"lens", "source"}
    # source_pix_1 holds its regularization at the evidence's optimum and samples the mass; source_pix_2,
    # with the mass fixed, fits the regularization (not fitted before, so optimised first, then sampled)
    held = results["source_pix_1"].search["initialisation"]["held"]
    assert sorted(held) == sorted(f"galaxies.source.pixelization.regularization.{name}"
                                  for name in ("inner_coefficient", "outer_coefficient", "signal_scale"))
    assert results["source_pix_1"].parameter_paths == ["galaxies.lens.mass.einstein_radius"]
    assert set(results["source_pix_2"].search["initialisation"]["unmatched"]["paths"]) == set(held)
    assert set(results["source_pix_2"].parameter_paths) == set(held)
    for stage in ("light_lp", "mass_total"):
        for name, image in results["source_pix_2"].dataset.adapt_images.items():
            np.testing.assert_array_equal(results[stage].dataset.adapt_images[name], image)
    for stage in STAGES[1:]:
        assert results[stage].summary["fit_log_evidence"] == pytest.approx(
            results[stage].reconstruction.log_evidence, rel=1e-12)
    # inversion.hold_mesh: each pixelized stage's mesh is held at the last earlier stage's best model
    for stage, earlier in [("source_pix_1", "source_lp"), ("source_pix_2", "source_pix_1"),
                           ("light_lp", "source_pix_2"), ("mass_total", "light_lp")]:
        reference = results[stage].dataset.mesh_reference
        assert reference["model"] == results[earlier].model, stage
        np.testing.assert_array_equal(reference["vector"], results[earlier].max_log_likelihood_vector)
    assert results["source_lp"].dataset.mesh_reference is None
    # the database: the fits with warnings, and each pixelized stage's evidence and mesh
    with Aggregator.from_database(chain / "results" / "lenspipe.sqlite") as agg:
        assert len(agg) == 5
        assert sorted(agg.query("fit_log_evidence > -1e300").values("name")) == sorted(STAGES[1:])
        # the Delaunay source of source_pix_2, and the stages that hold it fixed
        assert len(agg.query(agg.model.galaxies.source.pixelization.mesh == "Delaunay")) == 3
        fits = {name: fit for name, fit in zip(agg.values("name"), agg.values("fit"))}
        for stage in STAGES[1:]:  # rebuilt on the held mesh the fit used
            assert fits[stage].log_evidence == pytest.approx(results[stage].summary["fit_log_evidence"], rel=1e-10)
        assert all(count >= 1 for count in agg.values("warnings"))  # 20 steps: none converged
