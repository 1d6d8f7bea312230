"""``rnnatlas <stage> …``: the command line every Snakemake rule calls.

Threads are limited before numpy or torch is imported (``--threads``, default 1), because BLAS
pools sized to the whole machine oversubscribe small machines badly.
"""

from __future__ import annotations

import argparse
import json
import sys


def _json_of(text: str, kind: type, name: str):
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(f"not valid JSON: {exc}") from exc
    if not isinstance(value, kind):
        raise argparse.ArgumentTypeError(f"expected a JSON {name}")
    return value


def _json(text: str) -> dict:
    return _json_of(text, dict, "object")


def _json_list(text: str) -> list:
    return _json_of(text, list, "list")


def _json_with(required: tuple[str, ...] = (), section: str | None = None):
    """A JSON-object argument that must hold ``required`` keys, or those of config section
    ``section`` (the workflow passes that section): ``--settings '{}'`` is a usage error naming
    the missing keys, not a KeyError deep in a stage."""
    def parse(text: str) -> dict:
        value = _json(text)
        keys = list(required)
        if section is not None:
            from .config import section_required_keys

            keys += section_required_keys(section)
        missing = [k for k in dict.fromkeys(keys) if k not in value]
        if missing:
            where = f" (config section '{section}' holds them; see config/README.md)" if section else ""
            raise argparse.ArgumentTypeError(f"missing key(s) {', '.join(missing)}{where}")
        return value
    return parse


def _similarity_options(text: str) -> dict:
    """The similarity stages' options (JSON), checked as the stages will use them: an unknown key,
    a dtype or a DSA setting out of range is a usage error naming it."""
    from .stages.similarity import resolve_options

    value = _json(text)
    try:
        resolve_options(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return value


def _count(minimum: int):
    """An integer argument of at least ``minimum``."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below the minimum {minimum}")
        return value
    return parse


def _device(text: str) -> str:
    from .runtime import DEVICE_NAMES

    if not DEVICE_NAMES.fullmatch(text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; allowed: auto, cpu, cuda, cuda:N")
    return text


def _folder(text: str) -> str:
    """An existing folder (a results folder a stage reads)."""
    import os

    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder")
    return text


# keys every training-settings JSON must hold (rnnatlas.stages.train, rnnatlas.stages.search)
TRAIN_SETTINGS_KEYS = ("iterations", "batch_size", "eval_every", "data_seed", "accept_val_loss")


def _ids(text: str) -> list[str]:
    return [s for s in text.split(",") if s]


class _RegistryChoices:
    """A registry's names as argparse ``choices``, read only when an argument is checked or
    help is printed (arguments using it need an explicit ``metavar``, or argparse lists the
    choices when the parser is built): the registries of tasks and metrics import torch, which
    stages such as figures, embeddings and summaries do not need (~2.5 s per job)."""

    def __init__(self, module: str, name: str) -> None:
        self._module, self._name = module, name

    def _names(self) -> list[str]:
        import importlib

        return list(getattr(importlib.import_module(self._module, __package__), self._name))

    def __contains__(self, value: object) -> bool:
        return value in self._names()

    def __iter__(self):
        return iter(self._names())


def build_parser() -> argparse.ArgumentParser:
    from .studies import FIGURES

    ACTIVATIONS_2D = _RegistryChoices(".features.toy2d", "ACTIVATIONS")
    METRICS = _RegistryChoices(".similarity", "METRICS")
    TASKS = _RegistryChoices(".tasks", "TASKS")

    # "@file" reads arguments from a file, one per line: the workflow passes a job's long file lists
    # that way (rnnatlas.studies.base.args_file; a shell argument may not exceed 128 KiB)
    parser = argparse.ArgumentParser(prog="rnnatlas", description=__doc__.splitlines()[0], fromfile_prefix_chars="@")
    parser.add_argument("--plugin", action="append", default=[],
                        help="a Python file or module that registers more studies, tasks or cells (repeatable)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--threads", type=_count(1), default=1, help="BLAS/torch threads (default 1)")
    common.add_argument("--device", type=_device, default="auto", help="auto (CUDA when present), cpu, cuda or cuda:N")
    sub = parser.add_subparsers(dest="stage", required=True)

    p = sub.add_parser("validate-config", parents=[common], help="check config files against the schema")
    p.add_argument("configfiles", nargs="*", help="merged in order over config/config.yaml")
    p.add_argument("--cluster", action="store_true",
                   help="the jobs run on other machines: skip the check that a 'cuda' device exists here")

    p = sub.add_parser("task-data", parents=[common], help="write a task's validation/probe sets and conditions")
    p.add_argument("--task", required=True, choices=TASKS, metavar="TASK", help="one of: %(choices)s")
    p.add_argument("--params", type=_json, default={}, help="task parameters (JSON)")
    p.add_argument("--validation-trials", type=_count(1), required=True)
    p.add_argument("--seed", type=_count(0), required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("search", parents=[common], help="hyperparameter search for one configuration cell")
    p.add_argument("--task", required=True, choices=TASKS, metavar="TASK", help="one of: %(choices)s")
    p.add_argument("--task-data", required=True)
    p.add_argument("--cell", required=True, help="e.g. gru-tanh-n64-l2_1e-04")
    p.add_argument("--settings", type=_json_with(TRAIN_SETTINGS_KEYS[:2]), required=True, help="training settings (JSON)")
    p.add_argument("--search", type=_json_with(section="universality.search"), required=True,
                   help="search settings (JSON; config key universality.search)")
    p.add_argument("--out", required=True)

    p = sub.add_parser("train", parents=[common], help="train one pack of same-shape networks")
    p.add_argument("--task", required=True, choices=TASKS, metavar="TASK", help="one of: %(choices)s")
    p.add_argument("--task-data", required=True)
    p.add_argument("--nets", type=_ids, required=True, help="comma-separated network ids to train")
    p.add_argument("--twins", type=_ids, default=[], help="comma-separated untrained-twin ids to record")
    p.add_argument("--settings", type=_json_with(TRAIN_SETTINGS_KEYS), required=True, help="training settings (JSON)")
    p.add_argument("--search-results", nargs="*", default=[], help="search JSON files (hyperparameters per cell)")
    p.add_argument("--out-dir", required=True, help="results/<task>/nets")
    p.add_argument("--probe", action="store_true",
                   help="then record every network's probe.h5 beside its model.h5 (what the workflow does: "
                        "one process per pack instead of two)")

    p = sub.add_parser("probe", parents=[common], help="record hidden states on the probe set")
    p.add_argument("--task", required=True, choices=TASKS, metavar="TASK", help="one of: %(choices)s")
    p.add_argument("--task-data", required=True)
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--out", nargs="+", required=True)

    p = sub.add_parser("fixed-points", parents=[common], help="fixed points, linearisation and graphs of a pack")
    p.add_argument("--task", required=True, choices=TASKS, metavar="TASK", help="one of: %(choices)s")
    p.add_argument("--task-data", required=True)
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--out-fixed-points", nargs="+", required=True)
    p.add_argument("--out-graphs", nargs="+", required=True)
    p.add_argument("--options", type=_json, default={}, help="dynamics options (JSON; config key `dynamics`)")

    p = sub.add_parser("dynamics-summary", parents=[common], help="a task's fixed-point numbers in one JSON")
    p.add_argument("--task", required=True, choices=TASKS, metavar="TASK", help="one of: %(choices)s")
    p.add_argument("--task-data", required=True)
    p.add_argument("--fixed-points", nargs="+", required=True)
    p.add_argument("--graphs", nargs="+", required=True)
    p.add_argument("--out", required=True)

    p = sub.add_parser("figure", parents=[common], help="draw one figure from result files")
    p.add_argument("--name", required=True, choices=FIGURES.names(), help="a registered figure")
    p.add_argument("--results", type=_folder, required=True, help="the results folder")
    p.add_argument("--out-stem", required=True, help="writes <stem>.pdf, <stem>.png and <stem>.counts.json")

    p = sub.add_parser("universality-summary", parents=[common], help="results/universality/summary.json")
    p.add_argument("--results", type=_folder, required=True)
    p.add_argument("--metrics", nargs="+", required=True,
                   help="the distances to summarise (the config's similarity.metrics and graph)")
    p.add_argument("--out", required=True)

    p = sub.add_parser("toy2d", parents=[common], help="train and classify one population of 2-D continuous-time RNNs")
    p.add_argument("--activation", required=True, choices=ACTIVATIONS_2D, metavar="ACTIVATION", help="one of: %(choices)s")
    p.add_argument("--settings", type=_json_with(section="space_of_solutions.toy2d"), required=True,
                   help="config key space_of_solutions.toy2d (JSON)")
    p.add_argument("--out", required=True, help="results/toy2d/<activation>/solutions.h5")

    p = sub.add_parser("rsg-features", parents=[common], help="neural and topological features of a pack of RSG networks")
    p.add_argument("--task-data", required=True)
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--out", nargs="+", required=True, help="features.h5 per network, in the order of --models")
    p.add_argument("--options", type=_json_with(section="space_of_solutions.rsg.topology"), required=True,
                   help="config key space_of_solutions.rsg.topology (JSON)")

    p = sub.add_parser("space-of-solutions-summary", parents=[common],
                       help="results/space_of_solutions/summary.json and rsg_features.csv")
    p.add_argument("--toy2d", nargs="*", default=[], help="solutions.h5 files")
    p.add_argument("--features", nargs="*", default=[], help="features.h5 files")
    p.add_argument("--classifier", type=_json_with(section="space_of_solutions.rsg.classifier"), required=True,
                   help="config key space_of_solutions.rsg.classifier (JSON)")
    p.add_argument("--out-json", required=True)
    p.add_argument("--out-csv", required=True)

    p = sub.add_parser("training-change", parents=[common], help="how training changed each network of a pack (study H)")
    p.add_argument("--task", required=True, choices=TASKS, metavar="TASK", help="one of: %(choices)s")
    p.add_argument("--task-data", required=True)
    p.add_argument("--models", nargs="+", required=True, help="model.h5 of the pack's trained networks")
    p.add_argument("--out", nargs="+", required=True, help="training_change.h5 per network, in the order of --models")
    p.add_argument("--options", type=_json_with(section="training_change.analysis"), required=True,
                   help="config key training_change.analysis (JSON)")

    p = sub.add_parser("training-change-summary", parents=[common], help="results/training_change/summary.json")
    p.add_argument("--changes", nargs="+", required=True, help="training_change.h5 files")
    p.add_argument("--fixed-points", nargs="*", default=[], help="fixed_points.h5 files (trained and twins)")
    p.add_argument("--out", required=True)

    p = sub.add_parser("multitask", parents=[common], help="task analyses and per-epoch fixed points of a pack (study M)")
    p.add_argument("--task", required=True, choices=TASKS, metavar="TASK", help="one of: %(choices)s")
    p.add_argument("--task-data", required=True)
    p.add_argument("--models", nargs="+", required=True, help="model.h5 of the pack's trained networks")
    p.add_argument("--out-fixed-points", nargs="+", required=True, help="fixed_points.h5 per network, in the order of --models")
    p.add_argument("--out", nargs="+", required=True, help="multitask.h5 per network, in the order of --models")
    p.add_argument("--options", type=_json_with(("dynamics",), section="multitask.analysis"), required=True,
                   help="config key multitask.analysis with the dynamics section under 'dynamics' (JSON)")

    p = sub.add_parser("multitask-summary", parents=[common], help="results/multitask/summary.json")
    p.add_argument("--analyses", nargs="+", required=True, help="multitask.h5 files")
    p.add_argument("--fixed-points", nargs="+", required=True, help="fixed_points.h5 files, in the same order")
    p.add_argument("--out", required=True)

    p = sub.add_parser("summarize", parents=[common], help="table of a task's networks")
    p.add_argument("--task", required=True, choices=TASKS, metavar="TASK", help="one of: %(choices)s")
    p.add_argument("--models", nargs="+", required=True)
    p.add_argument("--out-csv", required=True)
    p.add_argument("--out-json", required=True)

    p = sub.add_parser("similarity-prepare", parents=[common],
                       help="per-network similarity precomputation for one chunk of networks")
    p.add_argument("--task", required=True, choices=TASKS, metavar="TASK", help="one of: %(choices)s")
    p.add_argument("--metric", required=True, choices=METRICS, metavar="METRIC", help="one of: %(choices)s")
    p.add_argument("--chunk", type=int, required=True, help="chunk index (recorded for the merge)")
    p.add_argument("--probes", nargs="+", required=True, help="probe.h5 files of the chunk's networks, in matrix order")
    p.add_argument("--options", type=_similarity_options, default={},
                   help="similarity options (JSON; see rnnatlas.stages.similarity)")
    p.add_argument("--out", required=True, help="prepared factors (.npz)")
    p.add_argument("--out-meta", required=True, help="chunk metadata (.json)")

    p = sub.add_parser("similarity-single", parents=[common],
                       help="prepare, tile and merge in one job: results/<task>/pairwise/<metric>.nc of one chunk")
    p.add_argument("--task", required=True, choices=TASKS, metavar="TASK", help="one of: %(choices)s")
    p.add_argument("--metric", required=True, choices=METRICS, metavar="METRIC", help="one of: %(choices)s")
    p.add_argument("--probes", nargs="+", required=True, help="probe.h5 files of the task's networks, in matrix order")
    p.add_argument("--options", type=_similarity_options, default={},
                   help="similarity options (JSON; see rnnatlas.stages.similarity)")
    p.add_argument("--out", required=True)

    p = sub.add_parser("similarity-block", parents=[common], help="distances between two prepared chunks (one tile)")
    p.add_argument("--prep-a", required=True)
    p.add_argument("--meta-a", required=True)
    p.add_argument("--prep-b", required=True, help="the same file as --prep-a for a diagonal tile")
    p.add_argument("--meta-b", required=True)
    p.add_argument("--options", type=_similarity_options, default={})
    p.add_argument("--out", required=True, help="tile (.npz)")

    p = sub.add_parser("similarity-merge", parents=[common], help="assemble tiles into results/<task>/pairwise/<metric>.nc")
    p.add_argument("--task", required=True, choices=TASKS, metavar="TASK", help="one of: %(choices)s")
    p.add_argument("--metric", required=True, choices=METRICS, metavar="METRIC", help="one of: %(choices)s")
    p.add_argument("--metas", nargs="+", required=True, help="chunk metadata files, in chunk order")
    p.add_argument("--blocks", nargs="+", required=True, help="tile files")
    p.add_argument("--options", type=_similarity_options, default={})
    p.add_argument("--out", required=True)

    p = sub.add_parser("similarity-graph", parents=[common], help="pairwise file of fixed-point graph distances")
    p.add_argument("--task", required=True, choices=TASKS, metavar="TASK", help="one of: %(choices)s")
    p.add_argument("--graphs", nargs="*", default=[], help="graph.h5 files")
    p.add_argument("--out", required=True)

    p = sub.add_parser("atlas", parents=[common], help="results/atlas/index.html: every network a point you can open")
    p.add_argument("--sections", type=_json_list, required=True, help="the planned atlas sections (JSON list)")
    p.add_argument("--results", type=_folder, required=True, help="the results folder")
    p.add_argument("--options", type=_json, default={}, help="the config's atlas section (JSON)")
    p.add_argument("--out-dir", required=True, help="folder of index.html (results/atlas)")

    p = sub.add_parser("embed", parents=[common], help="2-D MDS embedding of a pairwise distance file")
    p.add_argument("--pairwise", required=True)
    p.add_argument("--mds", type=_json, default={}, help="n_init, max_iter, eps, random_state (JSON)")
    p.add_argument("--out", required=True)
    return parser


def _plugins(argv: list[str]) -> list[str]:
    """The ``--plugin`` values, read before the full parser is built (they add choices)."""
    pre = argparse.ArgumentParser(add_help=False, fromfile_prefix_chars="@")
    pre.add_argument("--plugin", action="append", default=[])
    return pre.parse_known_args(argv)[0].plugin


def _validate_config(args) -> int:
    from .config import ConfigError, load_config

    try:
        load_config(args.configfiles, check_device=not args.cluster)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    print("configuration OK")
    return 0


def _train(args) -> None:
    from .ids import parse_network_id
    from .stages import train

    nets = [parse_network_id(i, args.task) for i in args.nets]
    twins = [parse_network_id(i, args.task) for i in args.twins]
    train.run(args.task, args.task_data, nets, twins, args.settings, args.out_dir, args.search_results, args.device)
    if args.probe:
        from pathlib import Path

        from .stages import probe

        folders = [Path(args.out_dir) / n.id for n in [*nets, *twins]]
        probe.run(args.task, args.task_data, [str(f / "model.h5") for f in folders],
                  [str(f / "probe.h5") for f in folders], args.device)


def _stage(module: str, function: str, *names: str, device: bool = False):
    """A stage that calls ``rnnatlas.stages.<module>.<function>`` with the named arguments."""
    def run(args):
        import importlib

        fn = getattr(importlib.import_module(f".stages.{module}", __package__), function)
        return fn(*(getattr(args, n) for n in names), *((args.device,) if device else ()))
    return run


# stage name → what it runs (the parser above defines each stage's arguments)
STAGES = {
    "validate-config": _validate_config,
    "task-data": _stage("task_data", "run", "task", "params", "validation_trials", "seed", "out"),
    "search": _stage("search", "run", "task", "task_data", "cell", "settings", "search", "out", device=True),
    "train": _train,
    "probe": _stage("probe", "run", "task", "task_data", "models", "out", device=True),
    "fixed-points": _stage("fixed_points", "run", "task", "task_data", "models", "out_fixed_points", "out_graphs",
                           "options", device=True),
    "dynamics-summary": _stage("dynamics_summary", "run", "task", "task_data", "fixed_points", "graphs", "out"),
    "figure": _stage("figures", "run_figure", "name", "results", "out_stem"),
    "universality-summary": _stage("figures", "run_summary", "results", "metrics", "out"),
    "toy2d": _stage("toy2d", "run", "activation", "settings", "out", device=True),
    "rsg-features": _stage("rsg_features", "run", "task_data", "models", "out", "options", device=True),
    "space-of-solutions-summary": _stage("space_of_solutions", "run", "toy2d", "features", "classifier", "out_json",
                                         "out_csv"),
    "summarize": _stage("summarize", "run", "task", "models", "out_csv", "out_json"),
    "training-change": _stage("training_change", "run", "task", "task_data", "models", "out", "options", device=True),
    "training-change-summary": _stage("training_change_summary", "run", "changes", "fixed_points", "out"),
    "multitask": _stage("multitask", "run", "task", "task_data", "models", "out_fixed_points", "out", "options",
                        device=True),
    "multitask-summary": _stage("multitask_summary", "run", "analyses", "fixed_points", "out"),
    "similarity-prepare": _stage("similarity", "run_prepare", "task", "metric", "probes", "options", "out", "out_meta",
                                 "chunk", device=True),
    "similarity-block": _stage("similarity", "run_block", "prep_a", "meta_a", "prep_b", "meta_b", "options", "out",
                               device=True),
    "similarity-single": _stage("similarity", "run_single", "task", "metric", "probes", "options", "out", device=True),
    "similarity-merge": _stage("similarity", "run_merge", "task", "metric", "metas", "blocks", "options", "out"),
    "similarity-graph": _stage("similarity", "run_graph", "task", "graphs", "out"),
    "embed": _stage("similarity", "run_embed", "pairwise", "mds", "out"),
    "atlas": _stage("atlas", "run", "sections", "results", "options", "out_dir"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from .studies import load_plugins

    load_plugins(_plugins(argv))
    args = build_parser().parse_args(argv)
    from .runtime import set_threads

    set_threads(args.threads)
    from .stages.common import setup_logging

    setup_logging()
    try:
        return STAGES[args.stage](args) or 0
    except OSError as exc:
        import errno

        what = {errno.ENOENT: "file not found", errno.ENOSPC: "no space left on the disk",
                errno.EDQUOT: "disk quota exceeded"}.get(exc.errno)
        if what is None:
            raise
        print(f"rnnatlas {args.stage}: error: {what}: {exc.filename or exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if not _is_input_error(exc):
            raise
        print(f"rnnatlas {args.stage}: error: {exc}", file=sys.stderr)
        return 2


def _is_input_error(exc: Exception) -> bool:
    """Bad input (rnnatlas.errors.InputError): said in one line, no traceback (a traceback is
    for a fault in rnnatlas itself)."""
    from .errors import InputError

    return isinstance(exc, InputError)


if __name__ == "__main__":
    sys.exit(main())
