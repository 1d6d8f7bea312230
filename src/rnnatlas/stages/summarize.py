"""Stage ``summarize``: one table of every network of a task (losses, acceptance, failures)."""

from __future__ import annotations

import json

import pandas as pd

from ..store.atomic import atomic_path, write_json
from ..store.model_file import read_model
from .common import log


def run(task: str, model_paths: list[str], out_csv: str, out_json: str) -> None:
    rows = []
    for path in model_paths:
        r = read_model(path)
        # identity fields, then the network settings that differ from their defaults (none for
        # studies U and S), as in the files' config attribute
        spec = {k: json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else v
                for k, v in r.spec.as_config().items()}
        rows.append({**spec, "cell": r.spec.cell_id, **r.summary,
                     "hyperparameters": json.dumps(r.hyperparameters, sort_keys=True)})
    table = pd.DataFrame(rows).sort_values(["trained", "arch", "activation", "units", "l2", "seed"], ascending=[False, True, True, True, True, True])
    with atomic_path(out_csv) as tmp:
        table.to_csv(tmp, index=False)
    trained = table[table.trained]
    by_cell = trained.groupby("cell").agg(networks=("net_id", "size"), accepted=("accepted", "sum"), failed=("failed", "sum"),
                                         median_val_loss=("final_val_loss", "median"))
    summary = {
        "task": task,
        "trained_networks": int(len(trained)),
        "untrained_twins": int((~table.trained).sum()),
        "accepted": int(trained.accepted.sum()),
        "failed": int(trained.failed.sum()),
        "failures": {row.net_id: row.failure_reason for row in trained[trained.failed].itertuples()},
        "accept_threshold": float(trained.accept_threshold.iloc[0]) if len(trained) else None,
        "median_val_loss_accepted": float(trained[trained.accepted].final_val_loss.median()) if trained.accepted.any() else None,
        "by_cell": {cell: {k: (float(v) if k == "median_val_loss" else int(v)) for k, v in row.items()} for cell, row in by_cell.iterrows()},
    }
    write_json(out_json, summary)
    log.info("%s: %d/%d trained networks accepted, %d failed", task, summary["accepted"], summary["trained_networks"], summary["failed"])
