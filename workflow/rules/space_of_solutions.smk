# Study S (Turner, Dabholkar & Barak 2021, supplement): the 2-D continuous-time RNN populations,
# the RSG networks' features (their training and probes are the generic rules of train.smk),
# the classification summary and the figures. Off when space_of_solutions.enabled is false.

from rnnatlas.stages.figures import SPACE_OF_SOLUTIONS_FIGURES

SOS_DIR = f"{RESULTS}/space_of_solutions"
SOS_FIG_DIR = f"{RESULTS}/figures/space_of_solutions"
TOY2D = SPACE_OF_SOLUTIONS["toy2d"]
RSG = SPACE_OF_SOLUTIONS["rsg"]


def toy2d_file(activation):
    return f"{RESULTS}/toy2d/{activation}/solutions.h5"


if SPACE_OF_SOLUTIONS["enabled"]:

    rule toy2d:
        output:
            f"{RESULTS}/toy2d/{{activation}}/solutions.h5",
        wildcard_constraints:
            activation="|".join(TOY2D["activations"]),
        params:
            settings=json.dumps(TOY2D),
            device=config["device"],
        log:
            f"{RESULTS}/logs/toy2d/{{activation}}.log",
        benchmark:
            f"{RESULTS}/benchmarks/toy2d/{{activation}}.tsv"
        threads: config["threads"]["train"]
        resources:
            mem_mb=scaled(4000),
            runtime=scaled(120),
            gpu=gpus(),
        conda:
            CONDA_ENV
        shell:
            "rnnatlas toy2d --activation {wildcards.activation} --settings {params.settings:q} --out {output} "
            "--threads {threads} --device {params.device} > {log} 2>&1"

    for _pack in TRAIN_PACKS["rsg"]:

        rule:
            name:
                f"rsg_features_{_pack.id}".replace("-", "_")
            input:
                task_data=f"{RESULTS}/rsg/task_data.h5",
                models=[net_file("rsg", n.id, "model.h5") for n in _pack.networks],
            output:
                [net_file("rsg", n.id, "features.h5") for n in _pack.networks],
            params:
                options=json.dumps(RSG["topology"]),
                device=config["device"],
            log:
                f"{RESULTS}/logs/rsg_features/{_pack.id}.log",
            benchmark:
                f"{RESULTS}/benchmarks/rsg_features/{_pack.id}.tsv"
            threads: 1
            resources:
                mem_mb=scaled(4000),
                runtime=scaled(60),
                gpu=0,
            conda:
                CONDA_ENV
            shell:
                "rnnatlas rsg-features --task-data {input.task_data} --models {input.models} --out {output} "
                "--options {params.options:q} --threads {threads} --device {params.device} > {log} 2>&1"

    rule space_of_solutions_summary:
        input:
            toy2d=[toy2d_file(a) for a in TOY2D["activations"]],
            features=[net_file("rsg", n.id, "features.h5") for p in TRAIN_PACKS["rsg"] for n in p.networks],
        output:
            json=f"{SOS_DIR}/summary.json",
            csv=f"{SOS_DIR}/rsg_features.csv",
        params:
            classifier=json.dumps(RSG["classifier"]),
        log:
            f"{RESULTS}/logs/space_of_solutions/summary.log",
        benchmark:
            f"{RESULTS}/benchmarks/space_of_solutions/summary.tsv"
        threads: 1
        resources:
            mem_mb=scaled(2000),
            runtime=scaled(20),
            gpu=0,
        conda:
            CONDA_ENV
        shell:
            "rnnatlas space-of-solutions-summary --toy2d {input.toy2d} --features {input.features} "
            "--classifier {params.classifier:q} --out-json {output.json} --out-csv {output.csv} > {log} 2>&1"

    rule figure_space_of_solutions:
        input:
            toy2d=[toy2d_file(a) for a in TOY2D["activations"]],
            summary=f"{SOS_DIR}/summary.json",
            csv=f"{SOS_DIR}/rsg_features.csv",
        output:
            pdf=f"{SOS_FIG_DIR}/{{figure}}.pdf",
            png=report(f"{SOS_FIG_DIR}/{{figure}}.png", caption="../report/figure.rst", category="Space of solutions"),
            counts=report(f"{SOS_FIG_DIR}/{{figure}}.counts.json", caption="../report/counts.rst", category="Space of solutions",
                          subcategory="Networks per panel"),
        wildcard_constraints:
            figure="|".join(SPACE_OF_SOLUTIONS_FIGURES),
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

    FINAL_TARGETS.append(f"{SOS_DIR}/summary.json")
    FINAL_TARGETS.extend(f"{SOS_FIG_DIR}/{name}.{ext}" for name in SPACE_OF_SOLUTIONS_FIGURES for ext in ("pdf", "png"))
