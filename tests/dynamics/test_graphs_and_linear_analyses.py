"""Fixed-point graphs and linearised-dynamics analyses on systems with known answers."""

import math

import numpy as np
import torch

from rnnatlas.dynamics.graphs import modal_count, nearest_neighbour_graph, readout_order, transition_graphs
from rnnatlas.dynamics.linear_analyses import mode_response, oscillation_frequency
from rnnatlas.dynamics.linearize import eigendecompose


def bistable_step(h, x):
    """h ↦ tanh(2h) per coordinate: stable points ±a (tanh(2a) = a) and a saddle at 0 in 2-D."""
    return torch.tanh(2 * h)


def test_transition_graph_of_a_designed_bistable_system():
    a = 0.9575040240772687  # root of tanh(2a) = a
    nodes = torch.tensor([[[-a, -a], [-a, a], [0.0, 0.0], [a, -a], [a, a], [0.0, a]]], dtype=torch.float64)
    x = torch.zeros(1, 6, 1, dtype=torch.float64)
    mask = torch.tensor([[True, True, True, True, True, False]])  # last row is padding
    g = transition_graphs(bistable_step, nodes, x, mask, n_perturbations=400, n_steps=200,
                          generator=torch.Generator().manual_seed(0))
    adj = g.adjacency[0].numpy()
    np.testing.assert_allclose(np.diag(adj)[[0, 1, 3, 4]], 1.0)  # attractors keep their runs
    assert adj[2, 2] == 0  # the repeller at 0 sends every run to a corner, about evenly
    np.testing.assert_allclose(adj[2, [0, 1, 3, 4]], 0.25, atol=0.08)
    assert (adj[:, 5] == 0).all() and (adj[5] == 0).all()
    np.testing.assert_allclose(adj[:5].sum(1) + g.unsettled[0, :5].numpy(), 1.0)
    assert math.isclose(float(g.radius[0]), 0.1 * a * math.sqrt(2))  # 0.1 × smallest separation (0 to a corner)


def _rotating_bistable_step(h, x):
    """Two networks of one batch: the bistable map, and a slower one with a rotation (runs spiral in)."""
    out = torch.tanh(2 * h)
    rot = torch.tensor([[0.0, -1.0], [1.0, 0.0]], dtype=h.dtype)
    slow = h + 0.05 * (out - h) + 0.02 * (out - h) @ rot
    return torch.stack([out[0], slow[1]])


def test_transition_graph_stops_early_with_the_same_graph():
    a = 0.9575040240772687
    corners = [[-a, -a], [-a, a], [0.0, 0.0], [a, -a], [a, a]]
    nodes = torch.tensor([corners, corners], dtype=torch.float64)
    x = torch.zeros(2, 5, 1, dtype=torch.float64)
    stable = torch.tensor([[True, True, False, True, True]] * 2)

    def both(mask):
        runs = [transition_graphs(_rotating_bistable_step, nodes, x, mask, stable=s, n_perturbations=200,
                                  n_steps=1500, generator=torch.Generator().manual_seed(1)) for s in (None, stable)]
        torch.testing.assert_close(runs[1].adjacency, runs[0].adjacency, rtol=0, atol=0)
        torch.testing.assert_close(runs[1].unsettled, runs[0].unsettled, rtol=0, atol=0)
        return runs

    full, early = both(torch.ones(2, 5, dtype=torch.bool))
    assert full.n_steps_run == 1500 and early.n_steps_run < 500
    np.testing.assert_allclose(early.adjacency[:, 2, [0, 1, 3, 4]].numpy(), 0.25, atol=0.08)
    # network 1 lacks its last corner: runs there never arrive, so the batch runs to the end
    full, early = both(torch.tensor([[True] * 5, [True, True, True, True, False]]))
    assert early.n_steps_run == 1500


def test_readout_order_uses_the_symbolic_code_first():
    z = np.array([[0.98, -1.02], [-0.97, 0.1], [-1.03, 0.99], [1.01, 1.0], [0.02, -0.3]])
    order = readout_order(z)
    # codes: (1,-1), (-1,0), (-1,1), (1,1), (0,0) → sorted: (-1,0), (-1,1), (0,0), (1,-1), (1,1)
    assert order.tolist() == [1, 2, 4, 0, 3]


def test_nearest_neighbour_graph_is_a_chain_on_a_line_per_group():
    t = np.array([0.0, 0.1, 0.25, 0.45, 0.7])
    h = np.stack([t, 2 * t], 1)
    adj = nearest_neighbour_graph(np.concatenate([h, h + 5]), groups=np.repeat([0, 1], 5))
    assert (adj == adj.T).all() and adj[:5, 5:].sum() == 0
    chain = np.diag(np.ones(4), 1) + np.diag(np.ones(4), -1)
    np.testing.assert_array_equal(adj[:5, :5], chain)  # gaps grow, so each point's nearest is its left one
    assert modal_count([27, 27, 25, 27, 29]) == 27 and modal_count([]) == 0


def test_oscillation_frequency_of_a_rotation():
    f = torch.tensor([0.01, 0.03, 0.2], dtype=torch.float64)
    theta = 2 * math.pi * f
    j = torch.zeros(3, 3, 3, dtype=torch.float64)
    j[:, 0, 0], j[:, 0, 1], j[:, 1, 0], j[:, 1, 1] = torch.cos(theta), -torch.sin(theta), torch.sin(theta), torch.cos(theta)
    j *= 1.01  # mildly unstable, as in the paper
    j[:, 2, 2] = 1.5  # a larger real eigenvalue must not be taken for the oscillation
    lam = torch.linalg.eigvals(j)
    torch.testing.assert_close(oscillation_frequency(lam), f)
    assert math.isnan(float(oscillation_frequency(torch.tensor([0.5, 0.9], dtype=torch.complex128))))


def test_mode_response_matches_the_linear_system_and_known_modes():
    gen = torch.Generator().manual_seed(0)
    s, steps = 6, 30
    j = 0.3 * torch.randn(s, s, generator=gen, dtype=torch.float64)
    j += torch.diag(torch.tensor([0.999, 0, 0, 0, 0, 0], dtype=torch.float64))
    b, w = torch.randn(s, generator=gen, dtype=torch.float64), torch.randn(s, generator=gen, dtype=torch.float64)
    eig = eigendecompose(j)
    r = mode_response(eig.eigenvalues, eig.right, eig.left, b, w, steps)
    direct = w @ torch.linalg.matrix_power(j, steps - 1) @ b  # all modes kept = the linear system itself
    torch.testing.assert_close(r[-1], direct, rtol=1e-9, atol=1e-9)
    # diagonal system: a perfect integrating mode and a decaying one
    lam = torch.tensor([1.0, 0.5], dtype=torch.complex128)
    eye = torch.eye(2, dtype=torch.complex128)
    r2 = mode_response(lam, eye, eye, torch.ones(2), torch.ones(2), 5)
    torch.testing.assert_close(r2, torch.tensor([1.0, 1.0 + 0.5**4], dtype=torch.float64))
