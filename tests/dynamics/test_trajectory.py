"""Speed along trajectories, and fixed-point starts drawn from the steps of one input."""

import numpy as np
import torch

from rnnatlas.dynamics.population_analysis import condition_starts
from rnnatlas.dynamics.trajectory import trajectory_speed
from rnnatlas.models import RNNPopulation


def test_trajectory_speed_is_q_under_the_next_input_and_zero_at_a_fixed_point():
    pop = RNNPopulation("vanilla", "softplus", 2, 3, 5, 2, dtype=torch.float64, alpha=0.2).initialize([0, 1])
    x = torch.randn(6, 4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x[3:] = x[3]  # constant input from step 3
    _, states = pop(x, return_states=True)
    states = states.transpose(1, 2)  # [K, B, T, S]
    q = trajectory_speed(pop, states, x)
    for t in range(6):
        nxt = x[min(t + 1, 5)].expand(2, -1, -1)
        want = 0.5 * (pop.step(states[:, :, t], nxt) - states[:, :, t]).pow(2).sum(-1)
        torch.testing.assert_close(q[:, :, t], want)
    # run long under the constant input: the state settles on the fixed point, where q → 0
    h = states[:, :, -1]
    for _ in range(2000):
        h = pop.step(h, x[5].expand(2, -1, -1))
    settled = torch.cat([states, h.unsqueeze(2)], 2)
    assert float(trajectory_speed(pop, settled, torch.cat([x, x[5:]]))[:, :, -1].max()) < 1e-20


def test_condition_starts_come_from_the_steps_of_their_condition():
    states = torch.arange(2 * 3 * 4 * 1, dtype=torch.float64).reshape(2, 3, 4, 1)  # [K, B, T, S]
    step_condition = np.array([[0, 0, 1, -1], [1, 1, 1, 1], [-1, -1, -1, 0]])
    conditions = torch.tensor([[10.0], [20.0]], dtype=torch.float64)
    h, x = condition_starts(states, step_condition, conditions, 50, 0.0, torch.Generator().manual_seed(0))
    for k in range(2):
        allowed = {0: set(states[k][torch.as_tensor(step_condition == 0)].flatten().tolist()),
                   1: set(states[k][torch.as_tensor(step_condition == 1)].flatten().tolist())}
        for m in range(h.shape[1]):
            c = 0 if float(x[k, m, 0]) == 10.0 else 1
            assert float(h[k, m, 0]) in allowed[c]
