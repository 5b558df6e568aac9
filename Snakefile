# lenspipe: SLaM-style strong-lens modelling, from FITS to one sqlite database.
#
# Paths (one scheme for every rule):
#   results/{lens}/dataset.fits                 prepared or simulated imaging (+ dataset.png)
#   results/{lens}/{stage}/result.h5            one fit per SLaM stage (+ fit.png, corner.png, summary.txt)
#   results/{lens}/{stage}/checkpoint.h5        the sampler's checkpoint (undeclared: survives a killed job)
#   results/lenspipe.sqlite                     every result, written by the single ingest rule
#   logs/{rule}/{lens}.log, logs/benchmarks/{rule}/{lens}.tsv
#
# Run:  snakemake                                    (the demo; settings from profiles/default)
#       snakemake --profile workflow/profiles/slurm  (a SLURM cluster, see docs/cluster.md)

from snakemake.utils import min_version

min_version("9.20")


# The embedded demo, unless a config is given with --configfile (which replaces it whole,
# rather than being merged into it). `--config KEY=VALUE` changes keys of whichever is used.
if not workflow.config_settings.configfiles:

    configfile: f"{workflow.basedir}/config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/prepare.smk"
include: "workflow/rules/slam.smk"
include: "workflow/rules/database.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        all_outputs(),
