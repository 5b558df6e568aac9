"""The SLaM pipeline: stage models and what the Snakemake workflow asks of the package."""
