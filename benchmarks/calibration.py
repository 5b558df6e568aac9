"""Are lenspipe's credible intervals calibrated? Simulated lenses with known truths, real fits.

Draws ``--lenses`` (default 20) small lenses (40 x 40 at 0.1", the demo's size and noise)
whose truths are drawn at random (seeded), simulates each with `lenspipe simulate`, fits it
with the real `lenspipe fit` (Isothermal + ExternalShear, SersicLinear source: 13 free
parameters, the lens light left out of the simulation and the model to keep 20 fits within
half an hour on 2 cores; `--initialise optimise`; the default stopping rule), and counts how
often each parameter's central 68 % and 95 % intervals (from the posterior samples in the
result file) contain its truth.

For calibrated posteriors, over ``L`` lenses x 13 parameters the fractions are 68 % and 95 %
up to Monte Carlo noise (about +-2.9 % and +-1.3 % for 260 intervals if they were independent;
parameters of one lens are correlated, so the real scatter is larger). Printed: the table
per parameter group and overall, the fraction of fits that converged, and the time per fit.

    python benchmarks/calibration.py [--out calibration] [--lenses 20] [--jobs 2]

Each fit runs with one thread; ``--jobs`` fits run at once. A rerun with the same --out
reuses the finished result files (delete them to refit).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fit_p1 import truth_of  # noqa: E402

MODEL = {"galaxies": {"lens": {"redshift": 0.5, "mass": "Isothermal", "shear": "ExternalShear"},
                      "source": {"redshift": 1.0, "bulge": "SersicLinear"}}}


def spec_of(index: int, seed: int) -> dict:
    """A demo-sized lens whose truths are drawn from plausible ranges (seeded by index)."""
    rng = np.random.default_rng([seed, index])

    def u(low, high):
        return float(rng.uniform(low, high))

    centre = [u(-0.05, 0.05), u(-0.05, 0.05)]
    light_ell = [u(-0.15, 0.15), u(-0.15, 0.15)]
    return {
        "name": f"cal_{index}", "shape": [40, 40], "pixel_scale": 0.1, "psf_sigma": 0.08,
        "psf_shape": [7, 7], "exposure_time": 2000.0, "background_sky": 0.1, "mask_radius": 1.9,
        "redshift_lens": 0.5, "redshift_source": 1.0, "info": {"benchmark": "calibration"},
        "truth": {
            "lens": {
                "mass": {"class": "Isothermal", "centre": [c + u(-0.02, 0.02) for c in centre],
                         "ell_comps": [e + u(-0.05, 0.05) for e in light_ell],
                         "einstein_radius": u(0.8, 1.3)},
                "shear": {"class": "ExternalShear", "gamma_1": u(-0.05, 0.05), "gamma_2": u(-0.05, 0.05)},
            },
            "source": {"bulge": {"class": "Sersic", "centre": [u(-0.15, 0.15), u(-0.15, 0.15)],
                                 "ell_comps": [u(-0.2, 0.2), u(-0.2, 0.2)], "intensity": u(1.0, 2.5),
                                 "effective_radius": u(0.15, 0.35), "sersic_index": u(1.0, 2.5)}},
        },
    }


def fit_one(out: Path, index: int, seed: int) -> Path:
    """Simulate lens ``index`` and fit it; returns its result file (reused if present)."""
    folder = out / f"cal_{index}"
    folder.mkdir(parents=True, exist_ok=True)
    result = folder / "result.h5"
    if result.exists():
        return result
    spec = folder / "spec.yaml"
    spec.write_text(yaml.safe_dump(spec_of(index, seed), sort_keys=False))
    subprocess.run(["lenspipe", "simulate", "--spec", str(spec), "--seed", str(1000 + index),
                    "--out", str(folder / "dataset.fits"), "--truth", str(folder / "truth.json")],
                   check=True, stdout=subprocess.DEVNULL)
    with open(folder / "fit.log", "w") as log:
        subprocess.run(["lenspipe", "fit", "--dataset", str(folder / "dataset.fits"),
                        "--model-yaml", json.dumps(MODEL), "--out", str(result), "--stage", "source_lp",
                        "--unique-tag", f"cal_{index}", "--seed", str(index + 1), "--threads", "1",
                        "--initialise", "optimise"], check=True, stdout=log, stderr=subprocess.STDOUT)
    return result


def coverage_of(result_path: Path):
    """Per parameter: (path, inside 68 %, inside 95 %), and the search's diagnostics."""
    from lenspipe.results import read_result

    result = read_result(result_path)
    truth = json.loads((result_path.parent / "truth.json").read_text())["truth"]
    weight = result.weight / result.weight.sum()
    rows = []
    for j, path in enumerate(result.parameter_paths):
        values = result.parameters[:, j]
        order = np.argsort(values)
        cdf = np.cumsum(weight[order])
        low68, high68, low95, high95 = np.interp([0.16, 0.84, 0.025, 0.975], cdf, values[order])
        value = truth_of(truth, path)
        rows.append((path, low68 <= value <= high68, low95 <= value <= high95))
    return rows, result.search["diagnostics"], result.profiling.get("wall_time_s")


def group_of(path: str) -> str:
    parts = path.split(".")
    return f"{parts[1]}.{parts[2]}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("calibration"))
    parser.add_argument("--lenses", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7, help="seeds the truths")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        paths = list(pool.map(lambda i: fit_one(args.out, i, args.seed), range(args.lenses)))
    wall = time.perf_counter() - started

    groups: dict[str, list] = {}
    converged, walls, evaluations, steps = [], [], [], []
    for path in paths:
        rows, diagnostics, fit_wall = coverage_of(path)
        for name, in68, in95 in rows:
            groups.setdefault(group_of(name), []).append((in68, in95))
        converged.append(bool(diagnostics.get("converged")))
        walls.append(fit_wall or np.nan)
        evaluations.append(diagnostics.get("evaluations", np.nan))
        steps.append(diagnostics.get("steps", np.nan))
    print(f"calibration: {len(paths)} lenses, {sum(len(g) for g in groups.values())} intervals, this run "
          f"{wall:.0f} s with {args.jobs} jobs")
    print(f"  converged {sum(converged)}/{len(converged)}; per fit median {np.nanmedian(walls):.0f} s, "
          f"{np.nanmedian(evaluations):.0f} search evaluations, {np.nanmedian(steps):.0f} steps")
    print(f"  {'parameters':24s} {'intervals':>9s} {'in 68 %':>8s} {'in 95 %':>8s}")
    everything = []
    for name in sorted(groups):
        hits = np.array(groups[name], dtype=float)
        everything.append(hits)
        print(f"  {name:24s} {len(hits):9d} {100 * hits[:, 0].mean():7.1f}% {100 * hits[:, 1].mean():7.1f}%")
    hits = np.concatenate(everything)
    f68, f95 = hits[:, 0].mean(), hits[:, 1].mean()
    print(f"  {'all':24s} {len(hits):9d} {100 * f68:7.1f}% {100 * f95:7.1f}%")
    print("targets (printed, never asserted):")
    print(f"  {'met' if abs(f68 - 0.68) <= 0.10 else 'NOT met':8s} 68 % intervals hold the truth 68 +- 10 % "
          f"of the time: {100 * f68:.1f} %")
    print(f"  {'met' if abs(f95 - 0.95) <= 0.05 else 'NOT met':8s} 95 % intervals hold the truth 95 +- 5 % "
          f"of the time: {100 * f95:.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
