# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Which steps of the site procedure (playbooks/tasks/site_procedure.yml) a tag selection runs.

Each role is one tag (namespace, wasp_agent, swap, alerts, hco, verify); preflight and the run
lock always run. A step runs whole or not at all: the swap role's pause / apply / unpause is one
step, so no tag selection can leave a pool paused or apply half of it. A hand-over step (our
wasp-agent removed once HCO's runs) also needs the steps it waits for (``needs``): without the
hco step HCO may never start its agent. Pure: used by the filters in plugins/filter/steps.py."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

ROLE_TAGS = ('namespace', 'wasp_agent', 'swap', 'alerts', 'hco', 'verify')
ALWAYS_TAGS = ('preflight',)  # runs whatever is selected, as the run lock does
# Ansible's own special tags (ansible-core's TaggableMixin): never one of ours, never refused.
SPECIAL_TAGS = ('all', 'always', 'never', 'tagged', 'untagged')


def tag_problem(run_tags, skip_tags=None):
    """One sentence naming a --tags value that no step of the procedure has (a typo such as
    'alert' would run nothing but preflight), or ''. --skip-tags values are not judged: skipping
    a tag no step has changes nothing, and tools pass their own (Molecule: molecule-notest,
    notest)."""
    known = set(ROLE_TAGS) | set(ALWAYS_TAGS) | set(SPECIAL_TAGS)
    unknown = sorted(str(t) for t in (run_tags or []) if t not in known)
    if unknown:
        return ('--tags %s: no step has that tag; the tags are %s (preflight and the run lock always run)'
                % (', '.join(unknown), ', '.join(ROLE_TAGS)))
    return ''


def _selected(tag, run_tags, skip_tags):
    if tag in skip_tags:
        return False
    return not run_tags or any(t in run_tags for t in ('all', 'tagged', tag))


def selected_steps(steps, run_tags=None, skip_tags=None):
    """The steps (dicts with ``role`` and optional ``needs``: roles) the selection runs, in order.

    ``run_tags`` / ``skip_tags``: Ansible's ``ansible_run_tags`` (['all'] when no --tags) and
    ``ansible_skip_tags``."""
    run_tags, skip_tags = list(run_tags or ['all']), list(skip_tags or [])
    chosen = []
    for step in steps:
        tags = [step['role']] + list(step.get('needs') or [])
        if all(_selected(tag, run_tags, skip_tags) for tag in tags):
            chosen.append(step)
    return chosen
