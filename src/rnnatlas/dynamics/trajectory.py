"""Where trajectories slow down and how close they pass to the points found (study M).

The speed of a state under an input is the fixed-point finder's objective
q(h, x) = ½‖F(h, x) − h‖²: along a recorded trajectory, q_t = q(h_t, x_{t+1}) is how far the
state would move at the next step under the input that step receives (the epoch's constant
input within an epoch). A trajectory that reaches a fixed point of its epoch's input has
q_t → 0 there; the thesis (seed 003, §5.2) found that it never does outside one period.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def trajectory_speed(pop, states: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """q_t = ½‖F(h_t, x_{t+1}) − h_t‖² ``[K, B, T]`` for states ``[K, B, T, S]`` recorded on
    inputs ``[T, B, I]`` (shared by the networks; the last step uses its own input)."""
    k, b, t, s = states.shape
    x = inputs.to(states).transpose(0, 1)  # [B, T, I]
    x_next = torch.cat([x[:, 1:], x[:, -1:]], dim=1)
    flat_h = states.reshape(k, b * t, s)
    flat_x = x_next.reshape(1, b * t, -1).expand(k, -1, -1)
    step = pop.step(flat_h, flat_x)
    return 0.5 * (step - flat_h).pow(2).sum(-1).reshape(k, b, t)
