"""Shared builders for the model tests: the profile classes and a 3-galaxy model."""

from __future__ import annotations

import numpy as np

from lenspipe.lensing import Galaxy
from lenspipe.model import Collection, Model
from lenspipe.profiles import ExternalShear, Isothermal, PowerLaw, Sersic

__all__ = ["Galaxy", "Sersic", "Isothermal", "PowerLaw", "ExternalShear", "lens_model", "three_galaxy_model",
           "unit_vectors"]


def lens_model():
    """Lens (bulge, mass, shear) and source (bulge): 21 free parameters."""
    lens = Model(Galaxy, redshift=0.5, bulge=Model(Sersic), mass=Model(Isothermal), shear=ExternalShear)
    source = Model(Galaxy, redshift=1.0, bulge=Model(Sersic))
    return Collection(galaxies=Collection(lens=lens, source=source))


def three_galaxy_model():
    """Lens, a satellite and a source; bulge centre linked to the mass: 17 free parameters."""
    lens = Model(Galaxy, redshift=0.5, bulge=Sersic, mass=Isothermal, shear=ExternalShear)
    lens.bulge.centre = lens.mass.centre
    lens.bulge.ell_comps = (0.05, -0.02)
    satellite = Model(Galaxy, redshift=0.5, mass=Model(Isothermal, centre=(1.1, -0.4), ell_comps=(0.0, 0.0)))
    source = Model(Galaxy, redshift=1.0, bulge=Sersic)
    source.bulge.sersic_index = 1.0
    return Collection(galaxies=Collection(lens=lens, satellite=satellite, source=source))


def unit_vectors(model, count, seed=0):
    """``count`` points of the unit cube (0.01..0.99), shape ``(count, n)``."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.01, 0.99, size=(count, model.prior_count))
