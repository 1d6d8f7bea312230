"""Stage ``training-change``: how training changed each network of a pack (study H, seed 001).

For every trained network, against its own initialisation (the first W_rec snapshot, which is
its untrained twin's weights):

- weights over training: off-diagonal mean, Schur non-normality (the note's 2-norm of the
  strictly upper Schur factor) and Henrici's departure, at every snapshot;
- the distribution of weight changes, the spectra before and after and the matched shift of
  each eigenvalue; node centralities before and after (rank correlation, top decile);
- activity on the probe set (noise-free): maximally predictive (DCA) and PCA subspaces with
  their predictive information for each dimension, the angles between the subspaces before and
  after training, between the two input conditions, and to the readout vector;
- predictive information as the ReLU is turned into a leaky ReLU of angle θ from 0 to π/4
  (the dynamics re-simulated at each θ), trained and untrained;
- accuracy on the validation set (each trial's time-averaged output nearest its own target level).

Writes ``results/<task>/nets/<net-id>/training_change.h5`` per trained network.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import connectivity as C
from .. import latent as L
from ..errors import InputError
from ..models.activations import leaky_relu_at_angle
from ..runtime import pick_device
from ..store.h5io import write_arrays
from ..store.model_file import ModelRecord, population_from_records
from .common import log, read_pack

KIND = "training_change"
CENTRALITIES = ("eigenvector", "in_strength", "pagerank")


def condition_groups(task, labels: dict[str, np.ndarray]) -> np.ndarray:
    """The two input conditions whose subspaces Fig. 10 compares: perception, the input level at
    the end of the trial; decision, u1 > u2 vs u1 < u2 (ties in neither)."""
    if "u1" in labels:
        u1, u2 = np.asarray(labels["u1"]), np.asarray(labels["u2"])
        return np.where(u1 > u2, 0, np.where(u1 < u2, 1, -1))
    level = np.asarray(labels["level"], dtype=np.float64)
    return np.searchsorted(np.unique(level), level)


@torch.no_grad()
def _hidden(pop, inputs: torch.Tensor, phi=None) -> np.ndarray:
    """Noise-free hidden states ``[K, B, T, N]`` (float64), with another activation if given."""
    run = pop if phi is None else pop.with_activation(phi)
    _, states = run(inputs, return_states=True)
    return states[..., : pop.n_units].transpose(1, 2).cpu().numpy()


def _accuracy(outputs: np.ndarray, batch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per trial: time-averaged output and target over the scored steps, and whether the output
    is nearest its own target among the task's target levels."""
    mask = batch.mask.numpy()[..., 0]  # [T, B]
    w = mask / np.maximum(mask.sum(0, keepdims=True), 1)
    out = (outputs[..., 0] * w).sum(0)
    target = (batch.targets.numpy()[..., 0] * w).sum(0)
    levels = np.unique(np.round(target, 6))
    nearest = levels[np.abs(out[:, None] - levels[None]).argmin(1)]
    return out, target, np.isclose(nearest, np.round(target, 6))


def _subspaces(x: np.ndarray, opts: dict, seed: int) -> dict[str, np.ndarray]:
    """DCA and PCA predictive information for each of ``dca_dims`` and the bases at ``latent_dim``."""
    window, prefilter = opts["dca_window"], opts["pca_prefilter"]
    fits = {d: L.dca_subspace(x, d, window, seed=seed, max_dim=prefilter)
            for d in dict.fromkeys([*opts["dca_dims"], opts["latent_dim"]])}
    pi_pca = [L.gaussian_predictive_information(x @ L.pca_subspace(x, d)[0], window) for d in opts["dca_dims"]]
    return {"pi_dca": np.asarray([fits[d][1] for d in opts["dca_dims"]]), "pi_pca": np.asarray(pi_pca),
            "dca_basis": fits[opts["latent_dim"]][0], "pi_latent": fits[opts["latent_dim"]][1],
            "pca_basis": L.pca_subspace(x, opts["latent_dim"])[0]}


def analyse_network(record: ModelRecord, k: int, hidden: dict[str, np.ndarray], subspaces: dict[str, dict],
                    groups: np.ndarray, pi_theta: dict[str, np.ndarray], opts: dict) -> tuple[dict, dict]:
    """Arrays and attributes of one network's ``training_change.h5`` (``hidden`` and ``subspaces``:
    its probe activity and :func:`_subspaces` per state, trained and untrained)."""
    snaps = record.snapshots["weight_hh"].astype(np.float64)
    w0, w1 = snaps[0], record.params["weight_hh"].astype(np.float64)
    seed = int(opts["seed"])
    arrays: dict[str, np.ndarray] = {
        "snapshot_iterations": record.snapshots["iterations"],
        "mean_weight": np.asarray([C.mean_weight(w) for w in snaps]),
        "schur_upper_norm": np.asarray([C.schur_upper_norm(w) for w in snaps]),
        "henrici_departure": np.asarray([C.henrici_departure(w) for w in snaps]),
        "eigenvalues_initial": C.eigenvalues(w0), "eigenvalues_final": C.eigenvalues(w1),
        "weight_change": C.weight_changes(w0, w1)[0].astype(np.float32),
    }
    arrays["eigenvalue_shift"] = C.matched_eigenvalue_shifts(w0, w1)["shift"]
    attrs: dict = {"centrality": opts["centrality"]}
    before, after = C.centralities(w0, CENTRALITIES), C.centralities(w1, CENTRALITIES)
    for kind in CENTRALITIES:
        c0, c1 = before[kind], after[kind]
        arrays[f"centrality_{kind}_initial"], arrays[f"centrality_{kind}_final"] = c0, c1
        change = C.centrality_change(c0, c1, top_fraction=opts["top_fraction"])
        attrs[f"centrality_{kind}_spearman"] = float(change["spearman"])
        attrs[f"centrality_{kind}_top_leaving"] = float(change["top_leave_fraction"])
    readout = record.params["weight_out"].astype(np.float64)[0]
    for state in ("trained", "untrained"):
        sub = subspaces[state]
        arrays[f"pi_dca_{state}"], arrays[f"pi_pca_{state}"] = sub["pi_dca"], sub["pi_pca"]
        arrays[f"dca_basis_{state}"], arrays[f"pca_basis_{state}"] = sub["dca_basis"], sub["pca_basis"]
        attrs[f"readout_angle_dca_{state}"] = float(L.angle_to_vector(sub["dca_basis"], readout))
        attrs[f"readout_angle_pca_{state}"] = float(L.angle_to_vector(sub["pca_basis"], readout))
        bases = [L.dca_subspace(hidden[state][groups == g], opts["latent_dim"], opts["dca_window"], seed=seed,
                                max_dim=opts["pca_prefilter"])[0] for g in (0, 1)]
        arrays[f"condition_angles_{state}"] = L.subspace_angles(*bases)
        arrays[f"pi_theta_{state}"] = pi_theta[state][k]
    arrays["angles_pre_post"] = L.subspace_angles(arrays["dca_basis_untrained"], arrays["dca_basis_trained"])
    arrays["dca_dims"] = np.asarray(opts["dca_dims"], dtype=np.int64)
    return arrays, attrs


def run(task: str, task_data_path: str, model_paths: list[str], out_paths: list[str], options: dict,
        device_name: str = "cpu") -> None:
    if len(model_paths) != len(out_paths):
        raise InputError(f"{len(model_paths)} model files but {len(out_paths)} output paths")
    device = pick_device(device_name)
    data, records = read_pack(task, task_data_path, model_paths)
    missing = [p for p, r in zip(model_paths, records) if "weight_hh" not in r.snapshots]
    if missing:
        raise ValueError(f"{missing[0]}: no weight_hh snapshots (train with training settings 'snapshots')")
    usable = [k for k, r in enumerate(records) if not r.summary["failed"]]
    for k in sorted(set(range(len(records))) - set(usable)):
        write_arrays(out_paths[k], KIND, records[k].config, {}, {"accepted": False, "analysed": False,
                     "reason": records[k].summary["failure_reason"] or "training failed", "options": options})
    if not usable:
        return
    recs = [records[k] for k in usable]
    trained = population_from_records(recs, dtype=torch.float64, device=device)
    initial = [{**r.params, "weight_hh": r.snapshots["weight_hh"][0]} for r in recs]
    untrained = population_from_records([ModelRecord(**{**r.__dict__, "params": p}) for r, p in zip(recs, initial)],
                                        dtype=torch.float64, device=device)
    probe = data.probe.batch.inputs.to(device=device, dtype=torch.float64)
    groups = condition_groups(data.task, data.probe.labels)
    hidden = {"trained": _hidden(trained, probe), "untrained": _hidden(untrained, probe)}
    seed = int(options["seed"])
    subspaces = {state: [_subspaces(h, options, seed) for h in hidden[state]] for state in hidden}
    thetas = np.linspace(0.0, np.pi / 4, int(options["thetas"]))
    pi_theta = {state: np.zeros((len(recs), len(thetas))) for state in hidden}
    for j, theta in enumerate(thetas):
        if theta == 0.0 and trained.activation == "relu":
            # θ = 0 is the networks' own ReLU: the latent-dimension DCA fit above is this one.
            for state in hidden:
                pi_theta[state][:, j] = [sub["pi_latent"] for sub in subspaces[state]]
            continue
        phi = leaky_relu_at_angle(float(theta))
        for state, pop in (("trained", trained), ("untrained", untrained)):
            h = _hidden(pop, probe, phi)
            for k in range(len(recs)):
                _, pi_theta[state][k, j] = L.dca_subspace(h[k], options["latent_dim"], options["dca_window"],
                                                          seed=seed, max_dim=options["pca_prefilter"])
    with torch.no_grad():
        outputs, _ = trained(data.validation.inputs.to(device=device, dtype=torch.float64))
    for j, k in enumerate(usable):
        arrays, attrs = analyse_network(recs[j], j, {state: h[j] for state, h in hidden.items()},
                                        {state: sub[j] for state, sub in subspaces.items()}, groups, pi_theta, options)
        out, target, correct = _accuracy(outputs[j].cpu().numpy(), data.validation)
        arrays.update({"thetas": thetas, "val_mean_output": out, "val_mean_target": target, "val_correct": correct,
                       "val_mean_input": data.validation.inputs.numpy().mean(0)})
        attrs.update({"accuracy": float(correct.mean()), "accepted": records[k].accepted, "analysed": True,
                      "reason": "", "options": options})
        write_arrays(out_paths[k], KIND, records[k].config, arrays, attrs)
        log.info("%s %s: accuracy %.3f, mean weight %.4f -> %.4f, Schur %.2f -> %.2f", task, recs[j].spec.id,
                 attrs["accuracy"], arrays["mean_weight"][0], arrays["mean_weight"][-1],
                 arrays["schur_upper_norm"][0], arrays["schur_upper_norm"][-1])
