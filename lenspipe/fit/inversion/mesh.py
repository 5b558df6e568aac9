"""Source-plane meshes: where a pixelized source's pixels are, and how traced points map to them.

A mesh is a frozen dataclass of its (model) parameters; ``mapper_from`` lays it over the
traced points of one model and returns a :class:`Mapper`: for every traced point, the
indices of the source pixels it interpolates between and their weights (summing to 1),
plus each pixel's neighbours for the regularization. Parameter names and meanings follow
PyAutoArray 2026.7.29.1.

- :class:`Rectangular` (PyAutoArray's ``RectangularUniform``): ``shape = (n_y, n_x)``
  pixels laid over the extent of the traced points (plus a 1e-8 arcsec buffer), pixel
  centres row-major from the top left; a point interpolates bilinearly between the four
  pixel centres around it (clipped to the outermost cells). Neighbours: the 4-connected
  grid.
- :class:`Delaunay` (PyAutoArray's ``Delaunay`` with an ``Overlay`` image mesh):
  ``shape = (n_y, n_x)`` points overlaid uniformly on the mask's bounding box, those
  inside the mask kept and traced to the source plane, become the vertices; a point
  interpolates barycentrically inside its Delaunay triangle (``scipy.spatial.Delaunay``;
  the triangle found by a compiled walk from the previous point's, :mod:`.kernels`),
  or takes its nearest vertex when it falls outside the triangulation. Neighbours: the
  vertices that share a triangle edge.

Either mesh can be held at a reference (``mapper_from(..., reference=)``, a :class:`Mapper`
built from a reference mass; :mod:`.held`): the same extent or vertices then serve every
model, and only the model's traced points are located on them.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ...errors import ProfileError
from .kernels import delaunay_locate

__all__ = ["Mapper", "Rectangular", "Delaunay"]

#: Buffer (arcsec) added around the traced points' extent, as PyAutoArray's overlay.
BUFFER = 1e-8


@dataclasses.dataclass(frozen=True)
class Mapper:
    """A mesh laid over one model's traced points.

    Attributes
    ----------
    pixels : int
        S, the number of source pixels.
    indices : ndarray of int, shape (M, k)
        For each traced point, the source pixels it interpolates between.
    weights : ndarray, shape (M, k)
        Their interpolation weights (each row sums to 1).
    neighbours : ndarray of int, shape (S, n)
        Each pixel's neighbours, padded with -1.
    vertices : ndarray, shape (S, 2)
        The source pixels' (y, x) centres or vertices, arcsec.
    sizes : ndarray of int, shape (M,), optional
        How many of each row's k entries are used (the rest have weight 0); all k if None.
    areas : ndarray, shape (S,), optional
        Each pixel's share of the source plane, arcsec^2, such that ``sum(values * areas)`` is
        the integral of the interpolated source (rectangular: the cell area; Delaunay: a third
        of the triangles around the vertex, exact for barycentric interpolation).
    triangulation : scipy.spatial.Delaunay, optional
        A Delaunay mesh's triangulation, reused by the mappers of a mesh held at this one.
    """

    pixels: int
    indices: np.ndarray
    weights: np.ndarray
    neighbours: np.ndarray
    vertices: np.ndarray
    sizes: np.ndarray | None = None
    areas: np.ndarray | None = None
    triangulation: object = dataclasses.field(default=None, repr=False, compare=False)

    def valid_entries(self) -> np.ndarray:
        """(M, k) bool: the entries that are used."""
        k = self.indices.shape[1]
        if self.sizes is None:
            return np.ones(self.indices.shape, dtype=bool)
        return np.arange(k)[None, :] < self.sizes[:, None]


def _shape(shape, name):
    shape = tuple(int(n) for n in np.ravel(shape))
    if len(shape) != 2 or min(shape) < 3:
        raise ProfileError(f"a {name} mesh needs a shape of two integers >= 3 (pixels in y and x); got {shape!r}")
    return shape


def grid_neighbours(shape) -> np.ndarray:
    """(S, 4) 4-connected neighbours of a row-major ``shape`` grid, padded with -1 (up, down, left, right)."""
    n_y, n_x = shape
    index = np.arange(n_y * n_x).reshape(n_y, n_x)
    padded = np.full((n_y + 2, n_x + 2), -1)
    padded[1:-1, 1:-1] = index
    return np.stack([padded[:-2, 1:-1].ravel(), padded[2:, 1:-1].ravel(),
                     padded[1:-1, :-2].ravel(), padded[1:-1, 2:].ravel()], axis=1)


@dataclasses.dataclass(frozen=True)
class Rectangular:
    """A rectangular source mesh over the traced points' extent, bilinear interpolation.

    Parameters
    ----------
    shape : (int, int)
        Source pixels in y and x (each >= 3).
    """

    shape: tuple = (39, 39)

    def __post_init__(self):
        if np.ndim(self.shape) == 1:  # batched shapes are not meaningful (integers)
            object.__setattr__(self, "shape", _shape(self.shape, "Rectangular"))

    @property
    def pixels(self) -> int:
        return int(self.shape[0] * self.shape[1])

    def mapper_from(self, traced, image_plane_grid=None, trace=None, reference=None) -> Mapper:
        """The :class:`Mapper` of (M, 2) traced source-plane points (arcsec).

        With ``reference`` (a mapper of this mesh), its pixels are kept: inside their extent a
        point interpolates as it would on a mesh spanning it, beyond it the point is moved to
        the extent's edge.
        """
        n_y, n_x = self.shape
        if reference is None:
            y_min, y_max = traced[:, 0].min() - BUFFER, traced[:, 0].max() + BUFFER
            x_min, x_max = traced[:, 1].min() - BUFFER, traced[:, 1].max() + BUFFER
            dy, dx = (y_max - y_min) / n_y, (x_max - x_min) / n_x
            centres_y = y_max - (np.arange(n_y) + 0.5) * dy  # row 0 at the top (largest y)
            centres_x = x_min + (np.arange(n_x) + 0.5) * dx
        else:
            centres_y, centres_x = reference.vertices[::n_x, 0], reference.vertices[:n_x, 1]
            dy, dx = centres_y[0] - centres_y[1], centres_x[1] - centres_x[0]
        fy = (centres_y[0] - traced[:, 0]) / dy  # fractional row index, increasing downwards
        fx = (traced[:, 1] - centres_x[0]) / dx
        if reference is not None:
            fy, fx = np.clip(fy, -0.5, n_y - 0.5), np.clip(fx, -0.5, n_x - 0.5)
        iy = np.clip(np.floor(fy).astype(np.int64), 0, n_y - 2)
        ix = np.clip(np.floor(fx).astype(np.int64), 0, n_x - 2)
        ty, tx = fy - iy, fx - ix
        top_left = iy * n_x + ix
        indices = np.stack([top_left, top_left + 1, top_left + n_x, top_left + n_x + 1], axis=1)
        weights = np.stack([(1 - tx) * (1 - ty), tx * (1 - ty), (1 - tx) * ty, tx * ty], axis=1)
        yy, xx = np.meshgrid(centres_y, centres_x, indexing="ij")
        vertices = np.stack([yy.ravel(), xx.ravel()], axis=1)
        return Mapper(self.pixels, indices, weights, grid_neighbours(self.shape), vertices,
                      areas=np.full(self.pixels, dy * dx))


#: Image-plane overlays by (shape, grid): they do not depend on the model.
_OVERLAYS: dict = {}


@dataclasses.dataclass(frozen=True)
class Delaunay:
    """A Delaunay source mesh whose vertices are an image-plane overlay traced to the source plane.

    Parameters
    ----------
    shape : (int, int)
        The overlay grid over the mask's bounding box; the points inside the mask are the
        vertices (about ``pi/4 n_y n_x`` of them for a circular mask).
    """

    shape: tuple = (36, 36)

    def __post_init__(self):
        if np.ndim(self.shape) == 1:
            object.__setattr__(self, "shape", _shape(self.shape, "Delaunay"))

    def overlay_from(self, image_plane_grid) -> np.ndarray:
        """The (V, 2) image-plane overlay points inside the fitted region (arcsec); cached per grid."""
        key = (self.shape, image_plane_grid.shape, hash(np.ascontiguousarray(image_plane_grid).tobytes()))
        if key not in _OVERLAYS:
            if len(_OVERLAYS) > 16:
                _OVERLAYS.clear()
            _OVERLAYS[key] = self._overlay(image_plane_grid)
        return _OVERLAYS[key]

    def _overlay(self, image_plane_grid) -> np.ndarray:
        n_y, n_x = self.shape
        y_min, y_max = image_plane_grid[:, 0].min(), image_plane_grid[:, 0].max()
        x_min, x_max = image_plane_grid[:, 1].min(), image_plane_grid[:, 1].max()
        ys = y_max - (np.arange(n_y) + 0.5) * (y_max - y_min) / n_y
        xs = x_min + (np.arange(n_x) + 0.5) * (x_max - x_min) / n_x
        yy, xx = np.meshgrid(ys, xs, indexing="ij")
        points = np.stack([yy.ravel(), xx.ravel()], axis=1)
        from scipy.spatial import cKDTree

        # keep the overlay points that fall on a fitted pixel (within half a pixel's diagonal)
        spacing = np.min(np.abs(np.diff(np.unique(image_plane_grid[:, 1])))) if len(image_plane_grid) > 1 else 1.0
        distance, _ = cKDTree(image_plane_grid).query(points)
        return points[distance <= spacing * np.sqrt(0.5) + 1e-12]

    def mapper_from(self, traced, image_plane_grid=None, trace=None, reference=None) -> Mapper:
        """The :class:`Mapper` of (M, 2) traced points; the overlay is traced by ``trace``.

        Parameters
        ----------
        traced : ndarray, shape (M, 2)
        image_plane_grid : ndarray, shape (N, 2)
            The fitted pixels' centres (the overlay's footprint).
        trace : callable
            (V, 2) image-plane points -> (V, 2) source-plane points, with this model's mass.
        reference : Mapper, optional
            A mapper of this mesh made without a reference: its vertices, triangulation,
            neighbours and areas are kept (``trace`` is then not used).
        """
        from scipy.spatial import Delaunay as Triangulation, cKDTree

        if reference is None:
            vertices = np.ascontiguousarray(trace(self.overlay_from(image_plane_grid)), dtype=float)
            triangulation = Triangulation(vertices)
        else:
            vertices, triangulation = reference.vertices, reference.triangulation
        simplices = triangulation.simplices.astype(np.int64)
        simplex, weights = delaunay_locate(vertices, simplices, triangulation.neighbors.astype(np.int64),
                                           np.ascontiguousarray(traced, dtype=float))
        unfinished = simplex == -2  # a walk that did not end (degenerate triangles): qhull's own search
        if unfinished.any():
            simplex[unfinished] = triangulation.find_simplex(traced[unfinished])
            transform = triangulation.transform[simplex[unfinished]]
            bary = np.einsum("mij,mj->mi", transform[:, :2], traced[unfinished] - transform[:, 2])
            weights[unfinished] = np.column_stack([bary, 1.0 - bary.sum(axis=1)])
        inside = simplex >= 0
        indices = np.zeros((len(traced), 3), dtype=np.int64)
        indices[inside] = simplices[simplex[inside]]
        sizes = np.full(len(traced), 3)
        if not inside.all():  # outside the triangulation: the nearest vertex
            _, nearest = cKDTree(vertices).query(traced[~inside])
            indices[~inside, 0] = nearest
            weights[~inside] = (1.0, 0.0, 0.0)
            sizes[~inside] = 1
        if reference is not None:  # the held mesh's neighbours and areas
            return Mapper(len(vertices), indices, weights, reference.neighbours, vertices, sizes, reference.areas,
                          triangulation)
        pointer, flat = triangulation.vertex_neighbor_vertices
        counts = np.diff(pointer)
        neighbours = np.full((len(vertices), max(int(counts.max()), 1)), -1)
        rows = np.repeat(np.arange(len(vertices)), counts)
        columns = np.arange(len(flat)) - np.repeat(pointer[:-1], counts)
        neighbours[rows, columns] = flat
        corners = vertices[triangulation.simplices]  # (T, 3, 2)
        edges_a, edges_b = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
        triangle_areas = 0.5 * np.abs(edges_a[:, 0] * edges_b[:, 1] - edges_a[:, 1] * edges_b[:, 0])
        areas = np.bincount(triangulation.simplices.ravel(), weights=np.repeat(triangle_areas, 3) / 3.0,
                            minlength=len(vertices))
        return Mapper(len(vertices), indices, weights, neighbours, vertices, sizes, areas, triangulation)
