"""The corner plot of a fit's posterior, drawn by the ``corner`` package (Foreman-Mackey 2016).

Labels are short parameter paths with units (``lens.mass.einstein_radius ["]``); the
diagonal's titles give each parameter's median and 1-sigma interval; the 2-D contours
enclose 39.3 % and 86.5 % (1 and 2 sigma of a 2-D Gaussian, ``corner``'s convention);
truths, when known, are drawn in red.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["corner_plot", "short_labels", "corner_inches", "unit_of", "select_parameters"]

DPI = 100
_LEVELS = tuple(1.0 - np.exp(-0.5 * s**2) for s in (1.0, 2.0))
_ARCSEC = ("einstein_radius", "centre", "effective_radius", "sigma", "sigma_min", "sigma_max", "core_radius",
           "scale_radius")
_DIMENSIONLESS = ("ell_comps", "gamma", "slope", "sersic_index", "coefficient", "inner_coefficient",
                  "outer_coefficient", "signal_scale", "mass_to_light_ratio")


def unit_of(path) -> str:
    """The unit of a parameter path, for labels: ``"``, ``""`` (dimensionless) or the image units."""
    name = str(path).split(".")[-1]
    stem = name.rsplit("_", 1)[0] if name.rsplit("_", 1)[-1].isdigit() else name
    if stem in _ARCSEC:
        return '"'
    if stem in _DIMENSIONLESS:
        return ""
    if stem == "intensity":
        return "e-/s"
    return ""


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


#: ``corner``'s layout: inches per panel, left/bottom and right/top margins, gap (fraction of a panel).
_PANEL, _LOW, _HIGH, _GAP, _HEADING = 2.0, 1.0, 0.4, 0.05, 0.5


def corner_inches(k: int) -> float:
    """Side in inches of the square corner plot of ``k`` parameters: ``corner``'s own layout
    (2 inches a panel, 1 inch for the labels, 0.4 for the titles) and 0.5 inch for a heading."""
    return round(k * _PANEL + _LOW + _HIGH + (k - 1) * _GAP * _PANEL + _HEADING, 2)


def _title_formats(values, weight) -> list:
    """Per-parameter formats showing the 1-sigma error to two significant figures."""
    from ..search.samples import weighted_quantile

    formats = []
    for column in values.T:
        low, high = weighted_quantile(column, [0.16, 0.84], weight)
        sigma = 0.5 * (high - low)
        decimals = 1 - int(np.floor(np.log10(sigma))) if sigma > 0 and np.isfinite(sigma) else 3
        formats.append(f".{min(max(decimals, 0), 8)}f")
    return formats


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


def select_parameters(paths, select) -> list:
    """Indices of the paths that start with one of the ``select`` prefixes (all without).

    Raises
    ------
    ConfigError
        No path starts with any of them (the message lists the paths).
    """
    from ..errors import ConfigError

    if not select:
        return list(range(len(paths)))
    chosen = [i for i, path in enumerate(paths) if any(path.startswith(prefix) for prefix in select)]
    if not chosen:
        raise ConfigError(f"corner plot: no parameter path starts with {', '.join(select)}; the paths are "
                          f"{', '.join(paths)}")
    return chosen


def corner_plot(path, *, parameters, weight, paths, truths=None, select=None, max_parameters=None, bins=30,
                title="") -> Path:
    """Save the corner plot of weighted posterior samples as a PNG.

    Parameters
    ----------
    path : str or Path
        PNG written here (parent folders are created).
    parameters : array_like, shape (n, k)
    weight : array_like, shape (n,) or None
        Non-negative sample weights (equal if None).
    paths : list of str
        The k dotted parameter paths.
    truths : dict of str -> float, optional
        True values by path, drawn in red.
    select : sequence of str, optional
        Path prefixes (``galaxies.lens.mass``): only the parameters under them; default all.
    max_parameters : int, optional
        At most this many of the selected parameters (the title says so); default all.
    bins : int
        Histogram bins per axis.
    title : str

    Returns
    -------
    Path
        The figure is :func:`corner_inches` inches on a side at 100 dpi. Samples of zero
        weight or with a non-finite parameter are left out.
    """
    import corner
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    values = np.atleast_2d(np.asarray(parameters, dtype=float))
    paths = [str(p) for p in paths]
    n, k_all = values.shape
    weight = np.ones(n) if weight is None else np.asarray(weight, dtype=float).reshape(-1)
    if k_all != len(paths) or weight.shape != (n,):
        raise ValueError(f"corner_plot: parameters {values.shape} need {k_all} paths and "
                         f"{n} weights; got {len(paths)} paths and {weight.shape} weights.")
    if k_all == 0 or (max_parameters is not None and max_parameters < 1):
        raise ValueError("corner_plot: needs at least one parameter and max_parameters >= 1.")
    chosen = select_parameters(paths, select)
    shown = chosen[:max_parameters] if max_parameters else chosen
    keep = (weight > 0) & np.all(np.isfinite(values), axis=1)
    values, weight, paths = values[keep][:, shown], weight[keep], [paths[i] for i in shown]
    k = len(paths)
    truths = truths or {}
    truth = [None if truths.get(p) is None else float(truths[p]) for p in paths]
    labels = [f"{label} [{unit_of(p)}]" if unit_of(p) else label for label, p in zip(short_labels(paths), paths)]

    side = corner_inches(k)
    figure = Figure(figsize=(side, side), dpi=DPI)
    FigureCanvasAgg(figure)
    titles = [label.split(".")[-1] for label in short_labels(paths)]  # the axis labels hold the rest
    known = any(t is not None for t in truth)
    corner.corner(values, weights=weight, labels=labels, truths=truth if known and k > 1 else None,
                  truth_color="tab:red", range=_ranges(values, truth), bins=bins, levels=_LEVELS,
                  quantiles=(0.16, 0.5, 0.84), show_titles=True, titles=titles, title_fmt=_title_formats(values, weight),
                  title_kwargs={"fontsize": 8},
                  label_kwargs={"fontsize": 8}, plot_datapoints=True, plot_density=False, fill_contours=True,
                  smooth=1.0, max_n_ticks=3, fig=figure)
    if known and k == 1:  # corner 2.3 cannot draw the truth of a single parameter itself
        figure.axes[0].axvline(truth[0], color="tab:red")
    figure.subplots_adjust(top=1.0 - (_HIGH + _HEADING) / side)  # corner's layout, and room for the heading
    heading = [title] if title else []
    if k < k_all:
        heading.append(f"{k} of {k_all} parameters shown")
    heading.append(f"{values.shape[0]} samples")
    figure.suptitle("; ".join(heading), fontsize=9, y=1.0 - 0.1 / side, va="top")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=DPI)
    return path
