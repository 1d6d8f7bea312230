"""The 2019 paper's claims as numbers, read from a finished run's results folder.

One line per claim, in the order of the README's claims table, from
``results/universality/summary.json``, ``results/<task>/dynamics_summary.json`` and
``results/<task>/training_summary.csv`` (nothing is recomputed):

    python experiments/claims.py --results results
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

SEPARATION_METRICS = ("svcca", "cka_linear", "cka_rbf", "procrustes", "graph")


def _test(entry: dict | None) -> str:
    """'0.42 (p 0.001, n 16)' for one silhouette_test record; '—' where undefined."""
    if not entry or entry.get("silhouette") is None:
        return "—" if not entry else f"— (n {entry.get('n', 0)})"
    return f"{entry['silhouette']:.2f} (p {entry['p_value']:.3f}, n {entry['n']})"


def _load(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def accepted_by_cell(results: Path, task: str) -> str:
    table = pd.read_csv(results / task / "training_summary.csv")
    table = table[table.trained.astype(bool)]
    cells = table.groupby(["arch", "activation"]).accepted.agg(["sum", "count"])
    body = ", ".join(f"{a} {b} {int(r['sum'])}/{int(r['count'])}" for (a, b), r in cells.iterrows())
    return f"{int(table.accepted.sum())}/{len(table)} accepted ({body})"


def curve(group: dict, index: int) -> str:
    mean = group["mean"][index]
    return "nan" if mean is None else f"{mean:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=Path("results"))
    args = parser.parse_args()
    summary = _load(args.results / "universality" / "summary.json").get("tasks", {})
    for task, t in summary.items():
        dyn = _load(args.results / task / "dynamics_summary.json")
        print(f"## {task}: {accepted_by_cell(args.results, task)}")
        for metric in SEPARATION_METRICS:
            subsets = t["metrics"].get(metric, {}).get("paper_subsets")
            if subsets:
                print(f"- {metric}: architecture among tanh {_test(subsets['architecture_among_tanh']['distance'])}; "
                      f"nonlinearity among Vanilla {_test(subsets['nonlinearity_among_vanilla']['distance'])}; "
                      f"architecture pooled {_test(subsets['architecture_pooled']['distance'])}")
        modal = t.get("modal_fixed_point_count", {})
        print(f"- fixed points: modal node count {modal.get('modal_node_count')} in {modal.get('fraction')} "
              f"of {modal.get('n')}; histogram {modal.get('node_count_histogram')}")
        if "fraction_with_expected_stable_points" in dyn:
            print(f"- {dyn['expected_stable_points']} stable points in {dyn['fraction_with_expected_stable_points']:.3f} "
                  f"of {dyn['n_studied']}; missing an attractor: {dyn['n_studied_missing_an_attractor']}")
        if "median_relative_frequency_error" in dyn:
            cmd = dyn["command_frequency"]
            print(f"- sine: median relative frequency error {dyn['median_relative_frequency_error']:.3f}; "
                  f"linearised frequency at commands {cmd[0]:.3f} / {cmd[len(cmd) // 2]:.3f} / {cmd[-1]:.3f}: " + "; ".join(
                      f"{arch} (n {g['n']}) {curve(g, 0)} / {curve(g, len(cmd) // 2)} / {curve(g, -1)}"
                      for arch, g in dyn["linearized_frequency_by_arch"].items()))
        if "eigenvalue_closest_to_1_by_arch" in dyn:
            print("- CDI eigenvalue nearest 1: " + ", ".join(
                f"{a} {g['mean']:.3f}" for a, g in dyn["eigenvalue_closest_to_1_by_arch"].items()))
            kept = dyn["modes_kept"]
            print(f"- CDI unit-pulse response with {kept[0]} → {kept[-1]} modes: " + ", ".join(
                f"{a} {g['mean'][0]:.2f} → {g['mean'][-1]:.2f}" for a, g in dyn["mode_response_by_arch"].items()))
        for metric, comp in t.get("untrained_comparison", {}).items():
            if metric != "svcca":
                continue
            for act, r in comp["trained_closer_to_own_untrained_than_to_other_trained"].items():
                if r["holds"] is None:
                    print(f"- Fig. 4 ({metric}, trained {act}): not testable (groups {comp['groups']})")
                    continue
                print(f"- Fig. 4 ({metric}, trained {act}, n {r['n_reference']}): to untrained {act} {r['to_near']:.3f}, "
                      f"to trained other {r['to_far']:.3f}; holds {r['holds']} (p {r['p_value']:.3f}, "
                      f"{r['fraction_of_reference_closer']:.2f} of networks)")


if __name__ == "__main__":
    main()
