# The atlas: results/atlas/index.html, one page where every network of every enabled study is a
# point (embeddings, fields) that opens its card. Sections come from each study's
# atlas_sections (rnnatlas.atlas.sections); large runs also get card and matrix files beside
# the page, all listed here so that a deleted one is rebuilt. In `snakemake --report` the page
# is the category "Atlas".

from rnnatlas.atlas.page import atlas_files
from rnnatlas.atlas.sections import plan_sections

if config["atlas"]["enabled"]:
    _atlas_sections = plan_sections(config)
    _atlas_files = atlas_files(_atlas_sections, config["atlas"], f"{RESULTS}/atlas")

    rule atlas:
        input:
            list(dict.fromkeys(f for s in _atlas_sections for f in s.inputs())),
        output:
            report(
                _atlas_files[0],
                caption="../report/atlas.rst",
                category="Atlas",
            ),
            _atlas_files[1:],
        log:
            f"{RESULTS}/logs/atlas.log",
        benchmark:
            f"{RESULTS}/benchmarks/atlas.tsv"
        conda:
            CONDA_ENV
        threads: 1
        resources:
            mem_mb=scaled(4000),
            runtime=scaled(30),
            gpu=0,
        params:
            command=args_file(
                render_command(
                    "atlas --sections {params.sections:q} --results {params.results} "
                    "--options {params.options:q} --out-dir {params.out_dir}",
                    params={
                        "sections": as_param([s.to_dict() for s in _atlas_sections]),
                        "results": RESULTS,
                        "options": as_param(config["atlas"]),
                        "out_dir": f"{RESULTS}/atlas",
                    },
                ),
                f"{RESULTS}/.args/atlas.txt",
            ),
            device=config["device"],
        shell:
            f"{RNNATLAS} {{params.command}} {STAGE_OPTIONS} > {{log}} 2>&1"
