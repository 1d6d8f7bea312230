# Training family: hyperparameter search per configuration cell (for studies that search),
# training and probes per pack, one training summary per task. Every trained task of every
# enabled study goes through these rules. A pack's outputs are one file per network, so each
# pack gets its own rule (generated below): Snakemake outputs cannot depend on a wildcard's value.


rule search:
    input:
        task_data=f"{RESULTS}/{{task}}/task_data.h5",
    output:
        f"{RESULTS}/{{task}}/search/{{cell}}.json",
    log:
        f"{RESULTS}/logs/search/{{task}}/{{cell}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/search/{{task}}/{{cell}}.tsv"
    conda:
        CONDA_ENV
    threads: config["threads"]["train"]
    resources:
        mem_mb=scaled(4000),
        runtime=scaled(240),
        gpu=gpus(),
    params:
        settings=lambda w: json.dumps(TRAINED[w.task].training_settings(config, w.task)),
        search=lambda w: json.dumps(search_settings(w.task)),
        device=config["device"],
    shell:
        f"{RNNATLAS} search --task {{wildcards.task}} --task-data {{input.task_data}} --cell {{wildcards.cell}} "
        "--settings {params.settings:q} --search {params.search:q} --out {output} "
        "--threads {threads} --device {params.device} > {log} 2>&1"


for _task, _study in TRAINED.items():
    _settings = _study.training_settings(config, _task)
    _searched = search_settings(_task) is not None
    for _pack in PACKS[_task]:

        rule:
            name:
                f"train_{_task}_{_pack.id}".replace("-", "_")
            input:
                task_data=f"{RESULTS}/{_task}/task_data.h5",
                search=(
                    [f"{RESULTS}/{_task}/search/{c}.json" for c in _pack.cells]
                    if _searched
                    else []
                ),
            output:
                # probe.h5 (hidden states on the probe set) is written by the same job: a
                # separate probe job per pack cost a process start (~5 s) for ~0.5 s of work.
                [
                    net_file(_task, n.id, name)
                    for n in _pack.all_networks
                    for name in ("model.h5", "probe.h5")
                ],
            log:
                f"{RESULTS}/logs/train/{_task}/{_pack.id}.log",
            benchmark:
                f"{RESULTS}/benchmarks/train/{_task}/{_pack.id}.tsv"
            conda:
                CONDA_ENV
            threads: config["threads"]["train"]
            resources:
                mem_mb=scaled(4000),
                runtime=scaled(240),
                gpu=gpus(),
            params:
                task=_task,
                nets=",".join(n.id for n in _pack.networks),
                twins=(
                    ("--twins " + ",".join(n.id for n in _pack.twins))
                    if _pack.twins
                    else ""
                ),
                settings=json.dumps(_settings),
                out_dir=lambda w, output: os.path.dirname(os.path.dirname(output[0])),
                device=config["device"],
            shell:
                f"{RNNATLAS} train --task {{params.task}} --task-data {{input.task_data}} --nets {{params.nets}} "
                "{params.twins} --settings {params.settings:q} --search-results {input.search} "
                "--out-dir {params.out_dir} --probe --threads {threads} --device {params.device} > {log} 2>&1"


rule summarize_training:
    input:
        lambda w: [net_file(w.task, n.id, "model.h5") for n in all_networks(w.task)],
    output:
        csv=f"{RESULTS}/{{task}}/training_summary.csv",
        json=f"{RESULTS}/{{task}}/training_summary.json",
    log:
        f"{RESULTS}/logs/summarize/{{task}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/summarize/{{task}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(10),
        gpu=0,
    params:
        # every model file of the task: through an arguments file when too long for the shell
        command=lambda w, input, output: args_file(
            f"summarize --task {w.task} --models {' '.join(input)} --out-csv {output.csv} "
            f"--out-json {output.json}",
            f"{RESULTS}/.args/summarize_training_{w.task}.txt",
        ),
    shell:
        f"{RNNATLAS} {{params.command}} > {{log}} 2>&1"


for _task in TRAINED:
    FINAL_TARGETS.append(f"{RESULTS}/{_task}/training_summary.json")
    if search_settings(_task) is not None:
        FINAL_TARGETS.extend(
            f"{RESULTS}/{_task}/search/{c}.json"
            for c in dict.fromkeys(c for p in PACKS[_task] for c in p.cells)
        )
