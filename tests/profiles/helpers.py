"""Shared inputs for the profile tests: example profiles, grids and finite differences."""

import numpy as np

from lenspipe import profiles
from lenspipe.profiles import geometry

#: ``ell_comps`` of CONVENTIONS.md's reference values: q = 0.7, phi = 30 degrees.
ELL_REFERENCE = geometry.ell_comps_from(0.7, np.deg2rad(30.0))
#: A rounder and a flatter ellipse, at angles that exercise every quadrant.
ELL_MILD = geometry.ell_comps_from(0.8, np.deg2rad(-70.0))
ELL_FLAT = geometry.ell_comps_from(0.35, np.deg2rad(115.0))


def mass_profiles():
    """One or more instances of every mass profile, off-centre and elliptical where possible."""
    return [
        profiles.Isothermal(centre=(0.1, -0.2), ell_comps=ELL_MILD, einstein_radius=1.2),
        profiles.Isothermal(centre=(0.0, 0.0), ell_comps=ELL_FLAT, einstein_radius=0.9),
        profiles.IsothermalSph(centre=(-0.1, 0.05), einstein_radius=1.1),
        profiles.PowerLaw(centre=(0.1, -0.2), ell_comps=ELL_MILD, einstein_radius=1.2, slope=1.6),
        profiles.PowerLaw(centre=(0.0, 0.1), ell_comps=ELL_FLAT, einstein_radius=1.0, slope=2.5),
        profiles.PowerLawSph(centre=(0.05, 0.0), einstein_radius=1.3, slope=2.3),
        profiles.NFW(centre=(0.1, 0.1), ell_comps=ELL_MILD, kappa_s=0.3, scale_radius=1.5),
        profiles.NFW(centre=(0.0, 0.0), ell_comps=ELL_FLAT, kappa_s=0.2, scale_radius=0.6),
        profiles.NFWSph(centre=(0.0, -0.1), kappa_s=0.25, scale_radius=0.8),
        profiles.PointMass(centre=(0.05, 0.02), einstein_radius=0.7),
        profiles.ExternalShear(gamma_1=0.05, gamma_2=-0.03),
    ]


def light_profiles():
    """An instance of every light profile."""
    return [
        profiles.Sersic(centre=(0.1, -0.1), ell_comps=ELL_MILD, intensity=2.0,
                        effective_radius=0.8, sersic_index=2.5),
        profiles.SersicSph(centre=(0.1, -0.1), intensity=2.0, effective_radius=0.8,
                           sersic_index=2.5),
        profiles.Exponential(centre=(0.0, 0.2), ell_comps=ELL_FLAT, intensity=1.5,
                             effective_radius=0.5),
        profiles.ExponentialSph(centre=(0.0, 0.2), intensity=1.5, effective_radius=0.5),
        profiles.DevVaucouleurs(centre=(-0.2, 0.0), ell_comps=ELL_MILD, intensity=0.7,
                                effective_radius=1.1),
        profiles.DevVaucouleursSph(centre=(-0.2, 0.0), intensity=0.7, effective_radius=1.1),
        profiles.Gaussian(centre=(0.1, 0.1), ell_comps=ELL_FLAT, intensity=3.0, sigma=0.4),
        profiles.GaussianSph(centre=(0.1, 0.1), intensity=3.0, sigma=0.4),
    ]


def profile_id(profile):
    """A readable pytest id."""
    return type(profile).__name__


def grid_away_from(centre, n=60, r_min=0.3, r_max=2.5, seed=3):
    """``n`` points ``(y, x)`` with ``r_min <= |r - centre| <= r_max`` (arcsec)."""
    rng = np.random.default_rng(seed)
    radius = rng.uniform(r_min, r_max, n)
    angle = rng.uniform(0.0, 2.0 * np.pi, n)
    return np.stack([centre[0] + radius * np.sin(angle), centre[1] + radius * np.cos(angle)], -1)


def potential_gradient(profile, grid, step):
    """``(d psi / dy, d psi / dx)`` by central differences, shape (N, 2)."""
    dy = np.array([step, 0.0])
    dx = np.array([0.0, step])
    d_dy = (profile.potential_from(grid + dy) - profile.potential_from(grid - dy)) / (2 * step)
    d_dx = (profile.potential_from(grid + dx) - profile.potential_from(grid - dx)) / (2 * step)
    return np.stack([d_dy, d_dx], axis=-1)


def half_divergence(profile, grid, step):
    """``(d alpha_y / dy + d alpha_x / dx) / 2`` by central differences, shape (N,)."""
    dy = np.array([step, 0.0])
    dx = np.array([0.0, step])
    alpha = profile.deflections_yx_from
    d_y = alpha(grid + dy)[:, 0] - alpha(grid - dy)[:, 0]
    d_x = alpha(grid + dx)[:, 1] - alpha(grid - dx)[:, 1]
    return 0.25 * (d_y + d_x) / step
