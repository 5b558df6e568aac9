"""Fit subplot and corner plot (drawn by ``corner``): PNGs of the right size that are not blank."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.image import imread

from lenspipe.errors import ConfigError
from lenspipe.results.plots import corner_inches, corner_plot, fit_subplot, short_labels

from .synthetic import make_result


def _fit_arrays(shape=(20, 20), seed=0):
    rng = np.random.default_rng(seed)
    ny, nx = shape
    rows, cols = np.mgrid[:ny, :nx]
    y, x = (ny / 2 - 0.5 - rows) * 0.1, (cols - nx / 2 + 0.5) * 0.1
    mask = np.hypot(y, x) > 0.8
    model = np.exp(-np.hypot(y, x) / 0.3)
    data = model + rng.normal(0.0, 0.05, shape)
    residual = np.where(mask, 0.0, data - model)
    return dict(data=np.where(mask, 0.0, data), model_image=np.where(mask, 0.0, model),
                residual_map=residual, normalized_residual_map=residual / 0.05), mask


def _image(path):
    image = imread(path)
    assert image.std() > 0, "blank image"
    return image


def _check_png(path, size):
    assert path.is_file()
    image = _image(path)
    assert image.shape[:2] == size


def test_fit_subplot_size_and_content(tmp_path):
    arrays, mask = _fit_arrays()
    sy, sx = np.mgrid[:15, :15]
    path = fit_subplot(tmp_path / "fit.png", **arrays, mask=mask, pixel_scale=0.1,
                       source_image=np.exp(-((sy - 9) ** 2 + (sx - 6) ** 2) / 8.0),
                       source_extent=(-0.4, 0.4, -0.5, 0.5), title="lens_1 / mass_total",
                       lens_light_subtracted=arrays["data"] - arrays["model_image"])
    _check_png(path, (700, 1400))


def test_fit_subplot_with_nan_masked_data_and_no_mask(tmp_path):
    arrays, mask = _fit_arrays()
    for name in arrays:
        arrays[name] = np.where(mask, np.nan, arrays[name])
    path = fit_subplot(tmp_path / "sub" / "fit.png", **arrays, pixel_scale=0.1)
    _check_png(path, (700, 1400))


def test_fit_subplot_rejects_mismatched_shapes(tmp_path):
    arrays, mask = _fit_arrays()
    arrays["model_image"] = arrays["model_image"][:-1]
    with pytest.raises(ValueError, match="model_image"):
        fit_subplot(tmp_path / "fit.png", **arrays, mask=mask, pixel_scale=0.1)


def test_corner_plot_with_truths_from_a_result(tmp_path):
    result = make_result(n=400)
    paths = result.parameter_paths
    path = corner_plot(tmp_path / "corner.png", parameters=result.parameters,
                       weight=result.weight, paths=paths,
                       truths={"galaxies.lens.mass.einstein_radius": 1.0})
    side = round(corner_inches(len(paths)) * 100)
    _check_png(path, (side, side))


def test_corner_plot_selects_parameters_by_path_and_labels_them_with_units(tmp_path):
    from lenspipe.results.posterior_plot import unit_of

    result = make_result(n=400)
    paths = result.parameter_paths
    chosen = [p for p in paths if p.startswith("galaxies.lens.mass.centre")]
    assert 0 < len(chosen) < len(paths)
    path = corner_plot(tmp_path / "mass.png", parameters=result.parameters, weight=result.weight, paths=paths,
                       select=["galaxies.lens.mass.centre"])
    side = round(corner_inches(len(chosen)) * 100)
    _check_png(path, (side, side))
    with pytest.raises(ConfigError, match="no parameter path starts with galaxies.sauce"):
        corner_plot(tmp_path / "x.png", parameters=result.parameters, weight=result.weight, paths=paths,
                    select=["galaxies.sauce"])
    assert [unit_of(p) for p in ("galaxies.lens.mass.einstein_radius", "galaxies.lens.mass.centre.centre_0",
                                 "galaxies.lens.mass.ell_comps.ell_comps_1", "galaxies.lens.bulge.intensity",
                                 "galaxies.source.pixelization.regularization.coefficient")] == [
        '"', '"', "", "e-/s", ""]


def test_corner_plot_truncates_to_max_parameters(tmp_path):
    rng = np.random.default_rng(3)
    parameters = rng.normal(size=(300, 5))
    parameters[:, 4] = 2.0  # a constant parameter must not break the plot
    paths = [f"galaxies.lens.p{i}" for i in range(5)]
    path = corner_plot(tmp_path / "corner.png", parameters=parameters, weight=None,
                       paths=paths, max_parameters=2, bins=10)
    side = round(corner_inches(2) * 100)
    _check_png(path, (side, side))
    constant = corner_plot(tmp_path / "constant.png", parameters=parameters[:, 3:],
                           weight=np.ones(300), paths=paths[3:])
    _image(constant)
    # one parameter, with its truth
    single = corner_plot(tmp_path / "single.png", parameters=parameters[:, :1], weight=None, paths=paths[:1],
                         truths={paths[0]: 0.1})
    _check_png(single, (round(corner_inches(1) * 100),) * 2)


def test_corner_plot_rejects_mismatched_paths(tmp_path):
    with pytest.raises(ValueError, match="paths"):
        corner_plot(tmp_path / "c.png", parameters=np.zeros((10, 2)), weight=None, paths=["a"])


def test_short_labels():
    assert short_labels(["galaxies.lens.mass.einstein_radius",
                         "galaxies.lens.mass.centre.centre_0",
                         "galaxies.source.bulge.ell_comps.ell_comps_1",
                         "shear.gamma_1"]) == [
        "lens.mass.einstein_radius", "lens.mass.centre_0", "source.bulge.ell_comps_1",
        "shear.gamma_1"]
    # shortening that would merge two paths keeps them whole
    assert short_labels(["a.lens.mass.x", "b.lens.mass.x"]) == ["a.lens.mass.x", "b.lens.mass.x"]
