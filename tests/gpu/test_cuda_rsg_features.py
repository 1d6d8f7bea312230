"""RSG features (study S) from CUDA simulations equal those from CPU simulations.

As the rsg-features stage runs them: a float64 population on the device gives the hidden
states on the probe trials (compared within 1e-10), from which the neural features are
computed (``rnnatlas.features.rsg``; within rtol 1e-6 / atol 1e-8, the SVM accuracy and the
NaN pattern exactly), and the topology protocol runs ``pop.step`` on the device
(``simulate_topology``: final states within 1e-9, the binary features A–E and the solution
classes exactly).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gpu_helpers import assert_close

from rnnatlas.features.rsg import FEATURE_NAMES, rsg_features
from rnnatlas.features.topology import TopologySettings, simulate_topology, solution_classes, topological_features
from rnnatlas.models import RNNPopulation
from rnnatlas.tasks import make_task

pytestmark = pytest.mark.gpu

TASK = make_task("rsg", {"interval_min": 30, "interval_max": 40, "ready_min": 20, "ready_max": 22, "probe_ready": 20})
K, N = 4, 16


def _population(arch: str, device) -> RNNPopulation:
    pop = RNNPopulation(arch, "tanh", K, TASK.n_inputs, N, TASK.n_outputs, dtype=torch.float64, device=device)
    pop.initialize([11, 12, 13, 14])
    # Recurrent gains from contracting to oscillating (fixed points and limit cycles: classes
    # D1 and C1), short of chaos, where rounding differences would grow until states part.
    gain = torch.tensor([0.8, 1.3, 1.8, 2.0], dtype=torch.float64, device=device).view(K, 1, 1)
    with torch.no_grad():
        pop.params["weight_hh"].mul_(gain)
    return pop


def _analyse(arch: str, device):
    pop = _population(arch, device)
    batch, events = TASK.probe_trials()
    with torch.no_grad():
        _, states = pop(batch.inputs.to(device=device, dtype=torch.float64), return_states=True)  # [K, T, B, S]
    hidden = states[..., : pop.n_units].transpose(1, 2).cpu().numpy()  # [K, B, T, N]
    with np.errstate(all="ignore"):
        features = rsg_features(hidden, events)
    settings = TopologySettings(ready_onset=int(TASK.probe_ready), pulse=int(TASK.pulse), settle_steps=400,
                                free_steps=150, go_window=60)
    topology = simulate_topology(pop.step, pop.readout_state, pop.initial_state(1)[:, 0], TASK.n_inputs, settings)
    bits = topological_features(topology, features["rs_sg_svm_accuracy"], settings.min_accuracy)
    return hidden, features, topology, bits, states.device


@pytest.mark.parametrize("arch", ["vanilla", "gru"])
def test_rsg_features_match_cpu(cuda, arch):
    h_cpu, f_cpu, t_cpu, b_cpu, _ = _analyse(arch, torch.device("cpu"))
    h_gpu, f_gpu, t_gpu, b_gpu, where = _analyse(arch, cuda)
    assert where.type == cuda.type
    assert_close(h_gpu, h_cpu, rtol=1e-10, atol=1e-10, what="probe hidden states")
    assert set(f_gpu) == set(f_cpu) >= set(FEATURE_NAMES)
    for name in sorted(f_cpu):
        a, b = np.asarray(f_cpu[name], dtype=np.float64), np.asarray(f_gpu[name], dtype=np.float64)
        np.testing.assert_array_equal(np.isnan(b), np.isnan(a), err_msg=f"{name}: NaN pattern")
        if name == "rs_sg_svm_accuracy":
            np.testing.assert_array_equal(b, a, err_msg=name)
        else:
            assert_close(b, a, rtol=1e-6, atol=1e-8, what=name)
    assert_close(t_gpu.final_state, t_cpu.final_state, rtol=1e-9, atol=1e-9, what="topology: final states")
    assert_close(t_gpu.final_speed, t_cpu.final_speed, rtol=1e-6, atol=1e-12, what="topology: final speed")
    for name in b_cpu:
        np.testing.assert_array_equal(b_gpu[name], b_cpu[name], err_msg=f"feature {name}")
    np.testing.assert_array_equal(solution_classes(b_gpu), solution_classes(b_cpu))
