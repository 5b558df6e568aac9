"""lenspipe: reproducible strong-lens modelling at survey scale.

The public entry points: :class:`Aggregator` (the results database), the rooms
:mod:`lenspipe.profiles`, :mod:`lenspipe.lensing`, :mod:`lenspipe.data`,
:mod:`lenspipe.model`, :mod:`lenspipe.search`, and the ``lenspipe`` command line.
"""

from ._version import __version__
from .errors import LenspipeError

__all__ = ["__version__", "LenspipeError", "Aggregator"]


def __getattr__(name):
    # Imported on first use, so that `import lenspipe` stays light for the workflow.
    if name == "Aggregator":
        from .database import Aggregator

        return Aggregator
    raise AttributeError(f"module 'lenspipe' has no attribute {name!r}")
