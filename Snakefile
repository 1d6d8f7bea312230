# rnnatlas: thin entry point. The workflow lives in workflow/Snakefile (the workflow catalog's
# standard layout); this file keeps `snakemake --cores N` working from the project root.
include: "workflow/Snakefile"


rule default:
    default_target: True
    input:
        rules.all.input,
