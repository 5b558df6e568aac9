"""The workflow's dataset rules: simulate a demo lens, or prepare real imaging.

Both write ``results/{lens}/dataset.fits`` (:func:`lenspipe.data.write_dataset`) whose
provenance carries what the fits need besides pixels: the lens name, the lens and
source redshifts, the positions threshold and the info key/values.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .._version import __version__
from ..data import Imaging, Mask, prepare_imaging, preview_png, simulate_imaging, write_dataset
from ..errors import ConfigError

__all__ = ["gaussian_psf", "truth_model_from", "simulate_dataset", "prepare_dataset", "parse_positions",
           "check_simulation_spec", "check_redshifts", "positive_number"]

_SPEC_REQUIRED = ("shape", "pixel_scale", "psf_sigma", "mask_radius", "truth")
_SPEC_KEYS = {*_SPEC_REQUIRED, "name", "psf_shape", "exposure_time", "background_sky",
              "redshift_lens", "redshift_source", "info", "positions_threshold"}


def _number(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{what} must be a number, got {value!r}")
    value = float(value)
    if not np.isfinite(value):
        raise ConfigError(f"{what} must be a finite number, got {value!r}")
    return value


def positive_number(value, what: str, allow_zero: bool = False) -> float:
    """``value`` as a finite float above zero (or at least zero), else a ConfigError naming ``what``."""
    value = _number(value, what)
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(f"{what} must be {'at least' if allow_zero else 'above'} 0, got {value!r}")
    return value


def check_redshifts(redshift_lens, redshift_source, names=("redshift_lens", "redshift_source")) -> None:
    """Both redshifts finite and positive, the source's above the lens's.

    ``names`` are how the user wrote the two (config keys or command-line options).

    Raises
    ------
    ConfigError
        Naming the offending redshift(s).
    """
    z_lens = positive_number(redshift_lens, names[0])
    z_source = positive_number(redshift_source, names[1])
    if z_source <= z_lens:
        raise ConfigError(f"{names[1]} {z_source} must be above {names[0]} {z_lens} "
                          "(the source lies behind the lens); swap them if they were interchanged")


def _pair(value, what: str, minimum: int) -> tuple:
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in value)):
        raise ConfigError(f"{what} must be two integers of at least {minimum} ([rows, columns]), got {value!r}")
    return tuple(value)


def check_simulation_spec(spec: dict) -> None:
    """Check a simulation spec (one ``simulate:`` entry) before anything is computed.

    Raises
    ------
    ConfigError
        Naming the missing, unknown or invalid key and what it must be.
    """
    missing = [key for key in _SPEC_REQUIRED if key not in spec]
    if missing:
        raise ConfigError(f"the simulation spec lacks {', '.join(missing)}; it needs "
                          f"{', '.join(_SPEC_REQUIRED)} (see config/config.yaml's simulate:)")
    unknown = sorted(set(spec) - _SPEC_KEYS)
    if unknown:
        raise ConfigError(f"the simulation spec has unknown key(s) {', '.join(unknown)}; "
                          f"valid keys: {', '.join(sorted(_SPEC_KEYS))}")
    _pair(spec["shape"], "shape", 5)
    _pair(spec.get("psf_shape", [11, 11]), "psf_shape", 1)
    for key in ("pixel_scale", "psf_sigma", "mask_radius", "exposure_time"):
        if key in spec:
            positive_number(spec[key], key)
    for key in ("background_sky", "positions_threshold"):
        if key in spec:
            positive_number(spec[key], key, allow_zero=True)
    check_redshifts(spec.get("redshift_lens", 0.5), spec.get("redshift_source", 1.0))
    if not isinstance(spec.get("info", {}), dict):
        raise ConfigError(f"info must be a mapping of key: value, got {spec['info']!r}")
    truth = spec["truth"]
    if not isinstance(truth, dict) or not truth or not all(isinstance(g, dict) for g in truth.values()):
        raise ConfigError("truth must be a mapping of galaxy name -> components, e.g. truth: {lens: "
                          "{mass: {class: IsothermalSph, einstein_radius: 1.0}}, source: {...}}; "
                          f"got {truth!r}")


def gaussian_psf(shape, sigma, pixel_scale) -> np.ndarray:
    """A normalised circular Gaussian PSF kernel.

    Parameters
    ----------
    shape : (int, int)
        Odd kernel size in pixels.
    sigma : float
        Gaussian sigma in arcsec.
    pixel_scale : float
        Arcsec per pixel.
    """
    ny, nx = shape
    y = (np.arange(ny) - (ny - 1) / 2) * pixel_scale
    x = (np.arange(nx) - (nx - 1) / 2) * pixel_scale
    kernel = np.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2.0 * sigma**2))
    return kernel / kernel.sum()


def truth_model_from(truth: dict, redshift_lens: float, redshift_source: float):
    """The fixed model of a simulation's truth (galaxy name -> profiles, all values fixed)."""
    from ..model import model_from_yaml

    galaxies = {}
    for name, galaxy in truth.items():
        entry = dict(galaxy)
        entry.setdefault("redshift", redshift_lens if name == "lens" else redshift_source)
        galaxies[name] = entry
    model = model_from_yaml({"galaxies": galaxies})
    if model.prior_count:
        raise ConfigError(f"a simulation truth must fix every parameter; free: {model.paths}")
    return model


def simulate_dataset(spec: dict, seed: int, out, truth_path=None, preview=None, cosmology=None):
    """Simulate one demo lens from its config entry and write its dataset file.

    Parameters
    ----------
    spec : dict
        One entry of the config's ``simulate:`` (shape, pixel_scale, psf_sigma, ..., truth),
        plus ``name``.
    seed : int
        Seed of the Poisson noise.
    out : path
        The dataset file to write.
    truth_path, preview : path, optional
        Where to write the truth JSON and a quick-look PNG.
    """
    from ..lensing import Tracer

    check_simulation_spec(spec)
    z_lens = spec.get("redshift_lens", 0.5)
    z_source = spec.get("redshift_source", 1.0)
    model = truth_model_from(spec["truth"], z_lens, z_source)
    instance = model.instance_from_vector(np.zeros(0))
    tracer = Tracer(list(instance.galaxies), cosmology=cosmology)
    psf = gaussian_psf(spec.get("psf_shape", (11, 11)), spec["psf_sigma"], spec["pixel_scale"])
    imaging, _ = simulate_imaging(
        tracer, tuple(spec["shape"]), spec["pixel_scale"], psf,
        exposure_time=spec.get("exposure_time", 1000.0),
        background_sky=spec.get("background_sky", 0.1), seed=seed, sub_size=8,
    )
    mask = Mask.circular(imaging.shape, imaging.pixel_scale, spec["mask_radius"])
    provenance = {
        "name": spec.get("name", ""), "kind": "simulated", "seed": seed,
        "redshift_lens": z_lens, "redshift_source": z_source,
        "info": spec.get("info", {}), "truth": model.to_dict(),
        "positions_threshold": spec.get("positions_threshold", 0.0),
        "lenspipe_version": __version__,
    }
    write_dataset(out, imaging, mask, positions=None, provenance=provenance)
    if truth_path:
        Path(truth_path).write_text(json.dumps({"seed": seed, "truth": spec["truth"],
                                                "model": model.to_dict()}, indent=2))
    if preview:
        preview_png(preview, imaging, mask, title=spec.get("name"))
    return imaging, mask


def parse_positions(text: str) -> np.ndarray:
    """Positions 'y1,x1;y2,x2' (arcsec) as a (P, 2) array.

    Raises
    ------
    ConfigError
        If an entry is not two comma-separated numbers.
    """
    points = []
    for item in filter(None, (part.strip() for part in (text or "").split(";"))):
        try:
            y, x = (float(v) for v in item.split(","))
        except ValueError:
            raise ConfigError(f"position {item!r} must be 'y,x' in arcsec; separate positions "
                              "by ';'") from None
        points.append((y, x))
    return np.array(points, dtype=float).reshape(-1, 2)


def prepare_dataset(*, name, data, noise, psf, pixel_scale, out, noise_kind="noise", hdu=0,
                    mask_radius, redshift_lens, redshift_source, centre=(0.0, 0.0), cutout=0,
                    mask_file=None, subtract_sky=False, positions="", positions_threshold=0.0,
                    info=None, preview=None):
    """Prepare real imaging for fitting and write its dataset file.

    Steps: read and validate the FITS files (:meth:`Imaging.from_fits`); cut out a square of
    ``cutout`` pixels centred on ``centre`` (arcsec, lens position); optionally subtract the
    sky; mask outside ``mask_radius`` arcsec of the lens, pixels whose noise flags them as
    ignored, and pixels of ``mask_file``; write the dataset and a preview.

    Raises
    ------
    ConfigError
        If a number is not finite or out of range (pixel scale, mask radius, centre,
        redshifts), before any file is read.
    """
    positive_number(pixel_scale, "--pixel-scale")
    positive_number(mask_radius, "--mask-radius")
    positive_number(positions_threshold, "--positions-threshold", allow_zero=True)
    for value in centre:
        _number(value, "--centre")
    check_redshifts(redshift_lens, redshift_source, names=("--redshift-lens", "--redshift-source"))
    imaging = Imaging.from_fits(data, psf, noise_map_path=noise, pixel_scale=pixel_scale,
                                noise_kind=noise_kind, hdu=hdu)
    shape = (cutout, cutout) if cutout else None
    prepared = prepare_imaging(imaging, centre=tuple(centre) if any(centre) else None,
                               cutout_shape=shape, subtract_sky=subtract_sky)
    mask = Mask.circular(prepared.shape, prepared.pixel_scale, mask_radius)
    mask = mask | Mask.from_noise_map(prepared.noise_map, prepared.pixel_scale)
    if mask_file:
        file_mask = Mask.from_fits(mask_file, pixel_scale)
        if file_mask.shape != prepared.shape:
            raise ConfigError(f"mask file {mask_file!r} has shape {file_mask.shape} but the "
                              f"prepared image is {prepared.shape}; give a mask of the cut-out")
        mask = mask | file_mask
    provenance = {
        "name": name, "kind": "prepared", "data": str(data), "noise": str(noise),
        "psf": str(psf), "hdu": hdu, "noise_kind": noise_kind, "centre": list(centre), "cutout": cutout,
        "subtract_sky": bool(subtract_sky), "redshift_lens": redshift_lens,
        "redshift_source": redshift_source, "info": dict(info or {}),
        "positions_threshold": positions_threshold, "lenspipe_version": __version__,
    }
    write_dataset(out, prepared, mask, positions=parse_positions(positions), provenance=provenance)
    if preview:
        preview_png(preview, prepared, mask, title=name)
    return prepared, mask
