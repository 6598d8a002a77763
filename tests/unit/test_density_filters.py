# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Unit tests for plugins/filter/density.py: the wrappers, and real templating through `ansible`."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.ocpv.density.plugins.filter.density import FilterModule, qos_class, swap_eligible
from ansible_cli import run_adhoc

LAUNCHER = {
    'apiVersion': 'v1',
    'kind': 'Pod',
    'metadata': {'name': 'virt-launcher-vm1-abcde', 'namespace': 'vms', 'labels': {'kubevirt.io': 'virt-launcher'}},
    'spec': {
        'priority': 0,
        'containers': [
            {'name': 'compute', 'resources': {'requests': {'cpu': '100m', 'memory': '2294Mi'}, 'limits': {'devices.kubevirt.io/kvm': '1'}}},
            {'name': 'guest-console-log', 'resources': {'requests': {'cpu': '5m', 'memory': '35M'}, 'limits': {'cpu': '15m', 'memory': '60M'}}},
        ],
    },
}
GUARANTEED = {
    'metadata': {'name': 'db', 'namespace': 'apps'},
    'spec': {'containers': [{'name': 'db', 'resources': {'limits': {'cpu': '2', 'memory': '4Gi'}}}]},
}


def test_filters_are_registered():
    assert set(FilterModule().filters()) == {'qos_class', 'swap_eligible'}


def test_wrappers():
    assert qos_class(LAUNCHER) == 'Burstable'
    assert swap_eligible(LAUNCHER) is True
    assert swap_eligible(LAUNCHER, container='compute') is True
    assert qos_class(GUARANTEED) == 'Guaranteed'
    assert swap_eligible(GUARANTEED) is False


@pytest.mark.parametrize('function', [qos_class, swap_eligible])
def test_wrappers_raise_filter_errors_with_the_message(function):
    with pytest.raises(AnsibleFilterError) as caught:
        function({'metadata': {'name': 'p', 'namespace': 'ns'}, 'spec': {'containers': 'x'}})
    assert str(caught.value) == '{0}: pod ns/p: spec.containers must be a list, got str'.format(function.__name__)


def template(expression, variables, tmp_path):
    """Render ``expression`` with ``variables`` through `ansible localhost -m debug -e @file`."""
    path = tmp_path / 'vars.json'
    path.write_text(json.dumps(variables))
    return run_adhoc('ansible.builtin.debug', 'msg={{ ' + expression + ' }}', '-e', '@' + str(path))


def test_filters_in_real_templating(tmp_path):
    # One ansible run for all cases: each CLI start costs about a second.
    cases = [
        ('launcher | ocpv.density.qos_class', 'Burstable'),
        ('guaranteed | ocpv.density.qos_class', 'Guaranteed'),
        ('besteffort | ocpv.density.qos_class', 'BestEffort'),
        ('launcher | ocpv.density.swap_eligible', True),
        ('guaranteed | ocpv.density.swap_eligible', False),
        ('besteffort | ocpv.density.swap_eligible', False),
        ("launcher | ocpv.density.swap_eligible(container='compute')", True),
        ("[launcher, guaranteed, besteffort] | map('ocpv.density.qos_class') | list", ['Burstable', 'Guaranteed', 'BestEffort']),
    ]
    variables = {'launcher': LAUNCHER, 'guaranteed': GUARANTEED, 'besteffort': {'spec': {'containers': [{'name': 'c'}]}}}
    result, completed = template('[' + ', '.join(expression for expression, _expected in cases) + ']', variables, tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert result['msg'] == [expected for _expression, expected in cases]
    assert 'WARNING' not in completed.stderr


def test_filter_error_through_ansible(tmp_path):
    bad = {'metadata': {'name': 'p', 'namespace': 'ns'}, 'spec': {'containers': [{'name': 'c', 'resources': {'requests': {'memory': '1 GB'}}}]}}
    result, completed = template('pod | ocpv.density.qos_class', {'pod': bad}, tmp_path)
    assert completed.returncode != 0
    assert result['failed'] is True
    assert "qos_class: pod ns/p: spec.containers[0] (c).resources.requests.memory: invalid quantity '1 GB'" in result['msg']
