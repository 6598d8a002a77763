# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""plugins/plugin_utils/steps.py: which steps of the site procedure a tag selection runs, read from
the procedure's own step lists (playbooks/tasks/site_procedure.yml)."""

from pathlib import Path

import pytest
import yaml
from ansible_collections.ocpv.density.plugins.plugin_utils.steps import ROLE_TAGS, selected_steps, tag_problem

ROOT = Path(__file__).resolve().parents[2]
PROCEDURE = yaml.safe_load((ROOT / "playbooks" / "tasks" / "site_procedure.yml").read_text())[0]["vars"]
STEPS, ABSENT_STEPS = PROCEDURE["__site_steps"], PROCEDURE["__site_absent_steps"]


def names(steps):
    return [s["role"] + ("+handover" if s.get("handover") else "") for s in steps]


def test_every_role_of_the_procedure_is_a_tag():
    assert {s["role"] for s in STEPS + ABSENT_STEPS} == set(ROLE_TAGS)


@pytest.mark.parametrize("run_tags, skip_tags, expected", [
    (["all"], [], ["namespace", "wasp_agent", "swap", "alerts", "hco", "wasp_agent+handover", "namespace+handover", "verify"]),
    (None, None, ["namespace", "wasp_agent", "swap", "alerts", "hco", "wasp_agent+handover", "namespace+handover", "verify"]),
    (["swap"], [], ["swap"]),
    (["alerts", "verify"], [], ["alerts", "verify"]),
    (["preflight"], [], []),  # preflight and the lock only: a read-only check of the cluster
    (["all"], ["hco"], ["namespace", "wasp_agent", "swap", "alerts", "verify"]),  # no hand-over without HCO's step
    (["wasp_agent"], [], ["wasp_agent"]),  # the hand-over waits for HCO's agent: needs the hco step
    (["wasp_agent", "hco"], [], ["wasp_agent", "hco", "wasp_agent+handover"]),
    (["tagged"], ["swap"], ["namespace", "wasp_agent", "alerts", "hco", "wasp_agent+handover", "namespace+handover", "verify"]),
])
def test_selection(run_tags, skip_tags, expected):
    assert names(selected_steps(STEPS, run_tags, skip_tags)) == expected


def test_swap_is_one_step_whole_or_not_at_all():
    """The pause / apply / unpause is inside the swap role: no selection runs part of it."""
    assert [s for s in STEPS if s["role"] == "swap"] == [{"role": "swap"}]
    for run_tags in (["all"], ["swap"], ["hco"], ["namespace", "swap"]):
        chosen = selected_steps(STEPS, run_tags, [])
        assert [s for s in chosen if s["role"] == "swap"] in ([], [{"role": "swap"}])


def test_absent_order_is_kept():
    assert names(selected_steps(ABSENT_STEPS, ["hco", "swap"], [])) == ["hco", "swap"]


@pytest.mark.parametrize("run_tags, skip_tags, words", [
    (["alert"], [], ["--tags alert:", "namespace, wasp_agent, swap, alerts, hco, verify"]),
    (["alert"], ["hc0"], ["--tags alert:"]),
    (["swap", "Swap"], [], ["--tags Swap:"]),
])
def test_a_tag_no_step_has_is_named(run_tags, skip_tags, words):
    problem = tag_problem(run_tags, skip_tags)
    for word in words:
        assert word in problem


@pytest.mark.parametrize("run_tags, skip_tags", [
    (["all"], []), (["swap", "hco"], ["verify"]), (["preflight"], []), (["always"], ["never"]), (["untagged"], []),
    (["all"], ["molecule-notest", "notest"]),  # Molecule's own skip tags: skipping a tag no step has changes nothing
])
def test_known_tags_are_no_problem(run_tags, skip_tags):
    assert tag_problem(run_tags, skip_tags) == ""
