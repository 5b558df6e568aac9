"""End-to-end check of the SLURM profile on a local single-node cluster.

`ci/slurm/start.sh` installs (if needed) and starts SLURM bound to 127.0.0.1; the
two-rule workflow in `tests/workflow/slurm_mini/` then runs through
`workflow/profiles/slurm` + the test overlay `tests/workflow/slurm_overlay`, and the
cluster is stopped again (only if this test started it).

Skipped, with the reason, where the cluster cannot run (not root, no apt-get, another
SLURM configured, not Linux, plugin not installed) -- except when the environment variable
CI is "true": there every such reason is a failure.

About 35 s with the packages installed (start < 1 s, workflow ~30 s); the first run on a
fresh machine adds the apt-get install. The TIMEOUT + retry check runs on the real pipeline
in tests/workflow/test_slurm.py.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
START = REPO / "ci" / "slurm" / "start.sh"
STOP = REPO / "ci" / "slurm" / "stop.sh"
PROFILE = REPO / "workflow" / "profiles" / "slurm"
OVERLAY = REPO / "tests" / "workflow" / "slurm_overlay"
MINI = REPO / "tests" / "workflow" / "slurm_mini"
STATE = Path(os.environ.get("LENSPIPE_SLURM_DIR", "/tmp/lenspipe-slurm"))
CANNOT_RUN_HERE = 3  # start.sh's exit code for "this machine cannot host the cluster"


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _skip_or_fail(reason: str):
    if _in_ci():
        pytest.fail(f"CI=true, so not skipping: {reason}")
    pytest.skip(reason)


def _slurm_env(exports: str) -> dict[str, str]:
    """The environment for SLURM clients: ours plus the `export`s printed by start.sh."""
    env = dict(os.environ)
    env["PATH"] = env.get("PATH", "") + ":/usr/sbin:/sbin"
    m = re.search(r"^export SLURM_CONF=(\S+)$", exports, re.M)
    if m:
        env["SLURM_CONF"] = m.group(1)
    # The overlay fixes account and partition for the local cluster; stray site settings
    # must not leak in.
    for var in ("LENSPIPE_SLURM_ACCOUNT", "SBATCH_ACCOUNT", "SBATCH_PARTITION"):
        env.pop(var, None)
    return env


@pytest.fixture(scope="module")
def slurm_env():
    if not sys.platform.startswith("linux"):
        _skip_or_fail(f"local SLURM cluster needs Linux, not {sys.platform}")
    if shutil.which("bash") is None:
        _skip_or_fail("bash not found")
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        _skip_or_fail(
            "snakemake-executor-plugin-slurm is not installed "
            "(pip install 'snakemake-executor-plugin-slurm==2.8.0')"
        )
    proc = subprocess.run(
        ["bash", str(START)], capture_output=True, text=True, timeout=900
    )
    if proc.returncode == CANNOT_RUN_HERE:
        _skip_or_fail(f"cannot start a local SLURM cluster: {proc.stderr.strip()}")
    if proc.returncode != 0:
        pytest.fail(
            f"ci/slurm/start.sh failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    started_here = "already running" not in proc.stderr
    try:
        yield _slurm_env(proc.stdout)
    finally:
        if started_here:
            subprocess.run(["bash", str(STOP)], capture_output=True, text=True, timeout=120)


def _run(cmd, env, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, **kw)


def _squeue_states(env) -> dict[str, str]:
    out = _run(["squeue", "--states=all", "--noheader", "--format=%i|%T"], env, timeout=30)
    assert out.returncode == 0, out.stderr
    return dict(line.split("|", 1) for line in out.stdout.split())


def _jobcomp_states() -> dict[str, str]:
    """Job id -> final state from the job-completion log (JobCompType=jobcomp/filetxt)."""
    log = STATE / "log" / "jobcomp.log"
    text = log.read_text() if log.exists() else ""
    return dict(re.findall(r"JobId=(\d+) .*?JobState=(\S+)", text))


def _snakemake(workdir: Path, snakefile: Path, env, timeout: int):
    cmd = [
        sys.executable, "-m", "snakemake",
        "--snakefile", str(snakefile),
        "--directory", str(workdir),
        "--profile", str(PROFILE),
        "--profile", str(OVERLAY),
        "--executor", "slurm",
    ]  # fmt: skip
    return _run(cmd, env, cwd=workdir, timeout=timeout)


def _listening_addresses(ports: set[int]) -> set[str]:
    """Local IPv4 addresses of TCP sockets listening on `ports` (from /proc/net/tcp)."""
    addrs = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state = fields[1], fields[3]
        hexaddr, hexport = local.split(":")
        if state == "0A" and int(hexport, 16) in ports:  # 0A = LISTEN
            addrs.add(".".join(str(b) for b in reversed(bytes.fromhex(hexaddr))))
    return addrs


def test_cluster_listens_on_loopback_only(slurm_env):
    conf = Path(slurm_env["SLURM_CONF"]).read_text()
    ports = {int(p) for p in re.findall(r"^Slurm(?:ctld|d)Port=(\d+)", conf, re.M)}
    assert len(ports) == 2
    if not Path("/proc/net/tcp").exists():
        pytest.skip("no /proc/net/tcp to inspect")
    addrs = _listening_addresses(ports)
    assert addrs, "slurmctld/slurmd are not listening"
    assert all(a.startswith("127.") for a in addrs), addrs
    srun = _run(["srun", "-N1", "-t", "1", "hostname"], slurm_env, timeout=60)
    assert srun.returncode == 0, srun.stderr


def test_two_rule_workflow_runs_through_the_profile(slurm_env, tmp_path):
    shutil.copy(MINI / "Snakefile", tmp_path / "Snakefile")
    proc = _snakemake(tmp_path, tmp_path / "Snakefile", slurm_env, timeout=150)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]

    a = (tmp_path / "out" / "a.txt").read_text()
    b = (tmp_path / "out" / "b.txt").read_text()
    job_a = re.search(r"^a job=(\d+) cpus=1$", a, re.M)
    job_b = re.search(r"^b job=(\d+) cpus=2$", b, re.M)
    assert job_a and job_b, (a, b)  # ran inside SLURM jobs; threads -> cpus-per-task
    assert a in b  # b consumed a's output
    ids = {job_a.group(1), job_b.group(1)}
    assert len(ids) == 2
    assert int(job_b.group(1)) > int(job_a.group(1))  # b submitted after a finished

    log = proc.stderr + proc.stdout
    for jid in ids:
        assert f"submitted with SLURM jobid {jid}" in log
    squeue = _squeue_states(slurm_env)  # finished jobs stay visible for MinJobAge
    assert all(squeue.get(j) == "COMPLETED" for j in ids), squeue
    jobcomp = _jobcomp_states()
    assert all(jobcomp.get(j) == "COMPLETED" for j in ids), jobcomp
