# Fixed points, linearisation and fixed-point graphs per pack (the training packs: same-shape
# networks analysed as one population), then one summary per task.


for _task, _packs in PACKS.items():
    for _pack in _packs:

        rule:
            name:
                f"fixed_points_{_task}_{_pack.id}".replace("-", "_")
            input:
                task_data=f"{RESULTS}/{_task}/task_data.h5",
                models=[net_file(_task, n.id, "model.h5") for n in _pack.all_networks],
            output:
                fixed_points=[net_file(_task, n.id, "fixed_points.h5") for n in _pack.all_networks],
                graphs=[net_file(_task, n.id, "graph.h5") for n in _pack.all_networks],
            params:
                task=_task,
                options=json.dumps(config["dynamics"]),
                device=config["device"],
            log:
                f"{RESULTS}/logs/fixed_points/{_task}/{_pack.id}.log",
            benchmark:
                f"{RESULTS}/benchmarks/fixed_points/{_task}/{_pack.id}.tsv"
            threads: config["threads"]["train"]
            resources:
                mem_mb=scaled(4000),
                runtime=scaled(60),
                gpu=gpus(),
            conda:
                CONDA_ENV
            shell:
                "rnnatlas fixed-points --task {params.task} --task-data {input.task_data} "
                "--models {input.models} --out-fixed-points {output.fixed_points} --out-graphs {output.graphs} "
                "--options {params.options:q} --threads {threads} --device {params.device} > {log} 2>&1"


rule dynamics_summary:
    input:
        task_data=f"{RESULTS}/{{task}}/task_data.h5",
        fixed_points=lambda w: [net_file(w.task, n.id, "fixed_points.h5") for p in PACKS[w.task] for n in p.all_networks],
        graphs=lambda w: [net_file(w.task, n.id, "graph.h5") for p in PACKS[w.task] for n in p.all_networks],
    output:
        f"{RESULTS}/{{task}}/dynamics_summary.json",
    log:
        f"{RESULTS}/logs/dynamics_summary/{{task}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/dynamics_summary/{{task}}.tsv"
    threads: 1
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(10),
        gpu=0,
    conda:
        CONDA_ENV
    shell:
        "rnnatlas dynamics-summary --task {wildcards.task} --task-data {input.task_data} "
        "--fixed-points {input.fixed_points} --graphs {input.graphs} --out {output} > {log} 2>&1"


FINAL_TARGETS.extend(f"{RESULTS}/{task}/dynamics_summary.json" for task in PACKS)


rule graph_distance:
    input:
        lambda w: [net_file(w.task, n.id, "graph.h5") for p in PACKS[w.task] for n in p.all_networks],
    output:
        f"{RESULTS}/{{task}}/pairwise/graph.nc",
    log:
        f"{RESULTS}/logs/similarity/{{task}}/graph.log",
    benchmark:
        f"{RESULTS}/benchmarks/similarity/{{task}}/graph.tsv"
    threads: 1
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(30),
        gpu=0,
    conda:
        CONDA_ENV
    shell:
        "rnnatlas similarity-graph --task {wildcards.task} --graphs {input} --out {output} > {log} 2>&1"


for _task in PACKS:
    FINAL_TARGETS.extend([f"{RESULTS}/{_task}/pairwise/graph.nc", f"{RESULTS}/{_task}/embedding/graph.nc"])
