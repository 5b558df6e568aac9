"""The pixelized-source step of the likelihood chain.

:func:`pixelizations_from` finds the galaxies with a ``pixelization`` component;
:func:`invert` solves each model's source (a batch row at a time: every model has its own
mesh) against the data minus the rest of the model, and adds the reconstruction's blurred
image. The log evidence's extra terms are in each :class:`~.inversion.Inversion`.
"""

from __future__ import annotations

import typing

import numpy as np

from ...errors import ModelError
from ..blas import single_threaded_blas
from .inversion import adaptive_sub_sizes, inversion_from, pixelization_grid_from

__all__ = ["PixelizedTerm", "pixelizations_from", "model_has_pixelization", "galaxies_needing_adapt_images",
           "invert"]


class PixelizedTerm(typing.NamedTuple):
    """A pixelization met in the planes: its plane, galaxy, component name and the pixelization."""

    plane: int
    galaxy: object
    name: str
    pixelization: object


def pixelizations_from(planes) -> list:
    """The :class:`PixelizedTerm` of every galaxy component that is a pixelization."""
    return [PixelizedTerm(index, galaxy, name, component)
            for index, galaxies in enumerate(planes) for galaxy in galaxies
            for name, component in getattr(galaxy, "pixelizations", {}).items()]


def _median_instance(model):
    n = model.prior_count
    return model.instance_from_vector(model.vector_from_unit_vector(np.full(n, 0.5)) if n else np.zeros(0))


def model_has_pixelization(model) -> bool:
    """Whether a model's galaxies hold a pixelized source (its instance at the priors' medians)."""
    return any(galaxy.pixelizations for galaxy in _median_instance(model).galaxies)


def galaxies_needing_adapt_images(model) -> list:
    """Names of the model's galaxies whose pixelization's regularization adapts to an image."""
    galaxies = _median_instance(model).galaxies
    names = galaxies.keys() if callable(getattr(galaxies, "keys", None)) else range(len(list(galaxies)))
    return [str(name) for name, galaxy in zip(names, galaxies)
            if any(getattr(p.regularization, "needs_signal", False) for p in galaxy.pixelizations.values())]


def _batch_size(value) -> int:
    """The largest batch (K of (K, 1) parameters) in a (nested) dataclass, tuple or value."""
    import dataclasses

    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return max([1] + [_batch_size(getattr(value, f.name)) for f in dataclasses.fields(value)])
    if isinstance(value, tuple):
        return max([1] + [_batch_size(v) for v in value])
    array = np.asarray(value)
    return int(array.size) if array.dtype.kind in "biuf" else 1


def _tracer_row(tracer, row):
    """The tracer of one batch row of a batched tracer (parameters gathered to (1, 1))."""
    from ...lensing import Tracer
    from ..refinement import galaxy_rows

    rows = np.array([row])
    return Tracer([galaxy_rows(galaxy, rows) for galaxy in tracer.galaxies], cosmology=tracer.cosmology)


def invert(dataset, tracer, terms, model, settings, adapt_images=None, timer=None, bases=(), held=None):
    """The model with each pixelized source's blurred reconstruction added, and the inversions.

    Parameters
    ----------
    dataset : MaskedImaging
    tracer : Tracer
    terms : list of PixelizedTerm
        One pixelization (several are not solved jointly yet: ModelError).
    model : ndarray, shape (..., N)
        The rest of the model (blurred light, sky).
    settings : InversionSettings
        The pixelization grid's ``sub_size`` (and, with an adapt image of the source,
        ``sub_size_upper`` where its S/N exceeds ``signal_to_noise_cut``) and ``positive_only``.
    adapt_images : dict, optional
        ``id(galaxy) -> (N,)`` adapt image of that galaxy (needed by Adapt regularization).
    timer : StepTimer, optional
        Passed to :func:`~.inversion.inversion_from`.
    bases : sequence of ndarray, each (..., N)
        Blurred unit-intensity images of linear light profiles, solved in the same system
        (``Inversion.amplitudes``).
    held : HeldMesh, optional
        Build the mesh and the Adapt pixel signals from its reference mass, not each model's
        (:mod:`.held`).

    Returns
    -------
    model : ndarray, shape (..., N)
    inversions : list
        One :class:`~.inversion.Inversion` per batch row (a single one for an unbatched model).
    """
    if len(terms) != 1:
        raise ModelError(f"{len(terms)} pixelized sources in one model; lenspipe solves one pixelization per fit")
    term = terms[0]
    adapt = None if adapt_images is None else adapt_images.get(id(term.galaxy))
    sub_size = settings.sub_size
    if adapt is not None and settings.sub_size_upper:
        sub_size = adaptive_sub_sizes(adapt, dataset.noise_map, settings.sub_size, settings.sub_size_upper,
                                      settings.signal_to_noise_cut)
    grid = pixelization_grid_from(dataset, sub_size)
    rows = max(_batch_size(component) for galaxy in tracer.galaxies for component in galaxy.profiles.values())
    model = np.asarray(model, dtype=float)
    rows = max([rows] + [int(np.prod(np.shape(b)[:-1])) for b in bases])
    batched = model.ndim > 1 or rows > 1
    model_rows = np.broadcast_to(model, (rows, dataset.pixels)) if batched else model[None]
    out, inversions = np.empty((rows, dataset.pixels)), []
    galaxy_index = next(i for i, galaxy in enumerate(tracer.galaxies) if galaxy is term.galaxy)
    for row in range(rows):
        extra = None
        if len(bases):
            extra = np.column_stack([b.reshape(-1, dataset.pixels)[row if np.ndim(b) > 1 else 0] for b in bases])
        row_tracer = _tracer_row(tracer, row) if rows > 1 else tracer
        pixelization = row_tracer.galaxies[galaxy_index].profiles[term.name]
        reference = None if held is None else held.mapper_for(pixelization.mesh, dataset, grid, term.plane)
        traced = row_tracer.traced_grids_from(grid.points)[term.plane].reshape(-1, 2)  # a row's (1, M, 2) -> (M, 2)

        def trace(points, row_tracer=row_tracer):
            return row_tracer.traced_grids_from(points)[term.plane].reshape(-1, 2)

        with single_threaded_blas():  # a batch's parallelism is the evaluator's threads
            inversion = inversion_from(dataset, pixelization, traced, dataset.data - model_rows[row],
                                       grid, trace=trace, adapt_values=adapt,
                                       positive_only=settings.positive_only, timer=timer, extra=extra,
                                       reference=reference)
        out[row] = model_rows[row] + inversion.mapped_image + inversion.linear_image
        inversions.append(inversion)
    return (out if batched else out[0]), inversions
