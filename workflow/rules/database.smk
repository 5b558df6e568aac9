# The single writer of the results database: runs last, after every fit.


rule ingest:
    input:
        results=PLAN.all_results(),
    output:
        database="results/lenspipe.sqlite",
    log:
        "logs/ingest/all.log",
    conda:
        "../../envs/lenspipe.yaml"
    threads: rule_threads("ingest")
    resources:
        **rule_resources("ingest"),
    shell:
        "lenspipe ingest {input.results:q} --database {output.database:q} > {log:q} 2>&1"
