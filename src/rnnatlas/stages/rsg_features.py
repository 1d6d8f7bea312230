"""Stage ``rsg-features``: neural and topological features of one pack of RSG networks.

Study S, supplement §2.2–2.4. For every network of the pack, in float64:

- neural features (rnnatlas.features.rsg) from its hidden states on the probe trials, one
  noise-free trial per integer interval t_s (the training distribution's every interval);
- topological features A–E (rnnatlas.features.topology) from simulations outside the
  training set: from rest, the Ready pulse at the task's ``probe_ready`` step, then
  ``settle_steps`` without input, then ``free_steps`` more;
- the solution class, the five bits in a string (e.g. ``A1B0C0D1E0``).

Writes ``results/rsg/nets/<net-id>/features.h5`` per network. Failed networks (non-finite
training) are written with ``analysed`` false and no features; not-accepted networks are
analysed like the others (the classification stage decides whom to use).
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError
from ..features.rsg import rsg_features
from ..features.topology import TopologySettings, simulate_topology, solution_classes, topological_features
from ..runtime import pick_device
from ..store.features_file import write_features
from ..store.model_file import population_from_records
from .common import log, read_pack

TASK = "rsg"


def topology_settings(options: dict, task) -> TopologySettings:
    """The simulation protocol from the config's ``space_of_solutions.rsg.topology`` and the task."""
    return TopologySettings(
        ready_onset=int(task.probe_ready), pulse=int(task.pulse), ready_channel=0, go_channel=0,
        go_threshold=float(options["go_threshold"]), settle_steps=int(options["settle_steps"]),
        free_steps=int(options["free_steps"]), go_window=int(options["go_window"]),
        fixed_point_tol=float(options["fixed_point_tol"]), min_accuracy=float(options["min_svm_accuracy"]),
    )


@torch.no_grad()
def run(task_data_path: str, model_paths: list[str], out_paths: list[str], options: dict, device_name: str = "cpu") -> None:
    if len(model_paths) != len(out_paths):
        raise InputError(f"{len(model_paths)} model files but {len(out_paths)} output paths")
    device = pick_device(device_name)
    data, records = read_pack(TASK, task_data_path, model_paths)
    task = data.task
    settings = topology_settings(options, task)
    pop = population_from_records(records, dtype=torch.float64, device=device)
    batch, events = task.probe_trials()
    _, states = pop(batch.inputs.to(device=device, dtype=torch.float64), return_states=True)  # [K, T, B, S]
    hidden = states[..., : pop.n_units].transpose(1, 2).cpu().numpy()  # [K, B, T, N]
    with np.errstate(all="ignore"):
        features = rsg_features(hidden, events)
    topology = simulate_topology(pop.step, pop.readout_state, pop.initial_state(1)[:, 0], task.n_inputs, settings)
    bits = topological_features(topology, features["rs_sg_svm_accuracy"], settings.min_accuracy)
    classes = solution_classes(bits)
    for k, (record, out) in enumerate(zip(records, out_paths)):
        failed = bool(record.summary["failed"])
        arrays = {} if failed else {
            **{name: np.float64(values[k]) for name, values in features.items()},
            **{name: np.bool_(values[k]) for name, values in bits.items()},
            "final_speed": np.float64(topology.final_speed[k]), "final_state": topology.final_state[k],
        }
        attrs = {
            "solution_class": "" if failed else str(classes[k]), "accepted": bool(record.summary["accepted"]),
            "analysed": not failed, "reason": record.summary["failure_reason"] if failed else "",
            "options": {**options, "ready_onset": settings.ready_onset, "pulse": settings.pulse},
        }
        write_features(out, record.config, arrays, attrs)
    shown = {c: int((classes == c).sum()) for c in np.unique(classes)}
    log.info("rsg features: %d networks, classes %s", len(records), shown)
