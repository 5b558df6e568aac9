"""Time the log evidence of a pixelized source on BENCHMARKS.md's P1 and P3 (P3-pix).

Usage::

    python benchmarks/inversion.py                  # P3-pix and P1-pix, every mesh and regularization
    python benchmarks/inversion.py --repeats 5 --problems P3
    python benchmarks/inversion.py --psf hst       # a real HST PSF (15 x 15, all 225 values)

The data are P1's / P3's with the lens light left out (the lens light subtracted at its
truth), fitted by the true Isothermal + shear and a pixelized source: a rectangular 39 x 39
mesh and a Delaunay mesh of about 1,000 vertices (a 36 x 36 overlay inside the mask), each
with constant and with adapt regularization (the adapt image: the noiseless lensed source).
Prints ms per log evidence (the median over ``--repeats`` runs of a few calls), where the time
goes (the chain's steps, from ``AnalysisImaging.profile_log_likelihood_function``), the time
per vector of a batch of 4 through the chunked evaluator, and the peak memory (tracemalloc).
Targets (printed, never asserted): P3 Delaunay <= 100 ms, P3 rectangular <= 60 ms, peak
memory <= 500 MB. Anchor (PyAutoLens's own profiling, HST preset): rectangular 39 x 39
5.8 s on an 8-core CPU, 57.6 ms on an A100; Delaunay 1,500 vertices 4.1 s CPU, 96.6 ms A100.
"""

from __future__ import annotations

import argparse
import tracemalloc
from pathlib import Path

import numpy as np
from likelihood import median_ms as likelihood_median_ms  # benchmarks/ is on the path when run as a script

from lenspipe.analysis import AnalysisImaging
from lenspipe.data import Mask, simulate_imaging
from lenspipe.fit.fit_imaging import MaskedImaging
from lenspipe.fit.inversion import Adapt, Constant, Delaunay, Pixelization, Rectangular
from lenspipe.fit.likelihood import LikelihoodEvaluator, threads_from_environment
from lenspipe.lensing import Galaxy, Tracer
from lenspipe.model import Collection, Model, UniformPrior
from lenspipe.profiles import ExternalShear, Isothermal, Sersic

PROBLEMS = {"P1": ((100, 100), 2.5), "P3": ((200, 200), 3.5)}
MESHES = {"rectangular 39x39": Rectangular((39, 39)), "Delaunay ~1000": Delaunay((36, 36))}
REGULARIZATIONS = {"constant": Constant(1.0), "adapt": Adapt(inner_coefficient=0.5, outer_coefficient=5.0,
                                                              signal_scale=1.0)}
TARGETS_MS = {("P3", "rectangular 39x39"): 60.0, ("P3", "Delaunay ~1000"): 100.0}


def lens():
    return Galaxy(0.5, mass=Isothermal(centre=(0.0, 0.0), ell_comps=(0.05, -0.03), einstein_radius=1.2),
                  shear=ExternalShear(gamma_1=0.02, gamma_2=0.01))


def source():
    return Galaxy(1.0, bulge=Sersic(centre=(0.02, 0.05), ell_comps=(0.1, 0.05), intensity=4.0, effective_radius=0.2,
                                    sersic_index=1.5))


#: A real HST/ACS F814W PSF (15 x 15, every value above the 1e-12 truncation) for ``--psf hst``.
HST_PSF = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "slacs" / "J0029-0055" / "psf.fits"


def psf_of(kind):
    """BENCHMARKS.md's Gaussian (21 x 21, FWHM 0.1"; 116 values above 1e-12 of its peak), or J0029-0055's HST PSF."""
    if kind == "hst":
        from astropy.io import fits

        with fits.open(HST_PSF) as hdul:
            return np.asarray(hdul[0].data, dtype=float)
    k = np.arange(21) - 10
    sigma = 0.1 / 2.3548 / 0.05  # FWHM 0.1" in pixels of 0.05"
    return np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2 * sigma**2))


def dataset(problem, psf_kind="gaussian"):
    """P1 / P3 without the lens light (as if subtracted at its truth), and the adapt image."""
    shape, radius = PROBLEMS[problem]
    psf = psf_of(psf_kind)
    tracer = Tracer([lens(), source()])
    imaging, model = simulate_imaging(tracer, shape, 0.05, psf / psf.sum(), exposure_time=1000.0, background_sky=0.1,
                                      seed=1, sub_size=8)
    mask = Mask.circular(shape, 0.05, radius)
    return MaskedImaging(imaging, mask), model[~mask.array]


def model_of(mesh, regularization):
    """The true mass with a free Einstein radius (for batches), and the pixelized source."""
    lens_model = Model(Galaxy, redshift=0.5,
                       mass=Model(Isothermal, centre=(0.0, 0.0), ell_comps=(0.05, -0.03),
                                  einstein_radius=UniformPrior(1.1, 1.3)),
                       shear=Model(ExternalShear, gamma_1=0.02, gamma_2=0.01))
    source_model = Model(Galaxy, redshift=1.0, pixelization=Pixelization(mesh, regularization))
    return Collection(galaxies=Collection(lens=lens_model, source=source_model))


def median_ms(function, repeats, number=3):
    """Median ms per call (``likelihood.median_ms``, which warms up with one call first)."""
    return likelihood_median_ms(function, repeats, number)[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--problems", nargs="+", default=["P3", "P1"], choices=sorted(PROBLEMS))
    parser.add_argument("--psf", default="gaussian", choices=["gaussian", "hst"],
                        help="BENCHMARKS.md's Gaussian PSF, or a real HST PSF (J0029-0055's, 15 x 15, all 225 values kept)")
    args = parser.parse_args(argv)
    import os

    load = os.getloadavg()[0]
    print(f"# lenspipe pixelized-source benchmark (load average {load:.2f}, {threads_from_environment()} CPU(s) "
          f"granted, medians of {args.repeats} runs)")
    for problem in args.problems:
        masked, adapt_image = dataset(problem, args.psf)
        print(f"{problem}-pix: {masked.pixels} pixels, PSF {masked.imaging.psf.shape} ({args.psf})")
        for mesh_name, mesh in MESHES.items():
            for reg_name, regularization in REGULARIZATIONS.items():
                model = model_of(mesh, regularization)
                analysis = AnalysisImaging(masked, adapt_images={"source": adapt_image},
                                           raise_inversion_positions_likelihood_exception=False)
                instance = model.instance_from_vector(np.array([1.2]))
                analysis.log_likelihood_function(instance)  # warm-up: PSF matrix, pixelization grid
                ms = median_ms(lambda: analysis.log_likelihood_function(model.instance_from_vector(np.array([1.2]))),
                               args.repeats)
                report = analysis.profile_log_likelihood_function(instance, repeats=args.repeats)
                steps = ", ".join(f"{k.replace('inversion_', '')} {v:.0f}" for k, v in report["steps_ms"].items()
                                  if v >= 0.5)
                evaluator = LikelihoodEvaluator(model, analysis)
                vectors = np.linspace(1.15, 1.25, 4)[:, None]
                batch_ms = median_ms(lambda: evaluator.log_likelihoods(vectors), args.repeats, 1) / len(vectors)
                tracemalloc.start()
                analysis.log_likelihood_function(instance)
                peak = tracemalloc.get_traced_memory()[1] / 2**20
                tracemalloc.stop()
                pixels = analysis.fit_from(instance).inversion.mapper.pixels
                target = TARGETS_MS.get((problem, mesh_name))
                verdict = "" if target is None else f"  target <= {target:.0f} ms: {'met' if ms <= target else 'NOT met'}"
                print(f"  {mesh_name:<18} {reg_name:<9} S={pixels:<5} {ms:8.1f} ms/evidence  batch {batch_ms:7.1f} "
                      f"ms/vector  peak {peak:6.1f} MB  log evidence {report['log_likelihood']:.3f}{verdict}")
                print(f"      steps (ms): {steps}")


if __name__ == "__main__":
    main()
