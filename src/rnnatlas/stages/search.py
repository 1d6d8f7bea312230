"""Stage ``search``: successive-halving hyperparameter search for one configuration cell."""

from __future__ import annotations

from ..ids import NetworkSpec, parse_network_id
from ..models import RNNPopulation
from ..runtime import pick_device, stable_seed
from ..store.atomic import write_json
from ..store.task_data import read_task_data
from ..train import Hyperparameters, PopulationTrainer, TrainSettings
from ..train.search import sample_candidates, successive_halving
from .common import log


def run(task: str, task_data_path: str, cell: str, settings: dict, search: dict, out: str, device_name: str = "auto") -> None:
    device = pick_device(device_name)
    data = read_task_data(task_data_path, task)
    spec: NetworkSpec = parse_network_id(f"{cell}-s00", task)
    n = search["candidates"]
    candidates = sample_candidates(n, search["ranges"], stable_seed(task, cell, "search", search["seed"]))
    records = [{**c, "l2": spec.l2} for c in candidates]
    t = data.task
    pop = RNNPopulation(spec.arch, spec.activation, n, t.n_inputs, spec.units, t.n_outputs, device=device)
    pop.initialize([stable_seed(task, cell, "search-init", search["seed"], j) for j in range(n)])
    train_settings = TrainSettings(iterations=settings["iterations"], batch_size=settings["batch_size"],
                                   eval_every=settings["iterations"] + 1, optimizer=settings.get("optimizer", "sgd"))
    data_seeds = [stable_seed(task, cell, "search-data", search["seed"], j) for j in range(n)]
    trainer = PopulationTrainer(pop, t, data_seeds, Hyperparameters.from_records(records), train_settings, data.validation)
    result = successive_halving(trainer, candidates, search["eta"], search["min_iterations"], f"search {task}/{cell}")
    summary = {"task": task, "cell": cell, **result.to_json(), "settings": {**search}}
    write_json(out, summary)
    log.info("%s/%s: chose %s (val loss %.4g) from %d candidates, rungs %s", task, cell, summary["chosen"],
             summary["chosen_val_loss"], n, result.budgets)
