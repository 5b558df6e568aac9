"""The ``lenspipe show`` command: a result file's summary, fit plot and corner plot."""

from __future__ import annotations

from pathlib import Path

__all__ = ["COMMANDS", "show_result"]


def add_show(subparsers) -> None:
    parser = subparsers.add_parser(
        "show", help="print a result's parameters and diagnostics; draw its plots",
        description="Print the parameters (median, 1 and 3 sigma), maximum log likelihood and "
        "convergence diagnostics of a result file; optionally write the fit subplot, the "
        "corner plot and the text summary to files.")
    parser.add_argument("result", help="result file (.h5)")
    parser.add_argument("--fit-plot", help="write the data/model/residuals/source PNG here")
    parser.add_argument("--corner-plot", help="write the corner plot PNG here")
    parser.add_argument("--summary", help="write the text summary here")
    parser.add_argument("--truth", help="a simulation's truth.json: drawn on the corner plot")
    parser.set_defaults(func=run_show)


def show_result(path, fit_plot=None, corner_plot=None, summary=None, truth=None) -> str:
    """Summary text of a result file; writes the requested plots and text file."""
    from .plots import corner_plot as draw_corner
    from .plots import fit_subplot
    from .rebuild import fit_from_result, source_plane_image
    from .result_file import read_result
    from .summary_text import summary_text

    truths = _read_truth(truth) if truth else None
    result = read_result(path)
    text = summary_text(result)
    if summary:
        Path(summary).write_text(text)
    if fit_plot:
        best = int(result.log_likelihood.argmax())
        fit = fit_from_result(model=result.model, dataset=result.dataset,
                              max_log_likelihood_vector=result.parameters[best],
                              search=result.search)
        mask = result.dataset.mask
        half_width = 0.25 * result.dataset.pixel_scale * max(result.dataset.data.shape)
        source, extent = source_plane_image(fit, half_width)
        lens_light = [image for image, plane in zip(fit.blurred_images,
                                                     fit.tracer.plane_index_of_galaxy)
                      if plane < len(fit.tracer.planes) - 1]
        subtracted = fit.data_image - sum(lens_light) if lens_light else None
        fit_subplot(fit_plot, data=fit.data_image, model_image=fit.model_image,
                    residual_map=fit.residual_map,
                    normalized_residual_map=fit.normalized_residual_map,
                    source_image=source, source_extent=extent, mask=mask,
                    pixel_scale=result.dataset.pixel_scale, lens_light_subtracted=subtracted,
                    title=f"{result.unique_tag} / {result.name}")
    if corner_plot:
        draw_corner(corner_plot, parameters=result.parameters, weight=result.weight,
                    paths=result.parameter_paths, truths=truths,
                    title=f"{result.unique_tag} / {result.name}")
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
    print(show_result(args.result, args.fit_plot, args.corner_plot, args.summary, args.truth))
    return 0


COMMANDS = [add_show]
