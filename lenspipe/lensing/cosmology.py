"""Cosmological distances for multi-plane ray tracing.

Distances come from astropy cosmology objects (default Planck15). The only
quantity ray tracing needs is the scaling factor between planes,
``beta_ij = D_ij D_s / (D_j D_is)``, which is computed once per set of
redshifts and cached.
"""

from __future__ import annotations

import functools

import astropy.cosmology as astropy_cosmology

from ..errors import ConfigError

__all__ = ["default_cosmology", "cosmology_from_name", "scaling_factors"]


def default_cosmology():
    """The default cosmology, astropy's ``Planck15``."""
    return astropy_cosmology.Planck15


def cosmology_from_name(name: str):
    """An astropy built-in cosmology by name (e.g. ``"Planck15"``, ``"Planck18"``, ``"WMAP9"``).

    Raises
    ------
    ConfigError
        If astropy has no built-in cosmology of that name.
    """
    available = astropy_cosmology.realizations.available
    if name not in available:
        raise ConfigError(
            f"unknown cosmology {name!r}; use one of astropy's built-in realisations: "
            f"{', '.join(sorted(available))}"
        )
    return getattr(astropy_cosmology, name)


_COSMOLOGIES: dict[str, object] = {}


@functools.lru_cache(maxsize=256)
def _scaling_factors_cached(cosmology_key: str, redshifts: tuple[float, ...]):
    cosmology = _COSMOLOGIES[cosmology_key]
    n = len(redshifts)
    z_s = redshifts[-1]
    d_s = cosmology.angular_diameter_distance(z_s).value
    factors = {}
    for j in range(1, n):
        z_j = redshifts[j]
        d_j = cosmology.angular_diameter_distance(z_j).value
        for i in range(j):
            z_i = redshifts[i]
            if j == n - 1:
                factors[i, j] = 1.0
                continue
            d_ij = cosmology.angular_diameter_distance(z_i, z_j).value
            d_is = cosmology.angular_diameter_distance(z_i, z_s).value
            factors[i, j] = d_ij * d_s / (d_j * d_is)
    return factors


def scaling_factors(cosmology, redshifts) -> dict[tuple[int, int], float]:
    """Deflection scaling factors ``beta_ij`` between the planes at ``redshifts``.

    Parameters
    ----------
    cosmology : astropy.cosmology.Cosmology
        The cosmology giving angular diameter distances.
    redshifts : sequence of float
        Plane redshifts in increasing order; the last is the source plane.

    Returns
    -------
    dict
        ``{(i, j): beta_ij}`` for every ``i < j``. Deflections are normalised to the
        last plane, so ``beta_{i, last} = 1``.
    """
    key = repr(cosmology)  # astropy cosmologies are immutable but not hashable
    _COSMOLOGIES.setdefault(key, cosmology)
    return _scaling_factors_cached(key, tuple(float(z) for z in redshifts))
