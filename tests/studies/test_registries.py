"""The registries are the one source of truth: schema enums, CLI choices and captions come from them."""

import copy

import pytest

from rnnatlas import cli, plan
from rnnatlas.config import ConfigError, build_schema, load_yaml, repo_root, validate
from rnnatlas.features.toy2d import ACTIVATIONS as ACTIVATIONS_2D
from rnnatlas.models import ACTIVATIONS, CELLS
from rnnatlas.models.init import INITIALISATIONS
from rnnatlas.models.masks import MASKS
from rnnatlas.similarity import METRICS
from rnnatlas.studies import FIGURES, STUDIES
from rnnatlas.tasks import TASKS

DEFAULT = load_yaml(repo_root() / "config" / "config.yaml")


def test_schema_enums_are_the_registries():
    defs = build_schema()["$defs"]
    assert defs["task"]["enum"] == list(TASKS)
    assert defs["arch"]["enum"] == list(CELLS)
    assert defs["activation"]["enum"] == list(ACTIVATIONS)
    assert defs["activation_2d"]["enum"] == list(ACTIVATIONS_2D)
    assert defs["metric"]["enum"] == list(METRICS)
    assert defs["init"]["enum"] == list(INITIALISATIONS) and defs["mask"]["enum"] == list(MASKS)
    schema = build_schema()
    assert set(schema["properties"]["tasks"]["properties"]) == set(TASKS)
    assert all(s.section in schema["properties"] for s in STUDIES.values())


def test_every_registered_activation_is_accepted_by_the_config():
    config = copy.deepcopy(DEFAULT)
    config["universality"]["grid"]["activation"] = list(ACTIVATIONS)  # softplus, sigmoid, linear included
    validate(config)


def test_a_newly_registered_cell_becomes_valid_everywhere():
    config = copy.deepcopy(DEFAULT)
    config["universality"]["grid"]["arch"] = ["vanilla", "mycell"]
    with pytest.raises(ConfigError, match=r"'mycell' is not allowed; allowed: 'vanilla', 'ugrnn', 'gru', 'lstm'"):
        validate(config)
    CELLS["mycell"] = CELLS["vanilla"]
    try:
        validate(config)
        assert "mycell" in {n.arch for n in plan.trained_networks(config, "flipflop")}
    finally:
        del CELLS["mycell"]


def test_cli_choices_are_the_registries():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "stage").choices
    choices = {stage: {a.dest: a.choices for a in p._actions if a.choices} for stage, p in sub.items()}
    assert list(choices["figure"]["name"]) == FIGURES.names()
    assert list(choices["similarity-merge"]["metric"]) == list(METRICS)
    assert list(choices["train"]["task"]) == list(TASKS)
    assert list(choices["toy2d"]["activation"]) == list(ACTIVATIONS_2D)
    assert set(cli.STAGES) == set(sub)  # every stage the parser knows is dispatched, and no other


def test_every_figure_has_a_study_and_a_caption():
    for study in STUDIES.values():
        for figure in study.declared_figures():
            assert FIGURES.get(figure.name).study == study.name
            assert len(figure.caption) > 40 and figure.name in figure.caption or figure.caption.startswith("**")


def test_each_task_is_trained_by_one_study():
    studies = plan.trained_tasks(DEFAULT)
    assert studies == {"flipflop": STUDIES["universality"], "sine": STUDIES["universality"],
                       "cdi": STUDIES["universality"], "rsg": STUDIES["space_of_solutions"],
                       "perception": STUDIES["training_change"], "decision": STUDIES["training_change"],
                       "go": STUDIES["multitask"], "go_family": STUDIES["multitask"]}


def test_render_command_fills_placeholders_as_snakemake_would():
    from rnnatlas.studies.base import render_command

    cmd = render_command("x --a {input.a} --b {output.b} --o {params.o:q} {threads}",
                         input={"a": ["f 1.h5", "f2.h5"]}, output={"b": "out.json"}, params={"o": '{"k": 1}'})
    assert cmd == "x --a f 1.h5 f2.h5 --b out.json --o '{\"k\": 1}' {threads}"  # {threads}: left to Snakemake
    with pytest.raises(KeyError, match=r"no input\.missing"):
        render_command("{input.missing}", input={})
