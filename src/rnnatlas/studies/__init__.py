"""The study registry: each study is one module here plus one registration line below.

Plug-in studies (outside this package, e.g. a lab's own) are Python files or modules named in
the config key ``plugins`` (or passed to the command line as ``--plugin``); importing one
registers its tasks, cells and studies the same way. See docs/architecture.md.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from .base import FIGURES, STUDIES, Figure, Job, Pack, PackAnalysis, Resources, Study, register_study, unregister_study
from .multitask import Multitask
from .space_of_solutions import SpaceOfSolutions
from .training_change import TrainingChange
from .universality import Universality

register_study(Universality())
register_study(SpaceOfSolutions())
register_study(TrainingChange())
register_study(Multitask())

__all__ = ["FIGURES", "STUDIES", "Figure", "Job", "Pack", "PackAnalysis", "Resources", "Study", "load_plugins",
           "register_study", "unregister_study"]


def load_plugins(plugins: list[str], base: str | Path | None = None) -> None:
    """Import each plug-in once: a path to a ``.py`` file (relative to ``base``, default the
    working directory) or an importable module name. Importing registers what it declares."""
    for plugin in plugins:
        if plugin.endswith(".py"):
            path = Path(plugin) if Path(plugin).is_absolute() else Path(base or ".") / plugin
            path = path.resolve()
            if not path.is_file():
                raise FileNotFoundError(f"plug-in {plugin!r}: no such file ({path})")
            name = f"rnnatlas_plugin_{path.stem}_{abs(hash(str(path))) % 10**8}"
            if name in sys.modules:
                continue
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
        else:
            importlib.import_module(plugin)
