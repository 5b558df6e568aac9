"""Imaging data, masks, pixel grids, FITS input/output, simulation, preparation.

Arrays are ``[row, column]`` with row 0 at the top (largest y); pixel ``(i, j)`` of an
``N_y x N_x`` image with pixel scale ``s`` (arcsec per pixel) has its centre at
``y = (N_y/2 - 0.5 - i) s``, ``x = (j - N_x/2 + 0.5) s``. Masks: True = masked out.
Over-sampling (uniform, map or adaptive) is :mod:`lenspipe.fit.oversampling`.
"""

from .fits_io import read_dataset, read_image, write_dataset, write_image
from .grid import grid_2d_from, pixel_centres_from
from .imaging import IGNORE_ABOVE, IGNORED_NOISE, Imaging, noise_map_from_weight
from .mask import Mask
from .prepare import cutout_slices, prepare_imaging, preview_png, sky_level_from
from .simulate import save_simulation, simulate_imaging

__all__ = [
    "Imaging",
    "IGNORED_NOISE",
    "IGNORE_ABOVE",
    "noise_map_from_weight",
    "Mask",
    "grid_2d_from",
    "pixel_centres_from",
    "read_image",
    "write_image",
    "read_dataset",
    "write_dataset",
    "simulate_imaging",
    "save_simulation",
    "prepare_imaging",
    "cutout_slices",
    "sky_level_from",
    "preview_png",
]
