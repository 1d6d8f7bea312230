"""The Go task family of Yang et al. 2019 (study M; seed 003), in the reference's format.

Δt = 20 ms. 85 inputs: fixation (column 0), two 32-unit rings (modality 1: columns 1–32,
modality 2: 33–64) and 20 rule units (65–84, one-hot; the Go family takes the first six, in
the reference's order go, rt_go, dly_go, anti, rt_anti, dly_anti). 33 outputs: fixation and a
32-unit ring. A stimulus at angle ψ drives ring unit i with ``0.8·exp(−½ (d/(π/8))²)``, d the
circular distance from ψ to the unit's preferred angle 2πi/32. Targets: every output 0.05;
the fixation output 0.8 while the network must fixate; the ring ``0.05 + 0.8·bump`` at the
response angle (the stimulus angle, or ψ + π for the anti tasks) during the response.

Timings, drawn once per batch as the reference does (each trial draws its own angle; the
modality, 1 or 2, is drawn per batch too), in ms, each converted to steps by flooring:

- go: stimulus on at U(300, 700) and stays on; fixation off U(500, 1500) later; end 500 after.
- rt_go: fixation input on throughout; stimulus on at U(500, 2500) and stays; the response
  (the fixation *target* off) starts at stimulus onset; end 500 after.
- dly_go: stimulus on ∈ {300, 500, 700} for ∈ {200, 400, 600}; delay ∈ {200, 400, 800, 1600};
  fixation off after the delay; 500 ms of response.
- anti, rt_anti, dly_anti: the same, responding at ψ + π.

The rule input is on for the whole trial. Cost mask: 0 for the first 100 ms, 1 until the
response starts, 0 for a 100 ms grace period, 5 afterwards; the fixation output's column ×2.
A batch of one rule is as long as its trials; :meth:`GoFamily.validation_set` and the probe set
hold several rules, each padded with zero inputs and a zero mask to the longest trial.

Performance (the reference's ``get_perf``): at each trial's last step, the network fixates
when its fixation output exceeds 0.5; its response angle is the population vector of the ring
outputs; a trial is correct when it does not fixate and that angle is within 0.2π (36°) of
the target (every Go-family trial ends in its response).

The probe set is the reference's test mode: per rule, ``n_probe_angles`` angles evenly spaced
× both modalities, with fixed timings (go: stimulus 500 ms, response 1500–2000; rt_go:
stimulus and response 2000–2500; dly_go: stimulus 500–1000, response 2000–2500).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch

from .base import ProbeSet, Task, TaskBatch
from .registry import register_task

N_RING = 32
N_RULE_UNITS = 20
N_INPUTS = 1 + 2 * N_RING + N_RULE_UNITS  # 85
N_OUTPUTS = 1 + N_RING  # 33
RULE_START = 1 + 2 * N_RING  # 65
# The Go family in the order of the reference's rule units (its ruleset 'all' starts with them).
RULES = ("go", "rt_go", "dly_go", "anti", "rt_anti", "dly_anti")
EPOCHS = ("fixation", "stimulus", "delay", "response")  # the four periods of a trial
PREFERRED = 2 * math.pi * np.arange(N_RING) / N_RING
BASELINE, FIX_TARGET, BUMP = 0.05, 0.8, 0.8
TUNING_WIDTH = math.pi / 8
CORRECT_WITHIN = 0.2 * math.pi  # 36°
FIX_THRESHOLD = 0.5
FIX_COST, RESPONSE_COST = 2.0, 5.0
GRACE_MS, UNSCORED_MS = 100.0, 100.0


def circular_distance(a: np.ndarray | torch.Tensor, b: np.ndarray | torch.Tensor):
    """|a − b| on the circle, in [0, π]."""
    lib = torch if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor) else np
    d = lib.remainder(a - b, 2 * math.pi)
    return lib.minimum(d, 2 * math.pi - d)


def ring_bump(angles: torch.Tensor) -> torch.Tensor:
    """``0.8·exp(−½ (d/(π/8))²)`` over the 32 preferred angles: ``[B]`` → ``[B, 32]``."""
    pref = torch.as_tensor(PREFERRED, dtype=torch.float64)
    d = circular_distance(angles.to(torch.float64)[:, None], pref[None, :]) / TUNING_WIDTH
    return BUMP * torch.exp(-0.5 * d * d)


def population_vector(ring: torch.Tensor | np.ndarray) -> torch.Tensor:
    """The angle read out from ring activities ``[..., 32]`` (the reference's ``popvec``), in [0, 2π)."""
    ring = torch.as_tensor(ring, dtype=torch.float64)
    pref = torch.as_tensor(PREFERRED, dtype=torch.float64)
    total = ring.sum(-1)
    c, s = (ring * torch.cos(pref)).sum(-1) / total, (ring * torch.sin(pref)).sum(-1) / total
    return torch.remainder(torch.atan2(s, c), 2 * math.pi)


@dataclass(frozen=True)
class Timing:
    """One trial's (or batch's) epoch boundaries, in steps: the stimulus is on in
    [stim_on, stim_off), the response starts at ``response`` (fixation target off) and the
    trial ends at ``end``; ``fixation_input_off`` is when the fixation input goes off (= end for
    the RT tasks, whose fixation input stays on)."""

    stim_on: int
    stim_off: int
    response: int
    end: int
    fixation_input_off: int

    def epochs(self) -> dict[str, tuple[int, int]]:
        """Each epoch's [start, stop) in steps; an epoch the rule does not have is absent."""
        out = {"fixation": (0, self.stim_on)}
        if self.response > self.stim_on:
            out["stimulus"] = (self.stim_on, min(self.stim_off, self.response))
        if self.stim_off < self.response:
            out["delay"] = (self.stim_off, self.response)
        out["response"] = (self.response, self.end)
        return out


def rule_kind(rule: str) -> tuple[str, bool]:
    """('go' | 'rt' | 'dly', anti) of a rule name."""
    if rule not in RULES:
        raise ValueError(f"unknown Go-family rule {rule!r}; allowed: {', '.join(RULES)}")
    anti = "anti" in rule
    return ("rt" if rule.startswith("rt_") else "dly" if rule.startswith("dly_") else "go"), anti


@dataclass
class GoFamily(Task):
    """Trials of the rules in ``rules`` (one rule per training batch, drawn uniformly)."""

    param_schema: ClassVar[dict] = {
        "rules": {"type": "array", "items": {"enum": list(RULES)}, "minItems": 1, "uniqueItems": True},
        "n_probe_angles": {"type": "integer", "minimum": 2},
        "n_condition_angles": {"type": "integer", "minimum": 1},
        "validation_batch": {"$ref": "#/$defs/positive_int"},
    }
    dt_ms: ClassVar[float] = 20.0
    rules: list[str] = field(default_factory=lambda: list(RULES))
    n_probe_angles: int = 16  # probe angles per rule and modality (the reference's test mode: 20)
    n_condition_angles: int = 8  # stimulus angles of the fixed-point conditions (every n_probe/n-th probe angle)
    validation_batch: int = 64  # validation trials share their timing in groups of this many (as training batches)

    # graph_kind stays the default: study M searches fixed points per epoch in its own analysis
    # (rnnatlas.stages.multitask_dynamics), not through the fixed-point graphs of study U.

    def __post_init__(self) -> None:
        if isinstance(self.rules, str) or not self.rules:
            raise ValueError(f"task {self.name!r}: 'rules' must be a non-empty list of {', '.join(RULES)}; got {self.rules!r}")
        for rule in self.rules:
            rule_kind(rule)
        if len(set(self.rules)) != len(self.rules):
            raise ValueError(f"task {self.name!r}: 'rules' has duplicates: {self.rules}")
        self.rules = list(self.rules)
        if self.n_probe_angles < 2 or self.n_condition_angles < 1 or self.n_probe_angles % self.n_condition_angles:
            raise ValueError(f"task {self.name!r}: 'n_condition_angles' = {self.n_condition_angles} must divide "
                             f"'n_probe_angles' = {self.n_probe_angles} (conditions are every k-th probe angle)")
        self.n_inputs, self.n_outputs = N_INPUTS, N_OUTPUTS
        self.n_steps = max(self.max_steps(r) for r in self.rules)  # the longest trial any batch can have

    # ------------------------------------------------------------------ timing
    def steps(self, ms: float) -> int:
        return int(ms / self.dt_ms)

    def max_steps(self, rule: str) -> int:
        kind, _ = rule_kind(rule)
        s = self.steps
        if kind == "go":
            return s(700) + s(1500) + s(500)
        if kind == "rt":
            return s(2500) + s(500)
        return s(700) + s(600) + s(1600) + s(500)

    def draw_timing(self, rule: str, generator: torch.Generator) -> Timing:
        """A batch's timing, as the reference's 'random' mode draws it."""
        kind, _ = rule_kind(rule)
        s = self.steps
        u = lambda lo, hi: lo + (hi - lo) * float(torch.rand((), generator=generator, dtype=torch.float64))  # noqa: E731
        pick = lambda values: values[int(torch.randint(len(values), (), generator=generator))]  # noqa: E731
        if kind == "go":
            on = s(u(300, 700))
            response = on + s(u(500, 1500))
            end = response + s(500)
            return Timing(on, end, response, end, response)
        if kind == "rt":
            on = s(u(500, 2500))
            end = on + s(500)
            return Timing(on, end, on, end, end)
        on = s(pick([300, 500, 700]))
        off = on + s(pick([200, 400, 600]))
        response = off + s(pick([200, 400, 800, 1600]))
        end = response + s(500)
        return Timing(on, off, response, end, response)

    def test_timing(self, rule: str) -> Timing:
        """The fixed timing of the reference's 'test' mode."""
        kind, _ = rule_kind(rule)
        s = self.steps
        if kind == "go":
            return Timing(s(500), s(2000), s(1500), s(2000), s(1500))
        if kind == "rt":
            return Timing(s(2000), s(2500), s(2000), s(2500), s(2500))
        return Timing(s(500), s(1000), s(2000), s(2500), s(2000))

    # ------------------------------------------------------------------ trials
    def trials(self, rule: str, timing: Timing, angles: torch.Tensor, modality: torch.Tensor,
               n_steps: int | None = None) -> TaskBatch:
        """Noise-free trials of one rule and timing, angles ``[B]`` and modalities (1 or 2) ``[B]``,
        padded to ``n_steps`` (default: the trial's own length) with zero inputs and mask."""
        _, anti = rule_kind(rule)
        t_total = timing.end if n_steps is None else int(n_steps)
        if t_total < timing.end:
            raise ValueError(f"{t_total} steps cannot hold a trial of {timing.end}")
        b = len(angles)
        # float32 throughout; every value is computed in float64 first, then rounded once
        x = torch.zeros(t_total, b, N_INPUTS)
        y = torch.zeros(t_total, b, N_OUTPUTS)
        m = torch.zeros(t_total, b, N_OUTPUTS)
        x[: timing.fixation_input_off, :, 0] = 1.0
        bump = ring_bump(angles).float()
        modality = torch.as_tensor(modality, dtype=torch.long)
        for mod in (1, 2):
            sel = modality == mod
            if bool(sel.any()):
                cols = slice(1 + (mod - 1) * N_RING, 1 + mod * N_RING)
                x[timing.stim_on : timing.stim_off, sel, cols] = bump[sel]
        x[: timing.end, :, RULE_START + RULES.index(rule)] = 1.0
        y[: timing.end] = BASELINE
        y[: timing.response, :, 0] = FIX_TARGET
        response_angles = torch.remainder(angles.to(torch.float64) + (math.pi if anti else 0.0), 2 * math.pi)
        y[timing.response : timing.end, :, 1:] = (BASELINE + ring_bump(response_angles)).float()
        unscored, grace = self.steps(UNSCORED_MS), self.steps(GRACE_MS)
        m[unscored : timing.response] = 1.0
        m[timing.response + grace : timing.end] = RESPONSE_COST
        m[:, :, 0] *= FIX_COST
        return TaskBatch(x, y, m)

    def sample(self, batch_size: int, generator: torch.Generator) -> TaskBatch:
        """One batch of one rule (drawn uniformly from ``rules``), its own length."""
        rule = self.rules[int(torch.randint(len(self.rules), (), generator=generator))]
        timing = self.draw_timing(rule, generator)
        modality = torch.full((batch_size,), 1 + int(torch.randint(2, (), generator=generator)))
        angles = torch.rand(batch_size, generator=generator, dtype=torch.float64) * 2 * math.pi
        return self.trials(rule, timing, angles, modality)

    def validation_set(self, n_trials: int, generator: torch.Generator) -> TaskBatch:
        """``n_trials`` trials in groups of ``validation_batch`` that each share a timing, as
        training batches do, the rules in turn, padded to the longest trial of the task."""
        parts, left, i = [], n_trials, 0
        while left > 0:
            size = min(self.validation_batch, left)
            rule = self.rules[i % len(self.rules)]
            timing = self.draw_timing(rule, generator)
            modality = torch.full((size,), 1 + int(torch.randint(2, (), generator=generator)))
            angles = torch.rand(size, generator=generator, dtype=torch.float64) * 2 * math.pi
            parts.append(self.trials(rule, timing, angles, modality, self.n_steps))
            left, i = left - size, i + 1
        return _concatenate(parts)

    def probe_set(self) -> ProbeSet:
        """Per rule, ``n_probe_angles`` angles × modalities 1 and 2 at the test-mode timing,
        padded to the longest; labels: rule, modality, angle, target angle and epoch bounds."""
        n_steps = max(self.test_timing(r).end for r in self.rules)
        parts, labels = [], {k: [] for k in ("rule", "modality", "angle", "target_angle", "stim_on", "stim_off",
                                              "response", "end")}
        angles = torch.as_tensor(2 * math.pi * np.arange(self.n_probe_angles) / self.n_probe_angles)
        for rule in self.rules:
            timing = self.test_timing(rule)
            mods = torch.repeat_interleave(torch.tensor([1, 2]), self.n_probe_angles)
            both = angles.repeat(2)
            parts.append(self.trials(rule, timing, both, mods, n_steps))
            anti = rule_kind(rule)[1]
            labels["rule"] += [rule] * len(both)
            labels["modality"] += mods.tolist()
            labels["angle"] += both.tolist()
            labels["target_angle"] += np.remainder(both.numpy() + (math.pi if anti else 0.0), 2 * math.pi).tolist()
            for key in ("stim_on", "stim_off", "response", "end"):
                labels[key] += [getattr(timing, key)] * len(both)
        out = {k: np.asarray(v) for k, v in labels.items()}
        out["rule"] = out["rule"].astype(str)
        return ProbeSet(_concatenate(parts), out)

    # ------------------------------------------------------------------ fixed-point conditions
    def epoch_input(self, rule: str, epoch: str, angle: float, modality: int = 1) -> np.ndarray:
        """The constant (noise-free) input of one epoch of a trial of ``rule`` at ``angle``."""
        timing = self.test_timing(rule)
        if epoch not in timing.epochs():
            raise ValueError(f"rule {rule!r} has no {epoch!r} epoch; it has {', '.join(timing.epochs())}")
        start = timing.epochs()[epoch][0]
        batch = self.trials(rule, timing, torch.tensor([float(angle)], dtype=torch.float64), torch.tensor([modality]))
        return batch.inputs[start, 0].numpy().astype(np.float64)

    def epoch_conditions(self) -> list[tuple[str, str, float]]:
        """Every (rule, epoch, angle) whose constant input is searched: per rule and epoch, each
        of ``n_condition_angles`` angles (modality 1), or one entry (angle NaN) where the epoch's
        input carries no stimulus."""
        step = self.n_probe_angles // self.n_condition_angles
        grid = 2 * math.pi * np.arange(0, self.n_probe_angles, step) / self.n_probe_angles
        out = []
        for rule in self.rules:
            timing = self.test_timing(rule)
            for epoch in timing.epochs():
                angles = grid if self._stimulus_on(timing, epoch) else [float("nan")]
                out += [(rule, epoch, float(a)) for a in angles]
        return out

    def conditions(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The distinct constant inputs of :meth:`epoch_conditions` (a delay epoch receives the
        fixation epoch's input, so the two share one condition), labelled with their rule, the
        first epoch that receives them, all such epochs (``epochs``, comma-separated) and the angle."""
        rows, keys, labels = [], {}, {"rule": [], "epoch": [], "epochs": [], "angle": []}
        for rule, epoch, angle in self.epoch_conditions():
            x = self.epoch_input(rule, epoch, 0.0 if np.isnan(angle) else angle)
            key = x.tobytes()
            if key in keys:
                labels["epochs"][keys[key]] += f",{epoch}"
                continue
            keys[key] = len(rows)
            rows.append(x)
            labels["rule"].append(rule)
            labels["epoch"].append(epoch)
            labels["epochs"].append(epoch)
            labels["angle"].append(angle)
        return np.stack(rows), {"rule": np.asarray(labels["rule"]), "epoch": np.asarray(labels["epoch"]),
                                "epochs": np.asarray(labels["epochs"]),
                                "angle": np.asarray(labels["angle"], dtype=np.float64)}

    def probe_conditions(self, labels: dict[str, np.ndarray]) -> np.ndarray:
        """The condition of every step of every probe trial ``[B, T]``: the index of the constant
        input that step receives among :meth:`conditions`, −1 where it is none of them (a
        stimulus epoch at an angle or modality that is not a condition's, the padding after a
        trial's end)."""
        x_star, _ = self.conditions()
        index = {x.tobytes(): i for i, x in enumerate(x_star)}
        conditions = set(self.epoch_conditions())
        n_steps = max(self.test_timing(r).end for r in self.rules)
        out = np.full((len(labels["rule"]), n_steps), -1, dtype=np.int64)
        for b, rule in enumerate(labels["rule"]):
            rule = str(rule)
            timing = Timing(int(labels["stim_on"][b]), int(labels["stim_off"][b]), int(labels["response"][b]),
                            int(labels["end"][b]), 0)
            angle, modality = float(labels["angle"][b]), int(labels["modality"][b])
            for epoch, (start, stop) in timing.epochs().items():
                with_stimulus = self._stimulus_on(timing, epoch)
                if with_stimulus and (modality != 1 or (rule, epoch, angle) not in conditions):
                    continue
                x = self.epoch_input(rule, epoch, angle if with_stimulus else 0.0)
                out[b, start:stop] = index.get(x.tobytes(), -1)
        return out

    @staticmethod
    def _stimulus_on(timing: Timing, epoch: str) -> bool:
        start = timing.epochs()[epoch][0]
        return timing.stim_on <= start < timing.stim_off


def _concatenate(parts: list[TaskBatch]) -> TaskBatch:
    return TaskBatch(*(torch.cat([getattr(p, name) for p in parts], dim=1) for name in ("inputs", "targets", "mask")))


def trial_ends(mask: torch.Tensor) -> torch.Tensor:
    """Each trial's length ``[B]`` from its mask ``[T, B, O]``: one past its last scored step."""
    scored = (mask > 0).any(-1)  # [T, B]
    t = torch.arange(1, mask.shape[0] + 1, device=mask.device)[:, None]
    return (scored * t).amax(0)


def performance(outputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Correct (1.0) or not (0.0) per trial, the reference's criterion at each trial's last step.

    outputs and targets ``[..., T, B, 33]`` (network outputs after the sigmoid), mask ``[T, B, 33]``
    or broadcastable; the target angle is read from the target ring at the last step."""
    end = trial_ends(mask if mask.dim() == 3 else mask.reshape(mask.shape[-3:])) - 1  # [B]
    b = torch.arange(end.shape[0], device=end.device)
    last_out = outputs[..., end, b, :]  # [..., B, 33]
    last_target = targets[..., end, b, :]
    fixating = last_out[..., 0] > FIX_THRESHOLD
    should_fix = last_target[..., 0] > 0.5 * (FIX_TARGET + BASELINE)
    angle = population_vector(last_out[..., 1:])
    target_angle = population_vector(last_target[..., 1:] - BASELINE)
    correct_angle = circular_distance(angle, target_angle) < CORRECT_WITHIN
    perf = torch.where(should_fix, fixating, correct_angle & ~fixating)
    return perf.to(torch.float64)


@register_task("go")
@dataclass
class Go(GoFamily):
    """Go alone (the thesis's network)."""

    rules: list[str] = field(default_factory=lambda: ["go"])


@register_task("go_family")
@dataclass
class GoFamilyAll(GoFamily):
    """The six Go-family tasks together, the rule inputs selecting the task."""
