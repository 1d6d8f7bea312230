"""Stage ``probe``: record hidden states of a pack's networks on the task's probe set."""

from __future__ import annotations

import torch

from ..errors import InputError
from ..runtime import pick_device
from ..store.model_file import population_from_records
from ..store.probe_file import write_probe
from .common import log, read_pack


@torch.no_grad()
def run(task: str, task_data_path: str, model_paths: list[str], out_paths: list[str], device_name: str = "auto") -> None:
    if len(model_paths) != len(out_paths):
        raise InputError(f"{len(model_paths)} model files but {len(out_paths)} output paths")
    device = pick_device(device_name)
    data, records = read_pack(task, task_data_path, model_paths)
    pop = population_from_records(records, device=device)
    inputs = data.probe.batch.inputs.to(device)
    outputs, states = pop(inputs, return_states=True)
    # [K, T, B, ·] → per network [B, T, ·] (trials first, as stored)
    states = states.transpose(1, 2).cpu().numpy()
    outputs = outputs.transpose(1, 2).cpu().numpy()
    for k, (record, out) in enumerate(zip(records, out_paths)):
        write_probe(out, record.config, states[k], outputs[k], pop.n_units)
    log.info("%s: probed %d networks on %d trials x %d steps", task, len(records), inputs.shape[1], inputs.shape[0])
