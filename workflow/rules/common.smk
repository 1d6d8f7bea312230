# Shared by every .smk file here: the studies this config switches on, the tasks they train and
# their packs, resources, and the list of final targets. Other rule files use only these names.

import json

from rnnatlas import ids as IDS
from rnnatlas import plan as P
from rnnatlas.config import task_params
from rnnatlas.studies.base import args_file, render_command

RESULTS = "results"
LOW_DISK_MB = 1024  # below this much free space the workflow warns before it starts
# Conda environment of every rule (used with `--sdm conda`); relative to workflow/rules/.
CONDA_ENV = "../../envs/rnnatlas.yaml"
# The command every rule runs, with the config's plug-ins (studies, tasks, cells) loaded.
RNNATLAS = " ".join(["rnnatlas", *(f"--plugin {p}" for p in config.get("plugins", []))])
# Options every stage takes, added to each study command (rendered by Snakemake when it runs).
STAGE_OPTIONS = "--threads {threads} --device {params.device}"

STUDIES = P.enabled_studies(config)
TRAINED = P.trained_tasks(config)  # task → the study that trains it
PACKS = {task: study.packs(config, task) for task, study in TRAINED.items()}
USED_TASKS = P.used_tasks(config)


def search_settings(task):
    """The hyperparameter search of a trained task, or None when its study does not search."""
    return TRAINED[task].search(config, task)


def net_file(task, net_id, name):
    return f"{RESULTS}/{task}/nets/{net_id}/{name}"


def all_networks(task):
    """Every network of a task (trained and untrained twins), pack by pack."""
    return [n for pack in PACKS[task] for n in pack.all_networks]


def as_param(value):
    """A parameter value for a rule: mappings and lists as JSON (quoted in the shell with `:q`)."""
    return json.dumps(value) if isinstance(value, (dict, list)) else value


# Files the default target builds: each rules/<family>.smk appends the files of its rules with
# wildcards; workflow/Snakefile adds every output of the rules without wildcards.
FINAL_TARGETS = []


# Resources. Each rule gives `threads` and, in `resources`, `mem_mb=scaled(MB)`,
# `runtime=scaled(MINUTES)` and `gpu=gpus()` (when the job may run on CUDA) or `gpu=0`. The same
# numbers serve a local run (where `gpu` only counts) and SLURM (profiles/slurm; `gpu` → `--gpus`).
def scaled(base):
    """A resource that grows with the attempt: `base` on the first try, 2 × `base` on the
    second, … (Snakemake's `--retries` reruns a failed job with `attempt` + 1)."""
    return lambda wildcards, attempt: base * attempt


def gpus(wanted=True):
    """One GPU for a job that may run on CUDA; none when the config's device is cpu."""
    return 0 if config["device"] == "cpu" or not wanted else 1


def benchmark_path(log_path):
    """The benchmark file that mirrors a log file (results/logs/… → results/benchmarks/…)."""
    return (
        log_path.replace(f"{RESULTS}/logs/", f"{RESULTS}/benchmarks/", 1).removesuffix(
            ".log"
        )
        + ".tsv"
    )
