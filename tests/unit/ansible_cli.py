# Copyright: ocpv.density contributors
# Apache License 2.0 (see galaxy.yml)
"""Run the real ``ansible`` ad-hoc CLI from the checkout and return the host's task result."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The venv's bin directory: `ansible` sits beside the Python running the tests.
ANSIBLE = os.path.join(os.path.dirname(sys.executable), 'ansible')


def run_adhoc(module, args, *extra):
    """``ansible localhost -m MODULE -a ARGS EXTRA...``; returns (localhost result dict, completed process)."""
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'),
        ANSIBLE_LOAD_CALLBACK_PLUGINS='1',
        ANSIBLE_STDOUT_CALLBACK='ansible.posix.json',
        ANSIBLE_LOCALHOST_WARNING='0',
        ANSIBLE_INVENTORY_UNPARSED_WARNING='0',
        ANSIBLE_NOCOLOR='1',
    )
    if not isinstance(args, str):
        args = json.dumps(args)
    command = [ANSIBLE, 'localhost', '-m', module, '-a', args] + list(extra)
    completed = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    try:
        output = json.loads(completed.stdout)
    except ValueError:
        raise AssertionError('ansible printed no JSON (rc {0}):\n{1}\n{2}'.format(completed.returncode, completed.stdout, completed.stderr))
    return output['plays'][0]['tasks'][0]['hosts']['localhost'], completed
