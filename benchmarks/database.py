"""D1 of BENCHMARKS.md: the results database at survey scale.

Run as ``python benchmarks/database.py`` (the full D1 sizes; needs ~30 GB of
scratch disk and tens of minutes on 2 cores) or ``python benchmarks/database.py
--quick`` (small sizes, a minute or so). Prints:

1. ingest rate (fits/s) of ``--fits`` synthetic result files (20-parameter models,
   ``--samples`` posterior samples each; written with ``lenspipe.results``, no
   fitting), the database size on disk, and the rate of a repeat (no-op) ingest;
2. query latency over ``--query-fits`` fits (D1: 100,000) for
   ``lens.mass == Isothermal``, ``einstein_radius > 1.0`` and both with ``&``:
   time to count the matches and to fetch their records. The rows of this
   database are synthesised directly with SQL (fits, components, parameters,
   info, no samples) because writing 100,000 HDF5 files is too slow here;
3. ``values("samples")``: milliseconds per result (arrays decoded, Samples built);
4. peak memory (max RSS of a fresh process) streaming ``--stream`` results.

Targets: >= 200 fits/s, <= 100 ms per query, <= 5 ms per result, <= 300 MB.
Figures drift on shared machines: quote medians of several runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from lenspipe.database import Aggregator, ingest, open_database
from lenspipe.results import ResultDataset, build_result, write_result
from lenspipe.results.identifier import fit_identifier

RADIUS = "galaxies.lens.mass.einstein_radius"


def model(mass: str = "Isothermal"):
    """The 20-parameter model: lens Sersic + mass + shear, source Sersic (n fixed)."""
    from lenspipe.lensing import Galaxy
    from lenspipe.model import Collection, Model
    from lenspipe.profiles import ExternalShear, Isothermal, PowerLaw, Sersic

    mass_model = Model(Isothermal) if mass == "Isothermal" else Model(PowerLaw, slope=2.0)
    lens = Model(Galaxy, redshift=0.5, bulge=Model(Sersic), mass=mass_model,
                 shear=Model(ExternalShear))
    source = Model(Galaxy, redshift=1.0, bulge=Model(Sersic, sersic_index=1.0))
    return Collection(galaxies=Collection(lens=lens, source=source))


def _base_result(mass: str, samples: int, seed: int):
    m = model(mass)
    rng = np.random.default_rng(seed)
    centre = m.vector_from_unit_vector(np.full(m.prior_count, 0.5))
    parameters = centre + rng.normal(0.0, 0.02, size=(samples, m.prior_count)) * np.maximum(
        np.abs(centre), 0.1)
    log_likelihood = -0.5 * rng.chisquare(m.prior_count, size=samples)
    shape = (40, 40)
    dataset = ResultDataset(rng.normal(size=shape), np.full(shape, 0.1), np.ones((7, 7)) / 49,
                            np.zeros(shape, bool), np.zeros((0, 2)), 0.05)
    return build_result(unique_tag="base", name="mass_total", model=m,
                        search={"nwalkers": 40, "max_steps": 5000}, parameters=parameters,
                        log_likelihood=log_likelihood, log_prior=np.zeros(samples),
                        dataset=dataset, latent={"einstein_mass": parameters[:, 11] * 1e11},
                        info={"survey": "SLACS"})


def _shifted(base, index: int, rng) -> object:
    """A copy of ``base`` for lens ``index`` with its Einstein radius moved (summary too)."""
    column = base.parameter_paths.index(RADIUS)
    shift = float(rng.uniform(-0.7, 0.8))
    parameters = base.parameters.copy()
    parameters[:, column] += shift
    summary = {key: dict(value) if isinstance(value, dict) else value
               for key, value in base.summary.items()}
    for key in ("max_log_likelihood_instance", "median_pdf_instance"):
        summary[key][RADIUS] += shift
    summary["errors"][RADIUS] = {k: v + shift for k, v in base.summary["errors"][RADIUS].items()}
    tag = f"lens_{index:06d}"
    identifier = fit_identifier(base.model, base.search, tag, base.dataset.content_hash(),
                                base.name)
    return dataclasses.replace(base, unique_tag=tag, identifier=identifier, summary=summary,
                               parameters=parameters, info={"survey": ["SLACS", "BELLS"][index % 2]})


def _write_chunk(folder: str, indices: list, samples: int) -> int:
    bases = {mass: _base_result(mass, samples, seed) for seed, mass in
             enumerate(("Isothermal", "PowerLaw"))}
    for index in indices:
        rng = np.random.default_rng(index)
        result = _shifted(bases["Isothermal" if index % 2 else "PowerLaw"], index, rng)
        write_result(Path(folder) / result.unique_tag / "mass_total" / "result.h5", result,
                     fsync=False)
    return len(indices)


def synthesise(folder: Path, fits: int, samples: int, workers: int) -> float:
    start = time.perf_counter()
    chunks = [list(range(i, fits, workers * 4)) for i in range(workers * 4)]
    with ProcessPoolExecutor(workers) as pool:
        done = sum(pool.map(_write_chunk, [str(folder)] * len(chunks), chunks,
                            [samples] * len(chunks)))
    assert done == fits
    return time.perf_counter() - start


def disk_size(database: Path) -> int:
    return sum(p.stat().st_size for p in database.parent.glob(database.name + "*"))


def synthesise_query_database(database: Path, fits: int, seed: int = 0) -> float:
    """Fits, components, parameters and info rows written directly with SQL."""
    import json

    start = time.perf_counter()
    db = open_database(database)
    rng = np.random.default_rng(seed)
    m = model()
    paths, model_json = m.paths, json.dumps(m.to_dict())
    classes = [("galaxies.lens", "Galaxy"), ("galaxies.lens.bulge", "Sersic"),
               ("galaxies.lens.shear", "ExternalShear"), ("galaxies.source", "Galaxy"),
               ("galaxies.source.bulge", "Sersic")]
    column = paths.index(RADIUS)
    batch = 10_000
    with db.atomic():
        for first in range(0, fits, batch):
            ids = range(first + 1, min(first + batch, fits) + 1)
            values = rng.uniform(0.0, 2.0, size=(len(ids), len(paths)))
            values[:, column] = rng.uniform(0.5, 2.0, size=len(ids))
            db.conn.executemany(
                'INSERT INTO "fit" ("id", "identifier", "unique_tag", "name", "path_prefix", '
                '"parent_identifier", "completed", "max_log_likelihood", "n_samples", '
                '"n_parameters", "model", "search", "summary", "info", "profiling", '
                '"content_hash") VALUES (?, ?, ?, ?, \'\', \'\', 1, ?, 10000, ?, ?, \'{}\', '
                '\'{}\', ?, \'{}\', \'\')',
                [(i, uuid.uuid4().hex, f"lens_{i:06d}", "mass_total", float(-rng.uniform(0, 50)),
                  len(paths), model_json, json.dumps({"survey": "SLACS"})) for i in ids])
            mass = ["Isothermal" if i % 2 else "PowerLaw" for i in ids]
            db.conn.executemany(
                'INSERT INTO "model_component" ("fit_id", "path", "class") VALUES (?, ?, ?)',
                [(i, p, c) for i, cls in zip(ids, mass)
                 for p, c in [*classes, ("galaxies.lens.mass", cls)]])
            db.conn.executemany(
                'INSERT INTO "parameter" ("fit_id", "path", "max_likelihood", "median", '
                '"lower_1", "upper_1", "lower_3", "upper_3") VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
                [(i, p, v, v + 0.01, v - 0.1, v + 0.1, v - 0.3, v + 0.3)
                 for i, row in zip(ids, values.tolist()) for p, v in zip(paths, row)])
            db.conn.executemany('INSERT INTO "info" ("fit_id", "key", "value") VALUES (?, ?, ?)',
                                [(i, "survey", "SLACS") for i in ids])
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - start


def median_ms(function, repeats: int = 5) -> float:
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def query_latency(database: Path) -> None:
    agg = Aggregator.from_database(database)
    mass = agg.model.galaxies.lens.mass
    queries = {"lens.mass == Isothermal": mass == "Isothermal",
               "einstein_radius > 1.0": mass.einstein_radius > 1.0,
               "both with &": (mass == "Isothermal") & (mass.einstein_radius > 1.0)}
    print(f"  {'query':<28}{'matches':>9}{'count ms':>11}{'fetch ms':>11}")
    for label, condition in queries.items():
        selection = agg.query(condition)
        count = len(selection)
        count_ms = median_ms(lambda: len(selection))
        fetch_ms = median_ms(lambda: sum(1 for _ in selection))
        print(f"  {label:<28}{count:>9}{count_ms:>11.1f}{fetch_ms:>11.1f}")
    agg.close()


_STREAM_CHILD = """
import resource, sys, time
from lenspipe.database import Aggregator
agg = Aggregator.from_database(sys.argv[1])
it = agg[: int(sys.argv[2])].values("samples")
first = next(it)  # imports and the model are loaded: the baseline
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
count, start = 1, time.perf_counter()
for samples in it:
    samples.max_log_likelihood_vector
    count += 1
elapsed = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(count, base / 1024, peak / 1024, 1e3 * elapsed / max(count - 1, 1))
"""


def stream(database: Path, count: int) -> None:
    out = subprocess.run([sys.executable, "-c", _STREAM_CHILD, str(database), str(count)],
                         check=True, capture_output=True, text=True).stdout.split()
    n, base, peak, per = int(out[0]), *map(float, out[1:])
    print(f"  values('samples') over {n} results: {per:.2f} ms per result "
          "(decode + Samples; target <= 5 ms)")
    print(f"  peak RSS streaming them: {peak:.0f} MB (after the first result {base:.0f} MB; "
          f"growth {peak - base:.0f} MB; target <= 300 MB)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fits", type=int, default=10_000, help="result files to ingest")
    parser.add_argument("--samples", type=int, default=10_000, help="samples per result")
    parser.add_argument("--query-fits", type=int, default=100_000, help="fits in the query DB")
    parser.add_argument("--stream", type=int, default=3_000, help="results to stream")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes writing the synthetic result files")
    parser.add_argument("--jobs", type=int, default=2, help="ingest's reading threads")
    parser.add_argument("--repeats", type=int, default=1, help="fresh ingests to time (median)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="scratch folder, kept (its result files are reused)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: 300 fits, 10,000 query fits, stream 300")
    args = parser.parse_args(argv)
    if args.quick:
        args.fits, args.query_fits, args.stream = 300, 10_000, 300
    work = args.workdir or Path(tempfile.mkdtemp(prefix="lenspipe-d1-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        folder, database = work / "results", work / "ingest.sqlite"
        print(f"D1 in {work}: {args.fits} fits x {args.samples} samples x 20 parameters")
        existing = len(list(folder.glob("*/mass_total/result.h5"))) if folder.is_dir() else 0
        if existing == args.fits:
            print(f"  reusing the {existing} result files in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
            seconds = synthesise(folder, args.fits, args.samples, args.workers)
            print(f"  synthesised {args.fits} result files in {seconds:.1f} s "
                  f"({args.workers} processes; not part of the ingest figure)")
        rates = []
        for _ in range(args.repeats):
            for stale in work.glob(database.name + "*"):
                stale.unlink()
            start = time.perf_counter()
            report = ingest(database, [folder], jobs=args.jobs)
            rates.append(args.fits / (time.perf_counter() - start))
            assert report.ok and len(report.added) == args.fits, report.summary()
        print(f"  ingest ({args.jobs} reading threads): median {statistics.median(rates):.0f} "
              f"fits/s over {args.repeats} runs ({', '.join(f'{r:.0f}' for r in rates)}; "
              f"target >= 200); database {disk_size(database) / 2**20:.0f} MB "
              f"({disk_size(database) / args.fits / 2**10:.0f} kB per fit)")
        start = time.perf_counter()
        report = ingest(database, [folder], jobs=args.jobs)
        print(f"  repeat ingest (nothing changes): {args.fits / (time.perf_counter() - start):.0f}"
              " fits/s")
        stream(database, min(args.stream, args.fits))
        if args.stream > args.fits:
            print(f"  (streamed {args.fits}, all the ingested fits; use --fits >= {args.stream})")
        query_db = work / "query.sqlite"
        seconds = synthesise_query_database(query_db, args.query_fits)
        print(f"query latency over {args.query_fits} fits (rows synthesised with SQL in "
              f"{seconds:.0f} s, {disk_size(query_db) / 2**20:.0f} MB; target <= 100 ms):")
        query_latency(query_db)
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
