"""Simulated imaging of a known lens model, with its truth saved beside it.

The simulation, step by step:

1. Pad the image by the PSF half-width on every side, so the convolution sees the
   light just outside the image and has no edge effects.
2. Evaluate ``tracer.image_from`` on an over-sampled grid of the padded image and
   bin it to pixels (pixel = mean over ``sub_size x sub_size`` midpoint sub-pixels), with
   the fit's own rule, ``OverSampling.uniform(sub_size)`` of :mod:`lenspipe.fit.oversampling`.
3. Convolve with the PSF (``scipy.signal.fftconvolve``, mode "valid": this is not the
   hot path) and keep the original shape: this is the noiseless model image.
4. ``counts = (model + background_sky) * exposure_time``; draw Poisson counts with
   ``numpy.random.default_rng(seed)``; ``data = counts_drawn / exposure_time - background_sky``.
5. ``noise_map = sqrt(max(counts, 1)) / exposure_time`` from the *expected* counts
   (floored at one count so it is positive).
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
from scipy.signal import fftconvolve

from ..errors import DatasetError
from .files import atomic_file
from .grid import grid_2d_from
from .imaging import Imaging, validate_pixel_scale, validate_psf

__all__ = ["simulate_imaging", "save_simulation", "plain_json"]


def simulate_imaging(
    tracer,
    shape,
    pixel_scale,
    psf,
    exposure_time,
    background_sky=0.0,
    seed=0,
    sub_size=4,
    add_noise=True,
):
    """Simulate imaging of ``tracer`` with PSF blurring and Poisson noise.

    Parameters
    ----------
    tracer : object
        Anything with ``image_from(grid)`` mapping a ``(M, 2)`` grid of ``(y, x)``
        arcsec to ``(M,)`` surface brightness (image units per second, e.g. e-/s);
        a :class:`lenspipe.lensing.Tracer`, a Galaxy or a light profile.
    shape : (int, int)
        ``(N_y, N_x)`` pixels of the simulated image.
    pixel_scale : float
        Arcsec per pixel.
    psf : array_like
        PSF kernel with odd dimensions (normalised to sum 1 here).
    exposure_time : float
        Seconds; sets the noise level.
    background_sky : float
        Sky level (image units) added before the noise is drawn and subtracted after.
    seed : int
        Seed of ``numpy.random.default_rng``: the same seed gives the same numbers.
    sub_size : int
        Over-sampling of each pixel: ``sub_size x sub_size`` midpoint sub-pixels, the
        rule of ``OverSampling.uniform(sub_size)`` in :mod:`lenspipe.fit.oversampling`.
    add_noise : bool
        If False the data equal the noiseless model image (the noise map is unchanged).

    Returns
    -------
    imaging : Imaging
        Data (sky-subtracted), noise map, the normalised PSF and the pixel scale.
    model_image : ndarray, shape (N_y, N_x)
        The noiseless PSF-convolved model image (no sky).

    Raises
    ------
    DatasetError
        A non-positive exposure time, a model image that is not finite, or negative
        expected counts.
    MaskError
        A ``sub_size`` that is not an integer >= 1.
    """
    # fit/ sits above data/ in the layering: the one over-sampling module is imported here.
    from ..fit.oversampling import OverSampling, PixelSampler

    pixel_scale = validate_pixel_scale(pixel_scale)
    kernel = validate_psf(psf)
    if not np.isfinite(exposure_time) or exposure_time <= 0:
        raise DatasetError(f"exposure_time must be a positive number of seconds, not {exposure_time!r}.")
    n_y, n_x = (int(n) for n in shape)
    h_y, h_x = kernel.shape[0] // 2, kernel.shape[1] // 2
    padded_shape = (n_y + 2 * h_y, n_x + 2 * h_x)
    sampler = PixelSampler(grid_2d_from(padded_shape, pixel_scale), np.zeros((0, 2)), pixel_scale,
                           OverSampling.uniform(sub_size))  # every padded pixel; no blurring region
    sub_image = np.asarray(tracer.image_from(sampler.grid), dtype=np.float64)
    if sub_image.shape != (sampler.n_points,):
        raise DatasetError(
            f"tracer.image_from returned shape {sub_image.shape}; one value per grid point "
            f"({sampler.n_points},) is needed (simulate one model at a time)."
        )
    if not np.all(np.isfinite(sub_image)):
        raise DatasetError("the tracer's image holds NaN or inf; check the model's parameters.")
    padded = sampler.binned(sub_image)[0].reshape(padded_shape)
    model_image = fftconvolve(padded, kernel, mode="valid")

    counts = (model_image + background_sky) * exposure_time
    if counts.min() < -1e-9 * max(np.abs(counts).max(), 1.0):
        raise DatasetError(
            "model image + background_sky is negative somewhere; Poisson noise needs non-negative counts."
        )
    counts = np.clip(counts, 0.0, None)  # removes FFT round-off below zero
    if add_noise:
        drawn = np.random.default_rng(seed).poisson(counts)
        data = drawn / exposure_time - background_sky
    else:
        data = model_image.copy()
    noise_map = np.sqrt(np.maximum(counts, 1.0)) / exposure_time
    imaging = Imaging(data=data, noise_map=noise_map, psf=kernel, pixel_scale=pixel_scale)
    return imaging, model_image


def save_simulation(folder, imaging, truth):
    """Write a simulation: ``data.fits``, ``noise_map.fits``, ``psf.fits`` and ``truth.json``.

    Parameters
    ----------
    folder : str or Path
        Created if needed; existing files of these names are replaced.
    imaging : Imaging
        The simulated imaging (each FITS header carries ``PIXSCALE``, arcsec per pixel).
    truth : dict
        The true parameters (e.g. the tracer's profiles); converted by :func:`plain_json`
        (numpy numbers and arrays, tuples and dataclasses become plain JSON).

    Returns
    -------
    dict
        ``{"data": Path, "noise_map": Path, "psf": Path, "truth": Path}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.fits" for name in ("data", "noise_map", "psf")}
    paths["truth"] = folder / "truth.json"
    text = json.dumps(plain_json(truth), indent=2, sort_keys=True) + "\n"
    imaging.to_fits(paths["data"], paths["psf"], paths["noise_map"], overwrite=True)
    with atomic_file(paths["truth"], "w") as handle:
        handle.write(text)
    return paths


def plain_json(value):
    """``value`` as plain JSON types (dict, list, str, float, int, bool, None).

    Dataclasses (e.g. profiles) become ``{"type": class name, field: value, ...}``;
    numpy scalars and arrays become numbers and lists; tuples become lists.

    Raises
    ------
    DatasetError
        For a value with no JSON form (a non-finite float included).
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: plain_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__, **fields}
    if isinstance(value, dict):
        return {str(k): plain_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain_json(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise DatasetError(f"truth value {value!r} is not finite and has no JSON form.")
        return float(value)
    if value is None or isinstance(value, str):
        return value
    raise DatasetError(f"truth holds a {type(value).__name__}, which has no plain JSON form.")
