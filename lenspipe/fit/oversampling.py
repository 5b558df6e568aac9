"""Over-sampling: how a model pixel's mean surface brightness is computed.

A model pixel is the mean of the light over the pixel (CONVENTIONS.md). Every
scheme here is a product quadrature rule per pixel: the pixel is cut into
``s x s`` square cells and each cell gets ``g x g`` Gauss-Legendre points, whose
weighted sum is the pixel mean. ``g = 1`` is the midpoint rule, so *uniform*
over-sampling ``s`` (PyAutoLens's ``over_sample_size_lp=s``, lenstronomy's
``supersampling_factor=s``) is ``s`` cells of one point each.

The default: adaptive (cusp-refined Gauss quadrature)
-----------------------------------------------------
Measured on P1 (BENCHMARKS.md) against a uniform 16 x 16 reference, the error of
a pixel-mean rule comes from two places:

- *smooth light* (most of the lens light, the arcs): the midpoint rule's error is
  ``h^2/24 Laplacian(I)`` and falls only as ``1/s^2`` (uniform 4 x 4 still leaves a
  chi-squared of 8 on P1, uniform 8 x 8 one of 0.27); Gauss points are exact for
  bicubic variations, so 2 x 2 Gauss points per pixel leave almost nothing;
- *profile centres*: a Sersic profile has a cusp at its centre, and a lensed
  source's centre is imaged to a few image-plane points where the cusp
  reappears. Quadrature fails there: on P1, 90% of the remaining error sits in
  about 30 pixels around the images of the source centre and 4 pixels at the
  lens light centre.

So the rule, step by step:

1. every fitted pixel: ``g = 2``, 2 x 2 Gauss-Legendre points (weights 1/4, at
   +-1/(2 sqrt 3) pixel from the centre); the blurring region: 1 point per pixel;
2. per call, for every light profile with a cusp (all but Gaussians), on the
   plane where it lives: a pixel is *near the centre* when the centroid of its
   traced Gauss points lies within ``refine_radius`` *footprints* of the profile's
   centre, the footprint being half the longer diagonal of the quadrilateral of its
   traced corner points (so the test follows the lens mapping: where the source is
   magnified, the footprint shrinks). For an image-plane profile this is a fixed
   distance, ``refine_radius * 0.41`` pixel;
3. each profile re-integrates its own near pixels (in a batch, each model its own)
   with ``refine_cells x refine_cells`` cells of 2 x 2 Gauss points (default 4 x 4
   cells, 64 points), replacing its first estimate;
4. where that moved the estimate by more than ``refine_tolerance`` times the pixel's
   noise (default 5 sigma), the pixel is integrated again with each cell split in
   2 x 2, and so on, up to ``refine_levels`` levels (default 3: 4x4, 8x8 then 16x16
   cells of 2x2 points) -- adaptive quadrature for the steepest cusps.

The tests in steps 2 and 4 cost a few array operations on the traced points and the
estimates at hand, so the rule is parameter-dependent but cheap; the tolerance is
set per dataset from its noise map. The loop of steps 3-4 is :func:`refine`
(:mod:`lenspipe.fit.refinement`, which also tabulates the rule's measured accuracy).

Other schemes
-------------
- ``OverSampling.uniform(s)``: ``s x s`` midpoint sub-pixels per pixel. The simulator
  (:func:`lenspipe.data.simulate_imaging`) bins its padded image with this rule too,
  through a :class:`PixelSampler` over every pixel, so simulated and fitted pixels are
  the same integrals.
- ``OverSampling.from_map(sizes)``: a *map*, one midpoint size per fitted pixel, e.g. from
  :func:`sub_size_map_from_radial_bins` (finer near the lens centre). It is fixed before
  the fit; "adaptive" here always means the cusp-refined rule above.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import MaskError
from .refinement import refine

__all__ = ["OverSampling", "PixelSampler", "pixel_rule", "refine", "sub_size_map_from_radial_bins", "DEFAULT"]

#: Light profiles that are smooth at their centre (no refinement needed).
SMOOTH_PROFILES = frozenset({"Gaussian", "GaussianSph"})


def _positive_int(value, name):
    if int(value) != value or value < 1:
        raise MaskError(f"{name} must be an integer >= 1; got {value!r}.")
    return int(value)


@dataclasses.dataclass(frozen=True)
class OverSampling:
    """How model pixels are integrated (see the module docstring).

    Build with :meth:`uniform`, :meth:`adaptive` or :meth:`from_map`.
    """

    kind: str = "adaptive"
    sub_size: int = 1
    order: int = 2
    refine_radius: float = 3.0
    refine_cells: int = 4
    refine_order: int = 2
    refine_tolerance: float = 5.0
    refine_levels: int = 3
    sizes: tuple | None = None

    @classmethod
    def uniform(cls, sub_size: int) -> "OverSampling":
        """``sub_size x sub_size`` midpoint sub-pixels in every fitted pixel."""
        return cls(kind="uniform", sub_size=_positive_int(sub_size, "sub_size"), order=1)

    @classmethod
    def adaptive(cls, order=2, refine_radius=3.0, refine_cells=4, refine_order=2, refine_tolerance=5.0,
                 refine_levels=3) -> "OverSampling":
        """Gauss points everywhere, refined around light-profile centres (the default).

        ``refine_tolerance`` is in units of each pixel's noise; ``refine_levels`` the most
        levels of refinement (level l integrates with 2^l x 2^l times ``refine_cells`` cells).
        """
        if not refine_radius >= 0:
            raise MaskError(f"refine_radius must be >= 0 footprints; got {refine_radius!r}.")
        if not refine_tolerance > 0:
            raise MaskError(f"refine_tolerance must be > 0 (noise sigmas); got {refine_tolerance!r}.")
        return cls(kind="adaptive", order=_positive_int(order, "order"), refine_radius=float(refine_radius),
                   refine_cells=_positive_int(refine_cells, "refine_cells"),
                   refine_order=_positive_int(refine_order, "refine_order"),
                   refine_tolerance=float(refine_tolerance),
                   refine_levels=_positive_int(refine_levels, "refine_levels"))

    @classmethod
    def from_map(cls, sizes) -> "OverSampling":
        """One midpoint sub size per fitted pixel (row-major), e.g. from radial bins."""
        sizes = np.asarray(sizes)
        if sizes.ndim != 1 or sizes.size == 0 or np.any(sizes < 1) or np.any(sizes != np.round(sizes)):
            raise MaskError("a sub-size map must hold one integer >= 1 per fitted pixel (row-major).")
        return cls(kind="map", order=1, sizes=tuple(int(s) for s in sizes))

    def describe(self) -> str:
        """A short description for info reports."""
        if self.kind == "uniform":
            return f"uniform {self.sub_size}x{self.sub_size}"
        if self.kind == "map":
            values, counts = np.unique(self.sizes, return_counts=True)
            return "map " + ", ".join(f"{c} px at {v}x{v}" for v, c in zip(values, counts))
        return (f"adaptive: {self.order}x{self.order} Gauss points; pixels within {self.refine_radius:g} "
                f"footprints of a light profile's centre at {self.refine_cells}x{self.refine_cells} cells "
                f"of {self.refine_order}x{self.refine_order}, up to {self.refine_levels} levels while an "
                f"estimate moves by more than {self.refine_tolerance:g} sigma")


DEFAULT = OverSampling.adaptive()


def over_sampling_from(value) -> OverSampling:
    """An :class:`OverSampling` from None (the default), an int (uniform), an array (a map) or itself."""
    if value is None:
        return DEFAULT
    if isinstance(value, OverSampling):
        return value
    if np.ndim(value) == 0:
        return OverSampling.uniform(value)
    return OverSampling.from_map(value)


def over_sampling_from_settings(settings) -> OverSampling:
    """The over-sampling named by the likelihood settings (:class:`lenspipe.settings.LikelihoodSettings`).

    ``over_sampling == "adaptive"`` (the default) or ``"uniform"`` with ``sub_size``; the fit
    and the rebuild of a stored fit both read it here, so a rebuilt fit evaluates light
    exactly as the sampler did. The settings were validated when they were made.
    """
    if settings.over_sampling == "adaptive":
        return DEFAULT
    return OverSampling.uniform(settings.sub_size)


def pixel_rule(cells: int, order: int, pixel_scale: float):
    """Offsets (P, 2) from the pixel centre (arcsec, (y, x)) and weights (P,) summing to 1.

    ``cells x cells`` square cells, each with ``order x order`` Gauss-Legendre points;
    points row-major from the top-left (decreasing y, increasing x).
    """
    nodes, weights = np.polynomial.legendre.leggauss(order)
    cell = 1.0 / cells
    starts = (np.arange(cells) + 0.5) * cell - 0.5
    positions = (starts[:, None] + 0.5 * cell * nodes[None, :]).ravel()  # in pixels, increasing
    weights_1d = np.repeat(np.full(cells, 1.0 / cells), order) * np.tile(weights / 2.0, cells)
    dy, dx = np.meshgrid(-positions, positions, indexing="ij")
    offsets = np.stack([dy.ravel(), dx.ravel()], axis=-1) * pixel_scale
    return offsets, np.outer(weights_1d, weights_1d).ravel()


class PixelSampler:
    """The points where light is evaluated, and how they become pixel means.

    Parameters
    ----------
    centres : ndarray, shape (N, 2)
        Centres of the fitted pixels (arcsec), row-major.
    blurring_centres : ndarray, shape (Nb, 2)
        Centres of the blurring-region pixels.
    pixel_scale : float
    over_sampling : OverSampling
    blurring_sub_size : int
        Midpoint cells per blurring pixel side.

    Attributes
    ----------
    grid : ndarray, shape (M + Mb, 2)
        The fitted pixels' points (pixel by pixel; grouped by size for a map) then the
        blurring region's.
    n_fitted_points : int
        M.
    """

    def __init__(self, centres, blurring_centres, pixel_scale, over_sampling, blurring_sub_size=1):
        self.over_sampling = over_sampling
        self.pixel_scale = float(pixel_scale)
        self.n_pixels = len(centres)
        self.n_blurring = len(blurring_centres)
        self.centres = np.ascontiguousarray(centres, dtype=np.float64)
        kind = over_sampling.kind
        if kind == "map":
            sizes = np.asarray(over_sampling.sizes)
            if sizes.shape != (self.n_pixels,):
                raise MaskError(f"the sub-size map has {sizes.size} entries; the mask has {self.n_pixels} pixels.")
        else:
            cells = over_sampling.sub_size if kind == "uniform" else 1
            sizes = np.full(self.n_pixels, cells)
        order = over_sampling.order
        self._groups = []  # (pixel indices or None = all in order, weights (P,), start, stop)
        grids, start = [], 0
        for size in np.unique(sizes):
            pixels = np.flatnonzero(sizes == size)
            offsets, weights = pixel_rule(int(size), order, self.pixel_scale)
            grids.append((self.centres[pixels, None, :] + offsets[None]).reshape(-1, 2))
            stop = start + pixels.size * weights.size
            in_order = pixels.size == self.n_pixels
            self._groups.append((None if in_order else pixels, weights, start, stop))
            start = stop
        self.n_fitted_points = start
        self.blurring_sub_size = int(blurring_sub_size)
        b_offsets, self._blurring_weights = pixel_rule(self.blurring_sub_size, 1, self.pixel_scale)
        grids.append((np.asarray(blurring_centres, dtype=np.float64)[:, None, :] + b_offsets[None]).reshape(-1, 2))
        self.grid = np.ascontiguousarray(np.concatenate(grids))
        self.refines = kind == "adaptive" and over_sampling.refine_radius > 0
        self.refine_levels = over_sampling.refine_levels if self.refines else 0
        self.tolerance = np.full(self.n_pixels, np.inf)  # see set_noise
        if self.refines:
            if order < 2:
                raise MaskError("adaptive over-sampling needs order >= 2 (the footprint test uses the corner points).")
            offsets, self._first_weights = pixel_rule(1, order, self.pixel_scale)
            self._points_per_pixel = offsets.shape[0]
            self._corners = (0, order - 1, self._points_per_pixel - order, self._points_per_pixel - 1)
            corner_offsets = offsets[list(self._corners)]
            self._footprint = 0.5 * float(np.sqrt(np.sum((corner_offsets[0] - corner_offsets[3]) ** 2)))
            self._refine_offsets, self._refine_weights = pixel_rule(  # offsets: C-contiguous (Pr, 2)
                over_sampling.refine_cells, over_sampling.refine_order, self.pixel_scale)

    @property
    def n_points(self) -> int:
        """M + Mb, the number of points per model."""
        return self.grid.shape[0]

    # -------------------------------------------------------------- binning
    def binned(self, values):
        """Pixel means of (..., M + Mb) point values: (fitted (..., N), blurring (..., Nb))."""
        if values.shape[-1] != self.grid.shape[0]:
            raise ValueError(f"values have {values.shape[-1]} points on the last axis; the sampler has "
                             f"{self.grid.shape[0]} (its grid).")
        lead = values.shape[:-1]
        groups = self._groups
        if len(groups) == 1 and groups[0][0] is None:
            _, weights, start, stop = groups[0]
            image = _weighted(values[..., start:stop], weights, lead)
        else:
            image = np.empty(lead + (self.n_pixels,))
            for pixels, weights, start, stop in groups:
                image[..., pixels] = _weighted(values[..., start:stop], weights, lead)
        blurring = _weighted(values[..., self.n_fitted_points:], self._blurring_weights, lead)
        return image, blurring

    # ----------------------------------------------------------- refinement
    def near_centre(self, traced, centre, plane) -> np.ndarray:
        """Fitted pixels whose traced points lie within refine_radius footprints of ``centre``.

        ``traced`` is the plane's traced grid (..., M + Mb, 2); returns a bool array (..., N)
        (one row per model of a batch).
        """
        radius = self.over_sampling.refine_radius
        cy, cx = (np.asarray(c, dtype=np.float64) for c in centre)
        if plane == 0:
            dy = self.centres[:, 0] - cy
            dx = self.centres[:, 1] - cx
            near = dy * dy + dx * dx < (radius * self._footprint) ** 2
        else:
            # Centroid and diagonals of the traced corner points (as complex y + i x):
            # half the longer diagonal is the pixel's footprint.
            points = np.ascontiguousarray(traced[..., : self.n_fitted_points, :])
            z = points.view(complex)[..., 0].reshape(points.shape[:-2] + (self.n_pixels, self._points_per_pixel))
            a, b, c, d = (z[..., i] for i in self._corners)
            centroid = (a + b) + (c + d)
            diagonal = a - d
            footprint = diagonal.real * diagonal.real + diagonal.imag * diagonal.imag
            np.subtract(b, c, out=diagonal)
            np.maximum(footprint, diagonal.real * diagonal.real + diagonal.imag * diagonal.imag, out=footprint)
            dy = centroid.real * 0.25 - cy  # the centre may be batched where the traced grid is not
            dx = centroid.imag * 0.25 - cx
            near = dy * dy + dx * dx < (0.25 * radius * radius) * footprint
        return near

    def set_noise(self, noise_map):
        """Per-pixel tolerance of the refinement levels: ``refine_tolerance`` times the (N,) noise."""
        self.tolerance = self.over_sampling.refine_tolerance * np.asarray(noise_map, dtype=np.float64)

    def refine_grid(self, pixels, level=0) -> np.ndarray:
        """(R 4^level, Pr, 2) points of the refinement rule in the given fitted pixels.

        At level l each pixel is split into 2^l x 2^l sub-squares (row-major), each carrying
        the refinement rule shrunk by 2^l; one row per sub-square.
        """
        # complex y + i x: broadcast adds instead of adds over a trailing axis of 2
        centres = self.centres.view(complex)[:, 0][pixels]
        split = 2**level
        steps = ((np.arange(split) + 0.5) / split - 0.5) * self.pixel_scale
        squares = (-steps[:, None] + 1j * steps[None, :]).reshape(-1)
        offsets = self._refine_offsets.view(complex)[:, 0] / split
        points = centres[:, None, None] + squares[None, :, None] + offsets[None, None, :]
        return points.reshape(-1, offsets.size).view(np.float64).reshape(-1, offsets.size, 2)

    def first_estimate(self, values, rows, pixels) -> np.ndarray:
        """(T,) the Gauss-point pixel means of ``values`` (..., M + Mb) at (batch row, pixel) pairs."""
        per = self._points_per_pixel
        flat = values.reshape(-1, values.shape[-1])
        columns = pixels[:, None] * per + np.arange(per)
        points = flat[0][columns] if flat.shape[0] == 1 else flat[rows[:, None], columns]
        return _row_weighted_sums(points, self._first_weights)

    def refine_binned_rows(self, values) -> np.ndarray:
        """(T,) pixel means of (T, Pr) refinement-point values, one pixel per row."""
        return _row_weighted_sums(values, self._refine_weights)

    def describe(self) -> str:
        """For info reports."""
        return self.over_sampling.describe()


def _weighted(values, weights, lead):
    """Sum over consecutive blocks of len(weights) points with those weights: (..., n*P) -> (..., n)."""
    per = weights.size
    if per == 1:
        return values * weights[0] if weights[0] != 1.0 else values.copy()
    block = np.ascontiguousarray(values).reshape(-1, per)
    return _row_weighted_sums(block, weights).reshape(lead + (-1,))


def _row_weighted_sums(block, weights):
    """``block @ weights`` for an (n, P) block, without BLAS.

    BLAS would be faster single-threaded, but a threaded BLAS (OpenBLAS threads gemv above
    ~10^4 elements) costs milliseconds per call on a busy machine, and its result can depend
    on the batch size. Column sums (P <= 16) or einsum give the same bits for every row
    whatever the batch.
    """
    per = weights.size
    if per > 16:
        return np.einsum("ij,j->i", block, weights)
    if np.all(weights == weights[0]):
        columns = [block[:, j] for j in range(per)]
        while len(columns) > 1:  # pairwise, as a tree
            columns = [columns[i] + columns[i + 1] if i + 1 < len(columns) else columns[i]
                       for i in range(0, len(columns), 2)]
        return columns[0] * weights[0]
    total = block[:, 0] * weights[0]
    for j in range(1, per):
        total += block[:, j] * weights[j]
    return total


def sub_size_map_from_radial_bins(mask, centres, radial_bins, sub_sizes) -> np.ndarray:
    """A map of midpoint sub sizes (for :meth:`OverSampling.from_map`) from distances to centres.

    Parameters
    ----------
    mask : Mask
        True = masked out.
    centres : array_like, shape (C, 2) or (2,)
        ``(y, x)`` arcsec of the centres (e.g. the lens light centres).
    radial_bins : sequence of float
        Increasing radii (arcsec) separating the bins, e.g. ``(0.1, 0.3)``.
    sub_sizes : sequence of int
        One more than ``radial_bins``: the size within the first radius, between
        successive radii, and beyond the last, e.g. ``(32, 8, 2)``.

    Returns
    -------
    ndarray of int, shape (n_pixels,)
        Per fitted pixel (row-major). A pixel whose centre is at distance ``r`` from the
        nearest centre gets ``sub_sizes[k]`` with ``k`` the number of radii ``<= r`` (so
        ``r < 0.1`` -> 32, ``0.1 <= r < 0.3`` -> 8, ``r >= 0.3`` -> 2).
    """
    centres = np.atleast_2d(np.asarray(centres, dtype=np.float64))
    bins = np.asarray(radial_bins, dtype=np.float64)
    sizes = np.array([_positive_int(s, "each sub size") for s in np.ravel(sub_sizes)], dtype=np.int64)
    if centres.ndim != 2 or centres.shape[1] != 2 or len(centres) == 0:
        raise MaskError(f"centres must be (y, x) arcsec pairs, shape (C, 2); got {np.shape(centres)}.")
    if bins.ndim != 1 or np.any(np.diff(bins) <= 0):
        raise MaskError(f"radial_bins must be increasing radii in arcsec; got {radial_bins}.")
    if len(sizes) != len(bins) + 1:
        raise MaskError(f"give one more sub size than radial bins: {len(bins)} bins need {len(bins) + 1} sizes, "
                        f"got {len(sizes)}.")
    grid = mask.masked_grid
    distance = np.full(len(grid), np.inf)
    for centre in centres:
        distance = np.minimum(distance, np.hypot(grid[:, 0] - centre[0], grid[:, 1] - centre[1]))
    return sizes[np.searchsorted(bins, distance, side="right")]
