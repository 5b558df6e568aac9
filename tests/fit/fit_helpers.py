"""Small lens systems shared by the fit tests (imported by conftest.py and the tests)."""

import dataclasses

import numpy as np

from lenspipe.lensing import Galaxy, Tracer
from lenspipe.profiles import ExternalShear, Isothermal, Sersic
from lenspipe.profiles.base import LightProfile


def gaussian_psf(size=11, fwhm_pixels=2.0):
    """A normalised circular Gaussian kernel."""
    k = np.arange(size) - size // 2
    sigma = fwhm_pixels / (2.0 * np.sqrt(2.0 * np.log(2.0)))
    kernel = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2.0 * sigma**2))
    return kernel / kernel.sum()


def p1_like_tracer(**source_changes):
    """P1's lens and source (BENCHMARKS.md)."""
    lens = Galaxy(
        redshift=0.5,
        bulge=Sersic(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), intensity=2.0, effective_radius=0.8,
                     sersic_index=3.0),
        mass=Isothermal(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), einstein_radius=1.2),
        shear=ExternalShear(gamma_1=0.02, gamma_2=0.01),
    )
    source = dict(centre=(0.02, 0.05), ell_comps=(0.1, 0.05), intensity=4.0, effective_radius=0.2, sersic_index=1.5)
    source.update(source_changes)
    return Tracer([lens, Galaxy(redshift=1.0, bulge=Sersic(**source))])


@dataclasses.dataclass(frozen=True)
class Constant(LightProfile):
    """A light profile with the same surface brightness everywhere (for hand-checked tests)."""

    value: float = 1.0

    def image_from(self, grid):
        return np.full(np.broadcast_shapes(grid.shape[:-1], np.shape(self.value)), 1.0) * self.value
