"""lenspipe: reproducible strong-lens modelling at survey scale."""

from ._version import __version__
from .errors import LenspipeError

__all__ = ["__version__", "LenspipeError"]
