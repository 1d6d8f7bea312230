# Figure family: every figure of every enabled study (rnnatlas.studies.Figure), drawn from
# result files only, as results/figures/<study>/<figure>.{pdf,png} plus the caption counts
# (<figure>.counts.json). In the HTML report each figure carries its own caption.


for _study in STUDIES:
    for _figure in _study.figures(config):
        _stem = f"{RESULTS}/figures/{_study.name}/{_figure.name}"

        rule:
            name:
                f"figure_{_figure.name}"
            input:
                _figure.inputs(config),
            output:
                pdf=f"{_stem}.pdf",
                png=report(
                    f"{_stem}.png",
                    caption="../report/figure.rst",
                    category=_study.title,
                ),
                counts=report(
                    f"{_stem}.counts.json",
                    caption="../report/counts.rst",
                    category=_study.title,
                    subcategory="Networks per panel",
                ),
            log:
                f"{RESULTS}/logs/figures/{_figure.name}.log",
            benchmark:
                f"{RESULTS}/benchmarks/figures/{_figure.name}.tsv"
            conda:
                CONDA_ENV
            threads: 1
            resources:
                mem_mb=scaled(3000),
                runtime=scaled(20),
                gpu=0,
            params:
                name=_figure.name,
                stem=lambda w, output: output.pdf.removesuffix(".pdf"),
                results=lambda w, output: os.path.dirname(
                    os.path.dirname(os.path.dirname(output.pdf))
                ),
                caption=_figure.caption,
            shell:
                f"{RNNATLAS} figure --name {{params.name}} --results {{params.results}} "
                "--out-stem {params.stem} > {log} 2>&1"
