# The grid → network ids, packs and input functions shared by the rules.

import json

from rnnatlas import ids as IDS
from rnnatlas.config import task_params

RESULTS = "results"
# Conda environment of every rule (used with `--sdm conda`); relative to workflow/rules/.
CONDA_ENV = "../../envs/rnnatlas.yaml"
TASKS = config["universality"]["tasks"]  # study U's tasks: fixed points, similarity, figures
PACKS = {task: P.packs(config, task) for task in TASKS}
SEARCH = config["universality"]["search"]
SPACE_OF_SOLUTIONS = config["space_of_solutions"]
# Every task whose networks are trained by the rules of train.smk (study U's and study S's RSG).
TRAIN_PACKS = {**PACKS, **({"rsg": P.packs(config, "rsg")} if SPACE_OF_SOLUTIONS["enabled"] else {})}

wildcard_constraints:
    task="|".join(TRAIN_PACKS) if TRAIN_PACKS else "none",
    net=IDS.NET_PATTERN,
    cell=IDS.CELL_PATTERN,


def task_settings(task):
    """Training settings for one task (passed to the command line as JSON)."""
    if task in P.SPACE_OF_SOLUTIONS_TASKS:
        return space_of_solutions_training(task)
    training = config["universality"]["training"]
    hp = training["hyperparameters"]
    return {
        "iterations": training["iterations"][task],
        "batch_size": training["batch_size"],
        "eval_every": training["eval_every"],
        "optimizer": "sgd",
        "hyperparameters": hp.get(task, hp["default"]),
        "accept_val_loss": config["tasks"][task]["accept_val_loss"],
        "data_seed": config["tasks"][task]["data_seed"],
    }


def space_of_solutions_training(task):
    """Study S's training (supplement §2.1.3): Adam over true epochs of the fixed training set,
    learning rate decaying exponentially from `learning_rate` to `final_learning_rate`, each
    network stopping once its mean MSE over an epoch is below `stop_loss`."""
    training = SPACE_OF_SOLUTIONS[task]["training"]
    n_train = config["tasks"][task]["n_train"]
    per_epoch = -(-n_train // training["batch_size"])
    iterations = training["epochs"] * per_epoch
    return {
        "iterations": iterations,
        "batch_size": training["batch_size"],
        "eval_every": max(1, iterations // 10),
        "optimizer": "adam",
        "sampling": "epochs",
        "stop_loss": training["stop_loss"],
        "hyperparameters": {"learning_rate": training["learning_rate"], "momentum": 0.0, "clip": training["clip"],
                            "decay": training["final_learning_rate"] / training["learning_rate"]},
        "accept_val_loss": config["tasks"][task]["accept_val_loss"],
        "data_seed": config["tasks"][task]["data_seed"],
    }


def net_file(task, net_id, name):
    return f"{RESULTS}/{task}/nets/{net_id}/{name}"


# Files the default target builds. Every rules/<stage>.smk appends its final outputs here, so
# a new stage is one new rule file plus one include line in workflow/Snakefile.
FINAL_TARGETS = []


# Resources. Each rule gives `threads` and, in `resources`, `mem_mb=scaled(MB)`,
# `runtime=scaled(MINUTES)` and `gpu=gpus()` (when the job may run on CUDA) or `gpu=0`. The same
# numbers serve a local run (where `gpu` only counts) and SLURM (profiles/slurm; `gpu` → `--gpus`).
def scaled(base):
    """A resource that grows with the attempt: `base` on the first try, 2 × `base` on the
    second, … (Snakemake's `--retries` reruns a failed job with `attempt` + 1)."""
    return lambda wildcards, attempt: base * attempt


def gpus(n=1):
    """GPUs for a job that may run on CUDA; none when the config's device is cpu."""
    return 0 if config["device"] == "cpu" else n


def task_result_files(task):
    """Every file a figure of `task` may read."""
    files = [f"{RESULTS}/{task}/{name}" for name in ("task_data.h5", "training_summary.csv", "dynamics_summary.json")]
    files += [f"{RESULTS}/{task}/{kind}/{metric}.nc" for kind in ("pairwise", "embedding") for metric in ("svcca", "graph")]
    for pack in PACKS[task]:
        for net in pack.all_networks:
            files += [net_file(task, net.id, name) for name in ("model.h5", "probe.h5", "fixed_points.h5", "graph.h5")]
    return files
