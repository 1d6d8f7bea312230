"""``results/<task>/nets/<net-id>/probe.h5``: hidden states on the task's probe set.

``hidden`` is ``[trials, T, N]`` (float32); similarity analyses use it reshaped to
(trials·time, units). LSTM networks also store ``cell`` (their c state), so that the full
dynamical state [h; c] is available; ``outputs`` holds the readout.
"""

from __future__ import annotations

import os

import numpy as np

from .h5io import atomic_h5, open_h5, read_config

KIND = "probe"


def write_probe(path: str | os.PathLike, config: dict, states: np.ndarray, outputs: np.ndarray, n_units: int) -> None:
    """states ``[trials, T, S]``, outputs ``[trials, T, O]``."""
    with atomic_h5(path, KIND, config) as f:
        f.create_dataset("hidden", data=states[..., :n_units].astype(np.float32), compression="gzip")
        if states.shape[-1] > n_units:
            f.create_dataset("cell", data=states[..., n_units:].astype(np.float32), compression="gzip")
        f.create_dataset("outputs", data=outputs.astype(np.float32), compression="gzip")


def read_probe(path: str | os.PathLike) -> tuple[dict, np.ndarray, np.ndarray]:
    """(config, hidden ``[trials, T, N]``, outputs ``[trials, T, O]``)."""
    with open_h5(path, KIND) as f:
        return read_config(f), f["hidden"][()], f["outputs"][()]


def read_probe_states(path: str | os.PathLike) -> np.ndarray:
    """The full dynamical state on the probe set, ``[trials, T, S]``: the hidden state, with
    the LSTM's cell state appended (the state fixed points live in)."""
    with open_h5(path, KIND) as f:
        hidden = f["hidden"][()]
        return np.concatenate([hidden, f["cell"][()]], axis=-1) if "cell" in f else hidden
