# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Unit tests for plugins/modules/swap_size.py: in-process with patch_module_args, and through `ansible`."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.ocpv.density.plugins.modules import swap_size
from ansible_cli import run_adhoc

NODES = [
    {'metadata': {'name': 'worker-0'}, 'status': {'capacity': {'memory': '16Gi', 'ephemeral-storage': '120Gi'}}},
    {'name': 'worker-3', 'memory': '256Gi', 'ephemeral_storage': '480Gi'},
]


def run_module(args, capsys):
    """Run main() in-process; return (exit code, result dict)."""
    with patch_module_args(args):
        with pytest.raises(SystemExit) as caught:
            swap_size.main()
    return caught.value.code, json.loads(capsys.readouterr().out)


def test_plan(capsys):
    code, result = run_module({'overcommit': 150, 'nodes': NODES}, capsys)
    assert code == 0
    assert result['changed'] is False
    assert [(n['name'], n['swap_mib']) for n in result['nodes']] == [('worker-0', 8192), ('worker-3', 131072)]
    assert result['summary'] == {
        'node_count': 2, 'min_swap_mib': 8192, 'max_swap_mib': 131072, 'total_swap_mib': 139264, 'heterogeneous': True,
    }
    assert result['problems'] == []


def test_problems_are_returned_not_failed(capsys):
    code, result = run_module({'overcommit': 300, 'nodes': NODES}, capsys)
    assert code == 0 and 'failed' not in result
    assert len(result['problems']) == 1 and result['problems'][0].startswith('node worker-3: swap of 524288 MiB does not fit')


def test_margins_are_passed_through(capsys):
    # 256 GiB at 280 % needs 471859 MiB of swap: more than 480 GiB less 15 %, less than the whole disk.
    _code, result = run_module({'overcommit': 280, 'nodes': NODES}, capsys)
    assert len(result['problems']) == 1
    _code, result = run_module({'overcommit': 280, 'nodes': NODES, 'disk_margin_percent': 0, 'disk_margin_min_mib': 0}, capsys)
    assert result['problems'] == []
    _code, result = run_module({'overcommit': 280, 'nodes': NODES, 'disk_margin_percent': 2, 'disk_margin_min_mib': 0}, capsys)
    assert result['problems'] == []
    _code, result = run_module({'overcommit': 280, 'nodes': NODES, 'disk_margin_percent': 0, 'disk_margin_min_mib': 20000}, capsys)
    assert len(result['problems']) == 1


def test_overcommit_as_string_is_converted_by_ansible(capsys):
    code, result = run_module({'overcommit': '150', 'nodes': NODES}, capsys)
    assert code == 0 and result['summary']['min_swap_mib'] == 8192


@pytest.mark.parametrize('overcommit', [100, 1001, 50])
def test_out_of_range_overcommit_fails_with_the_message(overcommit, capsys):
    code, result = run_module({'overcommit': overcommit, 'nodes': NODES}, capsys)
    assert code == 1 and result['failed'] is True
    assert result['msg'].startswith('overcommit must be an integer percent from 101 to 1000')


def test_malformed_node_fails_with_the_message(capsys):
    code, result = run_module({'overcommit': 150, 'nodes': [{'name': 'w'}]}, capsys)
    assert code == 1 and result['msg'] == 'nodes[0] (w): missing memory (e.g. memory: 16Gi)'


def test_empty_nodes_fails(capsys):
    code, result = run_module({'overcommit': 150, 'nodes': []}, capsys)
    assert code == 1 and 'nodes is empty' in result['msg']


def test_missing_required_options_fail(capsys):
    code, result = run_module({'nodes': NODES}, capsys)
    assert code == 1 and 'overcommit' in result['msg']


def test_through_ansible_in_check_mode():
    result, completed = run_adhoc('ocpv.density.swap_size', {'overcommit': 150, 'nodes': NODES}, '--check')
    assert completed.returncode == 0, completed.stderr
    assert result['changed'] is False and not result.get('failed')
    assert result['nodes'][0] == {'name': 'worker-0', 'memory_mib': 16384, 'swap_mib': 8192, 'ephemeral_storage_mib': 122880}
    assert result['summary']['heterogeneous'] is True
    assert 'WARNING' not in completed.stderr


def test_through_ansible_error_message():
    result, completed = run_adhoc('ocpv.density.swap_size', {'overcommit': 100, 'nodes': NODES})
    assert completed.returncode != 0
    assert result['failed'] is True
    assert result['msg'] == ("overcommit must be an integer percent from 101 to 1000 (150 means 50 % more VM memory than RAM); "
                             "got 100 (int)")
