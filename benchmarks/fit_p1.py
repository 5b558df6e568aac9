"""Fit the simulated P1 lens with `lenspipe fit` and print the figures of issue 4.

P1 of ../shared/BENCHMARKS.md (benchmarks/p1/spec.yaml: 100 x 100 at 0.05", Sersic +
Isothermal + ExternalShear lens, Sersic source, exposure 1000 s, sky 0.1, seed 1) is
simulated with `lenspipe simulate`, then fitted from broad priors with
benchmarks/p1/model.yaml (SersicLinear lens light and source, Isothermal + ExternalShear:
19 free parameters) by the real command line, `--initialise optimise`, 40 walkers.

Printed: the start's evaluations and time (per optimiser start), the search's steps, max
tau, smallest bulk and tail ESS, nested and walker-by-walker split-R-hat, evaluations per
walker-step, evaluations per second inside zeus against the batched likelihood's rate
measured here on the same dataset, wall times, the targets of issue 13, and every
parameter's median against the truth in units of its 1-sigma error.

    python benchmarks/fit_p1.py [--out DIR] [--threads 2] [--max-steps 8000] [--seed 1]

About 20 minutes on 2 cores; the same seed gives the same numbers. A rerun with the same
--out resumes the fit from its checkpoint (and a larger --max-steps extends it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def truth_of(truth, path):
    """The simulated value of a parameter path such as galaxies.lens.mass.centre.centre_0."""
    parts = path.split(".")[1:]
    entry = truth[parts[0]][parts[1]]
    if parts[2] in ("centre", "ell_comps"):
        return entry[parts[2]][int(parts[3][-1])]
    return entry[parts[2]]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("p1_fit"), help="output folder")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-steps", type=int, default=8000)
    parser.add_argument("--seed", type=int, default=1, help="the fit's seed")
    parser.add_argument("--report-only", action="store_true",
                        help="print the figures of the result already in --out")
    args = parser.parse_args(argv)
    if args.report_only:
        return report(args.out, None, args.threads)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    dataset, truth_path = out / "dataset.fits", out / "truth.json"
    if not dataset.exists():
        subprocess.run(["lenspipe", "simulate", "--spec", str(HERE / "p1" / "spec.yaml"),
                        "--seed", "1", "--out", str(dataset), "--truth", str(truth_path)],
                       check=True)
    started = time.perf_counter()
    search = {"nwalkers": 40, "max_steps": args.max_steps}
    subprocess.run(["lenspipe", "fit", "--dataset", str(dataset),
                    "--model", str(HERE / "p1" / "model.yaml"), "--out", str(out / "result.h5"),
                    "--stage", "source_lp", "--unique-tag", "p1", "--seed", str(args.seed),
                    "--threads", str(args.threads), "--initialise", "optimise",
                    "--search-yaml", json.dumps(search), "--keep-checkpoint", "--info", "benchmark=P1"],
                   check=True)
    return report(out, time.perf_counter() - started, args.threads)


def batched_rate(dataset, threads, count=80, repeats=5):
    """Evaluations per second of the chunked likelihood on ``count`` vectors near the mode."""
    import yaml

    from lenspipe.data import read_dataset
    from lenspipe.fit.likelihood import LikelihoodEvaluator
    from lenspipe.pipeline.initialise import prior_widths
    from lenspipe.pipeline.stages import stage_model_from
    from lenspipe.results.rebuild import analysis_from_settings
    from lenspipe.settings import FitSettings

    imaging, mask, positions, _ = read_dataset(dataset)
    model = stage_model_from(yaml.safe_load((HERE / "p1" / "model.yaml").read_text()), {}, (0.5, 1.0), 3.0)
    evaluator = LikelihoodEvaluator(model, analysis_from_settings(imaging, mask, positions, FitSettings()),
                                    threads=threads)
    truth = json.loads((Path(dataset).parent / "truth.json").read_text())["truth"]
    centre = np.array([truth_of(truth, path) for path in model.paths])
    vectors = centre + 0.002 * prior_widths(model)[1] * np.random.default_rng(0).standard_normal(
        (count, len(centre)))
    evaluator(vectors[:4])
    times = []
    for _ in range(repeats):
        clock = time.perf_counter()
        evaluator(vectors)
        times.append(time.perf_counter() - clock)
    return count / float(np.median(times))


def report(out, wall, threads):
    """Print the figures of out/result.h5 against out/truth.json; write the plots."""
    truth_path = out / "truth.json"
    subprocess.run(["lenspipe", "show", str(out / "result.h5"), "--fit-plot", str(out / "fit.png"),
                    "--corner-plot", str(out / "corner.png"), "--truth", str(truth_path)],
                   check=True, stdout=subprocess.DEVNULL)

    from lenspipe.results import read_result

    result = read_result(out / "result.h5")
    diagnostics = result.search["diagnostics"]
    start = result.search.get("initialisation", {})
    truth = json.loads(truth_path.read_text())["truth"]
    print(f"P1 fit, seed {result.seed}")
    print(f"  start: {start.get('mode')}, {start.get('evaluations')} evaluations, "
          f"{start.get('wall_time_s', float('nan')):.0f} s, best log posterior "
          f"{start.get('best_log_posterior', float('nan')):.3f}; per start: "
          + ", ".join(f"{s['evaluations']} ({s['best_log_posterior']:.1f})" for s in start.get("starts", [])))
    if start.get("polish"):
        polish = start["polish"]
        print(f"  polish under the fit's likelihood: {polish['evaluations']} evaluations, "
              f"{polish['wall_time_s']:.0f} s, best log posterior {polish['best_log_posterior']:.3f}")
    tau = np.array([t for t in diagnostics["tau"] if t is not None], dtype=float)
    steps, walkers = diagnostics["steps"], diagnostics["nwalkers"]
    ess = [e for key in ("ess_bulk", "ess_tail") for e in diagnostics.get(key, []) if e is not None]
    print(f"  search: {steps} steps x {walkers} walkers, converged {diagnostics['converged']}, "
          f"burn-in {diagnostics.get('burn_in')} steps, max tau {tau.max():.1f}, min ESS "
          f"{min(ess) if ess else float('nan'):.0f} (bulk {min(diagnostics['ess_bulk']):.0f})")
    print(f"  split-R-hat: nested max {max(diagnostics['rhat']):.4f}, walker by walker max "
          f"{max(diagnostics['rhat_walkers']):.4f}")
    evaluations = diagnostics["evaluations"]
    rate = diagnostics["evaluations_per_second"]
    batched = batched_rate(out / "dataset.fits", threads)
    print(f"  search evaluations {evaluations} ({evaluations / (steps * walkers):.2f} per walker-step), "
          f"{rate:.0f} per second inside zeus vs {batched:.0f} batched here ({rate / batched:.2f}); "
          f"search wall {diagnostics['wall_time']:.0f} s; whole fit {result.profiling['wall_time_s']:.0f} s"
          + ("" if wall is None else f" (this command {wall:.0f} s)"))
    total = evaluations + (start.get("evaluations") or 0)
    fit_wall = result.profiling["wall_time_s"]
    print("targets (printed, never asserted):")
    print(f"  {'met' if fit_wall <= 300 else 'NOT met':8s} converged fit <= 5 min: {fit_wall / 60:.1f} min "
          f"(converged {diagnostics['converged']})")
    print(f"  {'met' if total <= 300_000 else 'NOT met':8s} total evaluations <= 300,000: {total}")
    print(f"  {'met' if rate >= 0.9 * batched else 'NOT met':8s} zeus rate >= 0.9 x batched: {rate / batched:.2f}")
    median, errors = result.summary["median_pdf_instance"], result.summary["errors"]
    z = []
    print(f"  {'parameter':45s} {'truth':>8s} {'median':>10s} {'sigma':>9s} {'z':>6s}")
    for path in result.parameter_paths:
        sigma = (errors[path]["upper_1"] - errors[path]["lower_1"]) / 2
        value = truth_of(truth, path)
        z.append((median[path] - value) / sigma)
        print(f"  {path:45s} {value:8.4f} {median[path]:10.5f} {sigma:9.2e} {z[-1]:+6.2f}")
    z = np.array(z)
    print(f"  max |z| {np.abs(z).max():.2f}; mean z^2 {np.mean(z ** 2):.2f} (1 expected); "
          f"{int(np.sum(np.abs(z) < 3))}/{len(z)} within 3 sigma")
    return 0


if __name__ == "__main__":
    sys.exit(main())
