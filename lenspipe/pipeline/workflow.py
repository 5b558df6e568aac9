"""What the Snakemake workflow asks of the package: lens names, paths, arguments, resources.

``workflow/rules/*.smk`` hold no logic of their own: each rule asks a
:class:`WorkflowPlan` (built once from the validated config) for its inputs and
command-line arguments, so that everything here is unit-tested.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from .sheet import LENS_NAME, check_lens_names, check_row_numbers, check_simulation, read_sheet
from .stages import stage_references

__all__ = ["WorkflowPlan", "read_sheet", "config_hash", "derived_seed", "check_lens_names",
           "LENS_NAME"]  # the last three re-exported from .sheet

RESULTS = "results"

#: Rules with a resource entry; `default` applies to those not named in the config.
RULES = ("prepare_dataset", "simulate_dataset", "fit_stage", "plot_stage", "ingest", "summary_table")


#: Config keys that say how a fit is run, not what it computes: left out of :func:`config_hash`,
#: so raising a rule's memory or retries does not make Snakemake rerun finished fits.
EXECUTION_KEYS = ("resources", "retries", "keep_checkpoints")


def config_hash(config: dict) -> str:
    """SHA-256 (first 16 hex digits) of the config as canonical JSON, less :data:`EXECUTION_KEYS`.

    Each fit records it and Snakemake reruns a fit whose hash changed. Threads are among the
    execution keys because they do not change a result: the chunked evaluator's values do not
    depend on the chunking or the thread count (``tests/fit/test_likelihood.py``, and for a
    pixelized source ``tests/fit/test_inversion.py``).
    """
    science = {key: value for key, value in config.items() if key not in EXECUTION_KEYS}
    text = json.dumps(science, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def derived_seed(seed: int, *names: str) -> int:
    """A seed in [0, 2**31) derived from a base seed and names (e.g. lens and stage)."""
    text = "/".join([str(seed), *names])
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % (2**31)


def _alternatives(names) -> str:
    names = sorted(names)
    if not names:
        return "(?!)"  # matches nothing
    return "|".join(re.escape(name) for name in names)


@dataclass
class WorkflowPlan:
    """Everything the rules need, derived once from the validated config."""

    config: dict
    workdir: Path
    sheet_rows: list = field(default_factory=list)

    @classmethod
    def from_config(cls, config: dict, workdir=".") -> "WorkflowPlan":
        """Read the dataset sheet named by the config (if any) and check the lens names.

        Raises
        ------
        ConfigError
            If a lens name does not match :data:`LENS_NAME` or appears twice; nothing is
            scheduled, so a hostile name never reaches a path or a shell.
        """
        rows = read_sheet(config["datasets"]) if config.get("datasets") else []
        check_lens_names(config.get("simulate") or {}, rows)
        return cls(config=config, workdir=Path(workdir), sheet_rows=rows)

    # ---------------------------------------------------------------- names
    @property
    def prepared(self) -> dict:
        """Sheet rows by lens name."""
        return {row["name"]: row for row in self.sheet_rows}

    @property
    def simulated(self) -> dict:
        """Simulation specs by lens name."""
        return dict(self.config.get("simulate") or {})

    @property
    def lenses(self) -> list[str]:
        """Every lens: simulated first, then the sheet's, in their given order."""
        return list(self.simulated) + list(self.prepared)

    @property
    def stages(self) -> list[str]:
        """The stage names in fitting order."""
        return [stage["name"] for stage in self.config["stages"]]

    def stage(self, name: str) -> dict:
        """The config entry of one stage."""
        for stage in self.config["stages"]:
            if stage["name"] == name:
                return stage
        raise ConfigError(f"unknown stage {name!r}; the config's stages are {self.stages}")

    def lens_pattern(self) -> str:
        return _alternatives(self.lenses)

    def stage_pattern(self) -> str:
        return _alternatives(self.stages)

    def prepared_pattern(self) -> str:
        return _alternatives(self.prepared)

    def simulated_pattern(self) -> str:
        return _alternatives(self.simulated)

    def check(self) -> None:
        """Checks the schemas cannot express; raises ConfigError with the fix.

        - every file named in the sheet exists;
        - stages refer only to earlier stages, and their models name known classes;
        - every stage's fit settings are valid (:meth:`fit_settings`).
        """
        from ..data.fits_io import split_extension

        check_lens_names(self.simulated, self.sheet_rows)
        self._check_resources()
        for name, spec in self.simulated.items():
            check_simulation(name, spec)
        for row in self.sheet_rows:
            check_row_numbers(row)
            for column in ("data", "noise", "psf", "mask_file"):
                value = row.get(column)
                if value and not split_extension(value)[0].is_file():
                    raise ConfigError(f"dataset sheet, lens {row['name']!r}: {column} file "
                                      f"{value!r} does not exist; fix the path (relative paths "
                                      "are relative to where snakemake runs)")
        if len(set(self.stages)) != len(self.stages):
            raise ConfigError(f"stage names must be unique, got {self.stages}")
        from .stages import check_stage_models

        check_stage_models(self.config["stages"])
        for stage in self.stages:
            self.fit_settings(stage)

    def _check_resources(self) -> None:
        """Every rule named under ``resources:`` exists (a misspelt one would be ignored)."""
        import difflib

        valid = ("default", *RULES)
        for name in self.config.get("resources") or {}:
            if name not in valid:
                near = difflib.get_close_matches(name, valid, n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                raise ConfigError(f"resources: unknown rule {name!r}; {hint}rules with resources: "
                                  f"{', '.join(valid)}")

    # ---------------------------------------------------------------- paths
    def result_path(self, lens: str, stage: str) -> str:
        return f"{RESULTS}/{lens}/{stage}/result.h5"

    def all_results(self) -> list[str]:
        return [self.result_path(lens, stage) for lens in self.lenses for stage in self.stages]

    def all_outputs(self) -> list[str]:
        """The targets of `rule all`: plots and summaries of every fit, the database, the table."""
        outputs = []
        for lens in self.lenses:
            for stage in self.stages:
                folder = f"{RESULTS}/{lens}/{stage}"
                outputs += [f"{folder}/fit.png", f"{folder}/source.png", f"{folder}/corner.png",
                            f"{folder}/summary.txt"]
        return outputs + [f"{RESULTS}/lenspipe.sqlite", f"{RESULTS}/summary.csv"]

    # --------------------------------------------------------- rule helpers
    def prepare_inputs(self, lens: str) -> dict:
        """The sheet row's files (an extension written as FILE.fits[EXT] stripped)."""
        from ..data.fits_io import split_extension

        row = self.prepared[lens]
        inputs = {"data": row["data"], "noise": row["noise"], "psf": row["psf"]}
        if row.get("mask_file"):
            inputs["mask"] = row["mask_file"]
        return {key: str(split_extension(value)[0]) for key, value in inputs.items()}

    def prepare_args(self, lens: str) -> str:
        """Command-line arguments of `lenspipe prepare` for one sheet row."""
        row = self.prepared[lens]
        args = [
            "--name", lens, "--data", row["data"], "--noise", row["noise"], "--psf", row["psf"],
            "--pixel-scale", row["pixel_scale"], "--noise-kind", row.get("noise_kind", "noise"),
            "--mask-radius", row["mask_radius"],
            "--redshift-lens", row["redshift_lens"], "--redshift-source", row["redshift_source"],
            "--centre", f"{row.get('centre_y', 0.0)},{row.get('centre_x', 0.0)}",
        ]
        if row.get("hdu"):
            args += ["--hdu", row["hdu"]]
        if row.get("cutout"):
            args += ["--cutout", row["cutout"]]
        if row.get("mask_file"):
            args += ["--mask-file", row["mask_file"]]
        if row.get("subtract_sky"):
            args += ["--subtract-sky"]
        if row.get("positions"):
            args += ["--positions", row["positions"]]
        if row.get("positions_threshold"):
            args += ["--positions-threshold", row["positions_threshold"]]
        for item in _info_items(row.get("info", "")):
            args += ["--info", item]
        return shlex.join(str(a) for a in args)

    def simulation_json(self, lens: str) -> str:
        spec = dict(self.simulated[lens])
        spec["name"] = lens
        return json.dumps(spec, sort_keys=True)

    def seed_for(self, lens: str, stage: str) -> int:
        return derived_seed(int(self.config.get("seed", 1)), lens, stage)

    def fit_inputs(self, lens: str, stage: str) -> dict:
        """The dataset and the result of every stage this stage builds on (name -> path)."""
        inputs = {"dataset": f"{RESULTS}/{lens}/dataset.fits"}
        for previous in self.stage_dependencies(stage):
            inputs[f"stage_{previous}"] = self.result_path(lens, previous)
        return inputs

    def plot_inputs(self, lens: str, stage: str) -> dict:
        """The result to plot, and a simulated lens's truth (drawn on the corner plot)."""
        inputs = {"result": self.result_path(lens, stage)}
        if lens in self.simulated:
            inputs["truth"] = f"{RESULTS}/{lens}/truth.json"
        return inputs

    def truth_args(self, lens: str) -> str:
        """``--truth PATH`` of `lenspipe show` for a simulated lens (quoted), else ``""``."""
        if lens not in self.simulated:
            return ""
        return shlex.join(["--truth", f"{RESULTS}/{lens}/truth.json"])

    def stage_dependencies(self, stage: str) -> list[str]:
        """The stages a stage reads: those its model refers to, and the one before it."""
        index = self.stages.index(stage)
        names = set(stage_references(self.stage(stage)["model"]))
        if index > 0:
            names.add(self.stages[index - 1])
        return [name for name in self.stages if name in names]

    def fit_settings(self, stage: str):
        """The :class:`~lenspipe.settings.FitSettings` of one stage, validated.

        The config's ``search``, ``likelihood``, ``cosmology``, ``positions`` and ``passing``,
        with the stage's own ``search`` over the config's and its ``initialise``; what is not
        given takes the defaults of :mod:`lenspipe.settings` (the only place they are written).

        Raises
        ------
        ConfigError
            Naming the stage and the setting that is unknown, misspelt or out of range.
        """
        from ..settings import FitSettings

        entry = self.stage(stage)
        document = {key: self.config[key] for key in ("likelihood", "inversion", "cosmology", "positions", "passing")
                    if self.config.get(key) is not None}
        document["search"] = {**(self.config.get("search") or {}), **(entry.get("search") or {})}
        if entry.get("initialise") is not None:
            document["initialise"] = entry["initialise"]
        try:
            return FitSettings.from_dict(document)
        except ConfigError as error:
            raise ConfigError(f"config, stage {stage!r}: {error}") from None

    def fit_args(self, lens: str, stage: str) -> str:
        """Command-line arguments of `lenspipe fit` for one lens and stage."""
        entry = self.stage(stage)
        args = [
            "--dataset", f"{RESULTS}/{lens}/dataset.fits",
            "--stage", stage, "--unique-tag", lens,
            "--model-yaml", json.dumps(entry["model"], sort_keys=True),
            "--settings", self.fit_settings(stage).to_json(),
            "--seed", self.seed_for(lens, stage),
            "--config-hash", config_hash(self.config),
        ]
        for previous in self.stage_dependencies(stage):
            args += ["--previous", f"{previous}={self.result_path(lens, previous)}"]
        if self.config.get("keep_checkpoints"):
            args += ["--keep-checkpoint"]
        return shlex.join(str(a) for a in args)

    @property
    def retries(self) -> int:
        return int(self.config.get("retries", 1))

    def resources(self, rule: str) -> dict:
        """threads, mem_mb and runtime (minutes) of a rule, from the config or defaults."""
        table = self.config.get("resources") or {}
        merged = {"threads": 1, "mem_mb": 1000, "runtime": 10}
        merged.update(table.get("default") or {})
        merged.update(table.get(rule) or {})
        return merged


def _info_items(text: str) -> list[str]:
    items = [item.strip() for item in (text or "").split(";") if item.strip()]
    for item in items:
        if "=" not in item:
            raise ConfigError(f"info entry {item!r} must be key=value (pairs separated by ';')")
    return items
