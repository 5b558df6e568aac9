"""PyAutoLens's log evidence of a pixelized source (run inside the PyAutoLens environment).

Usage: python autolens_inversion.py CASE.npz

CASE.npz (written by ../inversion_crosscheck.py) holds data, noise_map, psf, mask (True =
masked out), pixel_scale, the lens mass as a JSON string ``mass`` (Isothermal + ExternalShear,
PyAutoLens parameters), ``mesh_shape``, ``coefficient``, ``sub_size`` and optionally ``lens_light`` (a linear Sersic's
JSON, solved in the same linear system). The source is
``Pixelization(mesh=RectangularUniform(shape), regularization=Constant(coefficient))`` (or, when
CASE.npz has ``mesh_grid``, ``Delaunay(pixels)`` on those image-plane vertices) with the
unconstrained solver, no edge zeroing and no border relocation (lenspipe's defaults), the
pixelization over-sampled uniformly at ``sub_size``. Prints one JSON line with the log evidence
and its terms.
"""

import json
import os
import sys
import warnings

os.environ.setdefault("PYAUTO_SKIP_WORKSPACE_VERSION_CHECK", "1")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

import autolens as al  # noqa: E402


def main():
    stored = np.load(sys.argv[1])
    scale = float(stored["pixel_scale"])
    mass = json.loads(str(stored["mass"]))
    sub_size = int(stored["sub_size"])
    data = al.Array2D.no_mask(values=stored["data"], pixel_scales=scale)
    noise_map = al.Array2D.no_mask(values=stored["noise_map"], pixel_scales=scale)
    psf = al.Convolver(kernel=al.Array2D.no_mask(values=stored["psf"], pixel_scales=scale), normalize=True)
    mask = al.Mask2D(mask=stored["mask"], pixel_scales=scale)
    dataset = al.Imaging(data=data, noise_map=noise_map, psf=psf, over_sample_size_lp=1,
                         over_sample_size_pixelization=sub_size).apply_mask(mask=mask)
    light = {}
    if "lens_light" in stored.files:  # a linear Sersic lens light solved with the source
        bulge = json.loads(str(stored["lens_light"]))
        light["bulge"] = al.lp_linear.Sersic(centre=tuple(bulge["centre"]), ell_comps=tuple(bulge["ell_comps"]),
                                             effective_radius=bulge["effective_radius"],
                                             sersic_index=bulge["sersic_index"])
    lens = al.Galaxy(redshift=0.5,
                     mass=al.mp.Isothermal(centre=tuple(mass["centre"]), ell_comps=tuple(mass["ell_comps"]),
                                           einstein_radius=mass["einstein_radius"]),
                     shear=al.mp.ExternalShear(gamma_1=mass["gamma_1"], gamma_2=mass["gamma_2"]), **light)
    regularization = al.reg.Constant(coefficient=float(stored["coefficient"]))
    adapt_images = None
    if "mesh_grid" in stored.files:  # a Delaunay source on the given image-plane vertices
        mesh_grid = al.Grid2DIrregular(values=stored["mesh_grid"])
        pixelization = al.Pixelization(mesh=al.mesh.Delaunay(pixels=len(mesh_grid)), regularization=regularization)
    else:
        pixelization = al.Pixelization(mesh=al.mesh.RectangularUniform(shape=tuple(int(n) for n in stored["mesh_shape"])),
                                       regularization=regularization)
    source = al.Galaxy(redshift=1.0, pixelization=pixelization)
    if "mesh_grid" in stored.files:
        adapt_images = al.AdaptImages(galaxy_image_plane_mesh_grid_dict={source: mesh_grid})
    settings = al.Settings(use_positive_only_solver=False, use_edge_zeroed_pixels=False, use_border_relocator=False)
    fit = al.FitImaging(dataset=dataset, tracer=al.Tracer(galaxies=[lens, source]), settings=settings,
                        adapt_images=adapt_images)
    inversion = fit.inversion
    print(json.dumps({
        "peer": "autolens", "version": al.__version__,
        "log_evidence": float(fit.log_evidence),
        "chi_squared": float(fit.chi_squared),
        "regularization_term": float(inversion.regularization_term),
        "log_det_curvature_reg": float(inversion.log_det_curvature_reg_matrix_term),
        "log_det_regularization": float(inversion.log_det_regularization_matrix_term),
        "noise_normalization": float(fit.noise_normalization),
        "reconstruction": np.asarray(inversion.reconstruction_dict[inversion.cls_list_from(cls=al.Mapper)[0]]).tolist(),
        "amplitudes": [float(v) for v in np.ravel([value for key, value in inversion.reconstruction_dict.items()
                                                    if not isinstance(key, al.Mapper)])],
    }))


if __name__ == "__main__":
    main()
