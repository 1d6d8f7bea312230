"""2-D continuous-time RNNs (study S) on CUDA: RK4 simulation and training match the CPU.

``CTRNN2DPopulation`` integrates all K networks as one batch (float64 by default, as the
toy2d stage uses it). Trajectories agree within 1e-10 in float64 and rtol 1e-4 / atol 1e-5
in float32; 40 epochs of normalised gradient descent (``train_toy2d``) end with weights and
loss curves within 1e-9, and classifying the CUDA-trained weights (a CPU computation, as in
the stage) gives the CPU-trained networks' classes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gpu_helpers import assert_close

from rnnatlas.features.toy2d import classify_solutions
from rnnatlas.models.ctrnn2d import CTRNN2DPopulation, jacobian, relu_orthant_matrices
from rnnatlas.runtime import stable_seed
from rnnatlas.train.toy2d import Toy2DSettings, Toy2DTask, train_toy2d

pytestmark = pytest.mark.gpu

K = 64


def _seeds(activation: str) -> list[int]:
    # as rnnatlas.stages.toy2d.network_seeds (not imported: the stage module pulls in the file store)
    return [stable_seed("toy2d", activation, 0, i) for i in range(K)]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, dict(rtol=1e-10, atol=1e-10)),
                                       (torch.float32, dict(rtol=1e-4, atol=1e-5))])
def test_rk4_trajectories_match_cpu(cuda, activation, dtype, tol):
    pop = CTRNN2DPopulation.from_seeds(_seeds(activation), activation, dtype=dtype)
    x0 = torch.randn(K, 8, 2, generator=torch.Generator().manual_seed(3), dtype=dtype)
    with torch.no_grad():
        end_cpu, traj_cpu = pop(x0, 5.0, return_trajectory=True, record_every=5)
        pop_gpu = CTRNN2DPopulation.from_seeds(_seeds(activation), activation, dtype=dtype).to(cuda)
        end_gpu, traj_gpu = pop_gpu(x0.to(cuda), 5.0, return_trajectory=True, record_every=5)
    assert traj_gpu.device.type == cuda.type and traj_gpu.shape == traj_cpu.shape
    assert_close(traj_gpu, traj_cpu, what=f"{activation} trajectories ({dtype})", **tol)
    assert_close(end_gpu, end_cpu, what=f"{activation} final states ({dtype})", **tol)
    x = traj_cpu[:, -1]
    assert_close(jacobian(pop_gpu.weight.detach(), x.to(cuda), activation), jacobian(pop.weight.detach(), x, activation),
                 what="Jacobians", **tol)
    assert_close(relu_orthant_matrices(pop_gpu.weight.detach()), relu_orthant_matrices(pop.weight.detach()),
                 what="relu orthant matrices", rtol=0, atol=0)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_training_matches_cpu(cuda, activation):
    task, settings = Toy2DTask(), Toy2DSettings(epochs=40)
    cpu = train_toy2d(CTRNN2DPopulation.from_seeds(_seeds(activation), activation), task, settings)
    gpu_pop = CTRNN2DPopulation.from_seeds(_seeds(activation), activation).to(cuda)
    gpu = train_toy2d(gpu_pop, task, settings)
    assert gpu_pop.weight.device.type == cuda.type
    np.testing.assert_array_equal(gpu.weight_init, cpu.weight_init)
    assert not np.array_equal(cpu.weight, cpu.weight_init)  # training moved the weights
    assert_close(gpu.weight, cpu.weight, rtol=1e-9, atol=1e-9, what="trained weights")
    assert_close(gpu.loss_curve, cpu.loss_curve, rtol=1e-9, atol=1e-12, what="loss curves")
    assert_close(gpu.final_loss, cpu.final_loss, rtol=1e-9, atol=1e-12, what="final losses")
    np.testing.assert_array_equal(gpu.failed, cpu.failed)
    np.testing.assert_array_equal(gpu.accepted, cpu.accepted)
    a = classify_solutions(cpu.weight, activation, task.x0, task.t_final)
    b = classify_solutions(gpu.weight, activation, task.x0, task.t_final)
    np.testing.assert_array_equal(b.label, a.label)
    np.testing.assert_array_equal(b.n_fixed_points, a.n_fixed_points)
