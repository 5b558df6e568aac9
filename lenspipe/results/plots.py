"""Figures of a fit: the fit subplot and a corner plot of the posterior.

Both functions draw on a :class:`matplotlib.figure.Figure` with its own
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
from matplotlib.ticker import MaxNLocator

from ..search.samples import probability_at_sigma, weighted_quantile

__all__ = ["fit_subplot", "corner_plot", "short_labels", "corner_inches"]

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


def _panel(figure, ax, array, *, extent, cmap, vmin, vmax, title, units):
    image = ax.imshow(array, origin="upper", extent=extent, cmap=_cmap(cmap), vmin=vmin,
                      vmax=vmax, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("x (arcsec)", fontsize=8)
    ax.set_ylabel("y (arcsec)", fontsize=8)
    ax.tick_params(labelsize=7)
    bar = figure.colorbar(image, ax=ax, shrink=0.85)
    bar.set_label(units, fontsize=8)
    bar.ax.tick_params(labelsize=7)
    return image


def _check_shape(name, array, shape):
    if array.shape != shape:
        raise ValueError(f"fit_subplot: {name} has shape {array.shape} but data has {shape}; "
                         "every image-plane array must match the data.")


def fit_subplot(path, *, data, model_image, residual_map, normalized_residual_map,
                source_image=None, source_extent=None, mask=None, pixel_scale, title="",
                lens_light_subtracted=None, units="e-/s") -> Path:
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

    if source_image is not None:
        source = np.ma.masked_invalid(np.asarray(source_image, dtype=float))
        if source_extent is None:
            source_box = extent
        else:
            ymin, ymax, xmin, xmax = map(float, source_extent)
            source_box = (xmin, xmax, ymin, ymax)
        _panel(figure, axes[1, 2], source, extent=source_box, cmap="viridis",
               vmin=_limits(source)[0], vmax=_limits(source)[1], title="Source plane",
               units=units)
    else:
        axes[1, 2].set_axis_off()
    if title:
        figure.suptitle(title, fontsize=12)
    return _save(figure, path)


# --------------------------------------------------------------------------- corner plot


def short_labels(paths) -> list[str]:
    """Short axis labels for dotted parameter paths.

    ``galaxies.lens.mass.einstein_radius`` becomes ``lens.mass.einstein_radius``
    and ``galaxies.lens.mass.centre.centre_0`` becomes ``lens.mass.centre_0``: a
    leading ``galaxies`` is dropped, a tuple's group name is dropped before its
    split component, and at most the last three parts are kept. A label that
    would be shared by two paths stays the full path.
    """
    labels = []
    for path in paths:
        parts = str(path).split(".")
        if len(parts) > 1 and parts[0] == "galaxies":
            parts = parts[1:]
        if len(parts) > 1 and parts[-1].startswith(parts[-2] + "_"):
            parts = parts[:-2] + parts[-1:]
        labels.append(".".join(parts[-3:]))
    return [label if labels.count(label) == 1 else str(path)
            for label, path in zip(labels, paths)]


def corner_inches(k: int) -> float:
    """Side in inches of the square corner plot of ``k`` parameters (1.5 per panel)."""
    return round(1.2 + 1.5 * k, 2)


# Fractions of probability inside the 1- and 2-sigma contours of a 2-D
# Gaussian, 1 - exp(-s^2 / 2): the 1-sigma contour's shadow on an axis is the
# 1-D 1-sigma interval (the convention of the ``corner`` package).
_MASS_2D = tuple(1.0 - np.exp(-0.5 * s**2) for s in (1.0, 2.0))
_FILL = ("#c6dbef", "#6baed6")
_LINE = "#08519c"
_TRUTH = "tab:red"


def _ranges(values, truths):
    ranges = []
    for i in range(values.shape[1]):
        column = values[:, i]
        low, high = (float(column.min()), float(column.max())) if column.size else (0.0, 1.0)
        if truths[i] is not None:
            low, high = min(low, truths[i]), max(high, truths[i])
        pad = 0.02 * (high - low) if high > low else 1e-3 * max(abs(low), 1.0)
        ranges.append((low - pad, high + pad))
    return ranges


def _density_levels(histogram):
    """Densities enclosing 2 and 1 sigma (2-D) of a histogram, increasing; [] if none."""
    flat = np.sort(histogram.ravel())[::-1]
    total = flat.sum()
    if total <= 0:
        return []
    cumulative = np.cumsum(flat) / total
    levels = [flat[min(np.searchsorted(cumulative, mass), flat.size - 1)]
              for mass in reversed(_MASS_2D)]
    return [level for level in np.unique(levels) if 0 < level < flat[0]]


def _diagonal(ax, x, weight, x_range, bins, truth):
    counts, edges = np.histogram(x, bins=bins, range=x_range, weights=weight)
    ax.stairs(counts, edges, color=_LINE, linewidth=1.0)
    ax.set_ylim(0, 1.1 * (counts.max() or 1.0))
    ax.set_yticks([])
    if x.size:
        p = probability_at_sigma(1.0)
        low, median, high = weighted_quantile(x, [0.5 * (1 - p), 0.5, 0.5 * (1 + p)], weight)
        ax.axvline(median, color=_LINE, linewidth=1.0)
        for bound in (low, high):
            ax.axvline(bound, color=_LINE, linewidth=0.8, linestyle="--")
        ax.set_title(f"{median:.4g} +{high - median:.2g} -{median - low:.2g}", fontsize=7)
    if truth is not None:
        ax.axvline(truth, color=_TRUTH, linewidth=1.0)


def _off_diagonal(ax, x, y, weight, x_range, y_range, bins, truths):
    step = max(1, x.size // 1000)
    ax.scatter(x[::step], y[::step], s=0.5, color="0.6", alpha=0.4, linewidths=0,
               rasterized=True)
    if x.size > 1:
        from scipy.ndimage import gaussian_filter

        histogram, x_edges, y_edges = np.histogram2d(x, y, bins=bins, range=[x_range, y_range],
                                                     weights=weight)
        histogram = gaussian_filter(histogram, 1.0).T  # light smoothing; rows are y
        levels = _density_levels(histogram)
        x_mid, y_mid = 0.5 * (x_edges[1:] + x_edges[:-1]), 0.5 * (y_edges[1:] + y_edges[:-1])
        if levels:
            top = histogram.max()
            ax.contourf(x_mid, y_mid, histogram, levels=[*levels, top],
                        colors=_FILL[-len(levels):], alpha=0.8)
            ax.contour(x_mid, y_mid, histogram, levels=levels, colors=_LINE, linewidths=0.8)
    if truths[0] is not None:
        ax.axvline(truths[0], color=_TRUTH, linewidth=0.8)
    if truths[1] is not None:
        ax.axhline(truths[1], color=_TRUTH, linewidth=0.8)
    ax.set_xlim(*x_range)
    ax.set_ylim(*y_range)


def _style_axis(ax, row, column, k, labels):
    ax.xaxis.set_major_locator(MaxNLocator(3, prune="both"))
    ax.tick_params(labelsize=6, length=2)
    if row == k - 1:
        ax.set_xlabel(labels[column], fontsize=7)
        for tick in ax.get_xticklabels():
            tick.set_rotation(45)
    else:
        ax.tick_params(labelbottom=False)
    if row != column:
        ax.yaxis.set_major_locator(MaxNLocator(3, prune="both"))
        if column == 0:
            ax.set_ylabel(labels[row], fontsize=7)
            for tick in ax.get_yticklabels():
                tick.set_rotation(45)
        else:
            ax.tick_params(labelleft=False)


def corner_plot(path, *, parameters, weight, paths, truths=None, max_parameters=12, bins=30,
                title="") -> Path:
    """Save a lower-triangle corner plot of weighted posterior samples as a PNG.

    The diagonal holds each parameter's weighted 1-D histogram with its median
    (solid) and 1-sigma interval (dashed), the value written above. Below it,
    each pair's smoothed weighted 2-D histogram is drawn as filled contours
    enclosing 1 and 2 sigma of a 2-D Gaussian (39.3 % and 86.5 %) over a
    scatter of (at most about 1000) samples. Samples of zero weight or with a
    non-finite parameter are left out. The figure is square,
    :func:`corner_inches` inches on a side at 100 dpi.

    Parameters
    ----------
    path : str or Path
        PNG written here (parent folders are created).
    parameters : array_like, shape (n, k)
    weight : array_like, shape (n,) or None
        Non-negative sample weights (equal if None).
    paths : list of str
        The k dotted parameter paths; labels are :func:`short_labels` of them.
    truths : dict of str -> float, optional
        True values, drawn as red lines, by path.
    max_parameters : int
        Only the first ``max_parameters`` parameters are plotted (the title says so).
    bins : int
        Histogram bins per axis.
    title : str
        Figure title.

    Returns
    -------
    Path
    """
    values = np.atleast_2d(np.asarray(parameters, dtype=float))
    paths = [str(p) for p in paths]
    n, k_all = values.shape
    weight = np.ones(n) if weight is None else np.asarray(weight, dtype=float).reshape(-1)
    if k_all != len(paths) or weight.shape != (n,):
        raise ValueError(f"corner_plot: parameters {values.shape} need {k_all} paths and "
                         f"{n} weights; got {len(paths)} paths and {weight.shape} weights.")
    if k_all == 0 or max_parameters < 1:
        raise ValueError("corner_plot: needs at least one parameter and max_parameters >= 1.")
    k = min(k_all, int(max_parameters))
    keep = (weight > 0) & np.all(np.isfinite(values), axis=1)
    values, weight, paths = values[keep, :k], weight[keep], paths[:k]
    truths = truths or {}
    truth = [None if truths.get(p) is None else float(truths[p]) for p in paths]
    ranges, labels = _ranges(values, truth), short_labels(paths)

    side = corner_inches(k)
    figure = _new_figure(side, side)
    figure.subplots_adjust(left=1.0 / side, bottom=1.0 / side, right=1.0 - 0.2 / side,
                           top=1.0 - 0.6 / side, wspace=0.08, hspace=0.08)
    axes = figure.subplots(k, k, squeeze=False)
    for row in range(k):
        for column in range(k):
            ax = axes[row, column]
            if column > row:
                ax.set_visible(False)
                continue
            if row == column:
                _diagonal(ax, values[:, row], weight, ranges[row], bins, truth[row])
                ax.set_xlim(*ranges[row])
            else:
                _off_diagonal(ax, values[:, column], values[:, row], weight, ranges[column],
                              ranges[row], bins, (truth[column], truth[row]))
            _style_axis(ax, row, column, k, labels)
    heading = [title] if title else []
    if k < k_all:
        heading.append(f"first {k} of {k_all} parameters shown")
    heading.append(f"{values.shape[0]} samples")
    figure.suptitle("; ".join(heading), fontsize=9, y=1.0 - 0.1 / side, va="top")
    return _save(figure, path)
