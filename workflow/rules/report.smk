# A table of every fit's recovered parameters, read from the database's flat fit_summary view
# with sqlite-utils (no lenspipe needed to read results), for the report.


report: "../report/workflow.rst"


rule summary_table:
    input:
        database="results/lenspipe.sqlite",
    output:
        table=report(
            "results/summary.csv",
            caption="../report/captions/summary_table.rst",
            category="Summary",
        ),
    log:
        "logs/summary_table/all.log",
    conda:
        "../../envs/lenspipe.yaml"
    threads: rule_threads("summary_table")
    resources:
        **rule_resources("summary_table"),
    shell:
        "sqlite-utils rows {input.database:q} fit_summary --csv > {output.table:q} 2> {log:q}"
