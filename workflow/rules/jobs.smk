# Study jobs family: every other job a study declares (summaries per task or per study,
# populations that the generic training rules do not train, …) as one rule each
# (rnnatlas.studies.Job). Their outputs are final targets. Each job's command is rendered
# here (render_command): a shell command naming a loop variable would see the loop's last
# value when the job runs. A command too long for the shell (the papers' scale: thousands of
# files) goes to the job through an arguments file (args_file).


for _study in STUDIES:
    for _job in _study.jobs(config):

        rule:
            name:
                _job.name
            input:
                **_job.input,
            output:
                **_job.output,
            log:
                _job.log_path,
            benchmark:
                benchmark_path(_job.log_path)
            conda:
                CONDA_ENV
            threads: _job.resources.threads
            resources:
                mem_mb=scaled(_job.resources.mem_mb),
                runtime=scaled(_job.resources.runtime),
                gpu=gpus(_job.resources.gpu),
            params:
                command=args_file(
                    render_command(
                        _job.command,
                        input=_job.input,
                        output=_job.output,
                        params={k: as_param(v) for k, v in _job.params.items()},
                    ),
                    f"{RESULTS}/.args/{_job.name}.txt",
                ),
                device=config["device"],
            shell:
                f"{RNNATLAS} {{params.command}} {STAGE_OPTIONS} > {{log}} 2>&1"

    FINAL_TARGETS.extend(_study.targets(config))
