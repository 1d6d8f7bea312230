"""Per-pack analyses more than one study uses."""

from __future__ import annotations

from .base import PackAnalysis, Resources


def fixed_point_analysis(config: dict, **overrides) -> PackAnalysis:
    """Fixed points, linearisation and the task's fixed-point graph of every network of a pack
    (untrained twins included), with the config's ``dynamics`` options (a study may override some)."""
    return PackAnalysis(
        name="fixed_points", outputs=("fixed_points.h5", "graph.h5"),
        command="fixed-points --task {params.task} --task-data {input.task_data} --models {input.models} "
                "--out-fixed-points {output.fixed_points} --out-graphs {output.graph} --options {params.options:q}",
        options=lambda c: {**c["dynamics"], **overrides},
        resources=Resources(threads=config["threads"]["train"], mem_mb=4000, runtime=60, gpu=True),
    )
