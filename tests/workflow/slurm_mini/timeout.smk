# Opt-in TIMEOUT + retry check (LENSPIPE_SLURM_TIMEOUT_TEST=1, about 4 minutes).
# The job needs ~95 s of work; runtime is `attempt` minutes. SLURM enforces --time only
# every 30 s (slurmctld's PERIODIC_TIMEOUT), so attempt 1 (--time=1) is killed 60-90 s
# after it starts (state TIMEOUT) and attempt 2 (--time=2, killed no sooner than 120 s)
# completes. Needs `retries >= 1` (the test overlay sets 1).


rule all:
    input:
        "out/slow.txt",


rule slow:
    output:
        "out/slow.txt",
    log:
        "logs/slow.log",
    resources:
        runtime=lambda wc, attempt: attempt * 1,
        mem_mb=100,
    shell:
        "mkdir -p out && "
        "echo attempt job=$SLURM_JOB_ID start=$(date +%s) >> out/attempts.log && "
        "sleep 95 && echo done job=$SLURM_JOB_ID > {output} 2> {log}"
