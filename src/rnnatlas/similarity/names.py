"""The similarity metrics' names: the registry the schema, the CLI and the reports read.

A module of its own with no heavy imports, so that reading the names (a figure job, the
command line) does not load torch.
"""

METRICS: tuple[str, ...] = ("svcca", "cka_linear", "cka_rbf")
