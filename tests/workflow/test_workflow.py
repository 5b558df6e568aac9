"""The Snakemake workflow, run for real on tiny configs (subprocesses, scratch folders)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import yaml

from lenspipe.database import Aggregator
from lenspipe.results.result_file import read_result

from .conftest import REPO, SNAKEFILE, TINY, snakemake, write_config

pytestmark = pytest.mark.slow


def test_dry_run_schedules_every_rule_in_pipeline_order(tmp_path):
    result = snakemake(tmp_path, "--rulegraph", check=True)
    labels = dict(re.findall(r'(\d+)\[label = "([a-z_]+)"', result.stdout))
    edges = {(labels[a], labels[b]) for a, b in re.findall(r"(\d+) -> (\d+)", result.stdout)}
    assert set(labels.values()) == {"all", "simulate_dataset", "fit_stage", "plot_stage",
                                    "ingest", "summary_table"}
    for edge in [("simulate_dataset", "fit_stage"), ("fit_stage", "fit_stage"),
                 ("fit_stage", "plot_stage"), ("fit_stage", "ingest"),
                 ("ingest", "summary_table")]:
        assert edge in edges, f"missing DAG edge {edge}"
    counts = snakemake(tmp_path, "-n", "--cores", "1", check=True).stdout
    assert re.search(r"fit_stage\s+3\b", counts) and re.search(r"ingest\s+1\b", counts)


def test_lint_and_format_are_clean():
    lint = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--lint",
                           "--configfile", str(TINY)], capture_output=True, text=True, cwd=REPO,
                          timeout=300)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Lints for" not in lint.stdout + lint.stderr
    files = [str(SNAKEFILE), *map(str, sorted((REPO / "workflow" / "rules").glob("*.smk")))]
    fmt = subprocess.run([sys.executable, "-m", "snakefmt", "--check", *files],
                         capture_output=True, text=True, timeout=120)
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.parametrize("change, message", [
    ({"seed": -3}, "seed"),
    ({"search": {"nwalkers": "many"}}, "nwalkers"),
    ({"unknown_key": 1}, "unknown_key"),
    ({"likelihood": {"over_sampling": "adaptve"}}, "likelihood.over_sampling = 'adaptve' is not one of"),
    ({"search": {"max_step": 10}}, "unknown setting search.max_step; did you mean 'max_steps'?"),
])
def test_a_config_schema_violation_fails_at_load(tmp_path, change, message):
    config = write_config(tmp_path / "bad.yaml", **change)
    result = snakemake(tmp_path, "-n", configfile=config)
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def test_an_unknown_profile_name_fails_at_load_naming_it(tmp_path):
    config = yaml.safe_load(TINY.read_text())
    config["stages"][0]["model"]["galaxies"]["lens"]["mass"] = "Isothermall"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "-n", configfile=path)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Isothermall" in output and "source_lp" in output


def test_a_stage_referring_to_a_later_stage_fails_at_load(tmp_path):
    config = yaml.safe_load(TINY.read_text())
    config["stages"][0]["model"]["galaxies"]["source"] = {"instance": "mass_total"}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "-n", configfile=path)
    assert result.returncode != 0
    assert "not an earlier stage" in result.stdout + result.stderr


def _sheet(tmp_path, header, row):
    path = tmp_path / "datasets.tsv"
    path.write_text("\t".join(header) + "\n" + "\t".join(row) + "\n")
    return path


SLACS = REPO.parent / "shared" / "data" / "slacs" / "J0029-0055"
COLUMNS = ["name", "data", "noise", "psf", "pixel_scale", "redshift_lens", "redshift_source",
           "mask_radius"]


def test_a_sheet_missing_a_column_fails_at_load(tmp_path):
    sheet = _sheet(tmp_path, COLUMNS[:-1], ["l1", "a.fits", "b.fits", "c.fits", "0.05", "0.2", "0.6"])
    config = write_config(tmp_path / "c.yaml", datasets=str(sheet))
    result = snakemake(tmp_path, "-n", configfile=config)
    assert result.returncode != 0
    assert "mask_radius" in result.stdout + result.stderr


def test_a_sheet_naming_a_missing_file_fails_at_load(tmp_path):
    row = ["l1", str(tmp_path / "nope.fits"), str(tmp_path / "nope.fits"),
           str(tmp_path / "nope.fits"), "0.05", "0.2", "0.6", "2.0"]
    config = write_config(tmp_path / "c.yaml", datasets=str(_sheet(tmp_path, COLUMNS, row)))
    result = snakemake(tmp_path, "-n", configfile=config)
    assert result.returncode != 0
    assert "nope.fits" in result.stdout + result.stderr and "does not exist" in result.stdout + result.stderr


def test_tiny_pipeline_runs_end_to_end(tiny_run):
    workdir, _ = tiny_run
    lens = workdir / "results" / "tiny_1"
    for stage in ("source_lp", "light_lp", "mass_total"):
        for name in ("result.h5", "fit.png", "corner.png", "summary.txt"):
            assert (lens / stage / name).stat().st_size > 0
    source_lp = read_result(lens / "source_lp" / "result.h5")
    mass_total = read_result(lens / "mass_total" / "result.h5")
    assert mass_total.parent_identifier == read_result(lens / "light_lp" / "result.h5").identifier
    assert source_lp.seed != mass_total.seed and source_lp.config_hash == mass_total.config_hash
    # The optimiser finds the simulated Einstein radius (0.7 arcsec) on this noise level
    # to well under the 2 % a 24 x 24 pixel ring at S/N ~ 10 per pixel constrains it to.
    best = source_lp.parameters[source_lp.log_likelihood.argmax()]
    radius = best[source_lp.parameter_paths.index("galaxies.lens.mass.einstein_radius")]
    assert radius == pytest.approx(0.7, rel=0.02)
    with Aggregator.from_database(workdir / "results" / "lenspipe.sqlite") as agg:
        assert len(agg) == 3
        assert sorted(agg.values("name")) == ["light_lp", "mass_total", "source_lp"]
        assert len(agg.query(agg.info["survey"] == "tiny")) == 3
    table = (workdir / "results" / "summary.csv").read_text().splitlines()
    assert len(table) == 4 and "galaxies.lens.mass.einstein_radius.median" in table[0]


def test_a_rerun_with_nothing_changed_does_nothing(tiny_run):
    workdir, _ = tiny_run
    result = snakemake(workdir, "-n", "--cores", "1", check=True)
    assert "Nothing to be done" in result.stdout + result.stderr


def test_a_rerun_with_more_resources_or_retries_does_nothing(tiny_run, tmp_path):
    """Raising a rule's memory, threads or retries (after an out-of-memory kill, say) changes how
    fits run, not what they compute: no finished fit is rerun (workflow.EXECUTION_KEYS)."""
    workdir, _ = tiny_run
    config = yaml.safe_load(TINY.read_text())
    config["resources"] = {"fit_stage": {"threads": 2, "mem_mb": 8000, "runtime": 600}}
    config["retries"] = 3
    path = tmp_path / "more.yaml"
    path.write_text(yaml.safe_dump(config))
    result = snakemake(workdir, "-n", "--cores", "2", configfile=path, check=True)
    assert "Nothing to be done" in result.stdout + result.stderr


def test_a_stage_killed_mid_run_resumes_from_its_checkpoint(tmp_path):
    """SIGKILL the whole Snakemake process group after source_lp's first checkpoint; rerun."""
    config = yaml.safe_load(TINY.read_text())
    config["search"] = {"nwalkers": 12, "max_steps": 60, "checkpoint_every": 10}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    target = "results/tiny_1/source_lp/result.h5"
    command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(tmp_path),
               "--configfile", str(path), "--cores", "1", target]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    checkpoint = tmp_path / "results" / "tiny_1" / "source_lp" / "checkpoint.h5"
    deadline = time.time() + 300
    while time.time() < deadline and not checkpoint.exists():
        time.sleep(0.2)
    assert checkpoint.exists(), "no checkpoint appeared"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (tmp_path / target).exists()
    with h5py.File(checkpoint, "r") as f:
        steps_at_kill = int(np.asarray(f.attrs.get("steps", f.attrs.get("step", 0))))
    # A killed Snakemake leaves its lock behind; a user unlocks, then reruns.
    snakemake(tmp_path, "--unlock", configfile=path, check=True)
    result = snakemake(tmp_path, "--cores", "1", "--rerun-incomplete", target, configfile=path)
    assert result.returncode == 0, result.stderr[-3000:]
    diagnostics = read_result(tmp_path / target).search["diagnostics"]
    assert diagnostics["resumed_from_step"] >= 10
    assert diagnostics["steps"] == 60
    assert steps_at_kill >= 10


def test_the_report_gathers_every_plot_and_summary(tiny_run):
    workdir, _ = tiny_run
    snakemake(workdir, "--report", "report.html", check=True)
    html = (workdir / "report.html").read_text(errors="replace")
    for stage in ("source_lp", "light_lp", "mass_total"):
        assert f"results/tiny_1/{stage}/fit.png" in html or f"{stage}/fit.png" in html
    assert "summary.csv" in html


def test_the_readme_aggregator_session_runs_on_a_pipeline_database(tiny_run, capsys):
    """The README's Python session, pointed at the tiny run's database (its lens is an SIS)."""
    workdir, _ = tiny_run
    readme = (REPO / "README.md").read_text()
    code = re.search(r"```python\n(from lenspipe import Aggregator.*?)```", readme, re.S).group(1)
    code = code.replace('"results/lenspipe.sqlite"', repr(str(workdir / "results" / "lenspipe.sqlite")))
    code = code.replace("Isothermal", "IsothermalSph")
    exec(compile(code, "README.md", "exec"), {})
    printed = [float(line) for line in capsys.readouterr().out.split()]
    assert len(printed) == 1 and printed[0] == pytest.approx(0.7, rel=0.05)


def test_prepare_dataset_on_a_real_slacs_lens(tmp_path, slacs_dir):
    """The prepare rule on real HST data: cut-out, mask radius, flagged pixels masked."""
    from lenspipe.data import read_dataset

    lens = slacs_dir / "J0029-0055"
    row = ["J0029-0055", str(lens / "image.fits"), str(lens / "noise.fits"), str(lens / "psf.fits"),
           "0.05", "0.227", "0.931", "2.2"]
    sheet = _sheet(tmp_path, COLUMNS + ["cutout", "info"], row + ["131", "survey=SLACS"])
    config = write_config(tmp_path / "c.yaml", datasets=str(sheet), simulate={})
    target = "results/J0029-0055/dataset.fits"
    snakemake(tmp_path, "--cores", "1", target, configfile=config, check=True)
    imaging, mask, _, provenance = read_dataset(tmp_path / target)
    assert imaging.shape == (131, 131) and imaging.pixel_scale == 0.05
    # Fitted pixels: those within 2.2" (pi r^2 / s^2 = 6,082 at most) whose noise is not flagged.
    assert 5000 < mask.pixels_in_mask <= 6082
    assert np.all(imaging.noise_map[~mask.array] < 1e7)
    assert provenance["info"] == {"survey": "SLACS"} and provenance["redshift_source"] == 0.931
