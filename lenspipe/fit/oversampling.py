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
set per dataset from its noise map. Measured against uniform 32 x 32 (and 16 x 16)
references with the P1 set-up:

=============================  ==========  ===========  ==============  ==============
case                           adaptive    uniform 4x4  points/model    refined points
=============================  ==========  ===========  ==============  ==============
P1                             0.09 (0.12)  8.1 (8.1)   35,840          10,432 + 2,816
compact source (n=4, 0.1")     15 (69)      5,565       35,840          10,432 + 21,248
lens light n = 5               0.40 (2.7)   173         35,840          10,432 + 3,328
source 4 x brighter            0.29 (0.34)  30          35,840          10,432 + 5,376
=============================  ==========  ===========  ==============  ==============

(chi-squared over the mask against 32 x 32, and in brackets against 16 x 16, which is
itself off by 38 on the compact source; without step 4 the compact source gives 716).
``tests/fit/test_oversampling.py`` pins the P1 figure (below 0.5 against 16 x 16).
Cheaper settings: ``refine_levels=1`` (P1 0.18), ``refine_radius=2`` (P1 0.37).

Other schemes: ``OverSampling.uniform(s)`` and ``OverSampling.from_map(sizes)``
(one midpoint size per fitted pixel, e.g. from
:func:`lenspipe.data.sub_size_map_from_radial_bins`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ..errors import MaskError

__all__ = ["OverSampling", "PixelSampler", "pixel_rule", "refine", "DEFAULT"]

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
    """The over-sampling named by a config's ``likelihood:`` mapping.

    ``{"over_sampling": "adaptive"}`` (the default) or ``{"over_sampling": "uniform",
    "sub_size": s}``; the fit and the rebuild of a stored fit both read it here, so a rebuilt
    fit evaluates light exactly as the sampler did.
    """
    settings = settings or {}
    if settings.get("over_sampling", "adaptive") == "adaptive":
        return DEFAULT
    return OverSampling.uniform(int(settings.get("sub_size", 4)))


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


def refine(sampler, image, shape, terms, images, flags, planes, trace):
    """Adaptive refinement (steps 3-4 of the module docstring), in place on ``image`` (..., N).

    ``terms`` are (plane, profile) pairs with their point images ``images`` and near-centre
    ``flags`` ((..., N) bool or None); ``trace(grid, planes)`` traces a grid through planes
    whose profiles may be gathered by batch row (as ``Tracer.traced_grids_from``).

    Level 0 re-integrates each profile's flagged (model, pixel) pairs with the refinement
    rule; level l > 0 splits the pairs whose estimate moved by more than the tolerance
    at the previous level into 2^l x 2^l sub-squares, each with the same rule. The points
    of every pair of a level are traced together once, then each profile is evaluated on
    its own pairs' points and its estimate replaced.
    """
    n = sampler.n_pixels
    batched = len(shape) > 1
    pairs, estimates = [], []
    for flag, values in zip(flags, images):
        if flag is None:
            pairs.append(None)
            estimates.append(None)
            continue
        r, p = np.nonzero(np.broadcast_to(flag, shape).reshape(-1, n))
        pairs.append((r, p))
        estimates.append(sampler.first_estimate(values, r, p))
    flat = image.reshape(-1, n)
    for level in range(sampler.refine_levels):
        keys = [None if pair is None else pair[0] * n + pair[1] for pair in pairs]
        live = [k for k in keys if k is not None and k.size]
        if not live:
            return
        marker = np.zeros(flat.size, dtype=bool)  # the union of the pairs, sorted (faster than np.unique)
        for key in live:
            marker[key] = True
        union = np.flatnonzero(marker)
        rows, pixels = np.divmod(union, n)
        split = 4**level  # sub-squares per pixel
        rows_points = np.repeat(rows, split)
        planes_rows = [[_galaxy_rows(g, rows_points) for g in gs] for gs in planes] if batched else planes
        traced_refined = trace(sampler.refine_grid(pixels, level), planes_rows)
        for t, ((plane, profile), key) in enumerate(zip(terms, keys)):
            if key is None or not key.size:
                continue
            where = np.searchsorted(union, key)
            sub = (where[:, None] * split + np.arange(split)).reshape(-1)
            evaluated = (_profile_rows(profile, rows_points[sub]) if batched else profile).image_from(
                traced_refined[plane][sub])
            refined = sampler.refine_binned_rows(evaluated)
            if split > 1:
                refined = refined.reshape(-1, split).mean(axis=1)
            r, p = pairs[t]
            flat[r, p] += refined - estimates[t]
            moved = np.abs(refined - estimates[t]) > sampler.tolerance[p]
            pairs[t], estimates[t] = (r[moved], p[moved]), refined[moved]


def _profile_rows(profile, rows):
    """The profile with every batched (K, 1) parameter gathered at ``rows`` (-> (T, 1))."""
    changes = {}
    for field in dataclasses.fields(profile):
        value = getattr(profile, field.name)
        gathered = _gather(value, rows)
        if gathered is not value:
            changes[field.name] = gathered
    return dataclasses.replace(profile, **changes) if changes else profile


def _gather(value, rows):
    if isinstance(value, tuple):
        items = tuple(_gather(v, rows) for v in value)
        return value if all(a is b for a, b in zip(items, value)) else items
    if isinstance(value, np.ndarray) and value.ndim >= 1 and value.size > 1:
        return value.reshape(-1, 1)[rows]
    return value


def _galaxy_rows(galaxy, rows):
    from ..lensing import Galaxy  # lensing sits below fit; imported here to keep this module light

    return Galaxy(galaxy.redshift, **{name: _profile_rows(profile, rows) for name, profile in galaxy.profiles.items()})


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
