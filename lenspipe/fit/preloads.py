"""Preloads: components fixed for a whole fit, evaluated once.

In a pipeline, later stages fix parts of the model to an earlier stage's result
(e.g. the lens light of ``light_lp`` while ``mass_total`` fits the mass). Such a
component gives the same numbers at every likelihood call, so they are computed
once, when the analysis meets the model, and reused:

- a *fixed mass profile* on a plane whose traced grid is fixed: its deflections;
- a *fixed plane*: the traced grid of a plane behind only fixed mass profiles
  (the image plane always is one);
- a *fixed light profile* on a fixed plane: its binned, PSF-blurred image; for a
  *linear* light profile, its blurred unit-intensity basis (its amplitude is still
  solved for at every call, as it depends on the rest of the model).

"Fixed" is read from the model: a profile with no free parameter. It is found
by drawing two instances at different points of the prior space (unit vectors
0.25 and 0.75) and keeping the profiles that are identical in both, so a fixed
value, a constant or an instance passed from an earlier stage all count, and a
parameter linked to a free one does not. Each preloaded entry keeps the profile
it was made from; a call uses it only when the instance's profile equals it
(same class, same parameter values), so a preload can never give a wrong answer,
only a missed speed-up.
"""

from __future__ import annotations

import dataclasses

import numpy as np

__all__ = ["Preloads", "same_profile"]


def _plain(value):
    """A hashable, comparable form of a parameter value, or None when it is batched or unusable."""
    if isinstance(value, (tuple, list)):
        parts = tuple(_plain(v) for v in value)
        return None if any(p is None for p in parts) else parts
    array = np.asarray(value)
    if array.size != 1 or array.dtype.kind not in "biuf":
        return None
    return float(array.reshape(()))


def same_profile(a, b) -> bool:
    """True when two profiles are the same class with equal, unbatched parameter values."""
    if type(a) is not type(b):
        return False
    if a is b:
        return True
    if not dataclasses.is_dataclass(a):
        return False
    for field in dataclasses.fields(a):
        va, vb = _plain(getattr(a, field.name)), _plain(getattr(b, field.name))
        if va is None or vb is None or va != vb:
            return False
    return True


class Preloads:
    """Cached deflections, traced grids and blurred images of fixed components.

    Build with :meth:`from_tracers`; :func:`lenspipe.fit.model_image.model_data_from`
    (and ``Tracer.traced_grids_from``) asks it for each profile through :meth:`deflections`, :meth:`traced_grid`,
    :meth:`blurred_image` and :meth:`linear_basis`, which return None when nothing is preloaded.
    """

    def __init__(self):
        self._deflections = {}  # (plane, name) -> [(profile, array (M + Mb, 2))]
        self._blurred = {}  # (plane, name) -> [(profile, array (N,))]
        self._bases = {}  # (plane, name) -> [(linear profile, blurred unit basis (N,))]
        self._traced = {}  # plane -> (mass profiles of the planes before it, grid)

    def __bool__(self):
        return bool(self._deflections or self._blurred or self._bases or self._traced)

    @classmethod
    def from_tracers(cls, dataset, tracer_a, tracer_b):
        """Preloads of the profiles identical in two tracers of the same model (see module docstring).

        Parameters
        ----------
        dataset : MaskedImaging
        tracer_a, tracer_b : Tracer
            Tracers of two instances of one model drawn at different parameter vectors.
        """
        from .model_image import binned_light_from, is_linear, linear_basis_from

        preloads = cls()
        planes_a, planes_b = tracer_a.planes, tracer_b.planes
        if len(planes_a) != len(planes_b) or any(len(a) != len(b) for a, b in zip(planes_a, planes_b)):
            return preloads  # a free redshift: nothing is safely fixed
        fixed = []  # per plane: {"mass": [(name, profile)], "light": [...], "all_mass_fixed": bool}
        for galaxies_a, galaxies_b in zip(planes_a, planes_b):
            plane = {"mass": [], "light": [], "all_mass_fixed": True}
            for galaxy_a, galaxy_b in zip(galaxies_a, galaxies_b):
                for kind, attribute in (("mass", "mass_profiles"), ("light", "light_profiles")):
                    profiles_b = getattr(galaxy_b, attribute)
                    for name, profile in getattr(galaxy_a, attribute).items():
                        if name in profiles_b and same_profile(profile, profiles_b[name]):
                            plane[kind].append((name, profile))
                        elif kind == "mass":
                            plane["all_mass_fixed"] = False
            fixed.append(plane)
        if not any(plane["mass"] or plane["light"] for plane in fixed):
            return preloads
        planes, betas = tracer_a.planes, tracer_a.betas
        traced = tracer_a.traced_grids_from(dataset.grid)
        grid_fixed = True  # plane 0
        for index, plane in enumerate(fixed):
            if index > 0:
                grid_fixed = grid_fixed and fixed[index - 1]["all_mass_fixed"]
                if grid_fixed:
                    before = [p for f in fixed[:index] for p in f["mass"]]
                    preloads._traced[index] = (before, np.ascontiguousarray(traced[index]))
            if not grid_fixed:
                continue
            for name, profile in plane["mass"]:
                deflections = np.ascontiguousarray(profile.deflections_yx_from(traced[index]))
                preloads._deflections.setdefault((index, name), []).append((profile, deflections))
            for name, profile in plane["light"]:
                if is_linear(profile):
                    basis = dataset.convolver.convolve(*linear_basis_from(dataset, profile, index, traced, planes, betas))
                    preloads._bases.setdefault((index, name), []).append((profile, basis))
                    continue
                binned = binned_light_from(dataset, [(index, profile)], traced, planes, betas)
                blurred = dataset.convolver.convolve(*binned)
                preloads._blurred.setdefault((index, name), []).append((profile, blurred))
        return preloads

    def deflections(self, plane, name, profile):
        """Preloaded deflections of ``profile`` (named ``name``) on ``plane``, or None."""
        for stored, value in self._deflections.get((plane, name), ()):
            if same_profile(stored, profile):
                return value
        return None

    def blurred_image(self, plane, name, profile):
        """Preloaded (N,) blurred image of light ``profile`` on ``plane``, or None."""
        for stored, value in self._blurred.get((plane, name), ()):
            if same_profile(stored, profile):
                return value
        return None

    def linear_basis(self, plane, name, profile):
        """Preloaded (N,) blurred unit-intensity basis of linear light ``profile`` on ``plane``, or None."""
        for stored, value in self._bases.get((plane, name), ()):
            if same_profile(stored, profile):
                return value
        return None

    def traced_grid(self, plane, planes):
        """Preloaded traced grid of ``plane``, if every mass profile in front of it is the preloaded one."""
        entry = self._traced.get(plane)
        if entry is None:
            return None
        before, grid = entry
        current = [(name, p) for galaxies in planes[:plane] for g in galaxies for name, p in g.mass_profiles.items()]
        if len(current) != len(before):
            return None
        for (name, profile), (stored_name, stored) in zip(current, before):
            if name != stored_name or not same_profile(profile, stored):
                return None
        return grid

    def summary(self) -> dict:
        """What is preloaded, for the info report."""
        return {
            "deflections": sorted(f"plane {p}: {n}" for (p, n) in self._deflections),
            "blurred_images": sorted(f"plane {p}: {n}" for (p, n) in self._blurred),
            "linear_bases": sorted(f"plane {p}: {n}" for (p, n) in self._bases),
            "traced_grids": sorted(f"plane {p}" for p in self._traced),
        }
