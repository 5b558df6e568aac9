"""A source mesh held at a reference mass, so that the log evidence is continuous in the mass.

PyAutoArray builds a pixelized source's mesh from each model's own mass: a Delaunay mesh's
vertices are an image-plane overlay traced by that mass, a rectangular mesh spans that mass's
traced points, and an Adapt regularization's pixel signals count the traced points that touch
each pixel. As the mass moves, triangles flip and points change pixels, so the log evidence
jumps: on J0029-0055 steps of up to 12.6 and 5.0 rms about a quadratic across a tenth of a
sigma of the Einstein radius (``benchmarks/evidence_noise.py``). An ensemble sampler's walkers
stick on such spikes, and a stage's autocorrelation time grows with its chain.

Held (``inversion.hold_mesh``), the mesh and the pixel signals are built once, from a
reference mass (a pipeline stage takes the last earlier stage's maximum-likelihood model), and
each model's traced points are interpolated on that fixed mesh. Barycentric and bilinear
interpolation are continuous across the mesh's edges and the regularization matrix no longer
depends on the mass, so the log evidence is a continuous function of the mass. The source's
prior (its mesh and regularization) is then the same for every mass the sampler compares,
as with a source-plane grid fixed in advance (Warren & Dye 2003). It departs from PyAutoLens,
whose mesh follows each model: near the reference the two agree, and they are equal at it.
"""

from __future__ import annotations

import threading

__all__ = ["HeldMesh"]


class HeldMesh:
    """The reference mass of held meshes, and their mappers (built once per mesh and grid).

    Parameters
    ----------
    tracer : Tracer
        The reference: its mass traces the mesh's overlay and the pixelization's points.
    """

    def __init__(self, tracer):
        self.tracer = tracer
        self._mappers = {}
        self._lock = threading.Lock()

    def __getstate__(self):
        return {"tracer": self.tracer}

    def __setstate__(self, state):
        self.__init__(state["tracer"])

    def trace(self, plane):
        """(P, 2) image-plane points -> (P, 2) points on ``plane`` under the reference mass."""
        return lambda points: self.tracer.traced_grids_from(points)[plane].reshape(-1, 2)

    def mapper_for(self, mesh, dataset, grid, plane):
        """``mesh`` laid over ``grid``'s points traced by the reference mass (cached).

        Its vertices (or extent) are the held mesh; its point-to-pixel entries give the Adapt
        pixel signals of every model.
        """
        key = (mesh, plane, id(grid))
        with self._lock:
            cached = self._mappers.get(key)
        if cached is None or cached[0] is not grid:  # (a grid cleared from the dataset's cache)
            trace = self.trace(plane)
            cached = (grid, mesh.mapper_from(trace(grid.points), dataset.masked_grid, trace))
            with self._lock:
                if len(self._mappers) >= 8:
                    self._mappers.clear()
                self._mappers[key] = cached
        return cached[1]
