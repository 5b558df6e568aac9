"""Time lenspipe's imaging log likelihood on BENCHMARKS.md's P1 and P3, optionally beside its peers.

Usage::

    python benchmarks/likelihood.py                # lenspipe only
    python benchmarks/likelihood.py --peers        # + lenstronomy and PyAutoLens, same P1, same run
    python benchmarks/likelihood.py --setup-peers  # create benchmarks/.peers/{lenstronomy,autolens}
    python benchmarks/likelihood.py --profile      # + where the time goes (steps, cProfile)

Prints milliseconds per call (the median over ``--repeats`` runs of the mean of a few calls)
for P1-uniform, P1-adaptive, P1-batch (per vector), P1-linear (P1 with the lens and source
Sersics as linear light profiles, SersicLinear: 19 parameters, intensities solved; single and
per vector in a batch) and P3, the peak memory of P1-batch, the
adaptive default's accuracy against uniform 16 x 16, and with ``--peers`` the peers' times
and the ratios against the targets. Targets are printed, never asserted. A call is what a
search pays per sample: parameter vector -> instance -> tracer -> log likelihood.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from lenspipe.analysis import AnalysisImaging
from lenspipe.data import Mask, simulate_imaging
from lenspipe.fit.fit_imaging import FitImaging, MaskedImaging
from lenspipe.fit.likelihood import LikelihoodEvaluator, threads_from_environment
from lenspipe.lensing import Galaxy, Tracer
from lenspipe.model import Collection, Model
from lenspipe.profiles import ExternalShear, Isothermal, Sersic, SersicLinear

HERE = Path(__file__).resolve().parent
PEERS = {"lenstronomy": ("lenstronomy==1.14.2", "lenstronomy_p1.py"),
         "autolens": ("autolens==2026.7.29.1", "autolens_p1.py")}
TRUTH = {
    "lens": {"redshift": 0.5,
             "bulge": {"centre": [0.0, 0.0], "ell_comps": [0.05, -0.03], "intensity": 2.0, "effective_radius": 0.8,
                       "sersic_index": 3.0},
             "mass": {"centre": [0.0, 0.0], "ell_comps": [0.05, -0.03], "einstein_radius": 1.2},
             "shear": {"gamma_1": 0.02, "gamma_2": 0.01}},
    "source": {"redshift": 1.0,
               "bulge": {"centre": [0.02, 0.05], "ell_comps": [0.1, 0.05], "intensity": 4.0, "effective_radius": 0.2,
                         "sersic_index": 1.5}},
}


# ----------------------------------------------------------------------------- problems
def psf_p1():
    """21 x 21 Gaussian, FWHM 0.1 arcsec at 0.05 arcsec per pixel, normalised."""
    k = np.arange(21) - 10
    sigma = 0.1 / (2.0 * np.sqrt(2.0 * np.log(2.0))) / 0.05
    kernel = np.exp(-(k[:, None] ** 2 + k[None, :] ** 2) / (2.0 * sigma**2))
    return kernel / kernel.sum()


def _tuples(parameters):
    return {k: tuple(v) if isinstance(v, list) else v for k, v in parameters.items()}


def truth_tracer():
    lens, source = TRUTH["lens"], TRUTH["source"]
    return Tracer([
        Galaxy(lens["redshift"], bulge=Sersic(**_tuples(lens["bulge"])), mass=Isothermal(**_tuples(lens["mass"])),
               shear=ExternalShear(**lens["shear"])),
        Galaxy(source["redshift"], bulge=Sersic(**_tuples(source["bulge"]))),
    ])


def model_p1(light=Sersic):
    """Every parameter of P1's lens and source free (21 parameters; 19 with ``light=SersicLinear``)."""
    lens = Model(Galaxy, redshift=0.5, bulge=Model(light), mass=Model(Isothermal), shear=Model(ExternalShear))
    return Collection(galaxies=Collection(lens=lens, source=Model(Galaxy, redshift=1.0, bulge=Model(light))))


def truth_vector(model, extra=None):
    """P1's true parameters in ``model.paths`` order; ``extra`` maps more components
    (e.g. ``{"galaxies.lens.disk": ...}``) to their true values."""
    lens, source = TRUTH["lens"], TRUTH["source"]
    values = {"galaxies.lens.bulge": lens["bulge"], "galaxies.lens.mass": lens["mass"],
              "galaxies.lens.shear": lens["shear"], "galaxies.source.bulge": source["bulge"], **(extra or {})}
    vector = []
    for path in model.paths:
        head, name = path.rsplit(".", 1)
        if name.startswith(("centre_", "ell_comps_")):
            head, tuple_name = head.rsplit(".", 1)
            vector.append(values[head][tuple_name][int(name[-1])])
        else:
            vector.append(values[head][name])
    return np.array(vector, dtype=float)


def simulate(shape, mask_radius):
    """BENCHMARKS.md: exposure 1000 s, sky 0.1, Poisson noise, seed 1 (simulated at 8 x 8)."""
    imaging, _ = simulate_imaging(truth_tracer(), shape, 0.05, psf_p1(), exposure_time=1000.0, background_sky=0.1,
                                  seed=1, sub_size=8)
    return imaging, Mask.circular(shape, 0.05, mask_radius)


# ----------------------------------------------------------------------------- timing
def median_ms(function, repeats, number):
    """Median over ``repeats`` of the mean time of ``number`` calls, in ms."""
    function()
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            function()
        runs.append((time.perf_counter() - start) / number * 1e3)
    return statistics.median(runs), runs


def time_single(analysis, model, vector, repeats, number=20):
    return median_ms(lambda: analysis.log_likelihood_function(model.instance_from_vector(vector)), repeats, number)


def batch_vectors(model, k=64, seed=2):
    """k vectors around the truth: 1% Gaussian scatter (0.005 absolute for parameters at zero)."""
    truth = truth_vector(model)
    rng = np.random.default_rng(seed)
    return truth + rng.standard_normal((k, truth.size)) * np.maximum(0.01 * np.abs(truth), 0.005)


def time_batch(evaluator, vectors, repeats):
    ms, runs = median_ms(lambda: evaluator.log_likelihoods(vectors), repeats, 1)
    return ms / len(vectors), [r / len(vectors) for r in runs]


def time_single_and_batch(analysis, evaluator, model, vector, vectors, repeats, number=20):
    """Single calls and the batch, interleaved run by run so that both see the same machine load."""
    singles, batches = [], []
    for _ in range(repeats):
        singles.append(time_single(analysis, model, vector, 1, number)[0])
        batches.append(time_batch(evaluator, vectors, 1)[0])
    return statistics.median(singles), statistics.median(batches)


def peak_memory_mb(function):
    """Peak traced (numpy and Python) allocation of one call, in MB."""
    tracemalloc.start()
    try:
        function()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak / 1e6


# ----------------------------------------------------------------------------- peers
def peer_python(name):
    python = HERE / ".peers" / name / "bin" / "python"
    return python if python.exists() else None


def setup_peers():
    for name, (requirement, _) in PEERS.items():
        folder = HERE / ".peers" / name
        if peer_python(name) is None:
            subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True)
        subprocess.run([str(folder / "bin" / "python"), "-m", "pip", "install", "-q", requirement], check=True)
        print(f"{name}: installed {requirement} in {folder}")
    (HERE / ".peers" / ".gitignore").write_text("*\n")


def run_peers(imaging, mask, repeats):
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        dataset = Path(folder) / "p1.npz"
        np.savez(dataset, data=imaging.data, noise_map=imaging.noise_map, psf=imaging.psf, mask=mask.array,
                 pixel_scale=imaging.pixel_scale, model=json.dumps(TRUTH))
        for name, (requirement, script) in PEERS.items():
            python = peer_python(name)
            if python is None:
                print(f"  {name}: skipped, no environment at benchmarks/.peers/{name} "
                      f"(run with --setup-peers, or: python -m venv benchmarks/.peers/{name} && "
                      f"benchmarks/.peers/{name}/bin/pip install {requirement})")
                continue
            done = subprocess.run([str(python), str(HERE / "peers" / script), str(dataset), "--repeats", str(repeats)],
                                  capture_output=True, text=True)
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if done.returncode != 0 or not lines:
                print(f"  {name}: failed ({done.returncode}): {done.stderr.strip()[-500:]}")
                continue
            result = json.loads(lines[-1])
            result["median_ms"] = statistics.median(result["ms_per_call"])
            results[name] = result
    return results


# ----------------------------------------------------------------------------- main
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--peers", action="store_true", help="also time lenstronomy and PyAutoLens on P1")
    parser.add_argument("--setup-peers", action="store_true", help="create the peers' environments and exit")
    parser.add_argument("--profile", action="store_true", help="print where the time goes")
    parser.add_argument("--repeats", type=int, default=7, help="runs per figure (median reported)")
    parser.add_argument("--threads", type=int, default=None, help="threads of the batched evaluator")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.setup_peers:
        setup_peers()
        return 0

    print(f"# lenspipe likelihood benchmark  (load average {os.getloadavg()[0]:.2f}, "
          f"{threads_from_environment()} CPU(s) granted, medians of {args.repeats} runs)")
    model = model_p1()
    truth = truth_vector(model)
    figures = {}

    imaging, mask = simulate((100, 100), 2.5)
    uniform = AnalysisImaging(MaskedImaging(imaging, mask, over_sampling=4, blurring_sub_size=1))
    adaptive = AnalysisImaging(MaskedImaging(imaging, mask))
    vectors = batch_vectors(model)
    evaluator = LikelihoodEvaluator(model, adaptive, threads=args.threads)
    check = evaluator.log_likelihoods(vectors)
    singles = np.array([adaptive.log_likelihood_function(model.instance_from_vector(v)) for v in vectors[:8]])
    figures["P1-adaptive"], figures["P1-batch"] = time_single_and_batch(adaptive, evaluator, model, truth, vectors,
                                                                        args.repeats)
    figures["P1-batch peak MB"] = peak_memory_mb(lambda: LikelihoodEvaluator(
        model, adaptive, threads=args.threads).log_likelihoods(vectors))
    linear_model = model_p1(SersicLinear)
    linear = AnalysisImaging(adaptive.dataset)
    linear_evaluator = LikelihoodEvaluator(linear_model, linear, threads=args.threads)
    linear_vectors = batch_vectors(linear_model)
    linear_evaluator.log_likelihoods(linear_vectors)
    figures["P1-linear"], figures["P1-linear-batch"] = time_single_and_batch(
        linear, linear_evaluator, linear_model, truth_vector(linear_model), linear_vectors, args.repeats)
    linear_fit = linear.fit_from(linear_model.instance_from_vector(truth_vector(linear_model)))
    linear_check = (linear_fit.log_likelihood, adaptive.log_likelihood_function(model.instance_from_vector(truth)),
                    linear_fit.linear_intensities)
    uniform_evaluator = LikelihoodEvaluator(model, uniform, threads=args.threads)
    uniform_evaluator.log_likelihoods(vectors)
    figures["P1-uniform"], figures["P1-batch-uniform"] = time_single_and_batch(uniform, uniform_evaluator, model,
                                                                               truth, vectors, args.repeats)

    reference = FitImaging(MaskedImaging(imaging, mask, over_sampling=16, blurring_sub_size=16), truth_tracer())
    default = FitImaging(adaptive.dataset, truth_tracer())
    accuracy = float(np.sum(((default.model_data - reference.model_data) / adaptive.dataset.noise_map) ** 2))
    uniform_accuracy = float(np.sum(((FitImaging(uniform.dataset, truth_tracer()).model_data
                                      - reference.model_data) / adaptive.dataset.noise_map) ** 2))

    imaging3, mask3 = simulate((200, 200), 3.5)
    p3 = AnalysisImaging(MaskedImaging(imaging3, mask3))
    p3_uniform = AnalysisImaging(MaskedImaging(imaging3, mask3, over_sampling=4))
    figures["P3"], _ = time_single(p3, model, truth, args.repeats, number=10)
    figures["P3-uniform"], _ = time_single(p3_uniform, model, truth, args.repeats, number=5)

    info = adaptive.info()
    print(f"P1: {info['pixels']} pixels, {mask3.pixels_in_mask} in P3; adaptive points per model "
          f"{adaptive.dataset.sampler.n_points} (uniform 4x4: {uniform.dataset.sampler.n_points}); "
          f"FFT box {info['fft_shape']}; batch threads {evaluator.threads}, chunk {evaluator.chunk_size}")
    print(f"P1-uniform            {figures['P1-uniform']:8.3f} ms/call")
    print(f"P1-adaptive           {figures['P1-adaptive']:8.3f} ms/call   (chi2 vs uniform 16x16: {accuracy:.3f}; "
          f"uniform 4x4: {uniform_accuracy:.2f})")
    batch_ratio = figures["P1-batch"] / figures["P1-adaptive"]
    print(f"P1-batch (adaptive)   {figures['P1-batch']:8.3f} ms/vector ({batch_ratio:.2f}"
          f" of a single call; max |batch - single| / |single| = "
          f"{np.max(np.abs(check[:8] - singles) / np.abs(singles)):.1e})")
    print(f"P1-batch (uniform)    {figures['P1-batch-uniform']:8.3f} ms/vector "
          f"({figures['P1-batch-uniform'] / figures['P1-uniform']:.2f} of a single call)")
    print(f"P1-batch peak memory  {figures['P1-batch peak MB']:8.1f} MB (tracemalloc); process max RSS "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"P1-linear (adaptive)  {figures['P1-linear']:8.3f} ms/call   ({figures['P1-linear-batch']:.3f} ms/vector "
          f"batched; at the truth log L {linear_check[0]:.3f} vs P1-adaptive {linear_check[1]:.3f}, solved "
          + ", ".join(f"{k.split('.')[1]} {v:.4f}" for k, v in linear_check[2].items()) + ")")
    print(f"P3 (adaptive)         {figures['P3']:8.3f} ms/call   (uniform 4x4: {figures['P3-uniform']:.3f} ms)")

    targets = [("P1-batch <= 0.7 of a single call", figures["P1-batch"] / figures["P1-adaptive"], 0.7),
               ("P1-batch peak memory <= 300 MB", figures["P1-batch peak MB"], 300.0)]
    if args.peers:
        peers = run_peers(imaging, mask, args.repeats)
        for name, result in peers.items():
            figures[f"peer {name}"] = result["median_ms"]
            print(f"{name:<21} {result['median_ms']:8.3f} ms/call   ({name} {result['version']}; "
                  f"log likelihood {result['log_likelihood']:.6g})")
        if peers:
            fastest = min(peers, key=lambda n: peers[n]["median_ms"])
            peer_ms = peers[fastest]["median_ms"]
            targets = [(f"P1-uniform <= 1/5 of {fastest}", figures["P1-uniform"] / peer_ms, 1 / 5),
                       (f"P1-adaptive <= 1/25 of {fastest}", figures["P1-adaptive"] / peer_ms, 1 / 25)] + targets
            for name, result in peers.items():
                print(f"  ratio to {name}: uniform 1/{result['median_ms'] / figures['P1-uniform']:.1f}, "
                      f"adaptive 1/{result['median_ms'] / figures['P1-adaptive']:.1f}, "
                      f"batch 1/{result['median_ms'] / figures['P1-batch']:.1f}")
    print("targets (printed, never asserted):")
    for label, value, limit in targets:
        print(f"  {'met    ' if value <= limit else 'NOT met'}  {label}: {value:.3g} (limit {limit:.3g})")

    if args.profile:
        profile(adaptive, uniform, model, truth)
    if args.json:
        args.json.write_text(json.dumps({"figures": figures, "accuracy_chi2": accuracy}, indent=2))
    return 0


def profile(adaptive, uniform, model, truth):
    import cProfile
    import io
    import pstats

    instance = model.instance_from_vector(truth)
    for name, analysis in (("adaptive", adaptive), ("uniform", uniform)):
        report = analysis.profile_log_likelihood_function(instance, repeats=100)
        steps = ", ".join(f"{k} {v:.3f}" for k, v in report["steps_ms"].items())
        print(f"profile P1-{name}: total {report['total_ms']:.3f} ms: {steps}")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(200):
        adaptive.log_likelihood_function(model.instance_from_vector(truth))
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(15)
    print("\n".join(stream.getvalue().splitlines()[:30]))


if __name__ == "__main__":
    sys.exit(main())
