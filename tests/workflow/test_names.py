"""Hostile and careless lens names, run through the real Snakemake on the tiny config.

A lens name becomes a folder and a shell word, so every name (a ``simulate:`` key or a sheet
row's ``name``) is checked against one pattern when the workflow loads: a name that could run a
command or write outside the working directory is refused with a ConfigError before any job
runs, and nothing is created.
"""

from __future__ import annotations

import yaml

from .conftest import TINY, snakemake

HOSTILE = ["x;touch PWNED;", "../../escaped"]


def _files_under(folder):
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def _config_with_lens(path, name):
    config = yaml.safe_load(TINY.read_text())
    config["simulate"] = {name: config["simulate"]["tiny_1"]}
    path.write_text(yaml.safe_dump(config))
    return path


def _run_in_scratch(tmp_path, configfile):
    """Run the whole workflow (not a dry run) two folders deep; returns (result, workdir)."""
    workdir = tmp_path / "a" / "b"
    workdir.mkdir(parents=True)
    result = snakemake(workdir, "--cores", "1", configfile=configfile)
    return result, workdir


def test_hostile_simulate_keys_are_refused_and_nothing_is_created(tmp_path):
    for number, name in enumerate(HOSTILE):
        scratch = tmp_path / str(number)
        scratch.mkdir()
        config = _config_with_lens(scratch / "config.yaml", name)
        result, workdir = _run_in_scratch(scratch, config)
        output = result.stdout + result.stderr
        assert result.returncode != 0
        assert f"simulate:: lens name {name!r} is not allowed" in output, output[-2000:]
        assert not (workdir / "PWNED").exists() and not (tmp_path / "PWNED").exists()
        created = [path for path in _files_under(scratch) if not path.startswith(("a/b/.snakemake", "config.yaml"))]
        assert created == ["a", "a/b"], created


def test_hostile_sheet_names_are_refused_and_nothing_is_created(tmp_path):
    for number, name in enumerate(HOSTILE):
        scratch = tmp_path / str(number)
        scratch.mkdir()
        sheet = scratch / "sheet.tsv"
        sheet.write_text("name\tdata\tnoise\tpsf\tpixel_scale\tredshift_lens\tredshift_source\tmask_radius\n"
                         f"{name}\td.fits\tn.fits\tp.fits\t0.05\t0.2\t0.6\t2.0\n")
        config = yaml.safe_load(TINY.read_text())
        config.update(datasets=str(sheet), simulate={})
        (scratch / "config.yaml").write_text(yaml.safe_dump(config))
        result, workdir = _run_in_scratch(scratch, scratch / "config.yaml")
        assert result.returncode != 0
        assert f"dataset sheet row 1: lens name {name!r} is not allowed" in result.stdout + result.stderr
        assert not (workdir / "PWNED").exists()
        created = [path for path in _files_under(scratch)
                   if not path.startswith(("a/b/.snakemake", "config.yaml", "sheet.tsv"))]
        assert created == ["a", "a/b"], created


def test_a_lens_named_twice_in_a_sheet_is_refused(tmp_path):
    header = "name\tdata\tnoise\tpsf\tpixel_scale\tredshift_lens\tredshift_source\tmask_radius\n"
    row = "J1\td.fits\tn.fits\tp.fits\t0.05\t0.2\t0.6\t2.0\n"
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text(header + row + row)
    config = yaml.safe_load(TINY.read_text())
    config.update(datasets=str(sheet))
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    result = snakemake(tmp_path, "-n", configfile=tmp_path / "config.yaml")
    assert result.returncode != 0
    assert "lens name 'J1' appears twice (dataset sheet row 1 and dataset sheet row 2)" in result.stdout + result.stderr
