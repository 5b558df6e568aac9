"""Fixtures for running the real Snakemake workflow on the tiny config in a scratch folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEFILE = REPO / "Snakefile"
TINY = REPO / ".test" / "config" / "config.yaml"


def snakemake(workdir, *args, configfile=TINY, timeout=600, check=False):
    """Run snakemake on the repository's Snakefile in ``workdir``; returns CompletedProcess."""
    command = [sys.executable, "-m", "snakemake", "-s", str(SNAKEFILE), "--directory", str(workdir),
               "--configfile", str(configfile), *args]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed ({result.returncode}):\n{result.stdout[-4000:]}\n"
                             f"{result.stderr[-4000:]}")
    return result


def write_config(path, **changes):
    """A copy of the tiny config with top-level keys changed; returns its path."""
    config = yaml.safe_load(TINY.read_text())
    config.update(changes)
    Path(path).write_text(yaml.safe_dump(config))
    return Path(path)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The tiny pipeline run once end to end (shared by the tests that read its outputs)."""
    workdir = tmp_path_factory.mktemp("tiny_run")
    result = snakemake(workdir, "--cores", "2", check=True)
    return workdir, result
