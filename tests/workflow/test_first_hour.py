"""A newcomer's first commands, run for real: bare ``snakemake`` from the repository root.

Snakemake finds the default profile in ``profiles/default`` (cores, printed commands), loads
the demo config, and ``--config KEY=VALUE`` changes one key of it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from .conftest import REPO

pytestmark = pytest.mark.slow


def _bare_snakemake(workdir, *args):
    """``snakemake ARGS`` as typed in the repository root (results kept in ``workdir``)."""
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "snakemake", "--directory", str(workdir), *args],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=600)


def _fit_seeds(output):
    return sorted(re.findall(r"lenspipe fit .*?--seed (\d+)", output))


def test_bare_snakemake_uses_the_default_profile_and_the_demo_config(tmp_path):
    result = _bare_snakemake(tmp_path, "-n")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "Using workflow specific profile profiles/default" in output
    assert "cores have to be specified" not in output
    assert "lenspipe simulate" in output  # printshellcmds: true, from the profile
    assert len(_fit_seeds(output)) == 6  # the demo: two lenses, three stages


def test_config_on_the_command_line_changes_one_key_of_the_demo(tmp_path):
    default = _bare_snakemake(tmp_path, "-n")
    changed = _bare_snakemake(tmp_path, "-n", "--config", "seed=2")
    assert changed.returncode == 0, (changed.stdout + changed.stderr)[-3000:]
    assert len(_fit_seeds(changed.stdout)) == 6
    assert _fit_seeds(changed.stdout) != _fit_seeds(default.stdout)


def test_config_on_the_command_line_changes_one_nested_setting_and_keeps_the_rest(tmp_path):
    """Snakemake reads ``--config search="{max_steps: 7}"`` as the text '7'; the fit gets 7 and the
    demo's other search settings."""
    result = _bare_snakemake(tmp_path, "-n", "--config", "search={max_steps: 7, light_mode: false}")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    searches = [json.loads(text)["search"] for text in re.findall(r"lenspipe fit .*?--settings '(\{.*?\})'", output)]
    assert len(searches) == 6
    for search in searches:
        assert (search["max_steps"], search["light_mode"]) == (7, False)
        assert (search["ess_min"], search["rhat_max"], search["checkpoint_every"]) == (400.0, 1.01, 50)
    refused = _bare_snakemake(tmp_path, "-n", "--config", "search={max_steps: many}")
    assert refused.returncode != 0
    assert "search.max_steps = 'many' must be an integer" in refused.stdout + refused.stderr
