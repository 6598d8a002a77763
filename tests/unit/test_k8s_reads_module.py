# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""plugins/modules/k8s_reads.py and swap_rollout_plan.py in-process, with a recording stand-in
for kubernetes.core's K8sService (the reads against a real API server are in the integration
tests: verify and the swap role use these modules on every run)."""

import json

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.ocpv.density.plugins.modules import k8s_reads, swap_rollout_plan


class FakeService(object):
    def __init__(self, answers, fail_on=None):
        self.answers, self.fail_on, self.calls = answers, fail_on, []

    def find(self, **read):
        self.calls.append(read)
        if read['kind'] == self.fail_on:
            # as kubernetes.core's Waiter raises an ApiException
            raise Exception("Exception '403\nReason: Forbidden\nHTTP response body: {\"message\": \"forbidden: no %s\"}\n' "
                            "raised while trying to get resource" % read['kind'])
        return self.answers.get(read['kind'], dict(api_found=True, resources=[]))


def run(monkeypatch, capsys, module, args, service):
    monkeypatch.setattr(module, 'get_api_client', lambda m: None)
    monkeypatch.setattr(module, 'K8sService', lambda client, m: service)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as caught:
            module.main()
    return caught.value.code, json.loads(capsys.readouterr().out)


def test_reads_every_item_with_one_client_and_keys_the_answers(monkeypatch, capsys):
    service = FakeService({'Node': dict(api_found=True, resources=[{'metadata': {'name': 'w0'}}]),
                           'KubeVirt': dict(api_found=False, resources=[])})
    code, out = run(monkeypatch, capsys, k8s_reads, {'reads': [
        {'key': 'nodes', 'kind': 'Node'},
        {'key': 'pods', 'kind': 'Pod', 'namespace': 'wasp', 'label_selectors': ['name=wasp'],
         'field_selectors': ['status.phase=Running']},
        {'key': 'kv', 'api_version': 'kubevirt.io/v1', 'kind': 'KubeVirt', 'name': 'kubevirt-x'}]}, service)
    assert code == 0 and out['changed'] is False
    assert out['resources'] == {'nodes': [{'metadata': {'name': 'w0'}}], 'pods': [], 'kv': []}
    assert out['api_found'] == {'nodes': True, 'pods': True, 'kv': False}
    assert service.calls[1] == dict(kind='Pod', api_version='v1', name=None, namespace='wasp',
                                    label_selectors=['name=wasp'], field_selectors=['status.phase=Running'])


def test_a_failed_read_is_named(monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, k8s_reads, {'reads': [
        {'key': 'nodes', 'kind': 'Node'}, {'key': 'ds', 'kind': 'DaemonSet', 'api_version': 'apps/v1',
                                           'name': 'wasp-agent', 'namespace': 'wasp'}]},
        FakeService({}, fail_on='DaemonSet'))
    assert code == 1
    assert out['msg'].startswith('Forbidden (403) while reading DaemonSet wasp-agent in namespace wasp (nothing was changed)')


def test_keys_must_differ(monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, k8s_reads, {'reads': [{'key': 'a', 'kind': 'Node'}, {'key': 'a', 'kind': 'Pod'}]},
                    FakeService({}))
    assert code == 1 and out['msg'] == 'k8s_reads: every read needs its own key; got a, a'


NODE = {'metadata': {'name': 'w0', 'labels': {'node-role.kubernetes.io/worker': ''}, 'uid': 'u'},
        'status': {'capacity': {'memory': '16Gi'}, 'allocatable': {'memory': '15Gi'},
                   'images': [{'names': ['quay.io/x'], 'sizeBytes': 1}]}}


def test_fields_keep_only_the_paths_asked_for(monkeypatch, capsys):
    service = FakeService({'Node': dict(api_found=True, resources=[NODE])})
    code, out = run(monkeypatch, capsys, k8s_reads, {'reads': [
        {'key': 'nodes', 'kind': 'Node', 'fields': ['metadata.name', 'metadata.labels', 'status.capacity', 'spec.taints']},
        {'key': 'whole', 'kind': 'Node'}]}, service)
    assert code == 0, out
    assert out['resources']['nodes'] == [{'metadata': {'name': 'w0', 'labels': {'node-role.kubernetes.io/worker': ''}},
                                          'status': {'capacity': {'memory': '16Gi'}}}]
    assert out['resources']['whole'] == [NODE]


def test_a_malformed_field_path_is_refused_before_any_read(monkeypatch, capsys):
    service = FakeService({})
    code, out = run(monkeypatch, capsys, k8s_reads, {'reads': [{'key': 'n', 'kind': 'Node', 'fields': ['metadata..name']}]},
                    service)
    assert code == 1 and service.calls == []
    assert out['msg'] == "k8s_reads: a field path is keys joined by '.', got 'metadata..name'"


POOL = {'metadata': {'name': 'worker', 'labels': {'pools.operator.machineconfiguration.openshift.io/worker': ''}},
        'spec': {'configuration': {'name': 'rendered-worker-1'}}}
MC = {'apiVersion': 'machineconfiguration.openshift.io/v1', 'kind': 'MachineConfig',
      'metadata': {'name': '90-worker-swap'}, 'spec': {'config': {}}}


def test_swap_rollout_plan_reads_pool_kubeletconfigs_and_machineconfig(monkeypatch, capsys):
    service = FakeService({'MachineConfigPool': dict(api_found=True, resources=[POOL])})
    code, out = run(monkeypatch, capsys, swap_rollout_plan,
                    {'pool': 'worker', 'machineconfig': MC, 'kubelet_config': {'failSwapOn': False}}, service)
    assert code == 0, out
    assert [(c['kind'], c.get('name')) for c in service.calls] == [
        ('MachineConfigPool', 'worker'), ('KubeletConfig', None), ('MachineConfig', '90-worker-swap')]
    assert out['plan']['mode'] == 'own' and out['plan']['rollout'] and out['plan']['refusal'] == ''


def test_swap_rollout_plan_reports_a_refusal_without_failing(monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, swap_rollout_plan, {'state': 'absent', 'pool': 'worker',
                                                             'machineconfig_name': '90-worker-swap'}, FakeService({}))
    assert code == 0
    assert out['plan']['refusal'] == 'MachineConfigPool worker does not exist. Nothing was changed.'


def test_swap_rollout_plan_needs_a_named_machineconfig(monkeypatch, capsys):
    code, out = run(monkeypatch, capsys, swap_rollout_plan, {'pool': 'worker', 'machineconfig': {'kind': 'MachineConfig'}},
                    FakeService({}))
    assert code == 1 and 'needs machineconfig' in out['msg']
