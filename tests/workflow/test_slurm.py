"""The real pipeline through the SLURM profile on a local single-node cluster.

The tiny config runs through `workflow/profiles/slurm` (+ the test overlay) and must end
with the same results as the local run with the same seed, the ingest running once at the
end. A fit given less runtime than it needs is killed by SLURM (TIMEOUT), resubmitted by
Snakemake's retries with twice the runtime, resumes from its checkpoint and completes.

The cluster comes from `ci/slurm/start.sh` (see tests/workflow/test_slurm_cluster.py for
when it is skipped: never when CI=true).
"""

from __future__ import annotations

import re
import sys

import numpy as np
import pytest
import yaml

from lenspipe.database import Aggregator
from lenspipe.results.result_file import read_result

from .conftest import SNAKEFILE, TINY
from .test_slurm_cluster import OVERLAY, PROFILE, _jobcomp_states, _run, slurm_env  # noqa: F401

pytestmark = pytest.mark.slow

STAGES = ("source_lp", "light_lp", "mass_total")


def _snakemake_slurm(workdir, configfile, env, timeout, *targets):
    command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(workdir),
               "--configfile", str(configfile), "--profile", str(PROFILE), "--profile", str(OVERLAY),
               "--executor", "slurm", *targets]
    return _run(command, env, cwd=workdir, timeout=timeout)


def test_tiny_pipeline_through_slurm_equals_the_local_run(slurm_env, tiny_run, tmp_path):  # noqa: F811
    local, _ = tiny_run
    proc = _snakemake_slurm(tmp_path, TINY, slurm_env, 900)
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert len(re.findall(r"rule ingest:", log)) == 1
    for stage in STAGES:
        a = read_result(local / "results" / "tiny_1" / stage / "result.h5")
        b = read_result(tmp_path / "results" / "tiny_1" / stage / "result.h5")
        assert a.identifier == b.identifier
        np.testing.assert_array_equal(a.parameters, b.parameters)
        np.testing.assert_array_equal(a.log_likelihood, b.log_likelihood)
    with Aggregator.from_database(tmp_path / "results" / "lenspipe.sqlite") as agg:
        assert len(agg) == 3
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", log)
    states = _jobcomp_states()
    assert submitted and all(states.get(job) == "COMPLETED" for job in submitted)


def test_a_fit_killed_at_its_time_limit_resumes_on_resubmission(slurm_env, tmp_path):  # noqa: F811
    config = yaml.safe_load(TINY.read_text())
    # Long enough to outlive a 1-minute limit (SLURM kills 60-90 s after the start); each
    # retry gets `attempt` minutes and resumes, so the fit completes within two retries.
    # 2,000 steps were not: on an idle machine they took 58 s, so the first attempt could end
    # its search and write its result (removing its checkpoint) just before the kill, and the
    # retry started from scratch. 4,000 take about two minutes.
    # Checkpoints every 20 steps, so that the first attempt (optimiser start, then sampling)
    # reaches one before its kill even on a loaded machine; with 50 it sometimes did not, and
    # the next attempt then started from scratch.
    every, steps = 20, 4000
    config["search"] = {"nwalkers": 12, "max_steps": steps, "min_steps": steps,
                        "checkpoint_every": every}
    config["resources"] = {"default": {"threads": 1, "mem_mb": 500, "runtime": 5},
                           "fit_stage": {"threads": 1, "mem_mb": 500, "runtime": 1}}
    config["retries"] = 2
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    target = "results/tiny_1/source_lp/result.h5"
    proc = _snakemake_slurm(tmp_path, path, slurm_env, 900, target, "--retries", "2")
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-6000:]
    assert "TIMEOUT" in log
    diagnostics = read_result(tmp_path / target).search["diagnostics"]
    assert diagnostics["resumed_from_step"] >= every
    assert diagnostics["steps"] == steps
