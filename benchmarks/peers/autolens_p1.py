"""Time PyAutoLens's imaging log likelihood on P1 (run inside the PyAutoLens environment).

Usage: python autolens_p1.py DATASET.npz [--repeats N] [--number M]

DATASET.npz (written by ../likelihood.py) holds data, noise_map, psf, mask (True = masked
out), pixel_scale and the P1 truth as a JSON string ``model``. Prints one JSON line:
{"peer": "autolens", "version": ..., "ms_per_call": [...], "log_likelihood": ...}.
The setting follows BENCHMARKS.md: over_sample_size_lp=4, default (numba) backend, fixed
amplitudes; each call builds the Tracer and the FitImaging and reads its log likelihood,
as a PyAutoLens Analysis does per sample.
"""

import argparse
import json
import os
import time
import warnings

os.environ.setdefault("PYAUTO_SKIP_WORKSPACE_VERSION_CHECK", "1")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402

import autolens as al  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--number", type=int, default=10)
    args = parser.parse_args()
    stored = np.load(args.dataset)
    truth = json.loads(str(stored["model"]))
    scale = float(stored["pixel_scale"])
    data = al.Array2D.no_mask(values=stored["data"], pixel_scales=scale)
    noise_map = al.Array2D.no_mask(values=stored["noise_map"], pixel_scales=scale)
    psf = al.Convolver(kernel=al.Array2D.no_mask(values=stored["psf"], pixel_scales=scale), normalize=True)
    mask = al.Mask2D(mask=stored["mask"], pixel_scales=scale)
    dataset = al.Imaging(data=data, noise_map=noise_map, psf=psf, over_sample_size_lp=4).apply_mask(mask=mask)

    lens, source = truth["lens"], truth["source"]

    def log_likelihood():
        tracer = al.Tracer(galaxies=[
            al.Galaxy(redshift=lens["redshift"],
                      bulge=al.lp.Sersic(**_tuples(lens["bulge"])),
                      mass=al.mp.Isothermal(**_tuples(lens["mass"])),
                      shear=al.mp.ExternalShear(**lens["shear"])),
            al.Galaxy(redshift=source["redshift"], bulge=al.lp.Sersic(**_tuples(source["bulge"]))),
        ])
        return al.FitImaging(dataset=dataset, tracer=tracer).log_likelihood

    value = float(log_likelihood())  # warm-up (numba compilation, FFT plans)
    for _ in range(2):
        log_likelihood()
    times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.number):
            log_likelihood()
        times.append((time.perf_counter() - start) / args.number * 1e3)
    print(json.dumps({"peer": "autolens", "version": al.__version__, "ms_per_call": times,
                      "log_likelihood": value, "pixels": int((~stored["mask"]).sum())}))


def _tuples(parameters):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in parameters.items()}


if __name__ == "__main__":
    main()
