"""The population training loop.

Each network draws its own training batches from its own generator (seeded from task and
network seed), so a network's trajectory never depends on which pack it was trained in. The
loss (``TrainSettings.loss``, :data:`LOSSES`) is per network: the masked mean squared error,
or the reference loss of Yang et al. (mask times error, squared); batches of different
lengths (tasks that draw one timing per batch) are padded with unscored steps to the
longest. The population's backward pass is one call on the sum of the per-network losses (networks do not interact, so each network's
gradient is its own). A network whose loss or update is non-finite is recorded as failed
with its reason and frozen; the others carry on.

Per-task network settings (``NetworkSpec``): ``trainable`` names the parameters that train
(the others are frozen: requires_grad False, no L2, no momentum, no update); ``mask`` names a
structural mask (:mod:`rnnatlas.models.masks`) whose entries are set to 0 when the trainer is
built and stay exactly 0 after every step; ``noise_in`` / ``noise_rec`` are the stds of
Gaussian noise added, in training only, to every input and to every step's pre-activations
(the input projection: for a vanilla cell h_t = φ(W_hh h_{t−1} + b_hh + W_ih (x_t + ξ_t) + b_ih + η_t),
the update leaky when α < 1, so with noise_rec = sqrt(2/α)·σ this is the Euler step of
τ dh/dt = −h + φ(… + sqrt(2τσ²)·white noise)). The noise is drawn from a per-network generator
of its own (seeded from the data seed), so the training batches are those of the noise-free
run and a network's noise does not depend on its pack. Validation is noise-free.

Snapshots (``TrainSettings.snapshot_params`` / ``snapshot_count``): the named parameters of
every network at ``snapshot_count`` iterations evenly spaced from 0 (the initialisation, after
any mask) to ``iterations`` (the final parameters), copied only at those iterations. Iteration
i means "after i updates". A network that stops early (``stop_loss``) or fails has snapshots
at the scheduled iterations it reached plus one of its final (frozen) parameters at the
iteration it stopped (:meth:`PopulationTrainer.snapshots` says so).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ..models import RNNPopulation
from ..models.masks import apply_masks, structural_masks
from ..runtime import stable_seed
from ..tasks import Task, TaskBatch
from .hyperparameters import Hyperparameters
from .optim import PopulationOptimizer
from .progress import Progress


@dataclass
class TrainSettings:
    iterations: int
    batch_size: int = 64
    optimizer: str = "sgd"
    eval_every: int = 500
    decay_steps: int | None = None  # None: the whole run, so `decay` is the overall factor
    stop_loss: float | None = None  # stop a network once its training loss falls below this (per
    # batch with random sampling; over a whole epoch, the mean of its batches, with epoch sampling)
    sampling: str = "random"  # "random": task.sample per batch; "epochs": task.epoch_batches (fixed training set)
    snapshot_params: tuple[str, ...] = ()  # parameters recorded during training (empty: no snapshots)
    snapshot_count: int = 0  # how many, evenly spaced from iteration 0 to `iterations` inclusive
    loss: str = "masked_mse"  # a name of LOSSES
    clip_mode: str = "norm"  # "norm": clip each network's gradient norm; "value": every entry (optim.CLIP_MODES)


def snapshot_schedule(count: int, iterations: int) -> np.ndarray:
    """``count`` iterations evenly spaced from 0 to ``iterations`` inclusive, rounded to the
    nearest integer (halves up), duplicates dropped (so fewer when count > iterations + 1)."""
    if isinstance(count, bool) or not isinstance(count, int) or count < 2:
        raise ValueError(f"snapshot count must be an integer >= 2 (the initialisation and the end), got {count!r}")
    steps = count - 1
    return np.unique([(i * iterations * 2 + steps) // (2 * steps) for i in range(count)]).astype(np.int64)


@dataclass
class Snapshots:
    """One network's recorded parameters: ``iterations`` [S] and ``params`` name → [S, ...];
    ``complete`` is False (with a ``note`` saying why) when the network stopped before the
    end of the schedule."""

    iterations: np.ndarray
    params: dict[str, np.ndarray]
    complete: bool
    note: str = ""


SAMPLING = ("random", "epochs")


def masked_mse(outputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over scored entries, per network: outputs ``[K, T, B, O]`` → ``[K]``."""
    total, count = _masked_mse_terms(outputs, targets, mask, 0)
    return total / count


def _masked_mse_terms(outputs, targets, mask, n_steps):
    """(Σ mask·(y − ŷ)², Σ mask) per network: the mask weights each squared error."""
    dims = tuple(range(1, outputs.dim()))
    return ((outputs - targets).pow(2) * mask).sum(dim=dims), mask.expand_as(outputs).sum(dim=dims).clamp(min=1)


def _weighted_error_terms(outputs, targets, mask, n_steps):
    """(Σ (mask·(y − ŷ))², B·O·n_steps) per network: the mask multiplies the error before it is
    squared (Yang et al.'s reference loss, the mean of the squares), normalised by the task's
    longest trial ``n_steps`` rather than each batch's own length, so padding a batch to a
    longer one never changes its loss."""
    dims = tuple(range(1, outputs.dim()))
    b, o = outputs.shape[-2], outputs.shape[-1]
    total = ((outputs - targets) * mask).pow(2).sum(dim=dims)
    return total, torch.full_like(total, float(b * o * max(int(n_steps), 1)))


# loss name → (outputs [K, T, B, O], targets, mask, task's n_steps) → (sum [K], count [K]); loss = sum / count
LOSSES = {"masked_mse": _masked_mse_terms, "weighted_error": _weighted_error_terms}


def _zero_pad(a: torch.Tensor, n_steps: int) -> torch.Tensor:
    """``a`` (time first) padded with zeros to ``n_steps`` steps."""
    extra = n_steps - a.shape[0]
    return a if extra == 0 else torch.cat([a, a.new_zeros((extra, *a.shape[1:]))])


def _pad_time(batch: TaskBatch, n_steps: int) -> TaskBatch:
    """A batch padded along time to ``n_steps`` with zero inputs, targets and mask (unscored)."""
    return TaskBatch(*(_zero_pad(a, n_steps) for a in (batch.inputs, batch.targets, batch.mask)))


def freeze_untrainable(population: RNNPopulation, trainable: Sequence[str]) -> None:
    """requires_grad False on every parameter not named in ``trainable`` (empty: leave all as
    they are); an unknown name is an error listing the population's parameters."""
    if not trainable:
        return
    unknown = sorted(set(trainable) - set(population.params))
    if unknown:
        raise ValueError(f"network setting 'trainable' names unknown parameters {unknown}; "
                         f"parameters of {population.arch}: {', '.join(population.params)}")
    for name, p in population.params.items():
        p.requires_grad_(name in trainable)


def _noise_std(name: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"network setting {name!r} must be a finite number >= 0, got {value!r}")
    return value


class PopulationTrainer:
    """Trains a population in place; ``run`` may be called repeatedly to continue.

    ``masks`` are extra 0/1 gradient-and-value masks for the optimizer; ``trainable``, ``mask``,
    ``noise_rec`` and ``noise_in`` are the network settings described in the module docstring
    (building the trainer freezes parameters and zeroes masked entries of the population).
    """

    def __init__(
        self,
        population: RNNPopulation,
        task: Task,
        data_seeds: list[int],
        hp: Hyperparameters,
        settings: TrainSettings,
        validation: TaskBatch | None = None,
        masks: dict[str, torch.Tensor] | None = None,
        *,
        trainable: Sequence[str] = (),
        mask: str = "",
        noise_rec: float = 0.0,
        noise_in: float = 0.0,
    ) -> None:
        k = population.n_networks
        if len(data_seeds) != k or len(hp) != k:
            raise ValueError(f"population of {k} needs {k} data seeds and hyperparameter rows")
        self.trainable = tuple(trainable)
        freeze_untrainable(population, self.trainable)
        fixed = structural_masks(mask, population)
        apply_masks(population, fixed)
        masks = dict(masks or {})
        for name, m in fixed.items():
            masks[name] = m if name not in masks else masks[name] * m
        self.noise_rec, self.noise_in = _noise_std("noise_rec", noise_rec), _noise_std("noise_in", noise_in)
        self.noise_generators = (
            [torch.Generator().manual_seed(stable_seed(int(s), "training-noise")) for s in data_seeds]
            if self.noise_rec or self.noise_in else None
        )
        self.population, self.task, self.settings = population, task, settings
        self.device = population.params["weight_hh"].device
        self.generators = [torch.Generator().manual_seed(int(s)) for s in data_seeds]
        if settings.loss not in LOSSES:
            raise ValueError(f"unknown loss {settings.loss!r}; allowed: {', '.join(LOSSES)}")
        self._loss_terms = LOSSES[settings.loss]
        if settings.sampling not in SAMPLING:
            raise ValueError(f"unknown sampling {settings.sampling!r}; allowed: {', '.join(SAMPLING)}")
        if settings.sampling == "epochs" and not hasattr(task, "epoch_batches"):
            raise ValueError(f"task {type(task).__name__} has no fixed training set; use sampling 'random'")
        # per network, the batches left of its current epoch (empty: a new epoch starts on the next draw)
        self._epochs = [iter(()) for _ in self.generators] if settings.sampling == "epochs" else None
        self._lengths: list[int] | None = None  # each network's own length in the last batch (before padding)
        self.optimizer = PopulationOptimizer(
            dict(population.params.items()), hp.to(self.device),
            algorithm=settings.optimizer, decay_steps=settings.decay_steps or settings.iterations, masks=masks or None,
            trainable=self.trainable or None, clip_mode=settings.clip_mode,
        )
        self.validation = validation.to(self.device) if validation is not None else None
        self.iteration = 0
        self.train_loss = np.full((k, settings.iterations), np.nan, dtype=np.float32)
        self.val_iterations: list[int] = []
        self.val_loss: list[np.ndarray] = []
        self.active = torch.ones(k, dtype=torch.bool, device=self.device)
        self.failed = np.zeros(k, dtype=bool)
        self.failure_reason = [""] * k
        self.stopped_at = np.full(k, -1, dtype=np.int64)
        self._epoch_sum = torch.zeros(k, dtype=torch.float64, device=self.device)  # Σ batch loss × trials
        self._epoch_trials = 0
        self.wall_time = 0.0
        self._setup_snapshots()

    # ------------------------------------------------------------------ data
    def _next_epoch_batch(self, k: int) -> TaskBatch:
        """Network k's next batch of its current epoch; a new shuffled epoch when one ends."""
        batch = next(self._epochs[k], None)
        if batch is None:
            self._epochs[k] = self.task.epoch_batches(self.settings.batch_size, self.generators[k])
            batch = next(self._epochs[k])
        return batch

    def sample_batch(self) -> TaskBatch:
        if self._epochs is not None:
            batches = [self._next_epoch_batch(k) for k in range(len(self.generators))]
        else:
            batches = [self.task.sample(self.settings.batch_size, g) for g in self.generators]
        # a task whose batches differ in length (one timing per batch): pad to the longest trial the
        # task can have (unscored), not the pack's longest, so a network's sums over time (its weight
        # gradients are one matmul over every step) are the same in any pack; each network's noise
        # is drawn for its own length only
        self._lengths = [b.inputs.shape[0] for b in batches]
        longest = max(*self._lengths, int(getattr(self.task, "n_steps", 0)))
        batches = [_pad_time(b, longest) for b in batches]  # a batch of that length is kept as it is
        stack = lambda name: torch.stack([getattr(b, name) for b in batches]).to(self.device)  # noqa: E731
        return TaskBatch(stack("inputs"), stack("targets"), stack("mask"))

    def training_noise(self, inputs: torch.Tensor, lengths: Sequence[int] | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The batch's inputs ``[K, T, B, I]`` with input noise added, and the recurrent noise
        for the pre-activations ``[K, T, B, G·N]`` (None without it), each network's from its
        own noise generator (input noise first, then recurrent noise, per network), drawn for
        the length of its own batch, ``lengths[k]`` (zero on the padding of a shorter one)."""
        if self.noise_generators is None:
            return inputs, None
        k, t, b, i = inputs.shape
        dtype = self.population.params["weight_hh"].dtype
        width = self.population.preactivation_dim
        lengths = list(lengths) if lengths is not None else [t] * k
        x_noise, rec_noise = [], []
        for gen, own in zip(self.noise_generators, lengths):
            if self.noise_in:
                x_noise.append(_zero_pad(torch.randn(own, b, i, generator=gen, dtype=dtype) * self.noise_in, t))
            if self.noise_rec:
                rec_noise.append(_zero_pad(torch.randn(own, b, width, generator=gen, dtype=dtype) * self.noise_rec, t))
        if x_noise:
            inputs = inputs + torch.stack(x_noise).to(device=self.device, dtype=inputs.dtype)
        noise = torch.stack(rec_noise).to(self.device) if rec_noise else None
        return inputs, noise

    # ------------------------------------------------------------------ snapshots
    def _setup_snapshots(self) -> None:
        """The schedule and per-network records; records iteration 0 (the initialisation)."""
        s = self.settings
        self._updates = np.zeros(self.population.n_networks, dtype=np.int64)  # updates applied, per network
        self._snapshots: list[list[tuple[int, dict[str, torch.Tensor]]]] | None = None
        if not s.snapshot_params and not s.snapshot_count:
            return
        if not s.snapshot_params:
            raise ValueError("snapshots need at least one parameter name")
        unknown = sorted(set(s.snapshot_params) - set(self.population.params))
        if unknown:
            raise ValueError(f"snapshots name unknown parameters {unknown}; parameters of "
                             f"{self.population.arch}: {', '.join(self.population.params)}")
        self.snapshot_iterations = snapshot_schedule(s.snapshot_count, s.iterations)
        self._snapshot_set = set(self.snapshot_iterations.tolist())
        self._snapshots = [[] for _ in range(self.population.n_networks)]
        self._record(np.arange(self.population.n_networks))

    @torch.no_grad()
    def _record(self, networks: np.ndarray) -> None:
        """Copy the snapshot parameters of ``networks`` now, at each one's update count."""
        if len(networks) == 0:
            return
        index = torch.as_tensor(networks, dtype=torch.long, device=self.device)
        copies = {name: self.population.params[name].detach()[index].cpu()  # indexing copies
                  for name in self.settings.snapshot_params}
        for j, k in enumerate(networks.tolist()):
            self._snapshots[k].append((int(self._updates[k]), {name: c[j] for name, c in copies.items()}))

    def _snapshot_step(self, updated: np.ndarray, ended: np.ndarray) -> None:
        """After an iteration: count the updates, record the networks that reached a scheduled
        iteration and those that stopped now (their final parameters) unless just recorded."""
        self._updates[updated] += 1
        if self._snapshots is None:
            return
        due = [k for k in np.flatnonzero(updated | ended)
               if (updated[k] and int(self._updates[k]) in self._snapshot_set)
               or (ended[k] and self._snapshots[k][-1][0] != int(self._updates[k]))]
        self._record(np.asarray(due, dtype=np.int64))

    def snapshots(self, k: int) -> Snapshots | None:
        """Network k's snapshots (None when none were asked for)."""
        if self._snapshots is None:
            return None
        records = self._snapshots[k]
        iterations = np.asarray([it for it, _ in records], dtype=np.int64)
        params = {name: torch.stack([values[name] for _, values in records]).numpy()
                  for name in self.settings.snapshot_params}
        complete = np.array_equal(iterations, self.snapshot_iterations)
        note = ""
        if not complete:
            why = (f"failed ({self.failure_reason[k]})" if self.failed[k]
                   else "converged (training loss below stop_loss)" if self.stopped_at[k] >= 0
                   else "training has not reached the end of the schedule")
            note = (f"{why}: stopped after {int(self._updates[k])} of {self.settings.iterations} iterations; "
                    f"snapshots at the scheduled iterations up to then, the last its final parameters")
        return Snapshots(iterations, params, complete, note)

    # ------------------------------------------------------------------ loop
    def _fail(self, k: int, reason: str) -> None:
        if not self.failed[k]:
            self.failed[k] = True
            self.failure_reason[k] = reason
            self.active[k] = False

    def run(self, until: int, progress: Progress | None = None) -> None:
        """Train the active networks up to iteration ``until`` (exclusive), evaluating on schedule."""
        until = min(until, self.settings.iterations)
        start = time.perf_counter()
        while self.iteration < until and bool(self.active.any()):
            it = self.iteration
            started = self.active.cpu().numpy().copy()
            batch = self.sample_batch()
            if self.noise_generators is None:
                outputs, _ = self.population(batch.inputs)
            else:
                inputs, noise = self.training_noise(batch.inputs, self._lengths)
                outputs, _ = self.population(inputs, noise=noise)
            loss = self.loss(outputs, batch)
            finite = torch.isfinite(loss)
            for k in torch.nonzero(self.active & ~finite).flatten().tolist():
                self._fail(k, f"non-finite training loss ({float(loss[k].detach())}) at iteration {it}")
            self.population.zero_grad(set_to_none=True)
            torch.where(self.active, loss, torch.zeros_like(loss)).sum().backward()
            _, diverged = self.optimizer.step(it, self.active)
            for k in torch.nonzero(diverged).flatten().tolist():
                self._fail(k, f"non-finite gradient or parameter update at iteration {it}")
            values = loss.detach().cpu().numpy()
            was_active = self.active.cpu().numpy().copy()  # the networks updated in this iteration (a copy:
            # on the CPU .numpy() shares memory with self.active, which _stop_converged changes)
            self.train_loss[was_active, it] = values[was_active]
            if self.settings.stop_loss is not None:
                self._stop_converged(it, loss.detach(), batch.inputs.shape[2])
            self._snapshot_step(was_active, started & ~self.active.cpu().numpy())
            self.iteration += 1
            if self.validation is not None and self.iteration % self.settings.eval_every == 0:
                self.record_validation()
            if progress is not None:
                progress.update(self.iteration, loss=f"{np.nanmedian(values):.3g}")
        self.wall_time += time.perf_counter() - start

    def _stop_converged(self, it: int, loss: torch.Tensor, trials: int) -> None:
        """Stop the networks whose training loss is below ``stop_loss``: the batch's loss, or with
        epoch sampling the mean over the epoch just completed (every training trial once)."""
        if self.settings.sampling == "epochs":
            self._epoch_sum += torch.nan_to_num(loss.double(), nan=float("inf")) * trials
            self._epoch_trials += trials
            if self._epoch_trials < self.task.n_train:
                return
            loss = self._epoch_sum / self._epoch_trials
            self._epoch_sum.zero_()
            self._epoch_trials = 0
        done = self.active & (loss < self.settings.stop_loss)
        for k in torch.nonzero(done).flatten().tolist():
            self.stopped_at[k] = it
            self.active[k] = False

    def loss(self, outputs: torch.Tensor, batch: TaskBatch) -> torch.Tensor:
        """The training loss of every network ``[K]`` (``settings.loss``)."""
        total, count = self._loss_terms(outputs, batch.targets, batch.mask, getattr(self.task, "n_steps", 0))
        return total / count

    @torch.no_grad()
    def evaluate(self, batch: TaskBatch | None = None, chunk: int = 256) -> np.ndarray:
        """The training loss of every network on a shared batch (default: the validation set),
        over all its trials (evaluated in chunks)."""
        batch = batch if batch is not None else self.validation
        total = torch.zeros(self.population.n_networks, dtype=torch.float64, device=self.device)
        count = torch.zeros_like(total)
        n_steps = getattr(self.task, "n_steps", 0)
        for s in range(0, batch.inputs.shape[1], chunk):
            x, y, m = (a[:, s : s + chunk] for a in (batch.inputs, batch.targets, batch.mask))
            out, _ = self.population(x)
            part, n = self._loss_terms(out, y, m, n_steps)
            total += part.double()
            count += n.double()
        loss = (total / count.clamp(min=1.0)).cpu().numpy()
        return np.where(np.isfinite(loss), loss, np.inf)

    def record_validation(self) -> None:
        self.val_iterations.append(self.iteration)
        self.val_loss.append(self.evaluate())

    def final_train_loss(self) -> np.ndarray:
        """Mean training loss over the last 10% of each network's iterations (at most 100)."""
        out = np.full(self.population.n_networks, np.inf)
        for k, curve in enumerate(self.train_loss):
            seen = curve[~np.isnan(curve)]
            if len(seen):
                tail = max(1, min(100, math.ceil(len(seen) / 10)))
                out[k] = float(np.mean(seen[-tail:]))
        return out

    def select(self, index: torch.Tensor) -> "PopulationTrainer":
        """A trainer for the sub-population ``index`` that continues where this one is."""
        index = torch.as_tensor(index, dtype=torch.long)
        pop = self.population
        sub = RNNPopulation(pop.arch, pop.activation, len(index), pop.n_inputs, pop.n_units, pop.n_outputs,
                            readout=pop.readout_activation, dtype=pop.params["weight_hh"].dtype, device=self.device,
                            alpha=pop.alpha)
        with torch.no_grad():
            for name, p in sub.params.items():
                p.copy_(pop.params[name][index.to(self.device)])
                p.requires_grad_(pop.params[name].requires_grad)
        new = PopulationTrainer.__new__(PopulationTrainer)
        new.__dict__.update(self.__dict__)
        idx = index.numpy()
        new.population = sub
        new.generators = [self.generators[i] for i in idx]
        new.noise_generators = [self.noise_generators[i] for i in idx] if self.noise_generators is not None else None
        new._epochs = [self._epochs[i] for i in idx] if self._epochs is not None else None
        new.optimizer = self.optimizer.select(index.to(self.device), dict(sub.params.items()))
        new.train_loss = self.train_loss[idx].copy()
        new.val_loss = [v[idx] for v in self.val_loss]
        new.val_iterations = list(self.val_iterations)
        new.active = self.active[index.to(self.device)].clone()
        new.failed = self.failed[idx].copy()
        new.failure_reason = [self.failure_reason[i] for i in idx]
        new.stopped_at = self.stopped_at[idx].copy()
        new._epoch_sum = self._epoch_sum[index.to(self.device)].clone()
        new._updates = self._updates[idx].copy()
        new._snapshots = [list(self._snapshots[i]) for i in idx] if self._snapshots is not None else None
        return new

