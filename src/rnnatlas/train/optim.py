"""Optimizers for stacked parameters ``[K, ...]`` with per-network hyperparameters.

Per network k: add the L2 gradient, clip the network's total gradient norm to ``clip[k]``
(never the population's norm) or, with ``clip_mode="value"``, every gradient entry to
[−clip[k], clip[k]] (the element-wise clip of Yang et al.'s reference code), then SGD with momentum (PyTorch's form: v ← μv + g;
p ← p − η v) or Adam. An update that would make a network's parameters non-finite is not
applied; the network is reported as diverged. Networks outside ``active`` are not updated.
"""

from __future__ import annotations

from typing import Sequence

import torch

from .hyperparameters import Hyperparameters

ALGORITHMS = ("sgd", "adam")
CLIP_MODES = ("norm", "value")


def _per_network(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Broadcast a length-K vector against a parameter ``[K, ...]``."""
    return x.to(like.dtype).view(-1, *([1] * (like.dim() - 1)))


class PopulationOptimizer:
    """SGD-momentum or Adam over a dict of stacked parameters.

    ``penalized`` names the parameters that carry the L2 penalty l2·Σw² (weights, not biases);
    ``masks`` are fixed 0/1 tensors ``[K, ...]`` applied to a parameter's gradient and value
    after every update (e.g. a zero diagonal). Parameters with requires_grad False, or not
    named in ``trainable`` when it is given, are frozen: no L2, no momentum, no update, and
    their gradients do not count towards the clipped norm.
    """

    def __init__(
        self,
        params: dict[str, torch.nn.Parameter],
        hp: Hyperparameters,
        algorithm: str = "sgd",
        decay_steps: int = 1,
        penalized: tuple[str, ...] = ("weight_ih", "weight_hh", "weight_out"),
        masks: dict[str, torch.Tensor] | None = None,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        trainable: Sequence[str] | None = None,
        clip_mode: str = "norm",
    ) -> None:
        if algorithm not in ALGORITHMS:
            raise ValueError(f"unknown optimizer {algorithm!r}; allowed: {', '.join(ALGORITHMS)}")
        if clip_mode not in CLIP_MODES:
            raise ValueError(f"unknown clip mode {clip_mode!r}; allowed: {', '.join(CLIP_MODES)}")
        self.clip_mode = clip_mode
        if trainable is not None:
            unknown = sorted(set(trainable) - set(params))
            if unknown:
                raise ValueError(f"trainable names unknown parameters {unknown}; parameters: {', '.join(params)}")
        self.trainable = None if trainable is None else tuple(trainable)
        self.params = self._trained(params)
        if not self.params:
            raise ValueError("no parameter to train (all are frozen)")
        self.hp = hp
        self.algorithm = algorithm
        self.decay_steps = max(1, int(decay_steps))
        self.penalized = set(penalized) & set(self.params)
        self.masks = masks or {}
        self.betas, self.eps = betas, eps
        self.state: dict[str, dict[str, torch.Tensor]] = {n: {} for n in self.params}
        k = len(hp)
        device = next(iter(self.params.values())).device
        self.steps = torch.zeros(k, dtype=torch.float64, device=device)  # Adam's per-network step count

    def _trained(self, params: dict[str, torch.nn.Parameter]) -> dict[str, torch.nn.Parameter]:
        return {n: p for n, p in params.items() if p.requires_grad and (self.trainable is None or n in self.trainable)}

    def learning_rate(self, iteration: int) -> torch.Tensor:
        return self.hp.learning_rate * self.hp.decay ** (iteration / self.decay_steps)

    @torch.no_grad()
    def step(self, iteration: int, active: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Apply one update to the active networks.

        Returns (gradient norm before clipping ``[K]``, diverged ``[K]`` bool: networks whose
        gradient or updated parameters were non-finite; their update was not applied).
        """
        grads = {}
        for name, p in self.params.items():
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            if name in self.penalized:
                g = g + 2 * _per_network(self.hp.l2, p) * p
            if name in self.masks:
                g = g * self.masks[name]
            grads[name] = g
        sq = sum(g.double().pow(2).flatten(1).sum(1) for g in grads.values())
        norm = sq.sqrt()
        bad_grad = ~torch.isfinite(norm)
        if self.clip_mode == "norm":
            scale = torch.clamp(self.hp.clip / (norm + 1e-12), max=1.0)
        else:
            scale = torch.ones_like(norm)
            grads = {name: torch.clamp(g, -_per_network(self.hp.clip, g), _per_network(self.hp.clip, g))
                     for name, g in grads.items()}
        scale = torch.where(bad_grad, torch.zeros_like(scale), scale)
        update_ok = active & ~bad_grad
        lr = self.learning_rate(iteration)
        self.steps += update_ok.double()

        new_values, finite = {}, torch.ones_like(update_ok)
        for name, p in self.params.items():
            g = torch.nan_to_num(grads[name]) * _per_network(scale, p)
            st = self.state[name]
            if self.algorithm == "sgd":
                buf = st.get("momentum")
                buf = g.clone() if buf is None else _per_network(self.hp.momentum, p) * buf + g
                direction = buf
                st["pending"] = buf
            else:
                b1, b2 = self.betas
                m = st.get("m", torch.zeros_like(p)) * b1 + (1 - b1) * g
                v = st.get("v", torch.zeros_like(p)) * b2 + (1 - b2) * g * g
                t = torch.clamp(self.steps, min=1)
                m_hat = m / _per_network(1 - b1**t, p)
                v_hat = v / _per_network(1 - b2**t, p)
                direction = m_hat / (v_hat.sqrt() + self.eps)
                st["pending_m"], st["pending_v"] = m, v
            new = p - _per_network(lr, p) * direction
            if name in self.masks:
                new = new * self.masks[name]
            new_values[name] = new
            finite &= torch.isfinite(new).flatten(1).all(1)
        apply = update_ok & finite
        diverged = active & ~(finite & ~bad_grad)
        for name, p in self.params.items():
            sel = _per_network(apply, p).bool()
            p.copy_(torch.where(sel, new_values[name], p))
            st = self.state[name]
            for key, pending in (("momentum", "pending"), ("m", "pending_m"), ("v", "pending_v")):
                if pending in st:
                    old = st.get(key, torch.zeros_like(p))
                    st[key] = torch.where(sel, st.pop(pending), old)
        self.steps -= (update_ok & ~apply).double()
        return norm, diverged

    def select(self, index: torch.Tensor, params: dict[str, torch.nn.Parameter]) -> "PopulationOptimizer":
        """The optimizer for a sub-population (rows ``index``), keeping its buffers."""
        new = PopulationOptimizer.__new__(PopulationOptimizer)
        new.__dict__.update(self.__dict__)
        new.params = new._trained(params)
        new.hp = self.hp.select(index)
        new.masks = {n: m[index] for n, m in self.masks.items()}
        new.state = {n: {key: buf[index] for key, buf in st.items()} for n, st in self.state.items()}
        new.steps = self.steps[index]
        return new
