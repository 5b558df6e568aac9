"""FITS input and output: single images and the dataset file.

Reading turns every way a file can be wrong (missing, unreadable, truncated,
no image, wrong dimensions) into a :class:`~lenspipe.errors.DatasetError` whose
message names the file and says how to fix it. Writing is atomic: the FITS
file is written to a temporary file in the destination folder and moved into
place with :func:`os.replace`, so a reader never sees half a file. Input files
are opened read-only and never modified.

The dataset file (``results/{lens}/dataset.fits``) is one multi-extension FITS:

=========== ===================================================================
extension   content
=========== ===================================================================
PRIMARY     no data; header ``FORMAT`` = "lenspipe-dataset", ``FMTVERS``,
            ``PIXSCALE`` (arcsec per pixel), ``LPVERS`` (lenspipe version),
            ``CREATED`` (ISO 8601 UTC), ``PROVJSON`` (provenance as JSON)
DATA        float64 image (e.g. electrons/s)
NOISE_MAP   float64 1-sigma noise, same units; ignored pixels carry 1e8
PSF         float64 kernel, odd dimensions, sums to 1
MASK        uint8, 1 = masked out (not fitted), 0 = fitted
POSITIONS   binary table, columns ``Y`` and ``X`` (arcsec); may have no rows
=========== ===================================================================
"""

from __future__ import annotations

import datetime
import json
import re
import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits

from .._version import __version__
from ..errors import DatasetError, MaskError
from .files import atomic_file

__all__ = ["read_image", "write_image", "write_hdus", "write_dataset", "read_dataset", "split_extension"]

_EXTENSION = re.compile(r"(?P<path>.+)\[(?P<ext>[^\[\]]+)\]")


#: How a user picks the image's extension (said in every error about a wrong one).
_CHOOSE = ("Choose the image extension as FILE.fits[EXTNAME] or FILE.fits[INDEX], or with --hdu "
           "(`hdu` in a dataset sheet, hdu= in Python).")


def split_extension(path, hdu=0):
    """``(file, hdu)`` of a path that may name its extension, as ``image.fits[SCI]`` or
    ``image.fits[1]`` (CFITSIO's notation); a path without one keeps ``hdu``.

    A file that really exists under the whole name (brackets included) is taken as is.
    """
    text = str(path)
    match = _EXTENSION.fullmatch(text)
    if match is None or Path(text).is_file():
        return Path(text), hdu
    ext = match["ext"].strip().strip("'\"")
    return Path(match["path"]), int(ext) if ext.isdigit() else ext

DATASET_FORMAT = "lenspipe-dataset"
DATASET_FORMAT_VERSION = 1
_READ_ERRORS = (OSError, ValueError, TypeError, IndexError, KeyError, EOFError)


def read_image(path, hdu=0, what="image"):
    """Read a 2D image from one HDU of a FITS file.

    Parameters
    ----------
    path : str or Path
        The FITS file (opened read-only, never modified).
    hdu : int or str
        Index or EXTNAME of the HDU holding the image.
    what : str
        What the image is ("data", "noise map", "PSF"), used in error messages.

    Returns
    -------
    array : ndarray of float64, shape (N_y, N_x)
        A native-endian copy of the image (row 0 is the top of the image).
    header : astropy.io.fits.Header
        A copy of the HDU's header.

    Raises
    ------
    DatasetError
        If the file is missing or unreadable, is not valid FITS, is truncated,
        has no such HDU, the HDU holds no image, or the image is not 2D or is empty.
    """
    path, hdu = split_extension(path, hdu)
    if not path.is_file():
        raise DatasetError(
            f"{what} file not found: '{path}'. Check the path (relative paths are taken "
            f"from the working directory '{Path.cwd()}')."
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with fits.open(path, mode="readonly", memmap=False) as hdul:
                hdul_names = [f"{i}: {h.name} {type(h).__name__}" for i, h in enumerate(hdul)]
                try:
                    selected = hdul[hdu]
                except (IndexError, KeyError):
                    raise DatasetError(
                        f"{what} file '{path}' has no HDU {hdu!r}; its HDUs are "
                        f"[{'; '.join(hdul_names)}]. {_CHOOSE}"
                    ) from None
                if not isinstance(selected, (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)):
                    raise DatasetError(
                        f"HDU {hdu!r} of {what} file '{path}' is a {type(selected).__name__}, "
                        f"not an image; its HDUs are [{'; '.join(hdul_names)}]. {_CHOOSE}"
                    )
                data = selected.data
                header = selected.header.copy()
        except DatasetError:
            raise
        except _READ_ERRORS as err:
            raise DatasetError(
                f"cannot read {what} file '{path}': {err}{_warning_text(caught)}. The file "
                f"is corrupt, truncated or not FITS; re-download or re-export it."
            ) from err
    truncated = [w for w in caught if "truncat" in str(w.message).lower()]
    if truncated:
        raise DatasetError(
            f"{what} file '{path}' is truncated ({truncated[0].message}); re-download or "
            f"re-export it."
        )
    if data is None:
        raise DatasetError(
            f"HDU {hdu!r} of {what} file '{path}' holds no image data; its HDUs are "
            f"[{'; '.join(hdul_names)}]. {_CHOOSE}"
        )
    array = np.asarray(data)
    if array.ndim != 2:
        raise DatasetError(
            f"{what} in '{path}' (HDU {hdu!r}) has {array.ndim} dimensions with shape "
            f"{array.shape}; a 2D image is needed. Extract one plane, or name another extension as FILE.fits[EXTNAME]."
        )
    if array.size == 0:
        raise DatasetError(f"{what} in '{path}' (HDU {hdu!r}) is empty (shape {array.shape}).")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise DatasetError(f"{what} in '{path}' has non-real type {array.dtype}; a real image is needed.")
    return np.array(array, dtype=np.float64), header


def _warning_text(caught):
    """The messages of caught warnings, for an error message."""
    if not caught:
        return ""
    return " (" + "; ".join(str(w.message).replace("\n", " ") for w in caught[:3]) + ")"


def write_hdus(path, hdus, overwrite=True):
    """Write a list of HDUs to ``path`` atomically (temporary file, then ``os.replace``).

    Parameters
    ----------
    path : str or Path
        Destination; its folder is created if needed.
    hdus : list of astropy HDUs
        The first must be a PrimaryHDU.
    overwrite : bool
        If False and ``path`` exists, raise :class:`FileExistsError`.
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"'{path}' exists; pass overwrite=True to replace it.")
    with atomic_file(path) as handle:
        fits.HDUList(hdus).writeto(handle)


def write_image(path, array, header=None, overwrite=True):
    """Write a 2D array as the primary HDU of a FITS file, atomically.

    Parameters
    ----------
    path : str or Path
        Destination file.
    array : ndarray
        The image; written with its own dtype (float64 images round-trip bit for bit).
    header : dict or astropy.io.fits.Header, optional
        Extra header cards (keys of at most 8 characters, or astropy HIERARCH keys).
    overwrite : bool
        Replace an existing file (default True).
    """
    hdu = fits.PrimaryHDU(np.asarray(array))
    for key, value in dict(header or {}).items():
        hdu.header[key] = value
    write_hdus(path, [hdu], overwrite=overwrite)


def write_dataset(path, imaging, mask, positions=None, provenance=None):
    """Write the dataset file (data, noise map, PSF, mask, positions) atomically.

    Parameters
    ----------
    path : str or Path
        Destination, e.g. ``results/{lens}/dataset.fits``; replaced if it exists.
    imaging : Imaging
        The prepared imaging.
    mask : Mask
        True = masked out; must have the imaging's shape and pixel scale.
    positions : array_like of shape (P, 2), optional
        ``(y, x)`` arcsec of the multiple images (positions likelihood); default none.
    provenance : dict, optional
        JSON-serialisable facts about where the dataset came from (source paths, ...).
        ``lenspipe_version`` and ``created`` are added.

    Raises
    ------
    MaskError
        If the mask's shape or pixel scale does not match the imaging.
    DatasetError
        If ``positions`` is not an array of (y, x) pairs or the provenance is not JSON.
    """
    if mask.shape != imaging.shape:
        raise MaskError(f"mask shape {mask.shape} differs from the image shape {imaging.shape}.")
    if not np.isclose(mask.pixel_scale, imaging.pixel_scale, rtol=1e-9, atol=0.0):
        raise MaskError(
            f"mask pixel scale {mask.pixel_scale} differs from the image's {imaging.pixel_scale}."
        )
    positions = _positions_array(positions)
    info = dict(provenance or {})
    info.setdefault("lenspipe_version", __version__)
    info.setdefault("created", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    try:
        provenance_json = json.dumps(info, sort_keys=True)
    except TypeError as err:
        raise DatasetError(f"provenance is not JSON-serialisable: {err}") from err

    primary = fits.PrimaryHDU()
    primary.header["FORMAT"] = (DATASET_FORMAT, "lenspipe dataset file")
    primary.header["FMTVERS"] = (DATASET_FORMAT_VERSION, "dataset file format version")
    primary.header["PIXSCALE"] = (float(imaging.pixel_scale), "arcsec per pixel")
    primary.header["LPVERS"] = (str(info["lenspipe_version"]), "lenspipe version")
    primary.header["CREATED"] = (str(info["created"]), "creation time, UTC")
    primary.header["PROVJSON"] = provenance_json
    images = [
        fits.ImageHDU(np.asarray(imaging.data, dtype=np.float64), name="DATA"),
        fits.ImageHDU(np.asarray(imaging.noise_map, dtype=np.float64), name="NOISE_MAP"),
        fits.ImageHDU(np.asarray(imaging.psf, dtype=np.float64), name="PSF"),
        fits.ImageHDU(mask.array.astype(np.uint8), name="MASK"),
    ]
    for hdu in images:
        hdu.header["PIXSCALE"] = (float(imaging.pixel_scale), "arcsec per pixel")
    images[3].header["COMMENT"] = "1 = masked out (not fitted), 0 = fitted"
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column(name="Y", format="D", unit="arcsec", array=positions[:, 0]),
            fits.Column(name="X", format="D", unit="arcsec", array=positions[:, 1]),
        ],
        name="POSITIONS",
    )
    write_hdus(path, [primary, *images, table], overwrite=True)


def _positions_array(positions):
    """Positions as a float64 (P, 2) array ((0, 2) when there are none)."""
    if positions is None:
        return np.zeros((0, 2))
    array = np.asarray(positions, dtype=np.float64)
    if array.size == 0:
        return np.zeros((0, 2))
    if array.ndim != 2 or array.shape[1] != 2 or not np.all(np.isfinite(array)):
        raise DatasetError(
            f"positions must be finite (y, x) arcsec pairs of shape (P, 2); got shape {array.shape}."
        )
    return array


def read_dataset(path):
    """Read a dataset file written by :func:`write_dataset`.

    Parameters
    ----------
    path : str or Path
        The dataset file.

    Returns
    -------
    imaging : Imaging
    mask : Mask
        True = masked out.
    positions : ndarray of shape (P, 2)
        ``(y, x)`` arcsec; shape (0, 2) if none were stored.
    provenance : dict
        The stored provenance (includes ``lenspipe_version`` and ``created``).

    Raises
    ------
    DatasetError
        If the file is missing, corrupt, not a lenspipe dataset file, or lacks an extension.
    """
    from .imaging import Imaging
    from .mask import Mask

    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"dataset file not found: '{path}'. Run the prepare step to create it.")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with fits.open(path, mode="readonly", memmap=False) as hdul:
                header = hdul[0].header.copy()
                names = {h.name for h in hdul}
                missing = [n for n in ("DATA", "NOISE_MAP", "PSF", "MASK", "POSITIONS") if n not in names]
                if header.get("FORMAT") != DATASET_FORMAT:
                    raise DatasetError(
                        f"'{path}' is not a lenspipe dataset file (no FORMAT = '{DATASET_FORMAT}' "
                        f"in its primary header); write it with lenspipe.data.write_dataset."
                    )
                if missing:
                    raise DatasetError(
                        f"dataset file '{path}' lacks the extension(s) {missing}; it is incomplete "
                        f"or corrupt. Delete it and run the prepare step again."
                    )
                arrays = {n: hdul[n].data for n in ("DATA", "NOISE_MAP", "PSF", "MASK")}
                table = hdul["POSITIONS"].data
                positions = (
                    np.zeros((0, 2))
                    if table is None or len(table) == 0
                    else np.column_stack([np.asarray(table["Y"], float), np.asarray(table["X"], float)])
                )
        except DatasetError:
            raise
        except _READ_ERRORS as err:
            raise DatasetError(
                f"cannot read dataset file '{path}': {err}{_warning_text(caught)}. It is corrupt "
                f"or truncated: delete it and run the prepare step again."
            ) from err
    if any("truncat" in str(w.message).lower() for w in caught):
        raise DatasetError(f"dataset file '{path}' is truncated: delete it and run the prepare step again.")
    if any(a is None for a in arrays.values()) or "PIXSCALE" not in header:
        raise DatasetError(f"dataset file '{path}' has an empty extension or no PIXSCALE; it is corrupt.")
    try:
        provenance = json.loads(header.get("PROVJSON", "{}"))
    except json.JSONDecodeError as err:
        raise DatasetError(f"dataset file '{path}' has unreadable provenance JSON: {err}") from err
    pixel_scale = float(header["PIXSCALE"])
    imaging = Imaging(
        data=np.array(arrays["DATA"], dtype=np.float64),
        noise_map=np.array(arrays["NOISE_MAP"], dtype=np.float64),
        psf=np.array(arrays["PSF"], dtype=np.float64),
        pixel_scale=pixel_scale,
    )
    mask = Mask(np.asarray(arrays["MASK"]) != 0, pixel_scale)
    return imaging, mask, positions, provenance
