"""Every mass profile against itself: deflections = grad(potential), convergence = div(alpha)/2.

Central differences with step h = 1e-4 arcsec at points 0.3 to 2.5 arcsec from the centre:
the truncation error is ~h^2 |f'''| / 6 ~ 1e-8 relative and the rounding error
~1e-16 |f| / h ~ 1e-12, so the 1e-5 tolerance leaves ample headroom while any wrong factor,
sign or missing term shows at the percent level.
"""

import numpy as np
import pytest

from .helpers import grid_away_from, half_divergence, mass_profiles, potential_gradient, profile_id

STEP = 1e-4


def centre_of(profile):
    return getattr(profile, "centre", (0.0, 0.0))


@pytest.mark.parametrize("profile", mass_profiles(), ids=profile_id)
def test_deflections_are_the_potential_gradient(profile):
    grid = grid_away_from(centre_of(profile))
    deflections = profile.deflections_yx_from(grid)
    gradient = potential_gradient(profile, grid, STEP)
    scale = np.linalg.norm(deflections, axis=-1, keepdims=True)
    assert np.all(np.abs(gradient - deflections) <= 1e-5 * scale)


@pytest.mark.parametrize("profile", mass_profiles(), ids=profile_id)
def test_convergence_is_half_the_divergence(profile):
    grid = grid_away_from(centre_of(profile))
    convergence = profile.convergence_from(grid)
    divergence = half_divergence(profile, grid, STEP)
    # Relative to kappa where kappa is non-zero; for the shear and the point mass
    # (kappa = 0 away from the centre) relative to |alpha| / r, the scale of each term.
    radius = np.linalg.norm(grid - np.asarray(centre_of(profile)), axis=-1)
    scale = np.maximum(np.abs(convergence),
                       np.linalg.norm(profile.deflections_yx_from(grid), axis=-1) / radius)
    assert np.all(np.abs(divergence - convergence) <= 1e-5 * scale)
