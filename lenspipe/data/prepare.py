"""Dataset preparation (the workflow's prepare step): cut-out, sky, quick-look PNG.

Cut-outs keep the lens at the centre of the pixel grid. A cut-out of ``n`` pixels
along an axis is placed as follows, with ``p`` the fractional pixel index of the
requested centre (``p = N_y/2 - 0.5 - y/s`` for rows, ``p = N_x/2 - 0.5 + x/s`` for
columns):

* ``n`` odd: the centre pixel is the one nearest ``p`` (``c = floor(p + 1/2)``) and
  the cut-out spans ``c - n//2 .. c + n//2``; the cut-out's centre (0, 0) is the
  centre of that pixel.
* ``n`` even: the cut-out's centre (0, 0) is a pixel corner, the one nearest ``p``
  (the corner between pixels ``k - 1`` and ``k`` with ``k = floor(p + 1)``); the
  cut-out spans ``k - n/2 .. k + n/2 - 1``.

Either way the requested centre lands within half a pixel of (0, 0) in the
cut-out's coordinates; :func:`cutout_slices` returns that residual offset.
"""

from __future__ import annotations


import numpy as np

from ..errors import DatasetError
from .files import atomic_file
from .grid import pixel_centres_from
from .imaging import IGNORE_ABOVE, Imaging

__all__ = ["prepare_imaging", "cutout_slices", "sky_level_from", "preview_png"]


def cutout_slices(shape, pixel_scale, centre=None, cutout_shape=None):
    """Row and column slices of a cut-out centred on ``centre``.

    Parameters
    ----------
    shape : (int, int)
        ``(N_y, N_x)`` of the image, pixels.
    pixel_scale : float
        Arcsec per pixel.
    centre : (float, float), optional
        ``(y, x)`` arcsec in the image's frame; default the image centre (0, 0).
    cutout_shape : (int, int), optional
        ``(n_y, n_x)`` pixels; default the largest cut-out around ``centre`` with the
        same parity as the image (the whole image when ``centre`` is the image centre).

    Returns
    -------
    rows, columns : slice
        ``image[rows, columns]`` is the cut-out.
    offset : ndarray, shape (2,)
        ``(y, x)`` arcsec of ``centre`` in the cut-out's frame (each within half a pixel of 0).

    Raises
    ------
    DatasetError
        If the cut-out does not fit inside the image or its shape is not positive.
    """
    centre = (0.0, 0.0) if centre is None else tuple(float(c) for c in centre)
    positions = (
        shape[0] / 2.0 - 0.5 - centre[0] / pixel_scale,
        shape[1] / 2.0 - 0.5 + centre[1] / pixel_scale,
    )
    slices, offset = [], np.zeros(2)
    for axis in range(2):
        size, p = int(shape[axis]), round(positions[axis], 9)
        even = size % 2 == 0 if cutout_shape is None else int(cutout_shape[axis]) % 2 == 0
        anchor = int(np.floor(p + (1.0 if even else 0.5)))  # k (even) or c (odd)
        if cutout_shape is None:
            half = min(anchor, size - anchor) if even else min(anchor, size - 1 - anchor)
            n = 2 * half if even else 2 * half + 1
        else:
            n = int(cutout_shape[axis])
        if n < 1:
            raise DatasetError(
                f"cutout_shape {cutout_shape} must be positive, and the centre {centre} must lie inside "
                f"the {shape[0]}x{shape[1]} image."
            )
        start = anchor - n // 2
        if start < 0 or start + n > size:
            raise DatasetError(
                f"a {n}-pixel cut-out centred on {centre} arcsec runs off the {shape[0]}x{shape[1]} image "
                f"along {'rows' if axis == 0 else 'columns'} (pixels {start} to {start + n - 1}); use a "
                f"smaller cutout_shape or a centre nearer the image centre."
            )
        slices.append(slice(start, start + n))
        cut_centre = start + n / 2.0 - 0.5  # fractional index of the cut-out's (0, 0)
        offset[axis] = (cut_centre - p) * pixel_scale * (1.0 if axis == 0 else -1.0)
    return slices[0], slices[1], offset


def sky_level_from(imaging, sky_annulus=None):
    """Median of the data in an outer annulus (the sky level), ignoring flagged pixels.

    Parameters
    ----------
    imaging : Imaging
    sky_annulus : (float, float), optional
        ``(inner, outer)`` radii in arcsec about the image centre; default from
        ``0.8 R`` outwards (corners included), ``R`` half the smaller side in arcsec.

    Returns
    -------
    float
        Sky level in image units.

    Raises
    ------
    DatasetError
        If fewer than 10 usable pixels lie in the annulus.
    """
    y, x = pixel_centres_from(imaging.shape, imaging.pixel_scale)
    distance = np.hypot(y[:, None], x[None, :])
    if sky_annulus is None:
        inner, outer = 0.8 * min(imaging.shape) * imaging.pixel_scale / 2.0, np.inf
    else:
        inner, outer = (float(r) for r in sky_annulus)
    usable = (distance >= inner) & (distance <= outer) & (imaging.noise_map < IGNORE_ABOVE)
    if np.count_nonzero(usable) < 10:
        raise DatasetError(
            f"only {np.count_nonzero(usable)} usable pixels lie in the sky annulus {inner:g}-{outer:g} "
            f"arcsec; choose an annulus inside the image that avoids flagged pixels."
        )
    return float(np.median(imaging.data[usable]))


def prepare_imaging(imaging, centre=None, cutout_shape=None, subtract_sky=False, sky_annulus=None):
    """Cut out the lens and optionally subtract the sky; returns a new Imaging.

    Parameters
    ----------
    imaging : Imaging
        The full image (not modified).
    centre : (float, float), optional
        ``(y, x)`` arcsec of the lens in ``imaging``'s frame; default the image centre.
    cutout_shape : (int, int), optional
        Pixels; see :func:`cutout_slices` for how odd and even sizes are placed.
    subtract_sky : bool
        Subtract :func:`sky_level_from` (measured on the cut-out) from the data.
    sky_annulus : (float, float), optional
        ``(inner, outer)`` arcsec about the cut-out centre for the sky estimate.

    Returns
    -------
    Imaging
        The cut-out data and noise map with the same PSF and pixel scale.
    """
    rows, columns, _ = cutout_slices(imaging.shape, imaging.pixel_scale, centre, cutout_shape)
    cut = Imaging(
        data=imaging.data[rows, columns],
        noise_map=imaging.noise_map[rows, columns],
        psf=imaging.psf,
        pixel_scale=imaging.pixel_scale,
    )
    if subtract_sky:
        cut = cut.replace(data=cut.data - sky_level_from(cut, sky_annulus))
    return cut


def preview_png(path, imaging, mask=None, title=None):
    """Write a quick-look PNG: data (asinh stretch) with the mask outline, noise, PSF, mask.

    Parameters
    ----------
    path : str or Path
        Destination PNG (written atomically).
    imaging : Imaging
    mask : Mask, optional
        True = masked out; its outline is drawn on the data.
    title : str, optional
        Figure title (e.g. the lens name).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    s = imaging.pixel_scale
    y, x = pixel_centres_from(imaging.shape, s)
    extent = (x[0] - s / 2, x[-1] + s / 2, y[-1] - s / 2, y[0] + s / 2)
    good = imaging.noise_map < IGNORE_ABOVE
    fitted = good if mask is None else good & ~mask.array
    if not fitted.any():
        fitted = np.ones(imaging.shape, dtype=bool)
    soft = float(np.median(imaging.noise_map[fitted]))
    stretched = np.arcsinh(imaging.data / soft)
    low, high = np.percentile(stretched[fitted], [1, 99.8])

    fig = Figure(figsize=(13, 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 4)
    im = axes[0].imshow(stretched, extent=extent, cmap="gray", vmin=low, vmax=max(high, low + 1e-12))
    fig.colorbar(im, ax=axes[0], label="asinh(data / median noise)")
    if mask is not None:
        axes[0].contour(
            (~mask.array).astype(float), levels=[0.5], colors="tab:red", linewidths=0.8,
            extent=extent, origin="upper",
        )
    axes[0].set_title("data")
    noise = np.where(good, imaging.noise_map, np.nan)
    im = axes[1].imshow(np.log10(noise), extent=extent, cmap="viridis")
    fig.colorbar(im, ax=axes[1], label="log10 noise (ignored pixels blank)")
    axes[1].set_title("noise map")
    psf = imaging.psf
    k_y, k_x = psf.shape
    psf_extent = (-k_x * s / 2, k_x * s / 2, -k_y * s / 2, k_y * s / 2)
    im = axes[2].imshow(np.log10(np.clip(psf, psf.max() * 1e-6, None)), extent=psf_extent, cmap="magma")
    fig.colorbar(im, ax=axes[2], label="log10 PSF")
    axes[2].set_title(f"PSF {k_y}x{k_x}")
    shown = ~good if mask is None else mask.array
    axes[3].imshow(shown, extent=extent, cmap="gray_r", vmin=0, vmax=1)
    count = int(np.count_nonzero(~shown))
    axes[3].set_title(f"mask: {count} fitted (white)")
    for ax in axes[:2]:
        ax.set_xlabel("x (arcsec)")
    axes[0].set_ylabel("y (arcsec)")
    if title:
        fig.suptitle(title)

    with atomic_file(path, fsync=False) as handle:
        fig.savefig(handle, format="png", dpi=100)
