"""How rough is a pixelized fit's log evidence in one parameter? A scan through a result's best fit.

A pixelized source's log evidence is not a smooth function of the mass: as the mass moves, the
traced points cross the source mesh's triangles (the interpolation changes), the Delaunay
mesh's edges flip, and an Adapt regularization's pixel signals (PyAutoArray's definition: each
pixel's mean adapt value over the points that touch it) change by whole points. The scan
evaluates the log evidence at ``--points`` values of one parameter across ``--half-width``
around the maximum-likelihood sample (the others held there) and prints, for each term of the
evidence, its largest and typical change between neighbouring values, and the residual of the
log evidence about a quadratic; then the same with the regularization replaced by a
Constant one (``--constant``) to separate the regularization's share. Noise of several units is
enough to hold an MCMC walker on a spike.

With ``--held-at EARLIER_RESULT`` it scans once more with the mesh and pixel signals held at that
result's maximum-likelihood mass (``inversion.hold_mesh``, docs/pipeline.md), as the pipeline
would hold them; a result fitted with a held mesh is scanned on its own held mesh as fitted.

    python benchmarks/evidence_noise.py results/J0029-0055/source_pix_1/result.h5
    python benchmarks/evidence_noise.py RESULT --parameter galaxies.lens.mass.centre.centre_0 --half-width 0.008
    python benchmarks/evidence_noise.py results/L/source_pix_1/result.h5 --held-at results/L/source_lp/result.h5

Prints figures only (nothing is asserted).
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from lenspipe.fit.inversion import Constant
from lenspipe.model import Model
from lenspipe.pipeline.run import samples_from_result
from lenspipe.results.rebuild import analysis_from_result, mesh_reference_from, settings_from_search
from lenspipe.results.result_file import read_result

TERMS = ("chi_squared", "regularization_term", "log_det_curvature_reg", "log_det_regularization")


def scan(analysis, model, best, index, values, regularization=None) -> np.ndarray:
    """(len(values), 5): the evidence's four terms and the log evidence at each value."""
    rows = []
    for value in values:
        vector = best.copy()
        vector[index] = value
        instance = model.instance_from_vector(vector)
        if regularization is not None:
            source = instance.galaxies.source
            source.profiles["pixelization"] = dataclasses.replace(source.profiles["pixelization"],
                                                                  regularization=regularization)
            source.pixelization = source.profiles["pixelization"]
        fit = analysis.fit_from(instance)
        inversion = fit.inversion
        terms = [float(fit.chi_squared), inversion.regularization_term, inversion.log_det_curvature_reg,
                 inversion.log_det_regularization]
        rows.append(terms + [float(fit.figure_of_merit)])
    return np.array(rows)


def report(label, values, rows):
    steps = np.abs(np.diff(rows, axis=0))
    print(f"{label}")
    for j, name in enumerate(TERMS + ("log evidence",)):
        print(f"  {name:<24} range {np.ptp(rows[:, j]):9.2f}   largest step {steps[:, j].max():8.2f}   "
              f"rms step {np.diff(rows[:, j]).std():7.2f}")
    centred = values - values.mean()
    quadratic = np.polyval(np.polyfit(centred, rows[:, 4], 2), centred)
    print(f"  log evidence about a quadratic: rms {np.std(rows[:, 4] - quadratic):.2f}, "
          f"largest {np.abs(rows[:, 4] - quadratic).max():.2f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("result")
    parser.add_argument("--parameter", default="galaxies.lens.mass.einstein_radius")
    parser.add_argument("--half-width", type=float, default=0.003, help="in the parameter's units (default 0.003)")
    parser.add_argument("--points", type=int, default=41)
    parser.add_argument("--constant", type=float, default=1.0,
                        help="coefficient of the Constant regularization of the comparison scan")
    parser.add_argument("--held-at", metavar="EARLIER_RESULT",
                        help="also scan with the mesh held at this result's maximum-likelihood mass")
    args = parser.parse_args(argv)
    result = read_result(args.result)
    model = Model.from_dict(result.model)
    if args.parameter not in model.paths:
        parser.error(f"{args.parameter} is not a free parameter of this fit; it has: {', '.join(model.paths)}")
    analysis = analysis_from_result(dataset=result.dataset, search=result.search)
    best = np.asarray(samples_from_result(result).max_log_likelihood_vector, dtype=float)
    index = model.paths.index(args.parameter)
    values = best[index] + np.linspace(-args.half_width, args.half_width, args.points)
    print(f"# {args.result}: {args.parameter} from {values[0]:.6g} to {values[-1]:.6g} in {args.points} steps of "
          f"{values[1] - values[0]:.3g}, the other parameters at the maximum-likelihood sample")
    report("as fitted", values, scan(analysis, model, best, index, values))
    report(f"with Constant({args.constant:g}) regularization", values,
           scan(analysis, model, best, index, values, Constant(args.constant)))
    if args.held_at:
        search = dict(result.search)
        settings = settings_from_search(search).merged({"inversion": {"hold_mesh": True}})
        search["settings"] = settings.to_dict()
        dataset = dataclasses.replace(result.dataset, mesh_reference=mesh_reference_from(read_result(args.held_at)))
        held = analysis_from_result(dataset=dataset, search=search)
        report(f"mesh and pixel signals held at {args.held_at}'s maximum-likelihood mass", values,
               scan(held, model, best, index, values))


if __name__ == "__main__":
    main()
