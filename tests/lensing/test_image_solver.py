"""Multiple images of a source point, and the automatic positions of a pixelized stage."""

import numpy as np
import pytest

from lenspipe.lensing import Galaxy, Tracer
from lenspipe.lensing.image_solver import (multiple_images_from, positions_from_tracer,
                                           source_plane_separation)
from lenspipe.profiles import ExternalShear, Isothermal, PowerLaw, Sersic


def _tracer(mass, source=(0.02, 0.05), shear=None):
    lens = Galaxy(0.5, mass=mass, **({} if shear is None else {"shear": shear}))
    return Tracer([lens, Galaxy(1.0, bulge=Sersic(centre=source, intensity=1.0, effective_radius=0.2,
                                                  sersic_index=1.0))])


def test_a_singular_isothermal_sphere_has_its_two_analytic_images():
    """SIS, source at beta: images on the line through beta at |beta| + theta_E and |beta| - theta_E."""
    beta = np.array([0.15, -0.2])
    tracer = _tracer(Isothermal(centre=(0.0, 0.0), ell_comps=(0.0, 0.0), einstein_radius=1.1), source=tuple(beta))
    images = multiple_images_from(tracer, beta, 2.5)
    unit = beta / np.linalg.norm(beta)
    expected = np.array([(np.linalg.norm(beta) + 1.1) * unit, (np.linalg.norm(beta) - 1.1) * unit])
    assert images.shape == (2, 2)
    np.testing.assert_allclose(images, expected, atol=1e-6)  # ordered by |mu|: the outer image first
    mu = np.abs(tracer.magnification_from(images))
    np.testing.assert_allclose(mu, [1 + 1.1 / np.linalg.norm(beta), 1.1 / np.linalg.norm(beta) - 1], rtol=1e-4)


def test_an_sie_with_shear_gives_four_images_that_meet_in_the_source_plane():
    tracer = _tracer(Isothermal(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), einstein_radius=1.2),
                     shear=ExternalShear(gamma_1=0.02, gamma_2=0.01))
    positions, threshold, source = positions_from_tracer(tracer, 3.0)
    assert len(positions) == 4 and source == (0.02, 0.05)
    assert source_plane_separation(tracer, positions) < 1e-5
    traced = tracer.traced_grids_from(positions)[-1]
    np.testing.assert_allclose(traced, np.tile([0.02, 0.05], (4, 1)), atol=1e-6)
    assert threshold == 0.2  # max(3 x separation, 0.2)


def test_a_power_laws_demagnified_central_image_is_left_out():
    """A shallow power law (slope 1.8) has a faint central image; it is not an observable position."""
    tracer = _tracer(PowerLaw(centre=(0.0, 0.0), ell_comps=(0.1, -0.03), einstein_radius=1.2, slope=1.8))
    with_central = multiple_images_from(tracer, (0.02, 0.05), 3.0, min_magnification=0.0)
    kept = multiple_images_from(tracer, (0.02, 0.05), 3.0)
    assert len(with_central) == len(kept) + 1 == 5
    central = with_central[-1]
    assert np.linalg.norm(central) < 0.3 and abs(tracer.magnification_from(central[None])[0]) < 0.1


def test_no_light_in_the_source_plane_gives_no_positions():
    tracer = Tracer([Galaxy(0.5, mass=Isothermal(einstein_radius=1.0)), Galaxy(1.0)])
    positions, threshold, source = positions_from_tracer(tracer, 2.0)
    assert positions.shape == (0, 2) and threshold == 0.0 and source is None


def test_critical_curves_and_caustics_of_a_spherical_power_law_are_its_analytic_circles():
    """kappa = (3 - g)/2 (theta_E/theta)^(g - 1): the tangential critical curve is the Einstein circle, the
    radial one has radius theta_E (2 - g)^(1/(g - 1)), and the radial caustic radius |theta_r - alpha(theta_r)|."""
    from lenspipe.lensing.critical_curves import critical_curves_and_caustics

    slope, einstein = 1.7, 1.2
    tracer = Tracer([Galaxy(0.5, mass=PowerLaw(centre=(0.0, 0.0), ell_comps=(0.0, 0.0), einstein_radius=einstein,
                                               slope=slope)), Galaxy(1.0)])
    curves = critical_curves_and_caustics(tracer, half_width=2.0, pixels=400)
    radial = einstein * (2 - slope) ** (1 / (slope - 1))
    caustic = abs(radial - einstein ** (slope - 1) * radial ** (2 - slope))
    for key, radius in (("tangential_critical_curves", einstein), ("radial_critical_curves", radial),
                        ("radial_caustics", caustic)):
        assert len(curves[key]) == 1, key
        np.testing.assert_allclose(np.linalg.norm(curves[key][0], axis=1), radius, rtol=5e-3, err_msg=key)
    # the tangential caustic of a spherical lens is the point behind its centre
    assert np.max(np.linalg.norm(curves["tangential_caustics"][0], axis=1)) < 0.01
