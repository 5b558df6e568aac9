# Shared workflow setup: validate the config and the dataset sheet, and name every output.
# All logic lives in lenspipe.pipeline.workflow, where unit tests reach it.

from snakemake.utils import validate

from lenspipe.pipeline import workflow as lp

validate(config, schema="../schemas/config.schema.yaml")
PLAN = lp.WorkflowPlan.from_config(config, workdir=workflow.basedir)
for _row in PLAN.sheet_rows:
    validate(_row, schema="../schemas/datasets.schema.yaml")
PLAN.check()


wildcard_constraints:
    lens=PLAN.lens_pattern(),
    stage=PLAN.stage_pattern(),


def all_outputs():
    return PLAN.all_outputs()


def rule_threads(rule_name):
    return PLAN.resources(rule_name)["threads"]


def rule_resources(rule_name):
    base = PLAN.resources(rule_name)
    return dict(
        mem_mb=lambda wildcards, attempt: base["mem_mb"] * attempt,
        runtime=lambda wildcards, attempt: base["runtime"] * attempt,
    )
