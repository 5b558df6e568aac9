"""Time lenstronomy's imaging log likelihood on P1 (run inside the lenstronomy environment).

Usage: python lenstronomy_p1.py DATASET.npz [--repeats N] [--number M]

DATASET.npz (written by ../likelihood.py) holds data, noise_map, psf, mask (True = masked
out), pixel_scale and the P1 truth as a JSON string ``model`` in PyAutoLens conventions,
translated here to lenstronomy's (SIE + SHEAR, SERSIC_ELLIPSE; e1/e2 swapped,
intermediate-axis Einstein radius, amplitudes per arcsec^2). The setting follows BENCHMARKS.md:
supersampling_factor=4, supersampling_convolution=False, pixel kernel, fixed amplitudes
(ImageModel.likelihood_data_given_model, no linear solve). Prints one JSON line.
"""

import argparse
import json
import time

import numpy as np

import lenstronomy
from lenstronomy.Data.imaging_data import ImageData
from lenstronomy.Data.psf import PSF
from lenstronomy.ImSim.image_model import ImageModel
from lenstronomy.LensModel.lens_model import LensModel
from lenstronomy.LightModel.light_model import LightModel


def _ellipse(ell_comps):
    """PyAutoLens ell_comps (f sin 2phi, f cos 2phi) -> lenstronomy (e1, e2) = (f cos 2phi, f sin 2phi)."""
    return {"e1": ell_comps[1], "e2": ell_comps[0]}


def _q(ell_comps):
    f = min(np.hypot(*ell_comps), 0.9999)
    return (1 - f) / (1 + f)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--number", type=int, default=10)
    args = parser.parse_args()
    stored = np.load(args.dataset)
    truth = json.loads(str(stored["model"]))
    scale = float(stored["pixel_scale"])
    data = stored["data"]
    ny, nx = data.shape
    # lenstronomy's pixel (i, j) -> (ra, dec) = transform @ (j, i) + (ra_0, dec_0); x (ra) rightwards, y up
    transform = np.array([[scale, 0.0], [0.0, -scale]])
    ra_0, dec_0 = -(nx / 2 - 0.5) * scale, (ny / 2 - 0.5) * scale
    data_class = ImageData(image_data=data, noise_map=stored["noise_map"], ra_at_xy_0=ra_0, dec_at_xy_0=dec_0,
                           transform_pix2angle=transform)
    psf_class = PSF(psf_type="PIXEL", kernel_point_source=stored["psf"])
    numerics = {"supersampling_factor": 4, "supersampling_convolution": False}
    model = ImageModel(data_class, psf_class, lens_model_class=LensModel(["SIE", "SHEAR"]),
                       source_model_class=LightModel(["SERSIC_ELLIPSE"]),
                       lens_light_model_class=LightModel(["SERSIC_ELLIPSE"]),
                       kwargs_numerics=numerics, likelihood_mask=(~stored["mask"]).astype(int))
    lens, source = truth["lens"], truth["source"]
    mass = lens["mass"]
    kwargs_lens = [
        {"theta_E": 2 * np.sqrt(_q(mass["ell_comps"])) / (1 + _q(mass["ell_comps"])) * mass["einstein_radius"],
         "center_x": mass["centre"][1], "center_y": mass["centre"][0], **_ellipse(mass["ell_comps"])},
        {"gamma1": lens["shear"]["gamma_1"], "gamma2": lens["shear"]["gamma_2"], "ra_0": 0.0, "dec_0": 0.0},
    ]

    def sersic(p):
        # lenstronomy's amp is per arcsec^2 (its image is multiplied by the pixel area); ours is per pixel
        return [{"amp": p["intensity"] / scale**2, "R_sersic": p["effective_radius"], "n_sersic": p["sersic_index"],
                 "center_x": p["centre"][1], "center_y": p["centre"][0], **_ellipse(p["ell_comps"])}]

    kwargs_lens_light, kwargs_source = sersic(lens["bulge"]), sersic(source["bulge"])

    def log_likelihood():
        return model.likelihood_data_given_model(kwargs_lens=kwargs_lens, kwargs_source=kwargs_source,
                                                 kwargs_lens_light=kwargs_lens_light)

    value = float(np.ravel(log_likelihood())[0])
    for _ in range(2):
        log_likelihood()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.number):
            log_likelihood()
        times.append((time.perf_counter() - start) / args.number * 1e3)
    print(json.dumps({"peer": "lenstronomy", "version": lenstronomy.__version__, "ms_per_call": times,
                      "log_likelihood": value, "pixels": int((~stored["mask"]).sum())}))


if __name__ == "__main__":
    main()
