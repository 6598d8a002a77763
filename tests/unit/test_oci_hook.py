# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Unit tests for the OCI hook payload in roles/wasp_agent/files: the real script, stub runtimes."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import shutil
import stat
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FILES = os.path.join(ROOT, 'roles', 'wasp_agent', 'files')
HOOK = os.path.join(FILES, 'oci-hook-swap.sh')
HOOK_JSON = os.path.join(FILES, 'swap-for-burstable.json')

CONTAINER_ID = '3f1c0d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e'
POD_UID = '9c3f6a52_1b2d_4e8f_a7c1_2d3e4f5a6b7c'
BURSTABLE = 'kubepods-burstable-pod{0}.slice:crio:{1}'.format(POD_UID, CONTAINER_ID)
GUARANTEED = 'kubepods-pod{0}.slice:crio:{1}'.format(POD_UID, CONTAINER_ID)
BEST_EFFORT = 'kubepods-besteffort-pod{0}.slice:crio:{1}'.format(POD_UID, CONTAINER_ID)
CGROUPFS_BURSTABLE = '/kubepods/burstable/pod{0}/{1}'.format(POD_UID, CONTAINER_ID)

RUNC_CALL = ['runc', 'update', CONTAINER_ID, '--memory-swap', '-1']
CRUN_CALL = ['crun', 'update', '--memory-swap=-1', CONTAINER_ID]

SHELLS = [shell for shell in ('/bin/sh', shutil.which('bash'), shutil.which('dash')) if shell]
TOOLS = ('cat', 'tr', 'sed', 'cut')


def write_executable(path, text):
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def oci_config(cgroups_path, pretty=False, pod_name='virt-launcher-vm1-abcde'):
    """A trimmed config.json as CRI-O writes it for a pod container."""
    config = {
        'ociVersion': '1.0.2-dev',
        'process': {'args': ['/usr/bin/virt-launcher'], 'cwd': '/'},
        'root': {'path': '/var/lib/containers/storage/overlay/abc/merged'},
        'annotations': {
            'io.kubernetes.pod.namespace': 'vms',
            'io.kubernetes.pod.name': pod_name,
            # CRI-O also carries the pod's labels, JSON-encoded, with the pod name among them.
            'io.kubernetes.cri-o.Labels': json.dumps({'io.kubernetes.pod.name': pod_name, 'kubevirt.io': 'virt-launcher'}),
            'io.kubernetes.cri-o.ContainerID': CONTAINER_ID,
        },
        'linux': {
            'resources': {'memory': {'limit': 0}},
            'cgroupsPath': cgroups_path,
            'namespaces': [{'type': 'pid'}, {'type': 'mount'}],
        },
    }
    return json.dumps(config, indent='\t' if pretty else None)


def oci_state(bundle, container_id=CONTAINER_ID, pretty=False):
    """The container state JSON a runtime passes to a hook on stdin."""
    state = {'ociVersion': '1.0.2', 'id': container_id, 'status': 'running', 'pid': 4242, 'bundle': bundle,
             'annotations': {'io.kubernetes.container.name': 'compute'}}
    return json.dumps(state, indent=2 if pretty else None)


class HookRun(object):
    """A sandbox: a bundle, stub runtimes recording argv, and a PATH of only what we put there."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.bin = tmp_path / 'bin'
        self.tools = tmp_path / 'tools'
        self.bundle = tmp_path / 'bundle'
        self.record = tmp_path / 'calls'
        for directory in (self.bin, self.tools, self.bundle):
            directory.mkdir()
        for tool in TOOLS:
            os.symlink(shutil.which(tool), str(self.tools / tool))

    def add_jq(self):
        jq = shutil.which('jq')
        if not jq:
            pytest.skip('jq is not installed')
        os.symlink(jq, str(self.tools / 'jq'))

    def add_runtime(self, name, exit_code=0):
        write_executable(self.bin / name, '#!/bin/sh\nprintf "%s\\n" "{0}" "$@" >>"$HOOK_RECORD"\nexit {1}\n'.format(name, exit_code))

    def write_config(self, cgroups_path, pretty=False, where=None, pod_name='virt-launcher-vm1-abcde'):
        (where or self.bundle).joinpath('config.json').write_text(oci_config(cgroups_path, pretty, pod_name))

    def run(self, state, shell='/bin/sh', cwd=None, parent=None, args=()):
        env = {'PATH': '{0}:{1}'.format(self.bin, self.tools), 'HOOK_RECORD': str(self.record)}
        command = [shell, HOOK] + list(args)
        if parent:
            # Run the hook from a process named like a runtime, as runc/crun run their hooks.
            launcher = self.tmp / 'parent' / parent
            launcher.parent.mkdir(exist_ok=True)
            write_executable(launcher, '#!/bin/sh\n{0} "{1}"\n'.format(shell, HOOK))
            command = [str(launcher)]
        return subprocess.run(command, input=state, env=env, cwd=str(cwd or self.tmp), capture_output=True, text=True,
                              timeout=30, check=False)

    def calls(self):
        if not self.record.exists():
            return []
        return self.record.read_text().splitlines()


@pytest.fixture
def hook(tmp_path):
    return HookRun(tmp_path)


@pytest.mark.parametrize('shell', SHELLS)
@pytest.mark.parametrize('with_jq', [True, False], ids=['jq', 'no-jq'])
def test_burstable_calls_runc(hook, shell, with_jq):
    if with_jq:
        hook.add_jq()
    hook.add_runtime('runc')
    hook.write_config(BURSTABLE)
    result = hook.run(oci_state(str(hook.bundle)), shell=shell)
    assert result.returncode == 0, result.stderr
    assert hook.calls() == RUNC_CALL


@pytest.mark.parametrize('with_jq', [True, False], ids=['jq', 'no-jq'])
def test_burstable_calls_crun_when_runc_is_absent(hook, with_jq):
    if with_jq:
        hook.add_jq()
    hook.add_runtime('crun')
    hook.write_config(BURSTABLE)
    result = hook.run(oci_state(str(hook.bundle)))
    assert result.returncode == 0, result.stderr
    assert hook.calls() == CRUN_CALL


def test_runc_is_preferred_when_both_exist_and_the_parent_is_unknown(hook):
    hook.add_runtime('runc')
    hook.add_runtime('crun')
    hook.write_config(BURSTABLE)
    assert hook.run(oci_state(str(hook.bundle))).returncode == 0
    assert hook.calls() == RUNC_CALL


@pytest.mark.parametrize('parent, expected', [('crun', CRUN_CALL), ('runc', RUNC_CALL)])
def test_the_runtime_running_the_hook_is_used(hook, parent, expected):
    hook.add_runtime('runc')
    hook.add_runtime('crun')
    hook.write_config(BURSTABLE)
    result = hook.run(oci_state(str(hook.bundle)), parent=parent)
    assert result.returncode == 0, result.stderr
    assert hook.calls() == expected


@pytest.mark.parametrize('shell', SHELLS)
@pytest.mark.parametrize('cgroups_path', [GUARANTEED, BEST_EFFORT, '/kubepods/pod{0}/{1}'.format(POD_UID, CONTAINER_ID),
                                          '/kubepods/besteffort/pod{0}/{1}'.format(POD_UID, CONTAINER_ID), ''])
@pytest.mark.parametrize('with_jq', [True, False], ids=['jq', 'no-jq'])
def test_guaranteed_and_best_effort_are_left_alone(hook, shell, cgroups_path, with_jq):
    if with_jq:
        hook.add_jq()
    hook.add_runtime('runc')
    hook.add_runtime('crun')
    hook.write_config(cgroups_path)
    result = hook.run(oci_state(str(hook.bundle)), shell=shell)
    assert result.returncode == 0 and hook.calls() == []
    assert result.stderr == ''


def test_non_burstable_succeeds_even_without_any_runtime(hook):
    hook.write_config(GUARANTEED)
    result = hook.run(oci_state(str(hook.bundle)))
    assert result.returncode == 0 and result.stderr == ''


@pytest.mark.parametrize('with_jq', [True, False], ids=['jq', 'no-jq'])
def test_cgroupfs_path_takes_the_id_from_the_state(hook, with_jq):
    if with_jq:
        hook.add_jq()
    hook.add_runtime('runc')
    hook.write_config(CGROUPFS_BURSTABLE)
    assert hook.run(oci_state(str(hook.bundle), container_id='from-state-0123')).returncode == 0
    assert hook.calls() == ['runc', 'update', 'from-state-0123', '--memory-swap', '-1']


@pytest.mark.parametrize('with_jq', [True, False], ids=['jq', 'no-jq'])
def test_pretty_printed_json(hook, with_jq):
    if with_jq:
        hook.add_jq()
    hook.add_runtime('runc')
    hook.write_config(BURSTABLE, pretty=True)
    assert hook.run(oci_state(str(hook.bundle), pretty=True)).returncode == 0
    assert hook.calls() == RUNC_CALL


@pytest.mark.parametrize('state', ['', '{"ociVersion": "1.0.2", "id": "x", "status": "running"}'], ids=['empty-stdin', 'no-bundle'])
def test_falls_back_to_config_json_in_the_working_directory(hook, state):
    hook.add_runtime('runc')
    hook.write_config(BURSTABLE)
    result = hook.run(state, cwd=hook.bundle)
    assert result.returncode == 0, result.stderr
    assert hook.calls() == RUNC_CALL


def test_bundle_without_config_falls_back_to_the_working_directory(hook, tmp_path):
    hook.add_runtime('runc')
    hook.write_config(BURSTABLE)
    empty_bundle = tmp_path / 'empty-bundle'
    empty_bundle.mkdir()
    assert hook.run(oci_state(str(empty_bundle)), cwd=hook.bundle).returncode == 0
    assert hook.calls() == RUNC_CALL


def test_no_config_anywhere_is_logged_and_not_an_error(hook):
    hook.add_runtime('runc')
    result = hook.run(oci_state(str(hook.tmp / 'gone')))
    assert result.returncode == 0 and hook.calls() == []
    assert 'oci-hook-swap: no readable config.json' in result.stderr


def test_burstable_without_runtime_fails_with_a_log_line(hook):
    hook.write_config(BURSTABLE)
    result = hook.run(oci_state(str(hook.bundle)))
    assert result.returncode == 1
    assert result.stderr == 'oci-hook-swap: neither runc nor crun found; swap not enabled for container {0}\n'.format(CONTAINER_ID)


def test_runtime_failure_is_reported(hook):
    hook.add_runtime('runc', exit_code=3)
    hook.write_config(BURSTABLE)
    result = hook.run(oci_state(str(hook.bundle)))
    assert result.returncode == 3
    assert hook.calls() == RUNC_CALL
    assert 'oci-hook-swap: runc update of container {0} failed (exit 3)'.format(CONTAINER_ID) in result.stderr


@pytest.mark.parametrize('cgroups_path', ['kubepods-burstable-podX.slice:crio:', 'kubepods-burstable-podX.slice:crio:--help'])
def test_unusable_container_id_is_refused(hook, cgroups_path):
    hook.add_runtime('runc')
    hook.write_config(cgroups_path)
    result = hook.run(oci_state(str(hook.bundle)))
    assert result.returncode == 1 and hook.calls() == []
    assert 'no usable container id' in result.stderr


def test_script_is_executable_posix_sh():
    assert os.access(HOOK, os.X_OK)
    with open(HOOK) as handle:
        assert handle.readline() == '#!/bin/sh\n'


def test_script_is_shellcheck_clean():
    shellcheck = shutil.which('shellcheck') or os.path.join(os.path.dirname(sys.executable), 'shellcheck')
    if not os.path.exists(shellcheck):
        pytest.skip('shellcheck is not installed')
    result = subprocess.run([shellcheck, '--shell=sh', HOOK], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout


def test_hook_json_is_what_wasp_agent_ships():
    with open(HOOK_JSON) as handle:
        assert json.load(handle) == {
            'version': '1.0.0',
            'hook': {'path': '/opt/oci-hook-swap.sh'},
            'when': {'always': True},
            'stages': ['poststart'],
        }


# --- Scope: which containers get swap (the hook JSON's argument, from the profile row) ---------

NON_VM_PODS = ['my-app-7d9f8-xk2lp', 'not-virt-launcher-x', 'virt-launcher', 'virt-handler-abcde']


@pytest.mark.parametrize('with_jq', [True, False], ids=['jq', 'no-jq'])
@pytest.mark.parametrize('args', [(), ('virt-launcher',)], ids=['default', 'virt-launcher'])
@pytest.mark.parametrize('pod_name', NON_VM_PODS)
def test_virt_launcher_scope_leaves_non_vm_burstable_pods_alone(hook, with_jq, args, pod_name):
    """4.16 (wasp-agent v1.0 contrib/hook.sh, c6071e0): only Burstable virt-launcher pods get
    swap, and nothing lowers it again. Failed before the fix: the hook called runc for every
    Burstable container, whatever its pod."""
    if with_jq:
        hook.add_jq()
    hook.add_runtime('runc')
    hook.write_config(BURSTABLE, pod_name=pod_name)
    result = hook.run(oci_state(str(hook.bundle)), args=args)
    assert result.returncode == 0, result.stderr
    assert hook.calls() == []


@pytest.mark.parametrize('with_jq', [True, False], ids=['jq', 'no-jq'])
@pytest.mark.parametrize('cgroups_path', [BURSTABLE, CGROUPFS_BURSTABLE], ids=['systemd', 'cgroupfs'])
def test_virt_launcher_scope_lifts_vm_pods(hook, with_jq, cgroups_path):
    if with_jq:
        hook.add_jq()
    hook.add_runtime('runc')
    hook.write_config(cgroups_path, pod_name='virt-launcher-fedora-vm-9xk2p')
    result = hook.run(oci_state(str(hook.bundle)), args=('virt-launcher',))
    assert result.returncode == 0, result.stderr
    assert hook.calls() == RUNC_CALL


@pytest.mark.parametrize('with_jq', [True, False], ids=['jq', 'no-jq'])
@pytest.mark.parametrize('pod_name', NON_VM_PODS + ['virt-launcher-vm1-abcde'])
def test_burstable_scope_lifts_every_burstable_pod(hook, with_jq, pod_name):
    """4.17+ (v1.1 OCI-hook/hook.sh 03ca680, main hookscript.template ff5e210): every Burstable
    container; that agent's limited-swap manager lowers each to its share afterwards."""
    if with_jq:
        hook.add_jq()
    hook.add_runtime('runc')
    hook.write_config(BURSTABLE, pod_name=pod_name)
    result = hook.run(oci_state(str(hook.bundle)), args=('burstable',))
    assert result.returncode == 0, result.stderr
    assert hook.calls() == RUNC_CALL


@pytest.mark.parametrize('cgroups_path', [GUARANTEED, BEST_EFFORT])
def test_burstable_scope_still_leaves_guaranteed_and_best_effort_alone(hook, cgroups_path):
    hook.add_runtime('runc')
    hook.write_config(cgroups_path)
    assert hook.run(oci_state(str(hook.bundle)), args=('burstable',)).returncode == 0
    assert hook.calls() == []


def test_unknown_scope_is_logged_and_lifts_nothing(hook):
    hook.add_runtime('runc')
    hook.write_config(BURSTABLE)
    result = hook.run(oci_state(str(hook.bundle)), args=('everything',))
    assert result.returncode == 0 and hook.calls() == []
    assert "unknown scope 'everything'" in result.stderr
