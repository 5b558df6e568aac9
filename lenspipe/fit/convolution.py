"""PSF convolution of masked images by real-to-complex FFT on a tight padded box.

A :class:`Convolver` is built once per (mask, PSF) and then convolves any number
of images, singly or in batches. The algorithm, in steps:

1. The *blurring region* is every masked-out pixel whose PSF footprint reaches an
   unmasked pixel: the unmasked region dilated by the kernel's shape, minus the
   unmasked pixels. Light from it is blurred into the mask, so a model image is
   given as the values of the unmasked pixels ``(..., N)`` plus those of the
   blurring pixels ``(..., Nb)``, both in row-major order. The region may extend
   past the image's edge (a mask that touches the edge, as P1's does): model light
   from just outside the cut-out is blurred in too, so those pixels are kept, with
   row/column indices below 0 or beyond the image (:func:`blurring_pixels_from`).
2. The *box* is the bounding box of the unmasked pixels grown by the kernel's
   half-size on every side (it holds the blurring region), padded to
   FFT-friendly lengths ``L_y, L_x``. A circular convolution of length
   ``L >= box`` is exact (no wrap-around) on the unmasked pixels, because no
   kernel offset reaches from an unmasked pixel past the box's edge.
3. The kernel is placed with its centre at index ``(0, 0)`` of an ``L_y x L_x``
   array (wrapped), and its ``rfft2``, divided by ``L_y L_x`` (FFTW's inverse
   is unnormalised), is kept.
4. A call scatters the pixel values into a zeroed real buffer ``(K, L_y, L_x)``
   through precomputed flat indices (the pixels outside the mask and blurring
   region stay zero for ever: FFTW's real-to-complex transform preserves its
   input), runs the forward transform, multiplies by the kernel's transform,
   runs the inverse transform and gathers the unmasked pixels into a new array.

pyFFTW plans are made per batch size ``K`` and per thread, lazily, with a
configurable planner effort; FFTW wisdom is read from and written to a cache file
(``~/.cache/lenspipe/fftw-wisdom`` unless ``wisdom_path`` or the environment
variable ``LENSPIPE_FFTW_WISDOM`` says otherwise; ``wisdom_path=False`` disables
it). Plans and buffers are not pickled: a convolver sent to a worker process
rebuilds them there on first use. Where pyFFTW is missing, ``scipy.fft`` is used.

The result equals ``scipy.signal.convolve(image, kernel, mode="same")`` of the
image holding the unmasked and blurring pixels (zero elsewhere), read at the
unmasked pixels, to rounding (~1e-15 relative).
"""

from __future__ import annotations

import json
import os
import threading
import warnings
from pathlib import Path

import numpy as np
import scipy.fft
from scipy import ndimage

from ..errors import MaskError, PSFError

try:  # pragma: no cover - exercised implicitly when pyfftw is installed
    import pyfftw
except ImportError:  # pragma: no cover
    pyfftw = None

__all__ = ["Convolver", "blurring_pixels_from", "default_wisdom_path"]

_PLANNER_EFFORTS = ("FFTW_ESTIMATE", "FFTW_MEASURE", "FFTW_PATIENT", "FFTW_EXHAUSTIVE")
_MAX_CACHED_PLANS = 8
_WISDOM_LOCK = threading.Lock()
_PLAN_LOCK = threading.Lock()  # FFTW's planner is not thread-safe
_WISDOM_LOADED: set[str] = set()


def default_wisdom_path() -> Path:
    """The FFTW wisdom cache file: ``$LENSPIPE_FFTW_WISDOM`` or ``~/.cache/lenspipe/fftw-wisdom``."""
    env = os.environ.get("LENSPIPE_FFTW_WISDOM")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "lenspipe" / "fftw-wisdom"


def _mask_array(mask) -> np.ndarray:
    array = np.asarray(getattr(mask, "array", mask), dtype=bool)
    if array.ndim != 2:
        raise MaskError(f"A mask must be a 2-D boolean image; got shape {array.shape}.")
    if array.all():
        raise MaskError("The mask leaves no pixel to fit (every pixel is True = masked out).")
    return array


def _kernel_array(kernel) -> np.ndarray:
    array = np.asarray(getattr(kernel, "array", kernel), dtype=np.float64)
    if array.ndim != 2 or array.shape[0] % 2 == 0 or array.shape[1] % 2 == 0:
        raise PSFError(
            f"The PSF kernel must be a 2-D array with odd dimensions; got shape {array.shape}. "
            "Trim or pad it by one row/column so that its centre is a pixel."
        )
    if not np.all(np.isfinite(array)):
        raise PSFError("The PSF kernel holds NaN or inf values; replace them before fitting.")
    return array


def blurring_pixels_from(mask, kernel_shape) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the blurring region, row-major.

    Parameters
    ----------
    mask : ndarray of bool or Mask
        True = masked out, shape (H, W).
    kernel_shape : tuple of int
        The PSF kernel's (odd) shape.

    Returns
    -------
    rows, cols : ndarray of int
        Masked-out pixels whose kernel footprint reaches an unmasked pixel. Pixels
        beyond the image's edge are included (indices < 0 or >= H, W); they are the
        same as ``Mask.blurring_mask_from`` when the region lies inside the image.
    """
    unmasked = ~_mask_array(mask)
    hy, hx = kernel_shape[0] // 2, kernel_shape[1] // 2
    canvas = np.pad(unmasked, ((hy, hy), (hx, hx)))
    reach = ndimage.binary_dilation(canvas, structure=np.ones(kernel_shape, dtype=bool))
    rows, cols = np.nonzero(reach & ~canvas)
    return rows - hy, cols - hx


class Convolver:
    """Linear PSF convolution of masked images (see the module docstring).

    Parameters
    ----------
    mask : ndarray of bool or Mask
        True = masked out; shape (H, W).
    kernel : ndarray
        The PSF, odd shape, used as given (normalise it beforehand).
    planner_effort : str
        FFTW planner flag: "FFTW_ESTIMATE", "FFTW_MEASURE" (default), "FFTW_PATIENT".
    threads : int
        Threads FFTW uses inside one transform (1 is fastest for small boxes).
    wisdom_path : str, Path, None or False
        Wisdom cache file; None = :func:`default_wisdom_path`, False = no cache.
    backend : str
        "pyfftw" (default when installed) or "scipy".

    Attributes
    ----------
    pixels : int
        N, the number of unmasked pixels.
    blurring_pixels : int
        Nb, the number of pixels in the blurring region.
    blurring_rows, blurring_cols : ndarray of int
        Image indices of the blurring pixels (row-major; may lie beyond the image).
    box_shape : tuple of int
        The padded FFT shape (L_y, L_x).
    """

    def __init__(self, mask, kernel, planner_effort="FFTW_MEASURE", threads=1,
                 wisdom_path=None, backend=None):
        mask_array = _mask_array(mask)
        kernel_array = _kernel_array(kernel)
        if planner_effort not in _PLANNER_EFFORTS:
            raise ValueError(f"planner_effort must be one of {_PLANNER_EFFORTS}; got {planner_effort!r}.")
        if backend is None:
            backend = "pyfftw" if pyfftw is not None else "scipy"
        if backend not in ("pyfftw", "scipy") or (backend == "pyfftw" and pyfftw is None):
            raise ValueError(f"backend must be 'pyfftw' (installed) or 'scipy'; got {backend!r}.")
        self.mask = mask_array
        self.kernel = kernel_array
        self.planner_effort = planner_effort
        self.threads = int(threads)
        self.backend = backend
        self.wisdom_path = None if wisdom_path is False else Path(wisdom_path or default_wisdom_path())

        hy, hx = kernel_array.shape[0] // 2, kernel_array.shape[1] // 2
        rows, cols = np.nonzero(~mask_array)
        self.origin = (int(rows.min()) - hy, int(cols.min()) - hx)  # image (row, col) of box[0, 0]
        height = int(rows.max() - rows.min()) + 1 + 2 * hy
        width = int(cols.max() - cols.min()) + 1 + 2 * hx
        self.box_shape = (scipy.fft.next_fast_len(height, real=True),
                          scipy.fft.next_fast_len(width, real=True))
        self.pixels = rows.size
        self.index = self._box_index(rows, cols)
        b_rows, b_cols = blurring_pixels_from(mask_array, kernel_array.shape)
        self.blurring_rows, self.blurring_cols = b_rows, b_cols
        self.blurring_pixels = b_rows.size
        self.blurring_index = self._box_index(b_rows, b_cols)
        self.kernel_fft = self._kernel_fft(kernel_array, hy, hx)
        self._local = threading.local()

    # ------------------------------------------------------------------ setup
    def _box_index(self, rows, cols) -> np.ndarray:
        """Flat indices into the (L_y, L_x) box of image pixels (rows, cols)."""
        return ((rows - self.origin[0]) * self.box_shape[1] + (cols - self.origin[1])).astype(np.intp)

    def _kernel_fft(self, kernel, hy, hx) -> np.ndarray:
        ly, lx = self.box_shape
        padded = np.zeros((ly, lx))
        padded[: kernel.shape[0], : kernel.shape[1]] = kernel
        padded = np.roll(padded, (-hy, -hx), axis=(0, 1))  # centre at (0, 0)
        return scipy.fft.rfft2(padded) / (ly * lx)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("_local", None)  # FFTW plans and aligned buffers cannot be pickled
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._local = threading.local()

    # --------------------------------------------------------------- planning
    def _load_wisdom(self):
        if self.wisdom_path is None:
            return
        key = str(self.wisdom_path)
        with _WISDOM_LOCK:
            if key in _WISDOM_LOADED:
                return
            _WISDOM_LOADED.add(key)
            try:
                stored = json.loads(self.wisdom_path.read_text())
                pyfftw.import_wisdom(tuple(stored[k].encode("ascii") for k in ("double", "single", "longdouble")))
            except FileNotFoundError:
                pass
            except (OSError, ValueError, KeyError, TypeError) as error:
                warnings.warn(f"Ignoring unreadable FFTW wisdom file {self.wisdom_path}: {error}", stacklevel=3)

    def _save_wisdom(self):
        if self.wisdom_path is None:
            return
        double, single, longdouble = pyfftw.export_wisdom()
        text = json.dumps({"double": double.decode("ascii"), "single": single.decode("ascii"),
                           "longdouble": longdouble.decode("ascii")})
        try:
            self.wisdom_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.wisdom_path.with_name(f"{self.wisdom_path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, self.wisdom_path)
        except OSError as error:  # a read-only home is no reason to fail a fit
            warnings.warn(f"Could not save FFTW wisdom to {self.wisdom_path}: {error}", stacklevel=3)

    def _plan(self, k: int):
        """(real buffer, forward, complex buffer, inverse, output buffer) for batch size k."""
        plans = getattr(self._local, "plans", None)
        if plans is None:
            plans = self._local.plans = {}
        plan = plans.get(k)
        if plan is not None:
            return plan
        ly, lx = self.box_shape
        shape = (k, ly, lx)
        cshape = (k, ly, lx // 2 + 1)
        if self.backend == "pyfftw":
            self._load_wisdom()
            real_in = pyfftw.zeros_aligned(shape, dtype="float64")
            spectrum = pyfftw.empty_aligned(cshape, dtype="complex128")
            real_out = pyfftw.empty_aligned(shape, dtype="float64")
            flags = (self.planner_effort,)
            # Planning with MEASURE scribbles over the arrays: plan first, zero after.
            with _PLAN_LOCK:
                forward = pyfftw.FFTW(real_in, spectrum, axes=(-2, -1), direction="FFTW_FORWARD",
                                      flags=flags, threads=self.threads)
                inverse = pyfftw.FFTW(spectrum, real_out, axes=(-2, -1), direction="FFTW_BACKWARD",
                                      flags=flags + ("FFTW_DESTROY_INPUT",), threads=self.threads)
                self._save_wisdom()
            real_in[...] = 0.0
        else:
            real_in, spectrum, real_out, forward, inverse = np.zeros(shape), None, None, None, None
        if len(plans) >= _MAX_CACHED_PLANS:
            plans.pop(next(iter(plans)))
        plan = plans[k] = (real_in, forward, spectrum, inverse, real_out)
        return plan

    # ------------------------------------------------------------ convolution
    def convolve(self, image, blurring_image=None) -> np.ndarray:
        """Blur a masked image by the PSF.

        Parameters
        ----------
        image : ndarray, shape (..., N)
            Values of the unmasked pixels (row-major order).
        blurring_image : ndarray, shape (..., Nb), optional
            Values of the blurring-region pixels; omitted = zero.

        Returns
        -------
        ndarray, shape (..., N)
            The blurred unmasked pixels (a new array).
        """
        image = np.asarray(image, dtype=np.float64)
        if image.shape[-1] != self.pixels:
            raise ValueError(f"image has {image.shape[-1]} pixels on its last axis; the mask has {self.pixels}.")
        lead = image.shape[:-1]
        if blurring_image is not None:
            blurring_image = np.asarray(blurring_image, dtype=np.float64)
            if blurring_image.shape[-1] != self.blurring_pixels:
                raise ValueError(f"blurring_image has {blurring_image.shape[-1]} pixels; "
                                 f"the blurring region has {self.blurring_pixels}.")
            lead = np.broadcast_shapes(lead, blurring_image.shape[:-1])
        k = int(np.prod(lead, dtype=np.int64))
        flat_image = np.broadcast_to(image, lead + (self.pixels,)).reshape(k, self.pixels)
        flat_blur = None if blurring_image is None else np.broadcast_to(
            blurring_image, lead + (self.blurring_pixels,)).reshape(k, self.blurring_pixels)
        return self._convolve_flat(flat_image, flat_blur).reshape(lead + (self.pixels,))

    def _convolve_flat(self, image, blurring) -> np.ndarray:
        k = image.shape[0]
        real_in, forward, spectrum, inverse, real_out = self._plan(k)
        if k == 1:  # 1-D fancy indexing is about three times faster than [:, index]
            image, blurring = image[0], None if blurring is None else blurring[0]
            flat_in = real_in.reshape(-1)
        else:
            flat_in = real_in.reshape(k, -1)
        flat_in[..., self.index] = image
        if blurring is not None:
            flat_in[..., self.blurring_index] = blurring
        elif self.blurring_pixels:
            flat_in[..., self.blurring_index] = 0.0
        if forward is None:  # scipy backend
            spectrum = scipy.fft.rfft2(real_in, workers=self.threads)
            spectrum *= self.kernel_fft
            real_out = scipy.fft.irfft2(spectrum, s=self.box_shape, overwrite_x=True, workers=self.threads,
                                        norm="forward")  # undoes the 1/(L_y L_x) in kernel_fft
        else:
            forward.execute()
            np.multiply(spectrum, self.kernel_fft, out=spectrum)
            inverse.execute()  # unnormalised; the 1/(L_y L_x) is in kernel_fft
        if k == 1:
            return np.take(real_out.reshape(-1), self.index)[None, :]  # a copy out of the reused buffer
        return real_out.reshape(k, -1)[:, self.index]  # fancy indexing copies out of the reused buffer

    def convolve_image(self, image_2d) -> np.ndarray:
        """Blur a full (H, W) or (..., H, W) image, using only its unmasked and blurring pixels.

        Blurring pixels beyond the image's edge count as zero. Returns the blurred
        image on the full grid, zero outside the mask.
        """
        image_2d = np.asarray(image_2d, dtype=np.float64)
        height, width = self.mask.shape
        rows, cols = self.blurring_rows, self.blurring_cols
        inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        blurring = np.zeros(image_2d.shape[:-2] + (self.blurring_pixels,))
        blurring[..., inside] = image_2d[..., rows[inside], cols[inside]]
        blurred = self.convolve(image_2d[..., ~self.mask], blurring)
        out = np.zeros(image_2d.shape)
        out[..., ~self.mask] = blurred
        return out
