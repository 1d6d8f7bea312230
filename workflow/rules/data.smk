# Each task's shared data: validation set, probe set, static conditions x*.


rule task_data:
    output:
        f"{RESULTS}/{{task}}/task_data.h5",
    log:
        f"{RESULTS}/logs/task_data/{{task}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/task_data/{{task}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    resources:
        mem_mb=scaled(2000),
        runtime=scaled(10),
        gpu=0,
    params:
        task_params=lambda w: json.dumps(task_params(config, w.task)),
        trials=lambda w: config["tasks"][w.task]["validation_trials"],
        seed=lambda w: config["tasks"][w.task]["data_seed"],
    shell:
        f"{RNNATLAS} task-data --task {{wildcards.task}} --params {{params.task_params:q}} "
        "--validation-trials {params.trials} --seed {params.seed} --out {output} > {log} 2>&1"


for _task in TRAINED:
    FINAL_TARGETS.append(f"{RESULTS}/{_task}/task_data.h5")
