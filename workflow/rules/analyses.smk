# Per-pack analyses family: every analysis a study declares for a trained task (fixed points
# and graphs, activity features, …) runs once per pack, reading the pack's model files and
# writing one or more files per network (rnnatlas.studies.PackAnalysis). The analysis's command
# is rendered here (render_command): a shell command naming a loop variable would see the
# loop's last value when the job runs.


for _task, _study in TRAINED.items():
    for _analysis in _study.pack_analyses(config, _task):
        for _pack in PACKS[_task]:
            _nets = _pack.all_networks if _analysis.twins else _pack.networks
            _outputs = {
                _analysis.output_key(f): [net_file(_task, n.id, f) for n in _nets]
                for f in _analysis.outputs
            }
            _inputs = {
                "task_data": f"{RESULTS}/{_task}/task_data.h5",
                "models": [net_file(_task, n.id, "model.h5") for n in _nets],
            }
            _params = {"task": _task, "options": json.dumps(_analysis.options(config))}

            rule:
                name:
                    f"{_analysis.name}_{_task}_{_pack.id}".replace("-", "_")
                input:
                    **_inputs,
                output:
                    **_outputs,
                log:
                    f"{RESULTS}/logs/{_analysis.name}/{_task}/{_pack.id}.log",
                benchmark:
                    f"{RESULTS}/benchmarks/{_analysis.name}/{_task}/{_pack.id}.tsv"
                conda:
                    CONDA_ENV
                threads: _analysis.resources.threads
                resources:
                    mem_mb=scaled(_analysis.resources.mem_mb),
                    runtime=scaled(_analysis.resources.runtime),
                    gpu=gpus(_analysis.resources.gpu),
                params:
                    command=render_command(
                        _analysis.command,
                        input=_inputs,
                        output=_outputs,
                        params=_params,
                    ),
                    device=config["device"],
                shell:
                    f"{RNNATLAS} {{params.command}} {STAGE_OPTIONS} > {{log}} 2>&1"
