#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: pods_exec
short_description: Run one read-only command in many pods, a few at a time, in one task
version_added: 0.1.0
author:
  - ocpv.density maintainers (!UNKNOWN)
description:
  - Runs the same command in each of O(pods) (for example the wasp-agent pod of every node, to read
    the node's C(/proc/meminfo)) and returns what each printed and its exit code.
  - One module process and up to O(parallel) exec streams at a time, instead of one
    M(kubernetes.core.k8s_exec) task (one process, one stream) per pod; the API requests are the
    same, one C(pods/exec) per pod.
  - Meant for reads. It runs in check mode too (the command is expected not to change anything)
    and always reports C(changed=false).
options:
  namespace:
    description: Namespace of the pods.
    type: str
    required: true
  pods:
    description: Names of the pods.
    type: list
    elements: str
    required: true
  container:
    description: Container to run the command in. Required when a pod has more than one.
    type: str
  command:
    description: The command, split like a shell would (C(shlex)); no shell unless you run one.
    type: str
    required: true
  parallel:
    description: Exec streams open at once (1-50).
    type: int
    default: 10
  timeout:
    description:
      - Seconds to wait for the command in one pod to finish (1-3600). A pod whose command has not
        finished by then gets RV(results[].rc=-1) and a message; the other pods are not affected.
    type: int
    default: 60
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Runs the command (it must be a read) and reports no change.
  diff_mode:
    support: none
  platform:
    platforms: posix
    support: full
requirements:
  - kubernetes.core collection
  - kubernetes >= 24.2.0
seealso:
  - module: kubernetes.core.k8s_exec
"""

EXAMPLES = r"""
- name: Read /proc/meminfo of every node through its wasp-agent pod
  ocpv.density.pods_exec:
    namespace: wasp
    pods: [wasp-agent-abcde, wasp-agent-fghij]
    container: wasp-agent
    command: sh -c 'grep -E "^(MemTotal|SwapTotal):" "${FSROOT:-/host}/proc/meminfo"'
  register: meminfo
"""

RETURN = r"""
results:
  description: One entry per pod, in the order of O(pods).
  returned: always
  type: list
  elements: dict
  contains:
    pod:
      description: Pod name.
      type: str
    rc:
      description: Exit code of the command (-1 when it could not be run).
      type: int
    stdout:
      description: What the command printed.
      type: str
    stderr:
      description: What the command printed on stderr.
      type: str
    msg:
      description: Why the command could not be run.
      type: str
      returned: when it could not be run
"""

import shlex
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.ocpv.density.plugins.module_utils.kube_module import api_client, k8s_module

try:
    import yaml
    from kubernetes import client as k8s_client
    from kubernetes.stream import stream
except ImportError:  # AnsibleK8SModule reports the missing library
    pass


def exec_in_pod(configuration, namespace, pod, container, command, timeout=60):
    """Run `command` in `pod`; a dict as in RETURN. Its own ApiClient: stream() patches the client
    it is given for the duration of the call, so threads must not share one."""
    kwargs = {'container': container} if container else {}
    try:
        api = k8s_client.CoreV1Api(k8s_client.ApiClient(configuration))
        resp = stream(api.connect_get_namespaced_pod_exec, pod, namespace, command=command, stdout=True,
                      stderr=True, stdin=False, tty=False, _preload_content=False, **kwargs)
        try:
            # Read the channels only once the stream is closed. Every peek pulls in all frames that
            # have arrived, whatever their channel: reading stdout as it came lost the output that
            # arrived with the close during the stderr peek (rc 0, empty stdout, ~1 exec in 1000).
            resp.run_forever(timeout=timeout)
            if resp.is_open():
                return dict(pod=pod, rc=-1, stdout='', stderr='',
                            msg='exec in pod %s/%s did not finish within %s s' % (namespace, pod, timeout))
            stdout, stderr = resp.read_stdout(), resp.read_stderr()
            status = yaml.safe_load(resp.read_channel(3) or '{}') or {}
        finally:
            resp.close()
    except Exception as e:  # pylint: disable=broad-except  # reported per pod, the others go on
        return dict(pod=pod, rc=-1, stdout='', stderr='', msg='exec in pod %s/%s failed: %s'
                    % (namespace, pod, e))
    if status.get('status') == 'Success':
        rc = 0
    else:
        try:
            rc = int(status['details']['causes'][0]['message'])
        except (KeyError, IndexError, TypeError, ValueError):
            return dict(pod=pod, rc=-1, stdout=stdout, stderr=stderr,
                        msg='exec in pod %s/%s: %s' % (namespace, pod, status.get('message') or status))
    return dict(pod=pod, rc=rc, stdout=stdout, stderr=stderr)


def main():
    module = k8s_module('ocpv.density.pods_exec', dict(
        namespace=dict(type='str', required=True),
        pods=dict(type='list', elements='str', required=True),
        container=dict(type='str'),
        command=dict(type='str', required=True),
        parallel=dict(type='int', default=10),
        timeout=dict(type='int', default=60),
    ))
    params = module.params
    if not 1 <= params['parallel'] <= 50:
        module.fail_json(msg='parallel must be between 1 and 50, got %s' % params['parallel'])
    if not 1 <= params['timeout'] <= 3600:
        module.fail_json(msg='timeout must be between 1 and 3600 (seconds), got %s' % params['timeout'])
    try:
        command = shlex.split(params['command'])
    except ValueError as e:
        module.fail_json(msg='command cannot be split into words: %s' % e)
    configuration = api_client(module).configuration
    with ThreadPoolExecutor(max_workers=params['parallel']) as pool:
        results = list(pool.map(lambda pod: exec_in_pod(configuration, params['namespace'], pod,
                                                        params['container'], command, params['timeout']),
                                params['pods']))
    module.exit_json(changed=False, results=results)


if __name__ == '__main__':
    main()
