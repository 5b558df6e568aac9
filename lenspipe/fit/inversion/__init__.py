"""Pixelized sources: meshes, regularization and the linear inversion (see :mod:`.inversion`)."""

from .inversion import (Inversion, InversionError, InversionPositionsError, Pixelization, PixelizationGrid,
                        adaptive_sub_sizes, inversion_from, pixelization_grid_from, psf_matrix_from)
from .mesh import Delaunay, Mapper, Rectangular
from .regularization import Adapt, Constant, pixel_signals_from

__all__ = ["Pixelization", "PixelizationGrid", "Inversion", "InversionError", "InversionPositionsError",
           "inversion_from", "pixelization_grid_from", "adaptive_sub_sizes", "psf_matrix_from", "Rectangular",
           "Delaunay", "Mapper", "Constant", "Adapt", "pixel_signals_from"]
