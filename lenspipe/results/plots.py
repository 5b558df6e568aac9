"""Figures of a fit: the fit subplot (the corner plot is :mod:`.posterior_plot`).

The functions here draw on a :class:`matplotlib.figure.Figure` with its own
:class:`~matplotlib.backends.backend_agg.FigureCanvasAgg`; pyplot is never
imported, so no global state (backend, current figure, rcParams) changes, the
functions are safe to call from threads and an interactive user's backend is
left alone. Images follow ``shared/CONVENTIONS.md``: row 0 at the top (largest
y), axes in arcsec with the image centre at (0, 0).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


__all__ = ["fit_subplot", "corner_plot", "short_labels", "corner_inches", "draw_curves", "mesh_panel"]

from .posterior_plot import corner_inches, corner_plot, short_labels  # noqa: E402  (their home since issue 15)

DPI = 100
FIT_INCHES = (14.0, 7.0)  # 1400 x 700 pixels at DPI
NORMALIZED_RANGE = 3.0  # normalised residuals are drawn from -3 to +3 sigma


def _cmap(name: str):
    """A copy of a registered colormap whose bad (masked, NaN) colour is blank."""
    return matplotlib.colormaps[name].with_extremes(bad=(1.0, 1.0, 1.0, 0.0))


def _new_figure(width: float, height: float, **kwargs) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, **kwargs)
    FigureCanvasAgg(figure)
    return figure


def _save(figure: Figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI, format="png")
    return path


# --------------------------------------------------------------------------- fit subplot


def _image_extent(shape, pixel_scale: float):
    """(left, right, bottom, top) arcsec of an image centred on (0, 0)."""
    ny, nx = shape
    half_x, half_y = 0.5 * nx * pixel_scale, 0.5 * ny * pixel_scale
    return (-half_x, half_x, -half_y, half_y)


def _fitted_pixels(mask, data, normalized_residual_map):
    """Boolean image, True where a pixel was fitted (not masked out, finite)."""
    if mask is not None:
        fitted = ~np.asarray(mask, dtype=bool)
    else:
        fitted = np.ones(data.shape, dtype=bool)
    return fitted & np.isfinite(data) & np.isfinite(normalized_residual_map)


def _blanked(array, fitted):
    """``array`` as a masked array hiding masked-out and non-finite pixels."""
    return np.ma.masked_array(array, mask=~fitted | ~np.isfinite(array))


def _limits(*arrays):
    """(vmin, vmax) over the unmasked values of masked arrays, never equal."""
    values = np.concatenate([np.ma.compressed(a) for a in arrays])
    if values.size == 0:
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    if high <= low:
        pad = 1e-3 * max(abs(low), 1.0)
        low, high = low - pad, high + pad
    return low, high


def _symmetric(*arrays):
    low, high = _limits(*arrays)
    bound = max(abs(low), abs(high)) or 1.0
    return -bound, bound


def _zoom(ax, fitted, pixel_scale):
    """Limit an image panel to the fitted pixels' bounding box plus one pixel."""
    rows, cols = np.nonzero(fitted)
    if rows.size == 0:
        return
    ny, nx = fitted.shape
    x = (np.array([cols.min() - 1, cols.max() + 2]) - 0.5 * nx) * pixel_scale
    y = (0.5 * ny - np.array([rows.max() + 2, rows.min() - 1])) * pixel_scale
    half = 0.5 * max(x[1] - x[0], y[1] - y[0])  # square, about the box centre
    cx, cy = x.mean(), y.mean()
    ax.set_xlim(cx - half, cx + half)
    ax.set_ylim(cy - half, cy + half)


def _decorate(figure, ax, image, title, units):
    """Title, arcsec axis labels and a colour bar in ``units`` for a drawn panel."""
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("x (arcsec)", fontsize=8)
    ax.set_ylabel("y (arcsec)", fontsize=8)
    ax.tick_params(labelsize=7)
    bar = figure.colorbar(image, ax=ax, shrink=0.85)
    bar.set_label(units, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return image


def _panel(figure, ax, array, *, extent, cmap, vmin, vmax, title, units):
    image = ax.imshow(array, origin="upper", extent=extent, cmap=_cmap(cmap), vmin=vmin,
                      vmax=vmax, interpolation="nearest")
    return _decorate(figure, ax, image, title, units)


#: How critical curves and caustics are drawn: tangential solid, radial dashed.
CURVE_STYLES = {"tangential": dict(color="white", linewidth=1.0, linestyle="-"),
                "radial": dict(color="orange", linewidth=1.0, linestyle="--")}


def draw_curves(ax, curves):
    """Draw ``{"tangential": [(M, 2) (y, x)], "radial": [...]}`` curves on an axis (limits kept)."""
    limits = ax.get_xlim(), ax.get_ylim()
    for kind, lines in (curves or {}).items():
        for line in lines:
            line = np.asarray(line, dtype=float)
            ax.plot(line[:, 1], line[:, 0], **CURVE_STYLES.get(kind, CURVE_STYLES["tangential"]))
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])


def mesh_panel(figure, ax, vertices, values, *, extent, cmap="viridis", title, units, vmin=None, vmax=None):
    """A source reconstruction drawn on its mesh: linear interpolation over the triangulation of its
    (y, x) vertices (exact for a Delaunay mesh; a rectangular mesh's pixel centres triangulated)."""
    import matplotlib.tri

    vertices, values = np.asarray(vertices, dtype=float), np.asarray(values, dtype=float)
    triangulation = matplotlib.tri.Triangulation(vertices[:, 1], vertices[:, 0])
    low, high = (np.nanmin(values), np.nanmax(values)) if vmin is None else (vmin, vmax)
    image = ax.tripcolor(triangulation, values, shading="gouraud", cmap=_cmap(cmap), vmin=low, vmax=high)
    ax.set_aspect("equal")
    left, right, bottom, top = extent
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    return _decorate(figure, ax, image, title, units)


def _check_shape(name, array, shape):
    if array.shape != shape:
        raise ValueError(f"fit_subplot: {name} has shape {array.shape} but data has {shape}; "
                         "every image-plane array must match the data.")


def fit_subplot(path, *, data, model_image, residual_map, normalized_residual_map,
                source_image=None, source_extent=None, mask=None, pixel_scale, title="",
                lens_light_subtracted=None, units="e-/s", critical_curves=None, caustics=None,
                source_mesh=None) -> Path:
    """Save the subplot of an imaging fit as a 1400 x 700 pixel PNG.

    Panels (2 rows x 3): data, model image, lens-light-subtracted data (when
    given); residuals (data - model, diverging and symmetric about 0),
    normalised residuals (-3..3 sigma, with the chi-squared per fitted pixel in
    the title), source-plane image (when given). Masked-out pixels (``mask``
    True, or NaN) are blank and the image-plane panels are zoomed to the
    fitted region.

    Parameters
    ----------
    path : str or Path
        PNG written here (parent folders are created).
    data, model_image, residual_map, normalized_residual_map : ndarray, shape (Ny, Nx)
        Image-plane arrays, row 0 at the top; masked-out pixels may hold 0 or NaN.
    source_image : ndarray, shape (My, Mx), optional
        Source-plane image, row 0 at the top.
    source_extent : tuple of float, optional
        ``(ymin, ymax, xmin, xmax)`` arcsec of ``source_image``; default the
        image-plane extent.
    mask : ndarray of bool, shape (Ny, Nx), optional
        True where a pixel is masked out. If None, the non-finite pixels of
        ``data`` or ``normalized_residual_map`` are the masked ones.
    pixel_scale : float
        Arcsec per image-plane pixel.
    title : str
        Figure title.
    lens_light_subtracted : ndarray, shape (Ny, Nx), optional
        Data minus the lens galaxy's model light.
    units : str
        Units of the image values, for the colour bars.
    critical_curves, caustics : dict, optional
        ``{"tangential": [(M, 2) (y, x) arcsec], "radial": [...]}``: critical curves drawn on the
        data, model and lens-light-subtracted panels, caustics on the source panel (tangential
        white, radial dashed orange).
    source_mesh : (vertices (S, 2), values (S,)), optional
        A pixelized source's reconstruction, drawn on its mesh in the source panel (in place
        of ``source_image``) over ``source_extent``.

    Returns
    -------
    Path
    """
    data = np.asarray(data, dtype=float)
    if data.ndim != 2:
        raise ValueError(f"fit_subplot: data must be 2-D, got shape {data.shape}.")
    arrays = {"model_image": model_image, "residual_map": residual_map,
              "normalized_residual_map": normalized_residual_map, "mask": mask,
              "lens_light_subtracted": lens_light_subtracted}
    arrays = {k: None if v is None else np.asarray(v, dtype=bool if k == "mask" else float)
              for k, v in arrays.items()}
    for name, array in arrays.items():
        if array is not None:
            _check_shape(name, array, data.shape)
    fitted = _fitted_pixels(arrays["mask"], data, arrays["normalized_residual_map"])
    extent = _image_extent(data.shape, float(pixel_scale))
    shown = {name: _blanked(arrays[name], fitted) for name in
             ("model_image", "residual_map", "normalized_residual_map")}
    shown["data"] = _blanked(data, fitted)

    normalized = shown["normalized_residual_map"].compressed()
    chi2 = float(np.mean(normalized**2)) if normalized.size else float("nan")

    figure = _new_figure(*FIT_INCHES, layout="constrained")
    axes = figure.subplots(2, 3)
    vmin, vmax = _limits(shown["data"])
    image_panels = [
        (axes[0, 0], shown["data"], "viridis", (vmin, vmax), "Data", units),
        (axes[0, 1], shown["model_image"], "viridis", (vmin, vmax), "Model image", units),
        (axes[1, 0], shown["residual_map"], "RdBu_r", _symmetric(shown["residual_map"]),
         "Residuals (data - model)", units),
        (axes[1, 1], shown["normalized_residual_map"], "RdBu_r",
         (-NORMALIZED_RANGE, NORMALIZED_RANGE),
         f"Normalised residuals, chi2/pixel = {chi2:.3f} ({normalized.size} px)", "sigma"),
    ]
    if arrays["lens_light_subtracted"] is not None:
        subtracted = _blanked(arrays["lens_light_subtracted"], fitted)
        image_panels.append((axes[0, 2], subtracted, "viridis", _limits(subtracted),
                             "Lens light subtracted", units))
    else:
        axes[0, 2].set_axis_off()
    for ax, array, cmap, (low, high), name, unit in image_panels:
        _panel(figure, ax, array, extent=extent, cmap=cmap, vmin=low, vmax=high, title=name,
               units=unit)
        _zoom(ax, fitted, float(pixel_scale))
        if cmap == "viridis":
            draw_curves(ax, critical_curves)

    if source_mesh is not None:
        ymin, ymax, xmin, xmax = map(float, source_extent)
        mesh_panel(figure, axes[1, 2], *source_mesh, extent=(xmin, xmax, ymin, ymax),
                   title="Source reconstruction", units=units)
        draw_curves(axes[1, 2], caustics)
    elif source_image is not None:
        source = np.ma.masked_invalid(np.asarray(source_image, dtype=float))
        if source_extent is None:
            source_box = extent
        else:
            ymin, ymax, xmin, xmax = map(float, source_extent)
            source_box = (xmin, xmax, ymin, ymax)
        _panel(figure, axes[1, 2], source, extent=source_box, cmap="viridis",
               vmin=_limits(source)[0], vmax=_limits(source)[1], title="Source plane",
               units=units)
        draw_curves(axes[1, 2], caustics)
    else:
        axes[1, 2].set_axis_off()
    if title:
        figure.suptitle(title, fontsize=12)
    return _save(figure, path)
