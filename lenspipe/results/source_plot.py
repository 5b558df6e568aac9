"""The source plane of a fit, zoomed to the source: its light (or reconstruction and noise map).

:func:`source_zoom` finds the box around the source's light; :func:`source_plot` draws the
source in it with the caustics: a parametric source's unlensed light, or a pixelized
source's reconstruction on its mesh beside its 1-sigma noise map (the mesh's vertices as
dots), each panel with the tangential (white) and radial (dashed orange) caustics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .plots import _cmap, _new_figure, _save, draw_curves, mesh_panel

__all__ = ["source_zoom", "source_plot"]

#: The zoom box holds the points brighter than this fraction of the peak, padded by PAD of its size.
BRIGHT_FRACTION = 0.05
PAD = 0.3


def source_zoom(points, values, *, minimum=0.2) -> tuple:
    """``(y_min, y_max, x_min, x_max)`` arcsec: a square around the points brighter than
    BRIGHT_FRACTION of the peak, padded by PAD, at least ``minimum`` arcsec on a side."""
    points, values = np.asarray(points, dtype=float), np.asarray(values, dtype=float)
    finite = np.isfinite(values)
    peak = np.max(values[finite]) if finite.any() else 0.0
    bright = finite & (values > BRIGHT_FRACTION * peak) if peak > 0 else finite
    chosen = points[bright] if bright.any() else points
    low, high = chosen.min(axis=0), chosen.max(axis=0)
    centre = 0.5 * (low + high)
    half = max(0.5 * (1 + 2 * PAD) * float(np.max(high - low)), 0.5 * minimum)
    return (centre[0] - half, centre[0] + half, centre[1] - half, centre[1] + half)


def source_plot(path, *, extent, reconstruction=None, image=None, caustics=None, title="", units="e-/s") -> Path:
    """Save the source-plane figure as a PNG.

    Parameters
    ----------
    path : str or Path
    extent : (float, float, float, float)
        ``(y_min, y_max, x_min, x_max)`` arcsec shown (:func:`source_zoom`).
    reconstruction : Reconstruction, optional
        A pixelized source: two panels, the reconstruction on its mesh and its noise map.
    image : ndarray, shape (My, Mx), optional
        A parametric source's light on ``extent`` (row 0 at the top): one panel.
    caustics : dict, optional
        ``{"tangential": [(M, 2) (y, x)], "radial": [...]}`` arcsec.
    title : str
    units : str
        Units of the surface brightness.
    """
    ymin, ymax, xmin, xmax = map(float, extent)
    box = (xmin, xmax, ymin, ymax)
    if reconstruction is not None:
        figure = _new_figure(12.0, 5.2, layout="constrained")
        axes = figure.subplots(1, 2)
        vertices = reconstruction.vertices
        mesh_panel(figure, axes[0], vertices, reconstruction.values, extent=box,
                   title=f"Reconstruction ({reconstruction.mesh}, {len(vertices)} pixels)", units=units)
        noise = reconstruction.noise_map
        mesh_panel(figure, axes[1], vertices, noise, extent=box, cmap="magma", title="Noise map (1 sigma)",
                   units=units, vmin=0.0, vmax=float(np.nanmax(noise)) if noise.size else 1.0)
        for ax in axes:
            ax.scatter(vertices[:, 1], vertices[:, 0], s=1.0, c="k", alpha=0.25, linewidths=0)
            draw_curves(ax, caustics)
    else:
        figure = _new_figure(6.4, 5.2, layout="constrained")
        ax = figure.subplots(1, 1)
        if image is not None:
            shown = np.ma.masked_invalid(np.asarray(image, dtype=float))
            low, high = float(shown.min()), float(shown.max())
            drawn = ax.imshow(shown, origin="upper", extent=box, cmap=_cmap("viridis"), vmin=low,
                              vmax=high if high > low else low + 1.0, interpolation="nearest")
            bar = figure.colorbar(drawn, ax=ax, shrink=0.85)
            bar.set_label(units, fontsize=8)
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(ymin, ymax)
        ax.set_title("Source plane (unlensed light)", fontsize=10)
        ax.set_xlabel("x (arcsec)", fontsize=8)
        ax.set_ylabel("y (arcsec)", fontsize=8)
        draw_curves(ax, caustics)
    if title:
        figure.suptitle(title, fontsize=12)
    return _save(figure, Path(path))

