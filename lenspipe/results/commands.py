"""The ``lenspipe show`` command: a result file's summary, fit plot, source plot and corner plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["COMMANDS", "show_result"]


def add_show(subparsers) -> None:
    parser = subparsers.add_parser(
        "show", help="print a result's parameters and diagnostics; draw its plots",
        description="Print the parameters (median, 1 and 3 sigma), maximum log likelihood, "
        "convergence diagnostics and warnings of a result file; optionally write the fit subplot, the "
        "source-plane figure, the corner plot and the text summary to files.")
    parser.add_argument("result", help="result file (.h5)")
    parser.add_argument("--fit-plot", help="write the data/model/residuals/source PNG here (critical curves "
                                           "and caustics drawn)")
    parser.add_argument("--source-plot", help="write the source plane PNG here, zoomed to the source (a "
                                              "pixelized source: its reconstruction and noise map)")
    parser.add_argument("--corner-plot", help="write the corner plot PNG here")
    parser.add_argument("--corner-select", default="",
                        help="comma-separated path prefixes: only those parameters on the corner plot "
                             "(e.g. galaxies.lens.mass); default every free parameter")
    parser.add_argument("--summary", help="write the text summary here")
    parser.add_argument("--truth", help="a simulation's truth.json: drawn on the corner plot")
    parser.set_defaults(func=run_show)


def _pictures(result, fit):
    """What the fit and source figures share: curves, caustics, the source zoom and image."""
    from ..lensing.critical_curves import critical_curves_and_caustics
    from .rebuild import source_plane_image
    from .source_plot import source_zoom

    dataset = result.dataset
    fitted = fit.dataset.masked_grid
    half_width = float(np.max(np.abs(fitted))) + dataset.pixel_scale if len(fitted) else 2.0
    curves = critical_curves_and_caustics(fit.tracer, half_width=half_width, pixels=300)
    critical = {kind: curves[f"{kind}_critical_curves"] for kind in ("tangential", "radial")}
    caustics = {kind: curves[f"{kind}_caustics"] for kind in ("tangential", "radial")}
    reconstruction, image = result.reconstruction, None
    if reconstruction is not None:
        extent = source_zoom(reconstruction.vertices, reconstruction.values)
    else:
        broad, broad_extent = source_plane_image(fit, half_width, pixels=150)
        if broad is None:
            return critical, caustics, None, None, None
        ymin, ymax, xmin, xmax = broad_extent
        ys = np.linspace(ymax, ymin, broad.shape[0])
        xs = np.linspace(xmin, xmax, broad.shape[1])
        yy, xx = np.meshgrid(ys, xs, indexing="ij")
        extent = source_zoom(np.stack([yy.ravel(), xx.ravel()], axis=-1), broad.ravel())
        image, extent = _source_image_on(fit, extent)
    return critical, caustics, reconstruction, image, extent


def _source_image_on(fit, extent, pixels=150):
    """The parametric source's unlensed light on a square ``extent`` (row 0 at the top)."""
    from .rebuild import source_plane_image

    ymin, ymax, xmin, xmax = extent
    half = 0.5 * (ymax - ymin)
    image, box = source_plane_image(fit, half, pixels=pixels, centre=(0.5 * (ymin + ymax), 0.5 * (xmin + xmax)))
    return image, box


def show_result(path, fit_plot=None, corner_plot=None, summary=None, truth=None, source_plot=None,
                corner_select=()) -> str:
    """Summary text of a result file; writes the requested plots and text file."""
    from .plots import corner_plot as draw_corner
    from .plots import fit_subplot
    from .posterior_plot import select_parameters
    from .rebuild import fit_from_result
    from .result_file import read_result
    from .source_plot import source_plot as draw_source
    from .summary_text import summary_text

    truths = _read_truth(truth) if truth else None
    result = read_result(path)
    if corner_plot:  # a selection that matches nothing is refused before any file is written
        select_parameters(result.parameter_paths, list(corner_select))
    text = summary_text(result)
    title = f"{result.unique_tag} / {result.name}"
    if summary:
        Path(summary).write_text(text)
    if fit_plot or source_plot:
        best = int(result.log_likelihood.argmax())
        fit = fit_from_result(model=result.model, dataset=result.dataset,
                              max_log_likelihood_vector=result.parameters[best],
                              search=result.search)
        critical, caustics, reconstruction, image, extent = _pictures(result, fit)
    if fit_plot:
        lens_light = [image for image, plane in zip(fit.blurred_images,
                                                     fit.tracer.plane_index_of_galaxy)
                      if plane < len(fit.tracer.planes) - 1]
        subtracted = fit.data_image - sum(lens_light) if lens_light else None
        mesh = None if reconstruction is None else (reconstruction.vertices, reconstruction.values)
        fit_subplot(fit_plot, data=fit.data_image, model_image=fit.model_image,
                    residual_map=fit.residual_map,
                    normalized_residual_map=fit.normalized_residual_map,
                    source_image=image, source_extent=extent, mask=result.dataset.mask,
                    pixel_scale=result.dataset.pixel_scale, lens_light_subtracted=subtracted,
                    title=title, critical_curves=critical, caustics=caustics, source_mesh=mesh)
    if source_plot and extent is not None:
        draw_source(source_plot, extent=extent, reconstruction=reconstruction, image=image, caustics=caustics,
                    title=title)
    elif source_plot:  # no light in the source plane: an empty figure that says so
        draw_source(source_plot, extent=(-1.0, 1.0, -1.0, 1.0), caustics=caustics, title=f"{title} (no source light)")
    if corner_plot:
        draw_corner(corner_plot, parameters=result.parameters, weight=result.weight,
                    paths=result.parameter_paths, truths=truths, select=list(corner_select) or None,
                    title=title)
    return text


def _read_truth(path) -> dict:
    """{path: value} of a truth file (``lenspipe simulate --truth``), or a ConfigError naming it."""
    import json

    from ..errors import ConfigError

    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"--truth {str(path)!r} does not exist; give the truth.json that "
                          "`lenspipe simulate --truth` wrote, or leave --truth out") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ConfigError(f"--truth {str(path)!r} is not a readable JSON file: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("truth", document), dict):
        raise ConfigError(f"--truth {str(path)!r} must hold a JSON object (galaxy name -> "
                          f"components, or {{\"truth\": ...}}), got {type(document).__name__}")
    return _truth_values(document)


def _truth_values(truth: dict) -> dict:
    """{path: value} of a simulation's truth model (every parameter, tuples split)."""
    out = {}

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "class":
                    continue
                walk(value, f"{path}.{key}" if path else key)
        elif isinstance(node, (list, tuple)) and len(node) == 2:
            name = path.rsplit(".", 1)[-1]
            out[f"{path}.{name}_0"], out[f"{path}.{name}_1"] = map(float, node)
        elif isinstance(node, (int, float)):
            out[path] = float(node)

    walk({"galaxies": truth.get("truth", truth)}, "")
    return out


def run_show(args) -> int:
    select = [prefix.strip() for prefix in args.corner_select.split(",") if prefix.strip()]
    print(show_result(args.result, args.fit_plot, args.corner_plot, args.summary, args.truth,
                      source_plot=args.source_plot, corner_select=select))
    return 0


COMMANDS = [add_show]
