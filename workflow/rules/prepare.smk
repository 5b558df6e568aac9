# Dataset preparation: a cut-out of real imaging, or a simulated demo lens.


rule prepare_dataset:
    input:
        unpack(lambda wildcards: PLAN.prepare_inputs(wildcards.lens)),
    output:
        dataset="results/{lens}/dataset.fits",
        preview=report(
            "results/{lens}/dataset.png",
            caption="../report/captions/dataset.rst",
            category="{lens}",
            subcategory="dataset",
        ),
    log:
        "logs/prepare_dataset/{lens}.log",
    benchmark:
        "logs/benchmarks/prepare_dataset/{lens}.tsv"
    wildcard_constraints:
        lens=PLAN.prepared_pattern(),
    conda:
        "../../envs/lenspipe.yaml"
    threads: rule_threads("prepare_dataset")
    resources:
        **rule_resources("prepare_dataset"),
    params:
        args=lambda wildcards: PLAN.prepare_args(wildcards.lens),
    shell:
        "lenspipe prepare {params.args} --out {output.dataset:q} "
        "--preview {output.preview:q} > {log:q} 2>&1"


rule simulate_dataset:
    output:
        dataset="results/{lens}/dataset.fits",
        truth="results/{lens}/truth.json",
        preview=report(
            "results/{lens}/dataset.png",
            caption="../report/captions/dataset.rst",
            category="{lens}",
            subcategory="dataset",
        ),
    log:
        "logs/simulate_dataset/{lens}.log",
    benchmark:
        "logs/benchmarks/simulate_dataset/{lens}.tsv"
    wildcard_constraints:
        lens=PLAN.simulated_pattern(),
    conda:
        "../../envs/lenspipe.yaml"
    threads: rule_threads("simulate_dataset")
    resources:
        **rule_resources("simulate_dataset"),
    params:
        spec=lambda wildcards: PLAN.simulation_json(wildcards.lens),
        seed=lambda wildcards: PLAN.seed_for(wildcards.lens, "simulate"),
    shell:
        "lenspipe simulate --spec {params.spec:q} --seed {params.seed} "
        "--out {output.dataset:q} --truth {output.truth:q} --preview {output.preview:q} "
        "> {log:q} 2>&1"
