# Hyperparameter search per configuration cell, training per pack, probes per pack.
# A pack's outputs are one file per network, so each pack gets its own rule (generated below):
# Snakemake outputs cannot depend on a wildcard's value.


rule search:
    input:
        task_data=f"{RESULTS}/{{task}}/task_data.h5",
    output:
        f"{RESULTS}/{{task}}/search/{{cell}}.json",
    params:
        settings=lambda w: json.dumps(task_settings(w.task)),
        search=json.dumps(SEARCH),
        device=config["device"],
    log:
        f"{RESULTS}/logs/search/{{task}}/{{cell}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/search/{{task}}/{{cell}}.tsv"
    threads: config["threads"]["train"]
    resources:
        mem_mb=scaled(4000),
        runtime=scaled(240),
        gpu=gpus(),
    conda:
        CONDA_ENV
    shell:
        "rnnatlas search --task {wildcards.task} --task-data {input.task_data} --cell {wildcards.cell} "
        "--settings {params.settings:q} --search {params.search:q} --out {output} "
        "--threads {threads} --device {params.device} > {log} 2>&1"


for _task, _packs in TRAIN_PACKS.items():
    for _pack in _packs:

        rule:
            name:
                f"train_{_task}_{_pack.id}".replace("-", "_")
            input:
                task_data=f"{RESULTS}/{_task}/task_data.h5",
                search=[f"{RESULTS}/{_task}/search/{c}.json" for c in _pack.cells] if SEARCH["enabled"] and _task in TASKS else [],
            output:
                [net_file(_task, n.id, "model.h5") for n in _pack.all_networks],
            params:
                task=_task,
                nets=",".join(n.id for n in _pack.networks),
                twins=("--twins " + ",".join(n.id for n in _pack.twins)) if _pack.twins else "",
                settings=json.dumps(task_settings(_task)),
                out_dir=lambda w, output: os.path.dirname(os.path.dirname(output[0])),
                device=config["device"],
            log:
                f"{RESULTS}/logs/train/{_task}/{_pack.id}.log",
            benchmark:
                f"{RESULTS}/benchmarks/train/{_task}/{_pack.id}.tsv"
            threads: config["threads"]["train"]
            resources:
                mem_mb=scaled(4000),
                runtime=scaled(240),
                gpu=gpus(),
            conda:
                CONDA_ENV
            shell:
                "rnnatlas train --task {params.task} --task-data {input.task_data} --nets {params.nets} "
                "{params.twins} --settings {params.settings:q} --search-results {input.search} "
                "--out-dir {params.out_dir} --threads {threads} --device {params.device} > {log} 2>&1"

        rule:
            name:
                f"probe_{_task}_{_pack.id}".replace("-", "_")
            input:
                task_data=f"{RESULTS}/{_task}/task_data.h5",
                models=[net_file(_task, n.id, "model.h5") for n in _pack.all_networks],
            output:
                [net_file(_task, n.id, "probe.h5") for n in _pack.all_networks],
            params:
                task=_task,
                device=config["device"],
            log:
                f"{RESULTS}/logs/probe/{_task}/{_pack.id}.log",
            benchmark:
                f"{RESULTS}/benchmarks/probe/{_task}/{_pack.id}.tsv"
            threads: 1
            resources:
                mem_mb=scaled(4000),
                runtime=scaled(30),
                gpu=0,
            conda:
                CONDA_ENV
            shell:
                "rnnatlas probe --task {params.task} --task-data {input.task_data} --models {input.models} "
                "--out {output} --threads {threads} --device {params.device} > {log} 2>&1"


rule summarize_training:
    input:
        lambda w: [net_file(w.task, n.id, "model.h5") for p in TRAIN_PACKS[w.task] for n in p.all_networks],
    output:
        csv=f"{RESULTS}/{{task}}/training_summary.csv",
        json=f"{RESULTS}/{{task}}/training_summary.json",
    log:
        f"{RESULTS}/logs/summarize/{{task}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/summarize/{{task}}.tsv"
    threads: 1
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(10),
        gpu=0,
    conda:
        CONDA_ENV
    shell:
        "rnnatlas summarize --task {wildcards.task} --models {input} --out-csv {output.csv} "
        "--out-json {output.json} > {log} 2>&1"


for _task, _packs in TRAIN_PACKS.items():
    FINAL_TARGETS.append(f"{RESULTS}/{_task}/training_summary.json")
    FINAL_TARGETS.extend(net_file(_task, n.id, "probe.h5") for p in _packs for n in p.all_networks)
