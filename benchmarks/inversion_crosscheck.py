"""The log evidence of a pixelized source, lenspipe beside PyAutoLens 2026.7.29.1.

Usage: python benchmarks/inversion_crosscheck.py [--shape 80] [--mesh 20] [--coefficient 1.0] [--sub-size 2]
       [--lens-light] [--delaunay]

Simulates a lensed Sersic source (Isothermal + shear, no lens light) on a small HST-like
image, fits it with the true mass and a rectangular pixelized source with constant
regularization in both codes (with ``--delaunay``, a Delaunay source whose vertices are
lenspipe's image-plane overlay, given to PyAutoLens as its image-plane mesh grid) (with ``--lens-light``, the image has a Sersic lens light too and
both codes solve a linear Sersic's intensity in the same linear system as the source) (unconstrained solver, no edge zeroing, no border relocation in
PyAutoLens), and prints both log evidences, each term, and their relative differences. The
peer runs in its own environment (``python benchmarks/likelihood.py --setup-peers``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from lenspipe.data import Mask, simulate_imaging
from lenspipe.fit.fit_imaging import FitImaging, MaskedImaging
from lenspipe.fit.inversion import Constant, Delaunay, Pixelization, Rectangular
from lenspipe.lensing import Galaxy, Tracer
from lenspipe.profiles import ExternalShear, Isothermal, Sersic, SersicLinear
from lenspipe.settings import InversionSettings

HERE = Path(__file__).resolve().parent
LIGHT = {"centre": [0.0, 0.0], "ell_comps": [0.05, -0.03], "effective_radius": 0.8, "sersic_index": 3.0}
MASS = {"centre": [0.0, 0.0], "ell_comps": [0.05, -0.03], "einstein_radius": 1.2, "gamma_1": 0.02, "gamma_2": 0.01}


def lens(light=None):
    light = {} if light is None else {"bulge": light}
    return Galaxy(0.5, **light, mass=Isothermal(centre=tuple(MASS["centre"]), ell_comps=tuple(MASS["ell_comps"]),
                                       einstein_radius=MASS["einstein_radius"]),
                  shear=ExternalShear(gamma_1=MASS["gamma_1"], gamma_2=MASS["gamma_2"]))


def case(shape, pixel_scale=0.05, mask_radius=None, lens_light=False):
    k = np.arange(21) - 10
    psf = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) * pixel_scale**2 / (2 * (0.1 / 2.3548) ** 2))
    source = Galaxy(1.0, bulge=Sersic(centre=(0.02, 0.05), ell_comps=(0.1, 0.05), intensity=4.0,
                                      effective_radius=0.2, sersic_index=1.5))
    bulge = Sersic(centre=tuple(LIGHT["centre"]), ell_comps=tuple(LIGHT["ell_comps"]), intensity=2.0,
                   effective_radius=LIGHT["effective_radius"], sersic_index=LIGHT["sersic_index"])
    imaging, _ = simulate_imaging(Tracer([lens(bulge if lens_light else None), source]), (shape, shape), pixel_scale, psf / psf.sum(),
                                  exposure_time=1000.0, background_sky=0.1, seed=1, sub_size=8)
    radius = mask_radius or 0.45 * shape * pixel_scale
    return imaging, Mask.circular((shape, shape), pixel_scale, radius)


def source_mesh(mesh, delaunay):
    """lenspipe's mesh: a rectangular mesh x mesh, or a Delaunay mesh of a mesh x mesh overlay."""
    return Delaunay((mesh, mesh)) if delaunay else Rectangular((mesh, mesh))


def lenspipe_terms(imaging, mask, mesh, coefficient, sub_size, lens_light=False, delaunay=False):
    dataset = MaskedImaging(imaging, mask, over_sampling=1)
    source = Galaxy(1.0, pixelization=Pixelization(source_mesh(mesh, delaunay), Constant(coefficient)))
    light = None
    if lens_light:
        light = SersicLinear(centre=tuple(LIGHT["centre"]), ell_comps=tuple(LIGHT["ell_comps"]),
                             effective_radius=LIGHT["effective_radius"], sersic_index=LIGHT["sersic_index"])
    fit = FitImaging(dataset, Tracer([lens(light), source]), settings_inversion=InversionSettings(sub_size=sub_size))
    inversion = fit.inversion
    return {"log_evidence": fit.log_evidence, "chi_squared": fit.chi_squared,
            "regularization_term": inversion.regularization_term,
            "log_det_curvature_reg": inversion.log_det_curvature_reg,
            "log_det_regularization": inversion.log_det_regularization,
            "noise_normalization": fit.noise_normalization, "reconstruction": inversion.reconstruction,
            "amplitudes": list(inversion.amplitudes)}


def peer_terms(imaging, mask, mesh, coefficient, sub_size, lens_light=False, delaunay=False):
    python = HERE / ".peers" / "autolens" / "bin" / "python"
    if not python.exists():
        sys.exit("the PyAutoLens environment is missing: python benchmarks/likelihood.py --setup-peers")
    extra = {"lens_light": json.dumps(LIGHT)} if lens_light else {}
    if delaunay:  # the peer's image-plane mesh grid is lenspipe's overlay, so both trace the same vertices
        extra["mesh_grid"] = Delaunay((mesh, mesh)).overlay_from(MaskedImaging(imaging, mask).masked_grid)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "case.npz"
        np.savez(path, data=imaging.data, noise_map=imaging.noise_map, psf=imaging.psf, mask=mask.array,
                 pixel_scale=imaging.pixel_scale, mass=json.dumps(MASS), mesh_shape=[mesh, mesh],
                 coefficient=coefficient, sub_size=sub_size, **extra)
        out = subprocess.run([str(python), str(HERE / "peers" / "autolens_inversion.py"), str(path)],
                             capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, default=80)
    parser.add_argument("--mesh", type=int, default=20)
    parser.add_argument("--coefficient", type=float, default=1.0)
    parser.add_argument("--sub-size", type=int, default=2)
    parser.add_argument("--lens-light", action="store_true", help="a linear Sersic lens light in the same system")
    parser.add_argument("--delaunay", action="store_true",
                        help="a Delaunay source whose vertices are a mesh x mesh overlay inside the mask")
    args = parser.parse_args(argv)
    imaging, mask = case(args.shape, lens_light=args.lens_light)
    ours = lenspipe_terms(imaging, mask, args.mesh, args.coefficient, args.sub_size, args.lens_light, args.delaunay)
    theirs = peer_terms(imaging, mask, args.mesh, args.coefficient, args.sub_size, args.lens_light, args.delaunay)
    kind = (f"Delaunay source ({len(ours['reconstruction'])} vertices of a {args.mesh}x{args.mesh} overlay)"
            if args.delaunay else f"{args.mesh}x{args.mesh} rectangular source")
    print(f"# log evidence of a {kind}, constant {args.coefficient}, "
          f"sub_size {args.sub_size}, {int((~mask.array).sum())} pixels; PyAutoLens {theirs['version']}")
    print(f"{'term':<24}{'lenspipe':>22}{'PyAutoLens':>22}{'relative difference':>22}")
    for key in ("log_evidence", "chi_squared", "regularization_term", "log_det_curvature_reg",
                "log_det_regularization", "noise_normalization"):
        a, b = float(ours[key]), float(theirs[key])
        print(f"{key:<24}{a:>22.10f}{b:>22.10f}{abs(a - b) / max(abs(b), 1e-300):>22.2e}")
    ra, rb = np.asarray(ours["reconstruction"]), np.asarray(theirs["reconstruction"])
    print(f"{'reconstruction':<24}{'max |a - b| / max |b|':>44}{np.max(np.abs(ra - rb)) / np.max(np.abs(rb)):>22.2e}")
    for a, b in zip(ours["amplitudes"], theirs["amplitudes"]):
        print(f"{'lens light intensity':<24}{a:>22.10f}{b:>22.10f}{abs(a - b) / max(abs(b), 1e-300):>22.2e}")


if __name__ == "__main__":
    main()
