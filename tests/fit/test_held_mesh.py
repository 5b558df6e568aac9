"""A source mesh held at a reference mass (``inversion.hold_mesh``): equal to the model's own mesh at
the reference, and a log evidence continuous in the mass around it."""

import numpy as np
import pytest

from lenspipe.fit.fit_imaging import FitImaging
from lenspipe.fit.inversion import Adapt, Delaunay, Pixelization, Rectangular
from lenspipe.fit.inversion.held import HeldMesh
from lenspipe.lensing import Galaxy, Tracer
from lenspipe.profiles import ExternalShear, Isothermal
from lenspipe.settings import InversionSettings

from test_inversion import MASS, _dataset


def _lens(einstein_radius=MASS["einstein_radius"]):
    return Galaxy(0.5, mass=Isothermal(**{**MASS, "einstein_radius": einstein_radius}),
                  shear=ExternalShear(gamma_1=0.02, gamma_2=0.01))


@pytest.fixture(scope="module")
def lensed():
    dataset, model = _dataset()
    return dataset, model[~dataset.mask.array]


def _log_evidence(dataset, adapt, mesh, einstein_radius, held=None):
    source = Galaxy(1.0, pixelization=Pixelization(mesh, Adapt(0.5, 5.0, 1.0)))
    fit = FitImaging(dataset, Tracer([_lens(einstein_radius), source]), galaxy_names=["lens", "source"],
                     settings_inversion=InversionSettings(sub_size=2), adapt_images={"source": adapt},
                     held_mesh=held)
    return float(fit.log_evidence)


@pytest.mark.parametrize("mesh", [Delaunay((14, 14)), Rectangular((12, 12))])
def test_a_mesh_held_at_the_models_own_mass_gives_the_same_log_evidence(lensed, mesh):
    dataset, adapt = lensed
    held = HeldMesh(Tracer([_lens(), Galaxy(1.0)]))
    own = _log_evidence(dataset, adapt, mesh, MASS["einstein_radius"])
    assert _log_evidence(dataset, adapt, mesh, MASS["einstein_radius"], held) == pytest.approx(own, abs=1e-8)
    # away from the reference the meshes differ, and so do the evidences
    assert _log_evidence(dataset, adapt, mesh, 0.82, held) != pytest.approx(_log_evidence(dataset, adapt, mesh, 0.82),
                                                                           abs=1e-6)


def test_a_held_mesh_makes_the_log_evidence_continuous_in_the_mass(lensed):
    """Along the Einstein radius in steps of 2e-5": with the model's own Delaunay mesh and Adapt
    signals the log evidence jumps as triangles flip and points change pixels (largest second
    difference 44); held, its second differences are those of a continuous, piecewise-smooth
    curve (0.013)."""
    dataset, adapt = lensed
    mesh = Delaunay((14, 14))
    held = HeldMesh(Tracer([_lens(), Galaxy(1.0)]))
    radii = MASS["einstein_radius"] + 2e-5 * np.arange(-20, 21)
    own = np.array([_log_evidence(dataset, adapt, mesh, r) for r in radii])
    kept = np.array([_log_evidence(dataset, adapt, mesh, r, held) for r in radii])
    rough_own, rough_kept = np.abs(np.diff(own, 2)).max(), np.abs(np.diff(kept, 2)).max()
    assert rough_own > 5.0  # measured 44: jumps of whole units in log evidence
    assert rough_kept < 0.05  # measured 0.013: the kinks of piecewise-linear interpolation
    assert np.ptp(kept) > 1.0  # the scan still moves the evidence (the mass matters)
