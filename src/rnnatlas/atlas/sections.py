"""What the atlas shows: one :class:`AtlasSection` per study and task (or per population).

Each study says what its sections are (``Study.atlas_sections``; the base class gives one per
trained task); the workflow collects them from every enabled study, passes them to the
``atlas`` stage as JSON and lists their files as the rule's inputs. Light module: imported
when the workflow is planned (no numpy, no torch).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from ..studies.base import PackAnalysis

TRAINING_FILES = ("model.h5", "probe.h5")  # what every trained network (and twin) has


@dataclass(frozen=True)
class AtlasSection:
    """One scatter of networks in the atlas.

    ``networks`` maps each network id to the per-network files the atlas reads from
    ``results/<task>/nets/<id>/`` (a twin may lack analyses its trained network has);
    ``embeddings``/``distances`` map a metric name to its embedding and pairwise file;
    ``population`` names a reader of :data:`rnnatlas.atlas.readers.POPULATIONS` and the one file
    holding a whole population (study S's 2-D networks: thousands in one file)."""

    study: str
    study_title: str
    task: str
    networks: dict[str, tuple[str, ...]] = field(default_factory=dict)
    embeddings: dict[str, str] = field(default_factory=dict)
    distances: dict[str, str] = field(default_factory=dict)
    population: dict[str, str] = field(default_factory=dict)  # {"reader": name, "path": file}
    label: str = ""  # shown in the atlas (default: the task)

    @property
    def key(self) -> str:
        """Unique name of the section (also its folder of card files)."""
        return f"{self.study}.{self.label or self.task}".replace("/", "_").replace(" ", "_")

    @property
    def size(self) -> int:
        """Networks listed at planning time (a population's size is known once its file is read)."""
        return len(self.networks)

    def network_paths(self, net: str) -> dict[str, str]:
        """File name → planned path (``results/<task>/nets/<net>/<name>``) of one network's files."""
        from ..studies.base import net_file

        return {name: net_file(self.task, net, name) for name in self.networks[net]}

    def inputs(self) -> list[str]:
        """Every file the atlas reads for this section."""
        files = [path for net in self.networks for path in self.network_paths(net).values()]
        files += [*self.embeddings.values(), *self.distances.values()]
        if self.population:
            files.append(self.population["path"])
        return files

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "AtlasSection":
        from dataclasses import fields

        from ..errors import InputError

        known = {f.name for f in fields(cls)}
        if not isinstance(data, dict) or set(data) - known or not {"study", "study_title", "task"} <= set(data):
            raise InputError(f"not an atlas section: {str(data)[:200]} (keys allowed: {sorted(known)}; "
                             "study, study_title and task required)")
        data = dict(data)
        data["networks"] = {k: tuple(v) for k, v in data.get("networks", {}).items()}
        return cls(**data)


def network_files(analyses: Sequence["PackAnalysis"], twin: bool) -> tuple[str, ...]:
    """The files a network has: its training files and the outputs of the pack analyses that
    cover it (``PackAnalysis.twins`` says whether untrained twins are analysed)."""
    names = list(TRAINING_FILES)
    for analysis in analyses:
        if analysis.twins or not twin:
            names += [n for n in analysis.outputs if n not in names]
    return tuple(names)


def plan_sections(config: dict) -> list[AtlasSection]:
    """Every enabled study's sections, in registry order; keys must be unique."""
    from ..plan import enabled_studies

    sections = [s for study in enabled_studies(config) for s in study.atlas_sections(config)]
    keys = [s.key for s in sections]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"atlas sections with the same key: {duplicates} (give each a distinct label)")
    return sections
