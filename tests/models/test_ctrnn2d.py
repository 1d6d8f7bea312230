"""2-D continuous-time RNN: RK4 against scipy's solver, fixed points, training and solution types."""

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp

from rnnatlas.features.toy2d import classify_solutions
from rnnatlas.models.ctrnn2d import CTRNN2DPopulation, jacobian, tanh_fixed_points, trace_determinant
from rnnatlas.train.toy2d import Toy2DSettings, Toy2DTask, normalised_gd_step, train_toy2d


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rk4_matches_solve_ivp(activation):
    pop = CTRNN2DPopulation.random(6, activation, torch.Generator().manual_seed(3))
    x0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    _, traj = pop(x0, 5.0, return_trajectory=True, record_every=10)  # every 1.0 time unit
    phi = np.tanh if activation == "tanh" else lambda v: np.maximum(v, 0)
    for k in range(6):
        w = pop.weight[k].detach().numpy()
        ref = solve_ivp(lambda t, x: -x + w @ phi(x), (0, 5), [1.0, 0.0], t_eval=np.arange(6.0), rtol=1e-10, atol=1e-12)
        assert np.abs(traj[k, :, 0].detach().numpy() - ref.y.T).max() < 2e-5


def test_tanh_fixed_points_of_known_networks():
    w = torch.tensor([[[0.5, 0.0], [0.0, 0.5]], [[2.0, 0.0], [0.0, 0.5]]], dtype=torch.float64)
    fps = tanh_fixed_points(w)
    assert len(fps[0]) == 1 and torch.allclose(fps[0], torch.zeros(1, 2, dtype=torch.float64))
    x1 = 1.9150080  # root of x = 2 tanh(x)
    assert len(fps[1]) == 3
    assert np.allclose(sorted(fps[1][:, 0].tolist()), [-x1, 0.0, x1], atol=1e-6) and torch.all(fps[1][:, 1] == 0)
    j = jacobian(w, torch.zeros(2, 1, 2, dtype=torch.float64), "tanh")[:, 0]
    assert torch.allclose(j[1], torch.diag(torch.tensor([1.0, -0.5], dtype=torch.float64)))
    tr, det = trace_determinant(w)
    assert torch.allclose(tr, torch.tensor([1.0, 2.5], dtype=torch.float64)) and torch.allclose(det, torch.tensor([0.25, 1.0], dtype=torch.float64))


def test_classification_of_known_networks():
    x0 = (1.0, 0.0)
    rot = 1.5 * np.array([[1.0, -1.0], [1.0, 1.0]])  # origin an unstable focus: a limit cycle with tanh
    w = np.stack([0.5 * np.eye(2), np.array([[1.5, 0.5], [0.5, 0.0]]), rot])
    c = classify_solutions(w, "tanh", x0, t_final=5.0)
    assert c.label.tolist() == ["stable_origin", "fixed_points", "limit_cycle"]
    assert c.origin_saddle.tolist() == [False, True, False]
    assert c.n_fixed_points.tolist() == [1, 3, 1]
    non_normal = np.array([[0.5, 0.0], [5.0, 0.5]])  # stable, but x2 first grows ~3.7×
    c = classify_solutions(np.stack([2 * np.eye(2), non_normal, 0.5 * np.eye(2)]), "relu", x0, t_final=5.0)
    assert c.label.tolist() == ["divergence", "transient_amplification", "stable_origin"]


def test_normalised_step_moves_each_network_by_lr_sqrt_loss():
    w = torch.zeros(3, 2, 2, dtype=torch.float64)
    g = torch.tensor([[[3.0, 4.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1e-9]], [[1.0, 1.0], [1.0, 1.0]]], dtype=torch.float64)
    loss = torch.tensor([4.0, 0.25, 1.0], dtype=torch.float64)
    new = normalised_gd_step(w, g, loss, 0.03, torch.tensor([True, True, False]))
    steps = torch.linalg.matrix_norm(new - w)
    assert torch.allclose(steps, torch.tensor([0.03 * 2.0, 0.03 * 0.5, 0.0], dtype=torch.float64))
    assert torch.allclose(new[0], -0.06 * g[0] / 5.0)


def test_population_training_equals_single_network_training_and_reduces_loss():
    seeds = [1, 2, 3, 4]
    settings = Toy2DSettings(epochs=25)
    pack = train_toy2d(CTRNN2DPopulation.from_seeds(seeds), Toy2DTask(), settings)
    alone = train_toy2d(CTRNN2DPopulation.from_seeds(seeds[2:3]), Toy2DTask(), settings)
    assert np.allclose(pack.weight[2], alone.weight[0], atol=1e-12)
    assert np.all(pack.loss_curve[:, -1] < pack.loss_curve[:, 0])
    assert pack.loss_curve.shape == (4, 25) and not pack.failed.any()


def test_training_reaches_acceptance_and_records_divergence():
    # W rounded from a solution found by a full run: L ≈ 1e-4 at the start, accepted after polishing
    pop = CTRNN2DPopulation(torch.tensor([[[0.76, -0.1], [0.64, 2.04]]], dtype=torch.float64))
    r = train_toy2d(pop, Toy2DTask(), Toy2DSettings(epochs=30))
    assert r.loss_curve[0, 0] > 1e-5 > r.final_loss[0] and r.accepted[0]
    huge = CTRNN2DPopulation(torch.tensor([[[60.0, 0.0], [0.0, 60.0]], [[0.5, 0.0], [0.0, 0.5]]], dtype=torch.float64), "relu")
    r = train_toy2d(huge, Toy2DTask(t_final=20.0), Toy2DSettings(epochs=3))
    assert r.failed.tolist() == [True, False] and "non-finite" in r.failure_reason[0]
    assert not r.accepted[0] and np.isinf(r.final_loss[0])


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_forward_sensitivities_are_the_autograd_derivative_of_rk4(activation: str) -> None:
    """∂x(T)/∂W from the sensitivity equations equals autograd through the same RK4 steps."""
    from rnnatlas.models.ctrnn2d import rk4_with_sensitivity

    pop = CTRNN2DPopulation.from_seeds(list(range(12)), activation)
    x0 = torch.tensor([1.0, -0.5], dtype=torch.float64)
    x_final, dx_dw = rk4_with_sensitivity(pop.weight.detach().numpy(), x0.numpy(), 5.0, activation, dt=0.1)
    ref_final, _ = pop(x0, 5.0, 0.1)
    np.testing.assert_allclose(x_final, ref_final[:, 0].detach().numpy(), rtol=1e-12, atol=1e-13)
    for i in range(2):
        (g,) = torch.autograd.grad(ref_final[:, 0, i].sum(), pop.weight, retain_graph=True)
        np.testing.assert_allclose(dx_dw[:, i], g.numpy(), rtol=1e-10, atol=1e-12)


def test_training_by_sensitivities_matches_training_by_autograd(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CPU float64 path (sensitivities) and the autograd path train to the same weights."""
    from rnnatlas.train import toy2d as T

    seeds = list(range(6))
    fast = train_toy2d(CTRNN2DPopulation.from_seeds(seeds, "tanh"), Toy2DTask(), Toy2DSettings(epochs=20))
    monkeypatch.setattr(T, "SENSITIVITY_ACTIVATIONS", ())  # every activation takes autograd
    slow = train_toy2d(CTRNN2DPopulation.from_seeds(seeds, "tanh"), Toy2DTask(), Toy2DSettings(epochs=20))
    np.testing.assert_allclose(fast.weight, slow.weight, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(fast.loss_curve, slow.loss_curve, rtol=1e-8, atol=1e-14)
