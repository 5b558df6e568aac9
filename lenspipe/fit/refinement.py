"""The refinement loop of adaptive over-sampling (steps 3-4 of :mod:`lenspipe.fit.oversampling`).

:class:`~lenspipe.fit.oversampling.PixelSampler` finds, per light profile, the fitted pixels
near the profile's centre (step 2) and supplies the refinement rule's points and weights;
:func:`refine` re-integrates those pixels and, level by level, the ones whose estimate is
still moving. It is importable as ``lenspipe.fit.oversampling.refine`` too.

Measured against uniform 32 x 32 (and 16 x 16) references with the P1 set-up
(BENCHMARKS.md), with the default ``OverSampling.adaptive()``:

==========================  ============  ===========  =============  ===============
case                        adaptive      uniform 4x4  points/model   refined points
==========================  ============  ===========  =============  ===============
P1                          0.09 (0.12)   8.1 (8.1)    35,840         10,432 + 2,816
compact source (n=4, 0.1")  15 (69)       5,565        35,840         10,432 + 21,248
lens light n = 5            0.40 (2.7)    173          35,840         10,432 + 3,328
source 4 x brighter         0.29 (0.34)   30           35,840         10,432 + 5,376
==========================  ============  ===========  =============  ===============

(chi-squared over the mask against 32 x 32, and in brackets against 16 x 16, which is
itself off by 38 on the compact source; without the levels of step 4 the compact source
gives 716). ``tests/fit/test_oversampling.py`` pins the P1 figure (below 0.5 against
16 x 16). Cheaper settings: ``refine_levels=1`` (P1 0.18), ``refine_radius=2`` (P1 0.37).
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["refine"]


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
        planes_rows = [[galaxy_rows(g, rows_points) for g in gs] for gs in planes] if batched else planes
        traced_refined = trace(sampler.refine_grid(pixels, level), planes_rows)
        for t, ((plane, profile), key) in enumerate(zip(terms, keys)):
            if key is None or not key.size:
                continue
            where = np.searchsorted(union, key)
            sub = (where[:, None] * split + np.arange(split)).reshape(-1)
            evaluated = (profile_rows(profile, rows_points[sub]) if batched else profile).image_from(
                traced_refined[plane][sub])
            refined = sampler.refine_binned_rows(evaluated)
            if split > 1:
                refined = refined.reshape(-1, split).mean(axis=1)
            r, p = pairs[t]
            flat[r, p] += refined - estimates[t]
            moved = np.abs(refined - estimates[t]) > sampler.tolerance[p]
            pairs[t], estimates[t] = (r[moved], p[moved]), refined[moved]


def profile_rows(profile, rows):
    """The profile with every batched (K, 1) parameter gathered at ``rows`` (-> (T, 1)); nested
    components (a pixelization's mesh and regularization) are gathered too."""
    changes = {}
    for field in dataclasses.fields(profile):
        value = getattr(profile, field.name)
        gathered = _gather(value, rows)
        if gathered is not value:
            changes[field.name] = gathered
    return dataclasses.replace(profile, **changes) if changes else profile


def _gather(value, rows):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return profile_rows(value, rows)
    if isinstance(value, tuple):
        items = tuple(_gather(v, rows) for v in value)
        return value if all(a is b for a, b in zip(items, value)) else items
    if isinstance(value, np.ndarray) and value.ndim >= 1 and value.size > 1:
        return value.reshape(-1, 1)[rows]
    return value


def galaxy_rows(galaxy, rows):
    """The galaxy with every component's batched parameters gathered at ``rows``."""
    from ..lensing import Galaxy  # lensing sits below fit; imported here to keep this module light

    return Galaxy(galaxy.redshift, **{name: profile_rows(profile, rows) for name, profile in galaxy.profiles.items()})
