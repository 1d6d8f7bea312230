# Study-U figures (Maheswaranathan et al. 2019) and the summary numbers, from result files only.
# They need all three tasks; a config with fewer tasks skips them.

from rnnatlas.stages.figures import FIGURES

FIG_DIR = f"{RESULTS}/figures/universality"
FIG_TASKS = ("flipflop", "sine", "cdi")


if all(task in PACKS for task in FIG_TASKS) and "svcca" in SIM_METRICS:

    rule figure:
        input:
            lambda w: [f for task in FIGURES[w.figure][1] for f in task_result_files(task)],
        output:
            pdf=f"{FIG_DIR}/{{figure}}.pdf",
            png=report(f"{FIG_DIR}/{{figure}}.png", caption="../report/figure.rst", category="Universality"),
            counts=report(f"{FIG_DIR}/{{figure}}.counts.json", caption="../report/counts.rst", category="Universality",
                          subcategory="Networks per panel"),
        wildcard_constraints:
            figure="|".join(FIGURES),
        params:
            stem=lambda w, output: os.path.splitext(output.pdf)[0],
            results=lambda w, output: os.path.dirname(os.path.dirname(os.path.dirname(output.pdf))),
        log:
            f"{RESULTS}/logs/figures/{{figure}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/figures/{{figure}}.tsv"
        threads: 1
        resources:
            mem_mb=scaled(3000),
            runtime=scaled(20),
            gpu=0,
        conda:
            CONDA_ENV
        shell:
            "rnnatlas figure --name {wildcards.figure} --results {params.results} --out-stem {params.stem} > {log} 2>&1"

    rule universality_summary:
        input:
            [f for task in FIG_TASKS for f in task_result_files(task)],
            [f"{RESULTS}/{task}/{kind}/{metric}.nc" for task in FIG_TASKS for kind in ("pairwise", "embedding")
             for metric in [*SIM_METRICS, "graph"]],
        output:
            f"{RESULTS}/universality/summary.json",
        params:
            results=lambda w, output: os.path.dirname(os.path.dirname(output[0])),
        log:
            f"{RESULTS}/logs/figures/universality_summary.log",
        benchmark:
            f"{RESULTS}/benchmarks/figures/universality_summary.tsv"
        threads: 1
        resources:
            mem_mb=scaled(2000),
            runtime=scaled(10),
            gpu=0,
        conda:
            CONDA_ENV
        shell:
            "rnnatlas universality-summary --results {params.results} --out {output} > {log} 2>&1"

    FINAL_TARGETS.extend(f"{FIG_DIR}/{name}.{ext}" for name in FIGURES for ext in ("pdf", "png"))
    FINAL_TARGETS.append(f"{RESULTS}/universality/summary.json")
