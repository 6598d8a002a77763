# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""The wasp-agent DaemonSet the collection renders carries the env upstream's does (issue 14 fact 9).

wasp-agent release-4.19 (da5404d) manifests/openshift/ds.yaml and the 4.17-4.19 docs set
VERBOSITY "1" next to NODE_NAME and SWAP_UTILIZATION_THRESHOLD_FACTOR; the 4.16 docs' DaemonSet
sets no VERBOSITY (plugins/module_utils/profiles.yml says so on the rows). Judged on the offline
render, i.e. the DaemonSet a run would apply. Seen to fail with the VERBOSITY entry taken out of
the manual-4.17 row."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from offline_render import render


def agent_env(profile):
    daemonsets = [d for d in render(profile).values() if d['kind'] == 'DaemonSet']
    assert len(daemonsets) == 1, profile
    container = daemonsets[0]['spec']['template']['spec']['containers'][0]
    return dict((e['name'], e.get('value', e.get('valueFrom'))) for e in container.get('env') or [])


def test_the_417_agent_runs_at_upstreams_verbosity():
    env = agent_env('manual-4.17')
    assert env['VERBOSITY'] == '1'
    assert env['SWAP_UTILIZATION_THRESHOLD_FACTOR'] == '0.8'
    assert env['NODE_NAME'] == {'fieldRef': {'fieldPath': 'spec.nodeName'}}


def test_the_416_agent_has_no_verbosity_as_its_docs():
    assert 'VERBOSITY' not in agent_env('tp-4.16')
