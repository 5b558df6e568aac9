"""Print a finished (or running) workflow's chain, lens by lens and stage by stage.

For each fit: the Einstein radius (the model's ``einstein_radius`` and the intermediate-axis
one of SLACS and lenstronomy, the ``einstein_radius_intermediate`` latent) with its 1- and
3-sigma intervals, the chi-squared per fitted pixel of the maximum-likelihood fit, whether the
search converged by the documented rule and after how many steps and likelihood evaluations
(the start's included), the wall time, and the codes of any warnings. Compared with a truth:

- a simulated lens's own (the dataset records it): is the truth inside the 3-sigma interval?
- ``--slacs ../shared/data/slacs/lenses.csv``: Bolton et al. (2008)'s ``b_sie`` (intermediate
  axis) against the intermediate-axis latent, as a ratio.

    python benchmarks/chain_report.py WORKDIR [--slacs ../shared/data/slacs/lenses.csv]

WORKDIR is the folder Snakemake ran in (it holds ``results/``). Only finished stages are
listed; the table is what issue 15's notes quote.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np

from lenspipe.results.result_file import read_result

STAGE_ORDER = ("source_lp", "source_pix_1", "source_pix_2", "light_lp", "mass_total")


def _interval(latent, key):
    entry = (latent or {}).get(key)
    if not entry:
        return None
    return entry["median"], entry["lower_1"], entry["upper_1"], entry["lower_3"], entry["upper_3"]


def _radius_interval(result):
    """(median, lower_1, upper_1, lower_3, upper_3) of ``einstein_radius`` from the samples (weighted)."""
    path = "galaxies.lens.mass.einstein_radius"
    if path not in result.parameter_paths:
        return None
    values = np.asarray(result.parameters)[:, result.parameter_paths.index(path)]
    weight = np.asarray(result.weight, dtype=float)
    order = np.argsort(values)
    cumulative = np.cumsum(weight[order]) / np.sum(weight)
    quantile = lambda p: float(np.interp(p, cumulative, values[order]))  # noqa: E731
    return tuple(quantile(p) for p in (0.5, 0.1587, 0.8413, 0.00135, 0.99865))


def _simulated_radius(path):
    """A simulated lens's true ``einstein_radius`` from the workflow's ``truth.json`` (None if absent)."""
    if not path.exists():
        return None
    mass = json.loads(path.read_text())["truth"]["lens"].get("mass") or {}
    return float(mass["einstein_radius"]) if "einstein_radius" in mass else None


def stage_rows(result):
    """The figures of one result, as a dict."""
    fit = result.fit
    diagnostics = result.search.get("diagnostics") or {}
    initialisation = result.search.get("initialisation") or {}
    start_evaluations = int(initialisation.get("evaluations") or 0) + int(
        (initialisation.get("unmatched") or {}).get("evaluations") or 0) + int(
        (initialisation.get("polish") or {}).get("evaluations") or 0)
    pixels = int((~np.asarray(result.dataset.mask)).sum())
    return {
        "stage": result.name,
        "radius": _radius_interval(result),
        "intermediate": _interval(result.summary.get("latent"), "einstein_radius_intermediate"),
        "chi2_per_pixel": float(fit.chi_squared) / pixels,
        "converged": bool(diagnostics.get("converged")),
        "steps": diagnostics.get("steps"),
        "evaluations": int(diagnostics.get("evaluations") or 0) + start_evaluations,
        "wall_s": float(result.profiling.get("wall_time_s") or 0.0),
        "warnings": sorted({w["code"] for w in result.summary.get("warnings") or []}),
    }


def _format(interval, digits=4):
    if interval is None:
        return "-"
    median, low1, high1, low3, high3 = interval
    return (f"{median:.{digits}f} +{high1 - median:.{digits}f}/-{median - low1:.{digits}f} "
            f"[3s {low3:.{digits}f}, {high3:.{digits}f}]")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("--slacs", type=Path, default=None, help="lenses.csv with Bolton et al. (2008)'s b_sie")
    args = parser.parse_args(argv)
    published = {}
    if args.slacs:
        with open(args.slacs, newline="") as handle:
            published = {row["name"]: float(row["b_sie_arcsec"]) for row in csv.DictReader(handle)}
    results = Path(args.workdir) / "results"
    lenses = sorted(p for p in results.iterdir() if p.is_dir()) if results.is_dir() else []
    if not lenses:
        sys.exit(f"no results under {results}")
    for lens in lenses:
        stages = [s for s in STAGE_ORDER if (lens / s / "result.h5").exists()]
        stages += sorted(p.parent.name for p in lens.glob("*/result.h5") if p.parent.name not in stages)
        print(f"\n## {lens.name}")
        total = 0.0
        truth = _simulated_radius(lens / "truth.json")
        for stage in stages:
            result = read_result(lens / stage / "result.h5")
            row = stage_rows(result)
            total += row["wall_s"]
            truth_line = ""
            if truth is not None and row["radius"] is not None:
                inside = row["radius"][3] <= truth <= row["radius"][4]
                truth_line = f"; truth {truth:.4f} {'inside' if inside else 'OUTSIDE'} the 3-sigma interval"
            if lens.name in published and row["intermediate"] is not None:
                truth_line += (f"; intermediate-axis / Bolton b_sie {published[lens.name]:.2f} = "
                               f"{row['intermediate'][0] / published[lens.name]:.3f}")
            print(f"{stage:13s} einstein_radius {_format(row['radius'])}; intermediate {_format(row['intermediate'])}"
                  f"{truth_line}")
            print(f"{'':13s} chi2/pixel {row['chi2_per_pixel']:.3f}; converged {'yes' if row['converged'] else 'no'} "
                  f"after {row['steps']} steps; {row['evaluations']} evaluations; wall {row['wall_s'] / 60:.1f} min; "
                  f"warnings: {', '.join(row['warnings']) or 'none'}")
        print(f"{'':13s} total wall time of the fits: {total / 60:.1f} min")


if __name__ == "__main__":
    main()
