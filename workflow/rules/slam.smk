# SLaM stages: each fit reads the dataset and the results of the stages it builds on.
# The checkpoint sits beside the result but is not declared, so that Snakemake keeps it
# when a job fails or is killed, and a rerun resumes from it.


rule fit_stage:
    input:
        unpack(lambda wildcards: PLAN.fit_inputs(wildcards.lens, wildcards.stage)),
    output:
        result="results/{lens}/{stage}/result.h5",
    log:
        "logs/{stage}/{lens}.log",
    benchmark:
        "logs/benchmarks/{stage}/{lens}.tsv"
    retries: PLAN.retries
    conda:
        "../../envs/lenspipe.yaml"
    threads: rule_threads("fit_stage")
    resources:
        **rule_resources("fit_stage"),
    params:
        args=lambda wildcards: PLAN.fit_args(wildcards.lens, wildcards.stage),
        checkpoint="results/{lens}/{stage}/checkpoint.h5",
    shell:
        "lenspipe fit {params.args} --threads {threads} "
        "--checkpoint {params.checkpoint:q} --out {output.result:q} > {log:q} 2>&1"


rule plot_stage:
    input:
        unpack(lambda wildcards: PLAN.plot_inputs(wildcards.lens, wildcards.stage)),
    output:
        fit=report(
            "results/{lens}/{stage}/fit.png",
            caption="../report/captions/fit.rst",
            category="{lens}",
            subcategory="{stage}",
        ),
        source=report(
            "results/{lens}/{stage}/source.png",
            caption="../report/captions/source.rst",
            category="{lens}",
            subcategory="{stage}",
        ),
        corner=report(
            "results/{lens}/{stage}/corner.png",
            caption="../report/captions/corner.rst",
            category="{lens}",
            subcategory="{stage}",
        ),
        summary=report(
            "results/{lens}/{stage}/summary.txt",
            caption="../report/captions/summary.rst",
            category="{lens}",
            subcategory="{stage}",
        ),
    log:
        "logs/plot_stage/{lens}.{stage}.log",
    conda:
        "../../envs/lenspipe.yaml"
    threads: rule_threads("plot_stage")
    resources:
        **rule_resources("plot_stage"),
    params:
        truth=lambda wildcards: PLAN.truth_args(wildcards.lens),
    shell:
        "lenspipe show {input.result:q} {params.truth} --fit-plot {output.fit:q} "
        "--source-plot {output.source:q} --corner-plot {output.corner:q} "
        "--summary {output.summary:q} > {log:q} 2>&1"
